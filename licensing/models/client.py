from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Upper
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from licensing.querysets import ClientQuerySet, ScopedQuerySet, fqdn_names_another_host


class ActivationMethod(models.TextChoices):
    KMS = "kms", "KMS"
    MAK = "mak", "MAK"


class LicenseStatus(models.IntegerChoices):
    """The seven Office licence states (WMI LicenseStatus, events 12288/12290, ospp.vbs)."""

    UNLICENSED = 0, pgettext_lazy("licence state", "Unlicensed")
    LICENSED = 1, _("Licensed")
    OOB_GRACE = 2, _("Initial (OOB) grace")
    OOT_GRACE = 3, _("Out-of-tolerance grace")
    NON_GENUINE_GRACE = 4, _("Non-genuine grace")
    NOTIFICATION = 5, pgettext_lazy("licence state", "Notification")
    EXTENDED_GRACE = 6, _("Extended grace")


class ComplianceFlag(models.TextChoices):
    """Every client carries exactly one flag; `licensing.services.inventory.rules` decides which."""

    OK = "ok", pgettext_lazy("compliance flag", "OK")
    AT_RISK = "at_risk", _("At risk")
    EXPIRED = "expired", _("Expired")
    GRACE_EXPIRING = "grace_expiring", _("Grace expiring")
    UNLICENSED = "unlicensed", pgettext_lazy("compliance flag", "Unlicensed")
    REACTIVATION_NEEDED = "reactivation_needed", _("Reactivation needed")


class Client(models.Model):
    """One machine running a volume edition of Office."""

    # No separate index on the foreign keys below: (organisation, hostname) and the explicit
    # indexes in Meta already lead with them, and every extra index slows bulk ingest.
    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="clients", db_index=False
    )
    # The "C" collation: byte order, so that a prefix (the list's search) is a range of the
    # (organisation, hostname) index (migration 2010). Hostnames are lower-case ASCII.
    hostname = models.CharField(max_length=253, db_collation="C")
    fqdn = models.CharField("FQDN", max_length=253, blank=True)
    # Client Machine ID; images that were not sysprepped share one, so it is not unique.
    cmid = models.UUIDField("CMID", null=True, blank=True)
    edition = models.ForeignKey(
        "licensing.Edition",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clients",
        db_index=False,
    )
    activation_method = models.CharField(max_length=3, choices=ActivationMethod.choices)
    kms_host = models.ForeignKey(
        "licensing.KmsHost",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="clients",
        db_index=False,
    )
    mak_key = models.ForeignKey(
        "licensing.MakKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="clients",
        db_index=False,
    )
    license_status = models.PositiveSmallIntegerField(
        choices=LicenseStatus.choices, default=LicenseStatus.OOB_GRACE
    )
    # Minutes of grace/validity left as the client last reported it (ospp REMAINING GRACE, 12290).
    grace_minutes = models.IntegerField(null=True, blank=True)
    installed_at = models.DateTimeField(null=True, blank=True)
    last_activation_at = models.DateTimeField(null=True, blank=True)
    last_renewal_at = models.DateTimeField(null=True, blank=True)
    # When the client falls out of activation (KMS: 180 days after renewal; never activated:
    # end of the 30-day grace). Recomputed whenever its inputs change, indexed for the sweep.
    renewal_deadline = models.DateTimeField(null=True, blank=True)
    # A MAK client whose inventory reported a hardware change or reinstall needs a new activation.
    reactivation_required = models.BooleanField(default=False)
    compliance_flag = models.CharField(
        max_length=20, choices=ComplianceFlag.choices, default=ComplianceFlag.OK
    )
    flag_reason = models.CharField(max_length=300, blank=True)
    flag_changed_at = models.DateTimeField(null=True, blank=True)
    # Next moment the flag can change by time alone (the next rule threshold), NULL when only a
    # new report can change it. The periodic sweep visits only rows whose time has come.
    flag_recheck_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Retired (decommissioned) by an administrator: out of every count, list and flag total by
    # default; its history (flag changes, activations, audit) stays. Restoring clears it.
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["hostname"]
        indexes = [
            # Keyset pagination: (organisation, sort column, id) for each sortable column.
            models.Index(
                fields=["organisation", "renewal_deadline", "id"], name="client_org_deadline"
            ),
            models.Index(
                fields=["organisation", "last_renewal_at", "id"], name="client_org_renewal"
            ),
            models.Index(
                fields=["organisation", "compliance_flag", "hostname"], name="client_org_flag_host"
            ),
            # The flag and licence-state sorts of the list (keyset order is (column, id)).
            # `retired_at` rides along (INCLUDE) so that the list's capped count of live
            # clients ("retired_at IS NULL", with or without a flag or state filter) is an
            # index-only scan, not 10,000 heap visits (migration 1910).
            models.Index(
                fields=["organisation", "compliance_flag", "id"],
                include=["retired_at"],
                name="client_org_flag_id",
            ),
            models.Index(
                fields=["organisation", "license_status", "id"],
                include=["retired_at"],
                name="client_org_state_id",
            ),
            models.Index(fields=["organisation", "cmid"], name="client_org_cmid"),
            # Foreign-key lookups are equalities, never "IS NULL": the NULLs (no KMS host, no MAK
            # key, edition not reported) stay out of these indexes, so ingest does not maintain
            # long runs of NULL entries for every new or updated client.
            models.Index(
                fields=["kms_host"], condition=Q(kms_host__isnull=False), name="client_kms_host"
            ),
            models.Index(
                fields=["mak_key"], condition=Q(mak_key__isnull=False), name="client_mak_key"
            ),
            models.Index(
                fields=["edition"], condition=Q(edition__isnull=False), name="client_edition"
            ),
            # A flag filter sorted by a date (`?compliance_flag=at_risk&sort=-deadline`): flags
            # follow the dates, so the flagged rows sit at one end of the date indexes and a walk
            # of (organisation, date) filtered by flag crossed most of the organisation (0.9-1.3 s
            # at 600,000 clients). Flagged rows only: OK clients are most of every organisation,
            # and a walk finds them at once (migration 2020).
            models.Index(
                fields=["organisation", "compliance_flag", "renewal_deadline", "id"],
                condition=~Q(compliance_flag="ok"),
                name="client_org_flagged_deadline",
            ),
            models.Index(
                fields=["organisation", "compliance_flag", "last_renewal_at", "id"],
                condition=~Q(compliance_flag="ok"),
                name="client_org_flagged_renewal",
            ),
            # The retired clients of an organisation (`?retired=true`), few among many live ones.
            models.Index(
                fields=["organisation", "hostname"],
                condition=Q(retired_at__isnull=False),
                name="client_org_retired",
            ),
            # FQDN prefixes of the few clients whose FQDN names another host
            # (`ClientQuerySet.matching_name`); every other FQDN starts with its hostname.
            models.Index(
                F("organisation"),
                OpClass(Upper("fqdn"), name="text_pattern_ops"),
                condition=fqdn_names_another_host(),
                name="client_org_fqdn_other_name",
            ),
            # The transitions-only sweep: `flag_recheck_at <= now` over a partial index.
            models.Index(
                fields=["flag_recheck_at"],
                condition=Q(flag_recheck_at__isnull=False),
                name="client_flag_recheck_due",
            ),
        ]
        constraints = [
            # `retired_at` rides along (INCLUDE): a search's capped count of live clients is
            # an index-only scan of the hostname range (migration 2010).
            models.UniqueConstraint(
                fields=["organisation", "hostname"],
                include=["retired_at"],
                name="client_hostname_per_org",
            ),
            # Hostnames are stored lower-case so that "PC01" and "pc01" are one machine.
            models.CheckConstraint(
                condition=Q(hostname=Lower("hostname")), name="client_hostname_lowercase"
            ),
            models.CheckConstraint(condition=~Q(hostname=""), name="client_hostname_not_empty"),
            models.CheckConstraint(
                condition=Q(activation_method__in=ActivationMethod.values),
                name="client_method_valid",
            ),
            models.CheckConstraint(
                condition=Q(license_status__gte=0, license_status__lte=6),
                name="client_license_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(compliance_flag__in=ComplianceFlag.values), name="client_flag_valid"
            ),
            models.CheckConstraint(
                condition=Q(activation_method="kms") | Q(kms_host__isnull=True),
                name="client_kms_host_only_for_kms",
            ),
            models.CheckConstraint(
                condition=Q(activation_method="mak") | Q(mak_key__isnull=True),
                name="client_mak_key_only_for_mak",
            ),
        ]

    def __str__(self) -> str:
        return self.hostname


