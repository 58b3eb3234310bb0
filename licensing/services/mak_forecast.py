"""MAK pool usage and forecast: remaining activations, burn rate, the day a pool runs out.

Shared by the dashboard, the pool pages and the low-water alerts. One aggregate query for any
number of pools; blocked keys count for nothing (they are never allocated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from licensing.models import MakActivation, MakKeyStatus, MakPool

BURN_WINDOW_DAYS = 30


@dataclass(frozen=True)
class PoolForecast:
    pool: MakPool
    limit: int  # activations on keys that can still be used (active or exhausted), blocked excluded
    used: int
    remaining: int
    burn_per_day: float  # activations per day over the last BURN_WINDOW_DAYS
    runs_out_on: date | None  # None when nothing is being used
    below_low_water: bool

    @property
    def used_percent(self) -> int:
        return 0 if self.limit == 0 else min(100, round(100 * self.used / self.limit))

    @property
    def days_left(self) -> int | None:
        return (
            None
            if self.runs_out_on is None
            else max(0, (self.runs_out_on - timezone.now().date()).days)
        )


def forecast_pools(pools: QuerySet[MakPool]) -> list[PoolForecast]:
    """Forecast each pool of the (already scoped) queryset, in its order."""
    usable = ~Q(keys__status=MakKeyStatus.BLOCKED)
    zero = Value(0, output_field=IntegerField())
    annotated = pools.select_related("edition", "organisation").annotate(
        total_limit=Coalesce(Sum("keys__activation_limit", filter=usable), zero),
        total_used=Coalesce(Sum("keys__activations_used", filter=usable), zero),
    )
    since = timezone.now() - timedelta(days=BURN_WINDOW_DAYS)
    recent = dict(
        MakActivation.objects.filter(key__pool__in=pools, activated_at__gte=since)
        .values_list("key__pool_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    today = timezone.now().date()
    result = []
    for pool in annotated:
        remaining = max(0, pool.total_limit - pool.total_used)
        burn = recent.get(pool.pk, 0) / BURN_WINDOW_DAYS
        runs_out = None
        if burn > 0:
            runs_out = today + timedelta(days=math.floor(remaining / burn))
        result.append(
            PoolForecast(
                pool=pool,
                limit=pool.total_limit,
                used=pool.total_used,
                remaining=remaining,
                burn_per_day=round(burn, 2),
                runs_out_on=runs_out,
                below_low_water=remaining < pool.low_water_mark,
            )
        )
    return result
