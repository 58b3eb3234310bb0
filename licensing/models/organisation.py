from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from licensing.querysets import OrganisationQuerySet


class Role(models.TextChoices):
    """A person's role inside one organisation. See `licensing.policy` for what each may do."""

    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Manager")
    AUDITOR = "auditor", _("Auditor")


# The range rules' messages (the settings service tells them apart to put each on its field).
AT_RISK_DAYS_RANGE_MESSAGE = _("At-risk days must be between 1 and 179.")
STALE_AFTER_DAYS_RANGE_MESSAGE = _("Stale after must be between 1 and 3650 days.")


class Organisation(models.Model):
    """A tenant: one customer's fleet, people, keys and hosts. Nothing crosses its border."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    # DNS domains whose `_vlmcs._tcp` SRV records announce this organisation's KMS hosts.
    dns_domains = ArrayField(models.CharField(max_length=253), default=list, blank=True)
    # Resolvers used for KMS discovery ("10.0.0.53" or "10.0.0.53:5353"); empty = system resolvers.
    dns_resolvers = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    # A KMS client counts as "at risk" when fewer days than this remain before its
    # 180-day activation validity ends.
    at_risk_days = models.PositiveSmallIntegerField(default=30)
    # Members must have a second factor (or sign in through an identity provider that reports
    # multi-factor authentication) before they can use the portal.
    require_2fa = models.BooleanField(
        _("Require two-factor authentication"),
        default=False,
        help_text=_("Members without a second factor are sent to set one up before anything else."),
    )
    # A client that has not reported for more days than this is "stale" (marked on the client
    # list and page, a filter, a count on the dashboard): likely gone, or its agent is broken.
    stale_after_days = models.PositiveSmallIntegerField(default=90)
    # The language of e-mails and webhook messages to members who chose none themselves.
    language = models.CharField(max_length=8, default="en-gb", choices=settings.LANGUAGES)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(at_risk_days__gte=1, at_risk_days__lte=179),
                name="organisation_at_risk_days_range",
                violation_error_message=AT_RISK_DAYS_RANGE_MESSAGE,
            ),
            models.CheckConstraint(
                condition=Q(stale_after_days__gte=1, stale_after_days__lte=3650),
                name="organisation_stale_after_days_range",
                violation_error_message=STALE_AFTER_DAYS_RANGE_MESSAGE,
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    # Who manages this membership: "" by hand in the portal, "oidc" or "ldap" by the group
    # mapping at each sign-in (licensing.services.signin.mapping), which never touches the others.
    source = models.CharField(max_length=8, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation__name", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"], name="membership_one_role_per_org"
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()} of {self.organisation}"
