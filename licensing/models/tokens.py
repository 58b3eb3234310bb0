from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from licensing.querysets import ScopedQuerySet


class TokenScope(models.TextChoices):
    # Acts as its owner, with the owner's role in the token's organisation.
    USER = "user", _("Personal (acts with your role)")
    # Posts inventory for the organisation (agents, scripts); reads nothing.
    AGENT = "agent", _("Inventory agent")
    # Posts status reports of one KMS host and can do nothing else.
    REPORTER = "reporter", _("KMS host reporter")


class ApiToken(models.Model):
    """A bearer token for the API. Only a SHA-256 digest is stored; the token itself is shown
    once at creation. Tokens belong to one organisation and always expire."""

    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.USER)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    kms_host = models.ForeignKey(
        "licensing.KmsHost",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    # First characters of the token, kept to tell tokens apart in lists and logs.
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=TokenScope.values), name="api_token_scope_valid"
            ),
            models.CheckConstraint(
                condition=~Q(scope="user") | Q(user__isnull=False),
                name="api_token_user_scope_has_user",
            ),
            models.CheckConstraint(
                condition=~Q(scope="reporter") | Q(kms_host__isnull=False),
                name="api_token_reporter_has_host",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="api_token_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
