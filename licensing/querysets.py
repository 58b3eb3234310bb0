"""Tenancy scoping for every query: `Model.objects.for_user(user)` returns only rows of the
organisations the user belongs to (everything for superusers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib.postgres.expressions import ArraySubquery
from django.db import models
from django.db.models import CharField, F, Func, OuterRef, Q, Subquery, Value
from django.db.models.functions import Collate

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


def fqdn_names_another_host() -> Q:
    """Clients whose FQDN does not start with their hostname (a NetBIOS name cut to 15
    characters, an alias). The predicate of the small partial index `client_org_fqdn_other_name`;
    a query finds that index only when it repeats this expression exactly."""
    first_label = Func(
        F("fqdn"), Value("."), Value(1), function="split_part", output_field=CharField()
    )
    return ~Q(fqdn="") & ~Q(hostname=Collate(first_label, "C"))


class ClientQuerySet(ScopedQuerySet):
    # Above this many clients whose FQDN names another host match one search, the search keeps
    # them as a condition instead of a list of ids.
    OTHER_NAMES_LISTED = 1000

    def matching_name(self, value: str) -> ClientQuerySet:
        """Clients whose hostname or FQDN starts with `value` (any case): `name_match`."""
        return self.filter(self.name_match(value))

    def name_match(self, value: str) -> Q:
        """The condition of clients whose hostname or FQDN starts with `value` (any case).

        Hostnames are stored lower case, without dots, in the "C" collation, so a hostname prefix
        is a range of the (organisation, hostname) index, read in the list's order however deep
        the range lies. An FQDN normally is the hostname and a domain, so its prefix is a
        hostname prefix (no dot in the value) or the exact hostname before the first dot. The few
        clients whose FQDN names another host are looked up first in their own small index and
        added by id: no OR over two indexes, which PostgreSQL would plan as a walk of the whole
        organisation in hostname order (1.5 s at 600,000 clients for "pc-f")."""
        lowered = value.lower()
        label, dot, _rest = lowered.partition(".")
        if dot:
            match = Q(hostname=label, fqdn__istartswith=value)
        else:
            match = Q(hostname__startswith=lowered)
        others = fqdn_names_another_host() & Q(fqdn__istartswith=value)
        # Unordered: ordered by hostname (the model's default), PostgreSQL walked the whole
        # organisation in hostname order looking for these few rows (11 s at 10M clients).
        listed = list(
            self.filter(others)
            .order_by()
            .values_list("pk", flat=True)[: self.OTHER_NAMES_LISTED + 1]
        )
        if len(listed) > self.OTHER_NAMES_LISTED:
            match |= others
        elif listed:
            match |= Q(pk__in=listed)
        return match

    def first_by_hostname(self, match: Q, organisations: models.QuerySet, limit: int) -> list[int]:
        """Ids of the first `limit` clients matching `match` in (hostname, id) order in each of
        the `organisations` (the caller sorts them together). Across organisations no index
        gives that order, and sorting every match of a broad prefix costs a scan of all of them;
        so one statement reads, per organisation, its own range of the (organisation, hostname)
        index up to `limit`: a correlated subquery, planned once whatever the number of
        organisations (a UNION of one part per organisation took 330 ms over 1,000)."""
        firsts = organisations.annotate(
            first=ArraySubquery(
                self.filter(match, organisation_id=OuterRef("pk"))
                .order_by("hostname", "id")
                .values("pk")[:limit]
            )
        ).values_list("first", flat=True)
        return [pk for ids in firsts for pk in ids]


class OrganisationQuerySet(models.QuerySet):
    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> OrganisationQuerySet:
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(id__in=member_organisation_ids(user))

    def with_role(self, user: AbstractBaseUser | AnonymousUser) -> OrganisationQuerySet:
        """`for_user`, each organisation with the user's role as `caller_role`, in one query."""
        if not user.is_authenticated or not user.is_active or user.is_superuser:
            # Every organisation for a superuser, member or not: the role where there is one.
            # One membership per user and organisation, so the subquery needs no order.
            role = _memberships().filter(user_id=user.pk, organisation_id=OuterRef("pk"))
            return self.for_user(user).annotate(
                caller_role=Subquery(role.order_by().values("role")[:1])
            )
        # A member's: their memberships joined once (unique per organisation). Every page reads
        # this; a filter subquery and a role subquery cost twice as much to build and to run.
        return self.filter(memberships__user_id=user.pk).annotate(
            caller_role=F("memberships__role")
        )

    def named(self, part: str) -> OrganisationQuerySet:
        """Organisations with `part` in their name, any case (all of them for an empty part):
        the name search of the organisation chooser and of the global overview."""
        return self.filter(name__icontains=part) if part else self


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
