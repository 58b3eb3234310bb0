"""Tenancy scoping for every query: `Model.objects.for_user(user)` returns only rows of the
organisations the user belongs to (everything for superusers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def member_organisation_ids(user: AbstractBaseUser | AnonymousUser) -> models.QuerySet:
    from licensing.models import Membership

    return Membership.objects.filter(user_id=user.pk).values("organisation_id")


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
    from licensing.models import Membership

    return sorted(
        set(
            Membership.objects.filter(
                organisation_id=organisation_id, role=role, user__is_active=True
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
