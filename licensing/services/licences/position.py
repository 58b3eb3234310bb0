"""The effective licence position of an organisation: per edition, installs against licences
with downgrade rights applied (the SQL and how it allocates: `position_sql.py`).

Reading it is one query on the view `licensing_licence_position`, scoped to the organisation;
PostgreSQL pushes the organisation into the GROUP BY over the clients, so the cost is one
GROUP BY of that organisation's clients plus a few window functions over its editions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from licensing.models import Entitlement, LicencePosition, Organisation
from licensing.services.fleet_summary import REFRESH_MINUTES


def position_rows(organisation: Organisation | int) -> QuerySet[LicencePosition]:
    """The organisation's position, one row per installed or licensed edition."""
    return (
        LicencePosition.objects.for_organisation(organisation)
        .select_related("edition")
        .order_by("line", "-version", "edition__name")
    )


@dataclass(frozen=True)
class PositionSummary:
    editions: int
    installed: int
    licences: int
    covered: int
    shortfall: int
    surplus: int
    under_licensed: int  # editions with a shortfall

    @property
    def compliant(self) -> bool:
        return self.shortfall == 0


def summarise(organisation: Organisation | int) -> PositionSummary:
    """Totals of the position (the dashboard card): one aggregate over the same view."""
    # Aliases differ from the view's columns: an alias named like a column would shadow it.
    totals = LicencePosition.objects.for_organisation(organisation).aggregate(
        n_editions=Count("id"),
        n_installed=Coalesce(Sum("installed"), 0),
        n_licences=Coalesce(Sum("licences"), 0),
        n_covered=Coalesce(Sum("covered"), 0),
        n_shortfall=Coalesce(Sum("shortfall"), 0),
        n_surplus=Coalesce(Sum("surplus"), 0),
        n_under_licensed=Count("id", filter=Q(shortfall__gt=0)),
    )
    return PositionSummary(**{k.removeprefix("n_"): int(v) for k, v in totals.items()})


def summarise_rows(rows: list[LicencePosition]) -> PositionSummary:
    """The same totals from rows already read (the position page reads them anyway)."""
    return PositionSummary(
        editions=len(rows),
        installed=int(sum(r.installed for r in rows)),
        licences=int(sum(r.licences for r in rows)),
        covered=int(sum(r.covered for r in rows)),
        shortfall=int(sum(r.shortfall for r in rows)),
        surplus=int(sum(r.surplus for r in rows)),
        under_licensed=sum(1 for r in rows if r.shortfall > 0),
    )


def cached_summary(organisation: Organisation, as_of: datetime | None) -> PositionSummary:
    """The dashboard card's totals. A large organisation's dashboard shows counters as of
    `as_of` (licensing/services/fleet_summary.py); its position is cached until those are
    refreshed or its licences change. Small organisations (as_of None) are computed live."""
    if as_of is None:
        return summarise(organisation)
    lines = Entitlement.objects.for_organisation(organisation).aggregate(
        n=Count("id"), changed=Max("updated_at")
    )
    changed = lines["changed"].isoformat() if lines["changed"] else "-"
    key = f"licences.summary:{organisation.pk}:{as_of.isoformat()}:{lines['n']}:{changed}"
    result = cache.get(key)
    if result is None:
        result = summarise(organisation)
        cache.set(key, result, timeout=REFRESH_MINUTES * 60 * 2)
    return result


def shortfalls(organisation: Organisation | int) -> dict[str, int]:
    """{edition id (as text): shortfall} for every edition with one."""
    return {
        str(edition_id): int(shortfall)
        for edition_id, shortfall in LicencePosition.objects.for_organisation(organisation)
        .filter(shortfall__gt=0)
        .values_list("edition_id", "shortfall")
    }
