"""Retire decommissioned clients (and restore them): one set-based UPDATE for one client, a
selection, or every client matching a filter; one audit entry per call. A retired client leaves
the counts, the flag totals, the lists and the exports (unless asked for with ?retired=), and
keeps its history; the dashboard counters of the organisation are refreshed in the same
transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from licensing import policy
from licensing.models import Client, ClientCount, Organisation
from licensing.services import audit
from licensing.services.errors import InvalidInput
from licensing.services.fleet_summary import refresh_client_counts

MAX_LISTED = 50  # hostnames named in the audit entry; the count is always exact


@dataclass(frozen=True)
class RetireResult:
    changed: int
    hostnames: list[str]


def set_retired(
    *,
    actor: Any,
    organisation: Organisation,
    clients: QuerySet[Client],
    retire: bool,
    ip_address: str | None = None,
    selection: str = "",
) -> RetireResult:
    """Retire (or restore) the organisation's clients among `clients` (ids, or a filtered
    queryset: "select all N matching"); clients already in that state are left as they are."""
    policy.require(actor, policy.Action.MANAGE_CLIENTS, organisation)
    scoped = Client.objects.filter(
        organisation=organisation,
        pk__in=clients.order_by().values("pk"),
        retired_at__isnull=retire,
    )
    with transaction.atomic():
        hostnames = list(
            scoped.order_by("hostname").values_list("hostname", flat=True)[:MAX_LISTED]
        )
        changed = scoped.update(
            retired_at=timezone.now() if retire else None, updated_at=timezone.now()
        )
        if changed == 0:
            raise InvalidInput(
                _("No client changed: those selected are already retired.")
                if retire
                else _("No client changed: those selected are already live.")
            )
        single = (
            Client.objects.get(hostname=hostnames[0], organisation=organisation)
            if changed == 1
            else None
        )
        audit.record(
            action="client.retired" if retire else "client.restored",
            actor=actor,
            organisation=organisation,
            obj=single,
            changes={"count": changed, "hostnames": hostnames, "selection": selection[:500]},
            ip_address=ip_address,
        )
        if ClientCount.objects.for_organisation(organisation).exists():
            # A large organisation's dashboard reads precomputed counters: keep them true.
            refresh_client_counts(organisation_id=organisation.pk)
    return RetireResult(changed=changed, hostnames=hostnames)
