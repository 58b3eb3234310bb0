from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from licensing.querysets import ScopedQuerySet


class OfflineStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a Confirmation ID")
    CONFIRMED = "confirmed", _("Confirmation ID recorded")
    CANCELLED = "cancelled", _("Cancelled")


class OfflineActivation(models.Model):
    """One pending or done offline (proxy) activation: a client's product reported an
    Installation ID (agent report or VAMT file); an admin records the Confirmation ID that
    Microsoft gave for it, which uses one activation of the MAK key through the MAK ledger
    (`activation`). Installation and Confirmation IDs are not secrets; the key is only known
    by its last five characters."""

    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    client = models.ForeignKey(
        "licensing.Client", on_delete=models.CASCADE, related_name="offline_activations"
    )
    sku_id = models.UUIDField(_("SKU ID"), null=True, blank=True)
    product_name = models.CharField(max_length=200, blank=True)
    last5 = models.CharField(max_length=5, blank=True)
    mak_key = models.ForeignKey(
        "licensing.MakKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    installation_id = models.CharField(_("Installation ID"), max_length=80)
    confirmation_id = models.CharField(_("Confirmation ID"), max_length=80, blank=True)
    status = models.CharField(
        max_length=10, choices=OfflineStatus.choices, default=OfflineStatus.PENDING
    )
    source = models.CharField(max_length=20, blank=True)  # "wmi", "vamt_cil", ...
    activation = models.ForeignKey(
        "licensing.MakActivation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["status", "-requested_at", "-id"]
        indexes = [
            models.Index(
                fields=["organisation", "status", "-requested_at"], name="offline_org_state"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "installation_id"], name="offline_iid_once_per_org"
            ),
            models.CheckConstraint(
                condition=Q(status__in=OfflineStatus.values), name="offline_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(installation_id__regex=r"^[0-9]{20,80}$"), name="offline_iid_digits"
            ),
            models.CheckConstraint(
                condition=Q(confirmation_id="") | Q(confirmation_id__regex=r"^[0-9]{20,80}$"),
                name="offline_cid_digits",
            ),
        ]

    def __str__(self) -> str:
        return f"offline activation {self.pk} ({self.status})"

    @property
    def command(self) -> str:
        """What to run on the client to install the Confirmation ID."""
        return f"cscript ospp.vbs /actcid:{self.confirmation_id}" if self.confirmation_id else ""
