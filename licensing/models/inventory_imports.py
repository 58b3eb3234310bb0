from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from licensing.querysets import ScopedQuerySet


class ImportSource(models.TextChoices):
    API = "api", _("API (bulk JSON)")
    STATUS_TEXT = "status_text", _("ospp.vbs / slmgr.vbs text")
    CSV = "csv", _("CSV inventory")
    EVENTS_12290 = "events_12290", _("KMS host event 12290 export")
    WMI = "wmi", _("Agent report (WMI)")
    VAMT_CIL = "vamt_cil", _("VAMT CIL/CILX file")


class ImportStatus(models.TextChoices):
    DONE = "done", _("Imported")
    REFUSED = "refused", _("Refused (nothing written)")
    FAILED = "failed", _("Failed (nothing written)")


class ImportRun(models.Model):
    """One ingest: an API batch, a posted status text, a CSV file or a 12290 export. Kept as the
    import history (who, when, what came in, what happened, which rows were rejected)."""

    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="import_runs"
    )
    source = models.CharField(max_length=20, choices=ImportSource.choices)
    status = models.CharField(max_length=10, choices=ImportStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # "alice", "token:vlp_abc123", "cli"
    actor_label = models.CharField(max_length=150)
    filename = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    received = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # Why a file was refused, or a short note ("12290: 120 events, 3 hosts").
    message = models.TextField(blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-id"], name="import_run_org_recent")]
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=ImportSource.values), name="import_run_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="import_run_status_valid"
            ),
        ]

    def __str__(self) -> str:
        # Stored as the audit entry's object name: English whatever the page language.
        with override(settings.LANGUAGE_CODE):
            return f"{self.get_source_display()} #{self.pk}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ImportRejection(models.Model):
    """A record or CSV row an import did not take, with the reason (the downloadable report)."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rejections")
    # CSV: the line number in the file (header = 1); API: the record's index in the batch.
    position = models.PositiveIntegerField()
    hostname = models.CharField(max_length=253, blank=True)
    reason = models.CharField(max_length=500)
    # The rejected line as received (CSV/12290), cut to 1000 characters.
    raw = models.TextField(blank=True)

    objects = ScopedQuerySet.as_manager(organisation_path="run__organisation")

    class Meta:
        ordering = ["run", "position", "id"]
        indexes = [models.Index(fields=["run", "position"], name="import_rejection_run_pos")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.position} {self.reason}"


class ComplianceDigest(models.Model):
    """The daily digest e-mail of newly flagged clients: one row per organisation and day, claimed
    before sending, so a second run of the task the same day sends nothing."""

    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    sent_at = models.DateTimeField()
    # Flag changes in the window: {"expired": 12, "at_risk": 40, ...}
    counts = models.JSONField(default=dict)
    recipients = models.PositiveIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "day"], name="compliance_digest_one_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.day}"


class CsvUpload(models.Model):
    """A CSV file waiting for its column mapping (the preview step of the upload page). The bytes
    live here, not on a worker's disk, so any worker can show the preview and run the import; the
    row is deleted when the import runs, and left-overs after a day by the next upload."""

    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=255, blank=True)
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"CSV upload {self.filename or self.pk}"


class CsvColumnMapping(models.Model):
    """What a CSV column name means for one organisation (remembered from its last mapped import
    and pre-selected next time). `column` is the normalised name (lower case, letters and digits
    only); `field` is a portal field (records.FIELDS), or "" for a column the import ignores."""

    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="csv_column_mappings"
    )
    column = models.CharField(max_length=100)
    field = models.CharField(max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "column"], name="csv_column_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.column} -> {self.field or 'ignore'}"
