"""The effective licence position of an organisation: per edition, installs against licences
with downgrade rights applied (the SQL and how it allocates: `position_sql.py`).

Reading it is one query on the view `licensing_licence_position`, scoped to the organisation;
PostgreSQL pushes the organisation into the GROUP BY over the clients, so the cost is one
GROUP BY of that organisation's clients plus a few window functions over its editions.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from licensing.models import LicencePosition, Organisation


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


def shortfalls(organisation: Organisation | int) -> dict[str, int]:
    """{edition id (as text): shortfall} for every edition with one."""
    return {
        str(edition_id): int(shortfall)
        for edition_id, shortfall in LicencePosition.objects.for_organisation(organisation)
        .filter(shortfall__gt=0)
        .values_list("edition_id", "shortfall")
    }
