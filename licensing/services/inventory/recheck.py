"""Re-check now: recompute the compliance flag of selected clients (ticked rows, or every row
matching the list's filter) with the sweep's very rules and history, in one set-based
statement; one audit entry per call. Retired clients are left out, as the sweep leaves them out
of its counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from licensing import policy
from licensing.models import Client, ClientCount, Organisation
from licensing.services import audit
from licensing.services.errors import InvalidInput
from licensing.services.fleet_summary import refresh_client_counts
from licensing.services.inventory.sweep import SWEEP_LOCK_KEY, reflag_clients, refresh_snapshots


@dataclass(frozen=True)
class RecheckResult:
    checked: int  # live clients re-checked
    changed: int  # rows whose flag, reason, deadline or recheck time changed


def recheck(
    *,
    actor: Any,
    organisation: Organisation,
    clients: QuerySet[Client],
    ip_address: str | None = None,
    selection: str = "",
) -> RecheckResult:
    policy.require(actor, policy.Action.MANAGE_CLIENTS, organisation)
    ids = list(
        Client.objects.filter(
            organisation=organisation,
            pk__in=clients.order_by().values("pk"),
            retired_at__isnull=True,
        ).values_list("pk", flat=True)
    )
    if not ids:
        raise InvalidInput(_("No live client selected: nothing to re-check."))
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        # Shared like an ingest: never while a sweep is computing, beside other writers.
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [SWEEP_LOCK_KEY])
        changed = reflag_clients(client_ids=ids, changed_by="re-check", now=now)
        if changed:
            refresh_snapshots(organisation_ids={organisation.pk}, day=now.date())
            if ClientCount.objects.for_organisation(organisation).exists():
                refresh_client_counts(organisation_id=organisation.pk)
        audit.record(
            action="client.rechecked",
            actor=actor,
            organisation=organisation,
            changes={"count": len(ids), "changed": changed, "selection": selection[:500]},
            ip_address=ip_address,
        )
    return RecheckResult(checked=len(ids), changed=changed)
