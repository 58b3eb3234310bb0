"""KMS host status reports (pushed `slmgr.vbs /dlv` text) and DNS findings (SRV records)."""

from django.db import models
from django.db.models import Q

from licensing.querysets import ScopedQuerySet


class HostStatusReport(models.Model):
    """One `slmgr.vbs /dlv` text a host posted. Unreadable text is kept (accepted=False) for
    inspection and changes nothing else. Counters are cumulative on the host, so each accepted
    report also stores the deltas from the previous accepted one."""

    host = models.ForeignKey(
        "licensing.KmsHost", on_delete=models.CASCADE, related_name="status_reports"
    )
    received_at = models.DateTimeField()
    raw_text = models.TextField()
    accepted = models.BooleanField()
    error = models.TextField(blank=True)
    # The parser's StatusDocument as JSON (null when unreadable).
    parsed = models.JSONField(null=True, blank=True)
    license_status = models.CharField(max_length=30, blank=True)
    partial_key = models.CharField(max_length=5, blank=True)
    current_count = models.IntegerField(null=True, blank=True)
    listening_port = models.IntegerField(null=True, blank=True)
    dns_publishing = models.BooleanField(null=True)
    priority = models.CharField(max_length=20, blank=True)
    total_requests = models.BigIntegerField(null=True, blank=True)
    failed_requests = models.BigIntegerField(null=True, blank=True)
    requests_by_status = models.JSONField(default=dict, blank=True)
    # {"total_requests": n, "failed_requests": n, "requests_by_status": {...}} since the previous
    # accepted report; empty for the first one. counters_reset: a counter went down (the host
    # was reinstalled), so the deltas are counted from zero.
    deltas = models.JSONField(default=dict, blank=True)
    counters_reset = models.BooleanField(default=False)
    submitted_by = models.CharField(max_length=150)
    source_ip = models.GenericIPAddressField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager(organisation_path="host__organisation")

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["host", "-received_at"], name="host_report_history"),
            # "The newest accepted report" is what polls and deltas read.
            models.Index(
                fields=["host", "-received_at"],
                condition=Q(accepted=True),
                name="host_report_accepted",
            ),
        ]

    def __str__(self) -> str:
        verdict = "accepted" if self.accepted else "unreadable"
        return f"report {self.pk} of host {self.host_id} ({verdict})"


class DnsFinding(models.Model):
    """An `_vlmcs._tcp` SRV record in one of the organisation's domains that points at a host the
    portal does not know (a possible rogue KMS host). Resolved when the record disappears or the
    host is registered."""

    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="dns_findings"
    )
    domain = models.CharField(max_length=253)
    target = models.CharField(max_length=253)
    port = models.PositiveIntegerField()
    priority = models.PositiveIntegerField(default=0)
    weight = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["domain", "target", "port"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "domain", "target", "port"], name="dns_finding_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organisation"],
                condition=Q(resolved_at__isnull=True),
                name="dns_finding_open",
            ),
        ]

    def __str__(self) -> str:
        return f"_vlmcs._tcp.{self.domain} -> {self.target}:{self.port}"
