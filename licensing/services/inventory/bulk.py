"""Bulk actions on the client list: retire, restore or re-check the ticked rows, or every client
matching the list's filter ("all N matching", across keyset pages).

A selection of up to `settings.BULK_INLINE_MAX` clients is acted on in the request. A larger one
is queued as one task (`licensing.inventory.bulk_action`): retiring 600,000 clients took 52 s
in-process at 1M clients (every index of the row gets a new entry), and past the web server's
timeout a request would end with nothing done. The task reads the filter again when it runs
(`licensing.filters.clients_matching`, as the request did) and calls the same service, which
writes the same audit entry; it is idempotent (clients already in the asked state are left
alone) and safe to run again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from licensing.models import Client, Organisation
from licensing.services import outbox
from licensing.services.errors import DomainError
from licensing.services.inventory.recheck import RecheckResult, recheck
from licensing.services.inventory.retire import RetireResult, set_retired

log = logging.getLogger(__name__)

ACTIONS = ("retire", "restore", "recheck")


def too_large_for_a_request(clients: QuerySet[Client]) -> bool:
    """More than BULK_INLINE_MAX clients (counted up to one more than that)."""
    limit = settings.BULK_INLINE_MAX
    return clients.order_by()[: limit + 1].count() > limit


def run(
    action: str,
    *,
    actor: Any,
    organisation: Organisation,
    clients: QuerySet[Client],
    ip_address: str | None = None,
    selection: str = "",
) -> RetireResult | RecheckResult:
    """Act on `clients` now (the services check the actor's permission and audit the call)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown bulk action {action!r}")
    kw = {
        "actor": actor,
        "organisation": organisation,
        "clients": clients,
        "ip_address": ip_address,
        "selection": selection,
    }
    if action == "recheck":
        return recheck(**kw)
    return set_retired(**kw, retire=action == "retire")


def queue(action: str, *, actor: Any, organisation: Organisation, query: str) -> None:
    """Act on every client matching `query` in the background, after this transaction commits."""
    if action not in ACTIONS:
        raise ValueError(f"unknown bulk action {action!r}")
    outbox.enqueue("licensing.inventory.bulk_action", action, organisation.pk, actor.pk, query)


def run_queued(
    action: str,
    organisation_id: int,
    actor_id: int,
    query: str,
    *,
    matching: Callable[[Organisation, str], QuerySet[Client] | None],
) -> str:
    """The task's body; `matching` reads the list's query (`licensing.filters.clients_matching`).
    What leaves nothing to do is logged, not raised (a retry could not do better): the
    organisation or the actor gone, the actor no longer allowed, the filter no longer valid,
    every client already in the asked state."""
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    actor = get_user_model().objects.filter(pk=actor_id, is_active=True).first()
    if organisation is None or actor is None:
        log.info("bulk %s: the organisation or the user is gone; nothing done", action)
        return "gone"
    clients = matching(organisation, query)
    if clients is None:
        log.info("bulk %s in %s: the filter is not valid; nothing done", action, organisation)
        return "invalid filter"
    try:
        result = run(
            action,
            actor=actor,
            organisation=organisation,
            clients=clients,
            selection=f"all matching, in the background: {query}",
        )
    except PermissionDenied:
        log.info("bulk %s in %s: the user may no longer do it", action, organisation)
        return "not allowed"
    except DomainError as exc:
        log.info("bulk %s in %s: %s", action, organisation, exc)
        return "nothing to do"
    count = result.checked if isinstance(result, RecheckResult) else result.changed
    return f"{action}: {count}"
