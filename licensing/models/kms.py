from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from licensing.querysets import ScopedQuerySet


class KmsProductGroup(models.TextChoices):
    """Which Office version's KMS host key (CSVLK) the host runs; one activates all its editions."""

    OFFICE_2024 = "office_2024", "Office LTSC 2024"
    OFFICE_2021 = "office_2021", "Office LTSC 2021"
    OFFICE_2019 = "office_2019", "Office 2019"
    OFFICE_2016 = "office_2016", "Office 2016"
    OFFICE_2013 = "office_2013", "Office 2013"


class HostState(models.TextChoices):
    PENDING = "pending", _("Pending (no status report yet)")
    HEALTHY = "healthy", _("Healthy")
    BELOW_THRESHOLD = "below_threshold", _("Below activation threshold")
    UNREACHABLE = "unreachable", _("Unreachable")
    NOT_PUBLISHED = "not_published", _("Not published in DNS")
    REPORT_OVERDUE = "report_overdue", _("Status report overdue")
    RETIRED = "retired", pgettext_lazy("KMS host", "Retired")


DEFAULT_KMS_PORT = 1688
OFFICE_ACTIVATION_THRESHOLD = 5


class KmsHost(models.Model):
    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="kms_hosts"
    )
    fqdn = models.CharField("FQDN", max_length=253)
    port = models.PositiveIntegerField(default=DEFAULT_KMS_PORT)
    product_group = models.CharField(max_length=20, choices=KmsProductGroup.choices)
    # The host key (CSVLK) is a secret like a MAK: encrypted, masked, revealed only on purpose.
    host_key_ciphertext = models.TextField(blank=True, editable=False)
    host_key_last5 = models.CharField(max_length=5, blank=True, editable=False)
    # Not unique: one CSVLK activates up to six KMS hosts (DOMAIN.md 2.4).
    host_key_fingerprint = models.CharField(  # noqa: DJ001 (NULL = no key)
        max_length=64, null=True, blank=True, db_index=True, editable=False
    )
    activation_threshold = models.PositiveSmallIntegerField(default=OFFICE_ACTIVATION_THRESHOLD)
    poll_interval_minutes = models.PositiveIntegerField(default=15)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=HostState.choices, default=HostState.PENDING)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    current_count = models.IntegerField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_report_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Why the host is in its state, in a sentence ("count 3 of 5", "port 1688 refused", ...).
    state_reason = models.CharField(max_length=300, blank=True)
    # The last state the admins were emailed about: a change notifies once, not every poll.
    last_notified_state = models.CharField(max_length=20, blank=True)
    # From the newest accepted status report (slmgr /dlv) and the newest poll.
    license_status = models.CharField(max_length=30, blank=True)
    srv_published = models.BooleanField(null=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["fqdn"]
        indexes = [
            # The beat dispatcher only ever looks at live hosts whose poll is due.
            models.Index(
                fields=["next_poll_at"],
                condition=Q(retired_at__isnull=True),
                name="kms_host_due_poll",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "fqdn"], name="kms_host_fqdn_per_org"),
            models.CheckConstraint(
                condition=Q(port__gte=1, port__lte=65535), name="kms_host_port_range"
            ),
            models.CheckConstraint(
                condition=Q(activation_threshold__gte=1, activation_threshold__lte=50),
                name="kms_host_threshold_range",
            ),
            models.CheckConstraint(
                condition=Q(poll_interval_minutes__gte=1, poll_interval_minutes__lte=1440),
                name="kms_host_poll_interval_range",
            ),
            models.CheckConstraint(
                condition=Q(state__in=HostState.values), name="kms_host_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(product_group__in=KmsProductGroup.values), name="kms_host_group_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.fqdn


class HostPoll(models.Model):
    """One poll of one KMS host: what DNS, TCP and the newest status report said."""

    host = models.ForeignKey(KmsHost, on_delete=models.CASCADE, related_name="polls")
    polled_at = models.DateTimeField()
    reachable = models.BooleanField()
    srv_published = models.BooleanField(null=True)
    current_count = models.IntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    # Wall time of the probes (DNS + TCP): a dead host costs its timeout, no more.
    duration_ms = models.FloatField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=HostState.choices)
    error = models.TextField(blank=True)
    # What the SRV lookups said, per domain: [{"domain", "published", "port", "error"}].
    srv_detail = models.JSONField(default=list, blank=True)
    report = models.ForeignKey(
        "licensing.HostStatusReport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager(organisation_path="host__organisation")

    class Meta:
        ordering = ["-polled_at", "-id"]
        indexes = [models.Index(fields=["host", "-polled_at"], name="host_poll_history")]

    def __str__(self) -> str:
        return f"{self.host_id} at {self.polled_at:%Y-%m-%d %H:%M}: {self.state}"
