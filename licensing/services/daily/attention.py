"""What an administrator must act on now, for the dashboard's "Needs attention" strip: each
item a count and a link to the list that shows exactly those rows (the same filters as the
list, its CSV and the API).

Client counts are ONE aggregate over the organisation's clients (stale, newly flagged today);
for a large organisation (its dashboard counters are precomputed, `as_of` set) the result is
cached until the counters are refreshed, like the pool forecast."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from licensing import policy
from licensing.models import (
    ActivationRequest,
    Client,
    ComplianceFlag,
    HostState,
    KmsHost,
    RequestStatus,
)
from licensing.models.client import stale_condition
from licensing.services.fleet_summary import REFRESH_MINUTES
from licensing.services.kms import discovery

# Host states an administrator acts on, most urgent first.
HOST_STATES = (
    HostState.UNREACHABLE,
    HostState.BELOW_THRESHOLD,
    HostState.NOT_PUBLISHED,
    HostState.REPORT_OVERDUE,
)


@dataclass(frozen=True)
class AttentionItem:
    key: str
    label: str
    count: int
    url: str
    level: str  # "danger" or "warning"


def client_counts(org: Any, as_of: datetime | None, now: datetime | None = None) -> dict[str, int]:
    """{"stale": n, "flagged_today": n} in one scan of the organisation's clients."""
    now = now or timezone.now()
    midnight = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    key = None
    if as_of is not None:
        key = f"daily:attention:{connection.settings_dict['NAME']}:{org.pk}:{as_of.timestamp()}"
        cached = cache.get(key)
        if cached is not None:
            return cached
    counts = (
        Client.objects.for_organisation(org)
        .filter(retired_at__isnull=True)
        .aggregate(
            stale=Count("id", filter=stale_condition(org, now)),
            flagged_today=Count(
                "id",
                filter=~Q(compliance_flag=ComplianceFlag.OK) & Q(flag_changed_at__gte=midnight),
            ),
        )
    )
    if key is not None:
        cache.set(key, counts, timeout=REFRESH_MINUTES * 60 * 2)
    return counts


def needs_attention(
    *, user: Any, org: Any, forecasts: list[Any], as_of: datetime | None
) -> list[AttentionItem]:
    clients = reverse("licensing:client_list")
    hosts_url = reverse("licensing:host_list")
    items: list[AttentionItem] = []
    states = dict(
        KmsHost.objects.for_organisation(org)
        .filter(retired_at__isnull=True, state__in=HOST_STATES)
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for state in HOST_STATES:
        if states.get(state):
            items.append(
                AttentionItem(
                    f"hosts_{state}",
                    ngettext("KMS host: %(state)s", "KMS hosts: %(state)s", states[state])
                    % {"state": str(HostState(state).label).lower()},
                    states[state],
                    f"{hosts_url}?state={state}",
                    "danger" if state == HostState.UNREACHABLE else "warning",
                )
            )
    rogue = discovery.open_findings(org).count()
    if rogue:
        items.append(
            AttentionItem(
                "rogue_srv",
                ngettext("Unregistered KMS host in DNS", "Unregistered KMS hosts in DNS", rogue),
                rogue,
                reverse("licensing:kms_dns_settings"),
                "danger",
            )
        )
    red = sum(1 for f in forecasts if f.urgency == "red")
    amber = sum(1 for f in forecasts if f.urgency == "amber")
    pools = reverse("licensing:pool_list")
    if red:
        items.append(
            AttentionItem(
                "pools_red", _("MAK pools about to run out"), red, f"{pools}?urgency=red", "danger"
            )
        )
    if amber:
        items.append(
            AttentionItem(
                "pools_amber",
                _("MAK pools running out within a month"),
                amber,
                f"{pools}?urgency=amber",
                "warning",
            )
        )
    if policy.allowed(user, policy.Action.DECIDE_REQUESTS, org):
        pending = (
            ActivationRequest.objects.for_organisation(org)
            .filter(status=RequestStatus.PENDING)
            .count()
        )
        if pending:
            items.append(
                AttentionItem(
                    "approvals",
                    ngettext(
                        "Activation request waiting for approval",
                        "Activation requests waiting for approval",
                        pending,
                    ),
                    pending,
                    reverse("licensing:approval_queue"),
                    "warning",
                )
            )
    counts = client_counts(org, as_of)
    today = timezone.now().date().isoformat()
    if counts["flagged_today"]:
        items.append(
            AttentionItem(
                "flagged_today",
                _("Clients flagged today"),
                counts["flagged_today"],
                f"{clients}?flagged=true&flag_changed_after={today}",
                "danger",
            )
        )
    if counts["stale"]:
        items.append(
            AttentionItem(
                "stale",
                ngettext(
                    "Stale clients (no report for %(days)s day)",
                    "Stale clients (no report for %(days)s days)",
                    org.stale_after_days,
                )
                % {"days": org.stale_after_days},
                counts["stale"],
                f"{clients}?stale=true",
                "warning",
            )
        )
    return items
