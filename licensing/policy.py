"""Who may do what: the one place that maps roles to actions.

Views, the API, templates (through the `can` context) and the Django permission backend all
ask `allowed()`. Tenancy is separate and comes first: an object outside the user's
organisations is never found (404); a member whose role lacks the action gets 403.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext, gettext_lazy

from licensing.models import Membership, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Action(StrEnum):
    VIEW = "view"  # dashboards, lists, details (secrets masked)
    EXPORT = "export"  # CSV exports and reports
    VIEW_AUDIT = "view_audit"
    USE_API_TOKENS = "use_api_tokens"  # create and revoke one's own tokens
    MANAGE_CLIENTS = "manage_clients"  # inventory ingest, CSV import, edit clients
    MANAGE_KEYS = "manage_keys"  # add, block, import MAK keys; record activations
    REVEAL_SECRET = "reveal_secret"  # show a whole MAK or KMS host key
    REQUEST_ACTIVATIONS = "request_activations"
    DECIDE_REQUESTS = "decide_requests"  # approve or reject extra activations
    MANAGE_HOSTS = "manage_hosts"  # add, edit, retire KMS hosts, poll now, reporter tokens
    MANAGE_EDITIONS = "manage_editions"
    MANAGE_LICENCES = "manage_licences"  # agreements and entitlements, true-ups
    MANAGE_ORGANISATION = "manage_organisation"  # DNS domains, resolvers, at-risk days


# What a refusal names (the same words as the values, translatable).
ACTION_LABELS: dict[Action, str] = {
    Action.VIEW: gettext_lazy("view"),
    Action.EXPORT: gettext_lazy("export"),
    Action.VIEW_AUDIT: gettext_lazy("view audit"),
    Action.USE_API_TOKENS: gettext_lazy("use api tokens"),
    Action.MANAGE_CLIENTS: gettext_lazy("manage clients"),
    Action.MANAGE_KEYS: gettext_lazy("manage keys"),
    Action.REVEAL_SECRET: gettext_lazy("reveal secret"),
    Action.REQUEST_ACTIVATIONS: gettext_lazy("request activations"),
    Action.DECIDE_REQUESTS: gettext_lazy("decide requests"),
    Action.MANAGE_HOSTS: gettext_lazy("manage hosts"),
    Action.MANAGE_EDITIONS: gettext_lazy("manage editions"),
    Action.MANAGE_LICENCES: gettext_lazy("manage licences"),
    Action.MANAGE_ORGANISATION: gettext_lazy("manage organisation"),
}

_READ = {Action.VIEW, Action.EXPORT, Action.VIEW_AUDIT, Action.USE_API_TOKENS}

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.ADMIN: frozenset(
        _READ
        | {
            Action.MANAGE_CLIENTS,
            Action.MANAGE_KEYS,
            Action.REVEAL_SECRET,
            Action.REQUEST_ACTIVATIONS,
            Action.MANAGE_HOSTS,
            Action.MANAGE_EDITIONS,
            Action.MANAGE_LICENCES,
            Action.MANAGE_ORGANISATION,
        }
    ),
    Role.MANAGER: frozenset(_READ | {Action.DECIDE_REQUESTS}),
    Role.AUDITOR: frozenset(_READ),
}


def role_of(user: AbstractBaseUser | AnonymousUser, organisation: Any) -> str | None:
    """The user's role in the organisation, or None for outsiders. Cached per request user."""
    if not user.is_authenticated:
        return None
    org_id = getattr(organisation, "pk", organisation)
    cache: dict[int, str | None] = user.__dict__.setdefault("_portal_roles", {})
    if org_id not in cache:
        cache[org_id] = (
            Membership.objects.filter(user_id=user.pk, organisation_id=org_id)
            .values_list("role", flat=True)
            .first()
        )
    return cache[org_id]


def remember_role(user: AbstractBaseUser | AnonymousUser, org_id: int, role: str | None) -> None:
    """Prime `role_of` with a role read alongside the organisation (scoping)."""
    if user.is_authenticated:
        user.__dict__.setdefault("_portal_roles", {})[org_id] = role


def allowed(
    user: AbstractBaseUser | AnonymousUser, action: Action | str, organisation: Any
) -> bool:
    if not user.is_authenticated or not user.is_active or organisation is None:
        return False
    if user.is_superuser:
        return True
    role = role_of(user, organisation)
    return role is not None and Action(action) in ROLE_ACTIONS[role]


def require(
    user: AbstractBaseUser | AnonymousUser, action: Action | str, organisation: Any
) -> None:
    if not allowed(user, action, organisation):
        raise PermissionDenied(
            gettext("Your role in this organisation does not allow: %(action)s.")
            % {"action": ACTION_LABELS[Action(action)]}
        )


def actions_for(user: AbstractBaseUser | AnonymousUser, organisation: Any) -> dict[str, bool]:
    """All actions as a dict, for templates: `{% if can.reveal_secret %}`."""
    return {a.value: allowed(user, a, organisation) for a in Action}
