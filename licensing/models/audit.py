from django.conf import settings
from django.db import models

from licensing.querysets import ScopedQuerySet


class AuditEvent(models.Model):
    """Append-only trail of who did what. A database trigger (migration 0003) refuses UPDATE
    and DELETE on this table, so not even a bug or the Django admin can rewrite history."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    organisation = models.ForeignKey(
        "licensing.Organisation",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # Who acted when it was not a person at a browser: "token:<prefix>", "celery", "cli".
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    # What changed: never a secret in clear (services pass masked values only).
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-at"], name="audit_org_time"),
            # One object's history (the "History" links of object pages).
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_time"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"
