"""Webhook destinations of an organisation (Teams, Slack, signed JSON) and each delivery to
them: the webhook channel of `licensing.services.notify`."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from licensing.querysets import ScopedQuerySet


class WebhookKind(models.TextChoices):
    TEAMS = "teams", _("Microsoft Teams (Workflows webhook, Adaptive Card)")
    SLACK = "slack", _("Slack (incoming webhook)")
    JSON = "json", _("Generic JSON, signed with HMAC-SHA256")


class WebhookDestination(models.Model):
    """Where an organisation's notifications are posted. The URL (Teams and Slack URLs carry
    their own secret) and the signing secret are stored encrypted with FIELD_ENCRYPTION_KEYS,
    like product keys; pages show `url_hint` only."""

    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="webhook_destinations"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=WebhookKind.choices)
    url_ciphertext = models.TextField()
    url_hint = models.CharField(max_length=300)  # scheme://host/… , never the path or query
    secret_ciphertext = models.TextField(blank=True)  # HMAC key of the generic JSON kind
    # Event names (`notify.EVENTS`) this destination receives; empty = every event.
    events = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"],
                name="webhook_destination_unique_name",
                violation_error_message=_(
                    "This organisation already has a destination of that name."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("delivery", "Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", pgettext_lazy("delivery", "Failed")


class WebhookDelivery(models.Model):
    """One message for one destination. Written in the transaction that sent the notification
    (unique per destination and notification key, so a notification delivered twice posts
    once), posted by the task `licensing.webhooks.deliver`, retried with back-off."""

    destination = models.ForeignKey(
        WebhookDestination, on_delete=models.CASCADE, related_name="deliveries"
    )
    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    event = models.CharField(max_length=60)
    once_key = models.CharField(max_length=200)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    link = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # A worker posting this delivery holds it until then (a second copy of the task skips it).
    leased_until = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["destination", "once_key"], name="webhook_delivery_once"
            )
        ]
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="webhook_delivery_org_idx")
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.destination_id} ({self.status})"


class NotificationMute(models.Model):
    """A person's choice: no e-mail for this event (in any of their organisations)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_mutes"
    )
    event = models.CharField(max_length=60)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="notification_mute_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} mutes {self.event}"
