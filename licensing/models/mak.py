from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from licensing.querysets import ScopedQuerySet


class MakPool(models.Model):
    """The Multiple Activation Keys an organisation holds for one edition."""

    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="mak_pools"
    )
    edition = models.ForeignKey(
        "licensing.Edition", on_delete=models.PROTECT, related_name="mak_pools"
    )
    # Agreement/enrollment number or licence id: Microsoft asks for it with extra activations.
    agreement_number = models.CharField(max_length=60, blank=True)
    # Admins are alerted when the remaining activations of the pool fall below this.
    low_water_mark = models.PositiveIntegerField(default=10)
    # Set when remaining activations fell below the low-water mark and admins were alerted;
    # cleared (re-armed) when the pool is back at or above the mark. One e-mail per crossing.
    low_water_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "edition__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "edition"], name="mak_pool_one_per_edition"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.edition} MAK pool"


class MakKeyStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXHAUSTED = "exhausted", _("Exhausted")
    # Suspected stolen, or blocked by Microsoft (0xC004C003): never allocated again.
    BLOCKED = "blocked", _("Blocked")


class MakKey(models.Model):
    """One MAK. The key itself is only ever stored encrypted; see `licensing.crypto`."""

    pool = models.ForeignKey(MakPool, on_delete=models.CASCADE, related_name="keys")
    label = models.CharField(max_length=120, blank=True)
    # Fernet token (MultiFernet, FIELD_ENCRYPTION_KEYS). Never decrypted outside reveal services.
    ciphertext = models.TextField(editable=False)
    last5 = models.CharField(max_length=5, db_index=True, editable=False)
    # HMAC-SHA256 of the normalised key with a server-side pepper: finds duplicates across the
    # whole installation without decrypting anything.
    fingerprint = models.CharField(max_length=64, unique=True, editable=False)
    activation_limit = models.PositiveIntegerField()
    activations_used = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=MakKeyStatus.choices, default=MakKeyStatus.ACTIVE
    )
    # Why an admin blocked the key (suspected leak, 0xC004C003 from Microsoft...).
    blocked_reason = models.CharField(max_length=300, blank=True)
    # The remaining count Microsoft's admin center shows, entered by an admin, to compare
    # with our own ledger.
    microsoft_remaining = models.PositiveIntegerField(null=True, blank=True)
    microsoft_remaining_at = models.DateTimeField(null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager(organisation_path="pool__organisation")

    class Meta:
        ordering = ["pool", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(activation_limit__gte=1), name="mak_key_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(activations_used__lte=F("activation_limit")),
                name="mak_key_used_within_limit",
                violation_error_message="A key cannot have used more activations than its limit.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=MakKeyStatus.values), name="mak_key_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(last5__regex=r"^[A-Z0-9]{5}$"), name="mak_key_last5_shape"
            ),
            # What an activation's (key, pool) refers to (mak_activation_key_in_pool).
            models.UniqueConstraint(fields=["id", "pool"], name="mak_key_in_pool"),
        ]

    def __str__(self) -> str:
        return f"MAK …{self.last5}"

    @property
    def masked(self) -> str:
        from licensing.crypto import mask_last5

        return mask_last5(self.last5)

    @property
    def activations_left(self) -> int:
        return self.activation_limit - self.activations_used


class ActivationReason(models.TextChoices):
    FIRST_ACTIVATION = "first", _("First activation")
    HARDWARE_CHANGE = "hardware_change", _("Hardware change")
    REINSTALL = "reinstall", _("Reinstall")


class MakActivation(models.Model):
    """Ledger row: one activation of one key used by one client."""

    # No index of its own: mak_activation_key_time (key, activated_at) serves every lookup by key
    # and the foreign key's checks, and each activation wrote both.
    key = models.ForeignKey(
        MakKey, on_delete=models.PROTECT, related_name="activations", db_index=False
    )
    # The key's pool, stored so that a pool's ledger reads newest first from one index
    # (mak_activation_pool_time) instead of sorting every activation of the pool. The database
    # holds it equal to the key's pool (foreign key mak_activation_key_in_pool, migration 2030).
    pool = models.ForeignKey(
        MakPool,
        on_delete=models.PROTECT,
        related_name="activations",
        db_index=False,
        editable=False,
    )
    client = models.ForeignKey(
        "licensing.Client", on_delete=models.CASCADE, related_name="mak_activations"
    )
    reason = models.CharField(max_length=20, choices=ActivationReason.choices)
    activated_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager(organisation_path="pool__organisation")

    class Meta:
        ordering = ["-activated_at", "-id"]
        indexes = [
            models.Index(fields=["key", "activated_at"], name="mak_activation_key_time"),
            models.Index(fields=["pool", "activated_at", "id"], name="mak_activation_pool_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reason__in=ActivationReason.values), name="mak_activation_reason_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"key {self.key_id} -> client {self.client_id} ({self.reason})"


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", pgettext_lazy("request status", "Cancelled")


MAX_REQUESTED_ACTIVATIONS = 100_000


class ActivationRequest(models.Model):
    """A request for extra MAK activations, decided by a manager (four eyes)."""

    pool = models.ForeignKey(MakPool, on_delete=models.CASCADE, related_name="requests")
    # The key Microsoft should extend (its last five characters go on Microsoft's form).
    key = models.ForeignKey(
        MakKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    # What Microsoft's request form asks for (DOMAIN.md section 7), copied when the request is
    # made so the record shows exactly what was approved even if the pool changes later.
    agreement_number = models.CharField(max_length=60, blank=True)
    product_name = models.CharField(max_length=120, blank=True)
    key_last5 = models.CharField(max_length=5, blank=True)
    quantity = models.PositiveIntegerField()
    justification = models.TextField()
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    # When Microsoft confirmed the increase, and its reference, if that is a separate step.
    granted_at = models.DateTimeField(null=True, blank=True)
    microsoft_reference = models.CharField(max_length=120, blank=True)

    objects = ScopedQuerySet.as_manager(organisation_path="pool__organisation")

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["pool", "status"], name="activation_request_pool_state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=MAX_REQUESTED_ACTIVATIONS),
                name="activation_request_quantity_range",
                violation_error_message=f"Ask for between 1 and {MAX_REQUESTED_ACTIVATIONS:,} activations.",
            ),
            models.CheckConstraint(
                condition=~Q(justification=""), name="activation_request_justified"
            ),
            models.CheckConstraint(
                condition=Q(status__in=RequestStatus.values), name="activation_request_status_valid"
            ),
            # A decided request names who decided and when; a pending one names nobody.
            models.CheckConstraint(
                condition=(
                    Q(status="pending") & Q(decided_by__isnull=True) & Q(decided_at__isnull=True)
                )
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="activation_request_decision_consistent",
            ),
            # Four eyes: nobody approves or rejects their own request (cancelling is theirs).
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True)
                | Q(status="cancelled")
                | ~Q(decided_by=F("requested_by")),
                name="activation_request_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        # Stored as the audit trail's object name: always English (`title` is for pages).
        return f"Request #{self.pk} for {self.quantity} activations"

    @property
    def title(self) -> str:
        """The request's name in the page's language."""
        return gettext("Request #%(id)s for %(quantity)s activations") % {
            "id": self.pk,
            "quantity": self.quantity,
        }
