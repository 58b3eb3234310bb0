from licensing.models.audit import AuditEvent
from licensing.models.client import (
    ActivationMethod,
    Client,
    ClientFlagChange,
    ComplianceFlag,
    ComplianceSnapshot,
    LicenseStatus,
)
from licensing.models.edition import (
    KEY_ALPHABET,
    PRODUCT_KEY_REGEX,
    Edition,
    OfficeVersion,
    Product,
)
from licensing.models.fleet_summary import ClientCount
from licensing.models.inventory_imports import (
    ComplianceDigest,
    CsvColumnMapping,
    CsvUpload,
    ImportRejection,
    ImportRun,
    ImportSource,
    ImportStatus,
)
from licensing.models.kms import DEFAULT_KMS_PORT, HostPoll, HostState, KmsHost, KmsProductGroup
from licensing.models.kms_reports import DnsFinding, HostStatusReport
from licensing.models.licences import (
    MAX_LICENCE_QUANTITY,
    Agreement,
    Entitlement,
    LicencePosition,
    Programme,
    ShortfallState,
)
from licensing.models.mak import (
    MAX_REQUESTED_ACTIVATIONS,
    ActivationReason,
    ActivationRequest,
    MakActivation,
    MakKey,
    MakKeyStatus,
    MakPool,
    RequestStatus,
)
from licensing.models.offline import OfflineActivation, OfflineStatus
from licensing.models.ops import Heartbeat, OutboxMessage, SentNotification
from licensing.models.organisation import Membership, Organisation, Role
from licensing.models.profile import Profile
from licensing.models.saved_views import SavedView
from licensing.models.signin import GroupMapping, GroupSource
from licensing.models.tokens import ApiToken, TokenScope
from licensing.models.webhooks import (
    DeliveryStatus,
    NotificationMute,
    WebhookDelivery,
    WebhookDestination,
    WebhookKind,
)

__all__ = [
    "DEFAULT_KMS_PORT",
    "KEY_ALPHABET",
    "MAX_REQUESTED_ACTIVATIONS",
    "PRODUCT_KEY_REGEX",
    "ActivationMethod",
    "ActivationReason",
    "ActivationRequest",
    "ApiToken",
    "AuditEvent",
    "Client",
    "ClientFlagChange",
    "ComplianceFlag",
    "ComplianceSnapshot",
    "Edition",
    "GroupMapping",
    "GroupSource",
    "Heartbeat",
    "HostPoll",
    "HostState",
    "KmsHost",
    "KmsProductGroup",
    "LicenseStatus",
    "MakActivation",
    "MakKey",
    "MakKeyStatus",
    "MakPool",
    "Membership",
    "OfficeVersion",
    "OfflineActivation",
    "OfflineStatus",
    "Organisation",
    "Product",
    "Profile",
    "RequestStatus",
    "Role",
    "SavedView",
    "TokenScope",
]
__all__ += [
    "ClientCount",
    "ComplianceDigest",
    "CsvColumnMapping",
    "CsvUpload",
    "DeliveryStatus",
    "DnsFinding",
    "HostStatusReport",
    "ImportRejection",
    "ImportRun",
    "ImportSource",
    "ImportStatus",
    "NotificationMute",
    "OutboxMessage",
    "SentNotification",
    "WebhookDelivery",
    "WebhookDestination",
    "WebhookKind",
]
__all__ += [
    "MAX_LICENCE_QUANTITY",
    "Agreement",
    "Entitlement",
    "LicencePosition",
    "Programme",
    "ShortfallState",
]
