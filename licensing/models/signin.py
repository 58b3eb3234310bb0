from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from licensing.models.organisation import Organisation, Role
from licensing.querysets import ScopedQuerySet


class GroupSource(models.TextChoices):
    OIDC = "oidc", _("Single sign-on (OpenID Connect group claim)")
    LDAP = "ldap", _("Active Directory / LDAP group")


class GroupMapping(models.Model):
    """An identity provider's or directory's group gives its members a role in one organisation.
    Applied at every sign-in through that source; maintained by the organisation's admins."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="group_mappings"
    )
    source = models.CharField(max_length=8, choices=GroupSource.choices)
    # The group as the source names it: a claim value (Entra ID: the group's object id) or a
    # directory group's distinguished name. Compared case-insensitively.
    group = models.CharField(max_length=500)
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["source", "group"]
        constraints = [
            models.UniqueConstraint(
                models.F("organisation"),
                models.F("source"),
                models.functions.Lower("group"),
                name="group_mapping_unique_per_org",
                violation_error_message=_("This group is already mapped in this organisation."),
            ),
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="group_mapping_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=GroupSource.values), name="group_mapping_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.group} -> {self.get_role_display()}"
