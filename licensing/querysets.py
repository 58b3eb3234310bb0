"""Tenancy scoping for every query: `Model.objects.for_user(user)` returns only rows of the
organisations the user belongs to (everything for superusers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def _memberships() -> models.QuerySet:
    # By name from the app registry: the models import this module for their managers.
    return apps.get_model("licensing", "Membership").objects.all()


def member_organisation_ids(user: AbstractBaseUser | AnonymousUser) -> models.QuerySet:
    return _memberships().filter(user_id=user.pk).values("organisation_id")


class ScopedQuerySet(models.QuerySet):
    """A queryset of rows that belong to an organisation through `organisation_path`."""

    organisation_path = "organisation"

    @classmethod
    def as_manager(cls, organisation_path: str | None = None) -> Any:  # type: ignore[override]
        if organisation_path is None:
            return super().as_manager()
        scoped = type(cls.__name__, (cls,), {"organisation_path": organisation_path})
        manager = models.Manager.from_queryset(scoped)()
        manager._built_with_as_manager = True
        return manager

    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> ScopedQuerySet:
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(**{f"{self.organisation_path}_id__in": member_organisation_ids(user)})

    def for_organisation(self, organisation: Any) -> ScopedQuerySet:
        return self.filter(
            **{f"{self.organisation_path}_id": getattr(organisation, "pk", organisation)}
        )


class OrganisationQuerySet(models.QuerySet):
    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> OrganisationQuerySet:
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(id__in=member_organisation_ids(user))


def member_emails(organisation_id: int, role: str) -> list[str]:
    """Addresses of the organisation's active members with this role (for notifications)."""
    return sorted(
        set(
            _memberships()
            .filter(organisation_id=organisation_id, role=role, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