class ClientFlagChange(models.Model):
    """History of a client's compliance flag: who or what changed it, when, from what to what."""

    # No single-column indexes on the two foreign keys: the (client, -changed_at) and
    # (organisation, -changed_at) indexes below lead with them (fewer indexes to write per ingest).
    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="flag_changes", db_index=False
    )
    # Denormalised so history and digests can be scoped without joining a million clients.
    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    from_flag = models.CharField(max_length=20, choices=ComplianceFlag.choices, blank=True)
    to_flag = models.CharField(max_length=20, choices=ComplianceFlag.choices)
    reason = models.CharField(max_length=300, blank=True)
    changed_at = models.DateTimeField()
    # "sweep", "ingest", "user:<name>", ...
    changed_by = models.CharField(max_length=150)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["client", "-changed_at"], name="flag_change_client"),
            models.Index(fields=["organisation", "-changed_at"], name="flag_change_org_time"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.from_flag or '-'} -> {self.to_flag}"


class ComplianceSnapshot(models.Model):
    """How many clients of an organisation carried each flag on a day: one row per
    (organisation, day, flag), upserted by the sweep, read by the dashboard trend chart."""

    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    flag = models.CharField(max_length=20, choices=ComplianceFlag.choices)
    count = models.PositiveIntegerField()

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["organisation", "day", "flag"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "day", "flag"], name="compliance_snapshot_one_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.day} {self.flag}={self.count}"


def stale_condition(organisation: object | None, now: object | None = None) -> Q:
    """The one rule for a stale client: it has reported before, but not within its
    organisation's `stale_after_days`. With an organisation, a constant bound (the
    (organisation, last_seen_at) prefix of the row serves it); with None (every organisation),
    each client's own organisation's days, set-based through a join."""
    from datetime import timedelta

    from django.db.models import DurationField, ExpressionWrapper, F
    from django.utils import timezone

    now = now or timezone.now()
    if organisation is not None:
        bound = now - timedelta(days=organisation.stale_after_days)  # type: ignore[attr-defined, operator]
        return Q(last_seen_at__lt=bound)
    days = ExpressionWrapper(
        F("organisation__stale_after_days") * timedelta(days=1), output_field=DurationField()
    )
    return Q(last_seen_at__lt=models.Value(now) - days)
