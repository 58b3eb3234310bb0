"""Plain data returned by the status-text parsers (no Django, no ORM).

The shape of `StatusDocument.to_dict()` is the JSON printed by `manage.py parse_status`
(issue 5, section 5); key order is fixed and every key is always present (null when the text
does not give the value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# Licence states in WMI `LicenseStatus` order (shared DOMAIN.md section 6): the index is the
# numeric code the database stores (0..6).
STATUS_WORDS: tuple[str, ...] = (
    "unlicensed",
    "licensed",
    "oob_grace",
    "oot_grace",
    "non_genuine_grace",
    "notification",
    "extended_grace",
)
STATUS_CODES: dict[str, int] = {word: code for code, word in enumerate(STATUS_WORDS)}
STATUS_BY_CODE: dict[int, str] = dict(enumerate(STATUS_WORDS))

StatusWord = Literal[
    "unlicensed",
    "licensed",
    "oob_grace",
    "oot_grace",
    "non_genuine_grace",
    "notification",
    "extended_grace",
]
Format = Literal["slmgr_dlv", "ospp_dstatus"]


def status_code(word: str) -> int:
    """Numeric licence state 0..6 for a status word; KeyError for anything else."""
    return STATUS_CODES[word]


def status_word(code: int) -> str:
    """Status word for a numeric licence state 0..6; KeyError for anything else."""
    return STATUS_BY_CODE[code]


class UnreadableStatusText(ValueError):
    """The text is not activation-tool output this parser can read.

    `reason` is a short human sentence fit for an API 400 or a command's stderr. It never
    contains a full product key.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RequestCounts:
    """`Requests with License Status ...` counters of a KMS host, keyed by status word.

    slmgr prints no counter for extended grace, so `extended_grace` is normally None.
    """

    unlicensed: int | None = None
    licensed: int | None = None
    oob_grace: int | None = None
    oot_grace: int | None = None
    non_genuine_grace: int | None = None
    notification: int | None = None
    extended_grace: int | None = None

    def __getitem__(self, word: str) -> int | None:
        if word not in STATUS_CODES:
            raise KeyError(word)
        return getattr(self, word)

    def to_dict(self) -> dict[str, int | None]:
        return {word: getattr(self, word) for word in STATUS_WORDS}


@dataclass(frozen=True)
class KmsClientInfo:
    """The KMS client block of a licence (which host it uses, its intervals)."""

    cmid: str | None = None
    kms_host: str | None = None
    kms_port: int | None = None
    activation_interval_minutes: int | None = None
    renewal_interval_minutes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cmid": self.cmid,
            "kms_host": self.kms_host,
            "kms_port": self.kms_port,
            "activation_interval_minutes": self.activation_interval_minutes,
            "renewal_interval_minutes": self.renewal_interval_minutes,
        }


@dataclass(frozen=True)
class KmsHostInfo:
    """The KMS host block of `slmgr /dlv` on a KMS host.

    `current_count` (and any counter) is -1 when the tool printed -1 or 4294967295 (uint32 -1:
    "not a KMS host, or no requests yet"). `priority` is "normal" or "low".
    """

    current_count: int | None = None
    port: int | None = None
    dns_publishing: bool | None = None
    priority: str | None = None
    total_requests: int | None = None
    failed_requests: int | None = None
    requests_by_status: RequestCounts = field(default_factory=RequestCounts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "current_count": self.current_count,
            "port": self.port,
            "dns_publishing": self.dns_publishing,
            "priority": self.priority,
            "total_requests": self.total_requests,
            "failed_requests": self.failed_requests,
            "requests_by_status": self.requests_by_status.to_dict(),
        }


@dataclass(frozen=True)
class LicenseRecord:
    """One licence (product) in the output.

    `sku_id` is a lower-case GUID (slmgr "Activation ID", ospp "SKU ID"); `error_code` is
    "0x" + 8 upper-case hex digits; `grace_minutes` is the minutes left in the current state
    (ospp REMAINING GRACE, slmgr "Volume activation expiration" / "Time remaining");
    `last5` is the last five characters of the installed key, upper case.
    """

    name: str | None = None
    description: str | None = None
    sku_id: str | None = None
    status: str | None = None
    error_code: str | None = None
    grace_minutes: int | None = None
    last5: str | None = None
    kms_client: KmsClientInfo | None = None
    kms_host: KmsHostInfo | None = None

    @property
    def state_code(self) -> int | None:
        """The numeric licence state 0..6 the database stores, or None if unknown."""
        return None if self.status is None else STATUS_CODES[self.status]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "sku_id": self.sku_id,
            "status": self.status,
            "error_code": self.error_code,
            "grace_minutes": self.grace_minutes,
            "last5": self.last5,
            "kms_client": None if self.kms_client is None else self.kms_client.to_dict(),
            "kms_host": None if self.kms_host is None else self.kms_host.to_dict(),
        }


@dataclass(frozen=True)
class StatusDocument:
    """A parsed `slmgr.vbs /dlv` (or `/dli`) or `ospp.vbs /dstatus` output."""

    format: str
    licenses: tuple[LicenseRecord, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "licenses": [lic.to_dict() for lic in self.licenses]}
