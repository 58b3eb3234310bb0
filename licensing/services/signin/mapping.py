"""Apply the group -> organisation + role mapping at a sign-in through single sign-on or the
directory. Only memberships that the same source made are changed or removed; a membership
given by hand in the portal is left as it is. Every change is audited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from licensing.models import GroupMapping, Membership, Role
from licensing.services import audit

# When two groups map the same organisation, the stronger role wins.
_STRENGTH = {Role.AUDITOR: 1, Role.MANAGER: 2, Role.ADMIN: 3}


def desired_roles(groups: Iterable[str], source: str) -> dict[int, str]:
    """Organisation id -> role that these groups give through `source`."""
    wanted = {str(g).strip().lower() for g in groups if str(g).strip()}
    if not wanted:
        return {}
    roles: dict[int, str] = {}
    for mapping in GroupMapping.objects.filter(source=source).only(
        "organisation_id", "group", "role"
    ):
        if mapping.group.strip().lower() not in wanted:
            continue
        current = roles.get(mapping.organisation_id)
        if current is None or _STRENGTH[mapping.role] > _STRENGTH[current]:
            roles[mapping.organisation_id] = mapping.role
    return roles


@transaction.atomic
def apply(user: Any, groups: Iterable[str], source: str, *, ip_address: str | None = None) -> list:
    """Make the user's `source` memberships match the mapped groups; return what changed."""
    desired = desired_roles(groups, source)
    memberships = {
        m.organisation_id: m
        for m in Membership.objects.select_for_update()
        .select_related("organisation")
        .filter(user=user)
    }
    changes: list[tuple[str, int, str]] = []
    for org_id, role in desired.items():
        membership = memberships.get(org_id)
        if membership is None:
            membership = Membership.objects.create(
                user=user, organisation_id=org_id, role=role, source=source
            )
            changes.append(("signin.membership_added", org_id, role))
            audit.record(
                action="signin.membership_added",
                actor=user,
                organisation=org_id,
                obj=membership,
                changes={"role": role, "source": source},
                ip_address=ip_address,
            )
        elif membership.source == source and membership.role != role:
            old = membership.role
            membership.role = role
            membership.save(update_fields=["role"])
            changes.append(("signin.membership_role_changed", org_id, role))
            audit.record(
                action="signin.membership_role_changed",
                actor=user,
                organisation=org_id,
                obj=membership,
                changes={"role": [old, role], "source": source},
                ip_address=ip_address,
            )
    for org_id, membership in memberships.items():
        if membership.source == source and org_id not in desired:
            audit.record(
                action="signin.membership_removed",
                actor=user,
                organisation=org_id,
                obj=membership,
                changes={"role": membership.role, "source": source},
                ip_address=ip_address,
            )
            membership.delete()
            changes.append(("signin.membership_removed", org_id, membership.role))
    return changes
