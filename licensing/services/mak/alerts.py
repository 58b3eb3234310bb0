"""Low-water alerts for MAK pools and the e-mails of the MAK area.

A pool "crosses" when its remaining activations (unblocked keys) fall below its low-water
mark. The crossing is claimed with one conditional UPDATE (`low_water_alerted_at IS NULL`), so
concurrent allocations, the beat check and retries alert exactly once; the mark re-arms
(`low_water_alerted_at = NULL`) when the pool is back at or above the mark.

Alerts and request e-mails are queued through the outbox in the transaction that caused them,
and each is sent once (`outbox.send_once`) however often its message is delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from licensing.models import ActivationRequest, MakPool, RequestStatus, Role
from licensing.querysets import member_emails
from licensing.services import audit, notify, outbox
from licensing.services.mak.forecast import forecast_pools

_STATE_SQL = """
WITH totals AS (
    SELECT p.id, p.low_water_mark,
           COALESCE(SUM(k.activation_limit - k.activations_used)
                    FILTER (WHERE k.status <> 'blocked'), 0) AS remaining
    FROM licensing_makpool p
    JOIN licensing_makkey k ON k.pool_id = p.id  -- a pool without keys yet is not "running low"
    WHERE (%(ids)s::bigint[] IS NULL OR p.id = ANY(%(ids)s::bigint[]))
    GROUP BY p.id
), crossed AS (
    UPDATE licensing_makpool p SET low_water_alerted_at = %(now)s
    FROM totals t
    WHERE p.id = t.id AND t.remaining < t.low_water_mark AND p.low_water_alerted_at IS NULL
    RETURNING p.id, p.organisation_id, t.remaining, t.low_water_mark
), rearmed AS (
    UPDATE licensing_makpool p SET low_water_alerted_at = NULL
    FROM totals t
    WHERE p.id = t.id AND t.remaining >= t.low_water_mark AND p.low_water_alerted_at IS NOT NULL
    RETURNING p.id, p.organisation_id, t.remaining, t.low_water_mark
)
SELECT 'crossed', id, organisation_id, remaining, low_water_mark FROM crossed
UNION ALL
SELECT 'rearmed', id, organisation_id, remaining, low_water_mark FROM rearmed
"""


@dataclass(frozen=True)
class LowWaterResult:
    crossed: list[int]
    rearmed: list[int]


def update_low_water_state(*, pool_ids: Iterable[int] | None = None) -> LowWaterResult:
    """Claim new crossings (and queue one alert each, in the same transaction) and re-arm pools that are
    back above their mark. Set-based; safe to call from any transaction, any number of times."""
    ids = None if pool_ids is None else [int(i) for i in pool_ids]
    crossed: list[int] = []
    rearmed: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_STATE_SQL, {"ids": ids, "now": timezone.now()})
        for kind, pool_id, org_id, remaining, mark in cursor.fetchall():
            (crossed if kind == "crossed" else rearmed).append(pool_id)
            audit.record(
                action="mak_pool.low_water" if kind == "crossed" else "mak_pool.low_water_rearmed",
                actor="system",
                organisation=org_id,
                changes={"pool_id": pool_id, "remaining": remaining, "low_water_mark": mark},
            )
        outbox.enqueue_many("licensing.mak.send_low_water_alert", ([pid] for pid in crossed))
    return LowWaterResult(crossed=crossed, rearmed=rearmed)


def notify_low_water(*, pool_id: int) -> int:
    """E-mail the organisation's admins that the pool is below its low-water mark. Does
    nothing if the pool has been re-armed meanwhile. Returns the number of recipients."""
    pools = MakPool.objects.filter(pk=pool_id, low_water_alerted_at__isnull=False)
    forecasts = forecast_pools(pools)
    if not forecasts:
        return 0
    f = forecasts[0]
    # One e-mail per crossing: the crossing is identified by the time it was claimed.
    return notify.notify(
        "mak.low_water",
        once_key=f"mak.low_water:{f.pool.pk}:{f.pool.low_water_alerted_at.isoformat()}",
        organisation_id=f.pool.organisation_id,
        recipients=member_emails(f.pool.organisation_id, Role.ADMIN),
        context={
            "forecast": f,
            "burn_per_day": f"{f.burn_per_day:g}",
            "url": notify.portal_url("licensing:pool_detail", f.pool.pk),
        },
    )


def notify_request_created(*, request_id: int) -> int:
    req = (
        ActivationRequest.objects.select_related("pool__organisation", "requested_by")
        .filter(pk=request_id, status=RequestStatus.PENDING)
        .first()
    )
    if req is None:
        return 0
    to = [
        e
        for e in member_emails(req.pool.organisation_id, Role.MANAGER)
        if e != req.requested_by.email
    ]
    return notify.notify(
        "mak.request_created",
        once_key=f"mak.request_created:{req.pk}",
        organisation_id=req.pool.organisation_id,
        recipients=to,
        context={"req": req, "url": notify.portal_url("licensing:approval_queue")},
    )


def notify_request_decided(*, request_id: int) -> int:
    req = (
        ActivationRequest.objects.select_related("pool__organisation", "requested_by", "decided_by")
        .filter(pk=request_id)
        .exclude(status=RequestStatus.PENDING)
        .first()
    )
    if req is None or req.status == RequestStatus.CANCELLED:
        return 0
    approved = req.status == RequestStatus.APPROVED
    return notify.notify(
        "mak.request_decided",
        once_key=f"mak.request_decided:{req.pk}",
        organisation_id=req.pool.organisation_id,
        recipients=[req.requested_by.email] if req.requested_by.email else [],
        context={
            "req": req,
            "approved": approved,
            "verdict": "approved" if approved else "rejected",
            "url": notify.portal_url("licensing:pool_detail", req.pool_id),
        },
    )
