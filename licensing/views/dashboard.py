"""The dashboard of one organisation and the superuser's overview of every organisation; their
counts are precomputed (`licensing.services.fleet_summary`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from licensing import policy
from licensing.models import (
    ActivationRequest,
    Client,
    ComplianceFlag,
    ComplianceSnapshot,
    Edition,
    HostState,
    KmsHost,
    Organisation,
    RequestStatus,
)
from licensing.scoping import resolve_organisation
from licensing.services.daily.attention import needs_attention
from licensing.services.fleet_summary import (
    breakdown_by_organisation,
    client_breakdown,
)
from licensing.services.kms import discovery
from licensing.services.mak.forecast import cached_forecast
from licensing.views.home import no_organisation_page

TREND_DAYS = 90
CHART_W, CHART_H, CHART_PAD = 960, 200, 28


def flagged_trend(org: Organisation, today: Any) -> dict[str, Any]:
    """Flagged clients per day over the last 90 days as SVG coordinates (drawn server-side)."""
    since = today - timedelta(days=TREND_DAYS - 1)
    per_day = dict(
        ComplianceSnapshot.objects.for_organisation(org)
        .filter(day__gte=since, day__lte=today)
        .exclude(flag=ComplianceFlag.OK)
        .values_list("day")
        .annotate(n=Sum("count"))
        .order_by()
    )
    if len(per_day) < 2 or not any(per_day.values()):
        # One day is a dot, not a trend; all zeros would draw an axis of "1" over nothing.
        return {}
    days = sorted(per_day)
    top = max(per_day.values()) or 1
    inner_w, inner_h = CHART_W - 2 * CHART_PAD, CHART_H - 2 * CHART_PAD
    points = []
    for day in days:
        x = CHART_PAD + inner_w * (day - since).days / (TREND_DAYS - 1)
        y = CHART_PAD + inner_h * (1 - per_day[day] / top)
        points.append((round(x, 1), round(y, 1)))
    line = " ".join(f"{x},{y}" for x, y in points)
    base_y = CHART_PAD + inner_h
    area = f"{points[0][0]},{base_y} {line} {points[-1][0]},{base_y}"
    return {
        "width": CHART_W,
        "height": CHART_H,
        "pad": CHART_PAD,
        "right": CHART_W - CHART_PAD,
        "bottom": base_y,
        "line": line,
        "area": area,
        "top": top,
        "first_day": days[0],
        "last_day": days[-1],
        "first": per_day[days[0]],
        "last": per_day[days[-1]],
        "last_x": points[-1][0],
        "last_y": points[-1][1],
        "mid_y": CHART_PAD + inner_h / 2,
        "half": top // 2,
    }


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    if (choose := no_organisation_page(request)) is not None:
        return choose
    org = resolve_organisation(request, policy.Action.VIEW)
    assert org is not None
    breakdown = client_breakdown(org)
    editions = dict(
        Edition.objects.filter(pk__in=[k for k in breakdown.by_edition if k]).values_list(
            "pk", "name"
        )
    )
    by_edition = sorted(
        ((editions.get(pk, _("No edition")), pk, n) for pk, n in breakdown.by_edition.items()),
        key=lambda row: -row[2],
    )
    flags = [
        (value, label, breakdown.by_flag.get(value, 0)) for value, label in ComplianceFlag.choices
    ]
    flagged = breakdown.total - breakdown.by_flag.get(ComplianceFlag.OK, 0)
    pools = cached_forecast(org, breakdown.as_of)
    hosts = list(
        KmsHost.objects.for_organisation(org)
        .filter(retired_at__isnull=True)
        .order_by("fqdn")
        .only("id", "fqdn", "port", "state", "current_count", "activation_threshold")[:50]
    )
    newest_flagged = list(
        Client.objects.for_organisation(org)
        .filter(retired_at__isnull=True)
        .exclude(compliance_flag=ComplianceFlag.OK)
        .select_related("edition")
        .order_by(F("flag_changed_at").desc(nulls_last=True), "-id")[:8]
    )
    pending = None
    pending_count = 0
    if policy.allowed(request.user, policy.Action.DECIDE_REQUESTS, org):
        pending_qs = ActivationRequest.objects.for_organisation(org).filter(
            status=RequestStatus.PENDING
        )
        pending = list(
            pending_qs.select_related("pool__edition", "requested_by", "key").order_by(
                "requested_at", "id"
            )[:5]
        )
        pending_count = pending_qs.count() if len(pending) == 5 else len(pending)
    context = {
        "org": org,
        "breakdown": breakdown,
        "flags": flags,
        "flagged": flagged,
        "by_edition": by_edition[:12],
        "by_method": sorted(breakdown.by_method.items()),
        "pools": pools,
        "hosts": hosts,
        "host_states": HostState,
        "newest_flagged": newest_flagged,
        "pending": pending,
        "pending_count": pending_count,
        "attention": needs_attention(
            user=request.user, org=org, forecasts=pools, as_of=breakdown.as_of
        ),
        "trend": flagged_trend(org, timezone.now().date()),
        "trend_days": TREND_DAYS,
        "client_list_url": reverse("licensing:client_list"),
        # Security: SRV records pointing at unknown KMS hosts, registered hosts gone from DNS.
        "findings": discovery.open_findings(org).order_by("domain", "target")[:10],
        "missing": discovery.missing_hosts(org).order_by("fqdn")[:10],
    }
    return render(request, "licensing/home.html", context)


# Rows of the global overview's table; the totals above it count every organisation.
GLOBAL_ROWS = 50


@login_required
@require_GET
def global_overview(request: HttpRequest) -> HttpResponse:
    """Every organisation at a glance (superusers only; others get 404, not a hint): totals over
    all of them, and a table of the GLOBAL_ROWS with the most flagged clients, narrowed by part
    of the name (`?q=`). With 1,000 organisations the whole table was 369 KB and 82 ms a page."""
    if not request.user.is_superuser:
        raise Http404("Not found.")
    q = request.GET.get("q", "").strip()[:100]
    breakdowns = breakdown_by_organisation()
    hosts = {
        row["organisation_id"]: row
        for row in KmsHost.objects.filter(retired_at__isnull=True)
        .values("organisation_id")
        .annotate(
            total=Count("id"),
            unhealthy=Count("id", filter=~Q(state__in=[HostState.HEALTHY, HostState.PENDING])),
        )
        .order_by()
    }
    low_pools: dict[int, int] = {}
    as_of = next((b.as_of for b in breakdowns.values() if b.as_of), None)
    for forecast in cached_forecast(None, as_of):
        if forecast.urgency:  # the dashboard's rule: by days left, or below low water
            low_pools[forecast.pool.organisation_id] = (
                low_pools.get(forecast.pool.organisation_id, 0) + 1
            )
    pending = dict(
        ActivationRequest.objects.filter(status=RequestStatus.PENDING)
        .values_list("pool__organisation_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = []
    for org in Organisation.objects.order_by("name"):
        b = breakdowns.get(org.pk)
        total = b.total if b else 0
        by_flag = b.by_flag if b else {}
        rows.append(
            {
                "org": org,
                "total": total,
                "flagged": total - by_flag.get(ComplianceFlag.OK, 0),
                "expired": by_flag.get(ComplianceFlag.EXPIRED, 0),
                "at_risk": by_flag.get(ComplianceFlag.AT_RISK, 0),
                "unlicensed": by_flag.get(ComplianceFlag.UNLICENSED, 0),
                "hosts": hosts.get(org.pk, {}).get("total", 0),
                "unhealthy_hosts": hosts.get(org.pk, {}).get("unhealthy", 0),
                "low_pools": low_pools.get(org.pk, 0),
                "pending": pending.get(org.pk, 0),
            }
        )
    rows.sort(key=lambda r: (-r["flagged"], r["org"].name))
    totals = {
        k: sum(r[k] for r in rows)
        for k in ("total", "flagged", "expired", "at_risk", "unlicensed", "unhealthy_hosts")
    }
    matching = rows
    if q:
        named = set(Organisation.objects.named(q).values_list("pk", flat=True))
        matching = [r for r in rows if r["org"].pk in named]
    return render(
        request,
        "licensing/global.html",
        {
            "rows": matching[:GLOBAL_ROWS],
            "matching": len(matching),
            "organisations": len(rows),
            "q": q,
            "totals": totals,
            "as_of": as_of,
            "amber_days": settings.MAK_POOL_AMBER_DAYS,
        },
    )
