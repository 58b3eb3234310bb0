"""The client list's slow plans at a million clients, fixed by indexes (migration 2020): a flag
filter sorted by a date, and the retired clients. A test table is small enough to scan and
sort, so the plans are read with what the big table would not choose turned off: the order must
come from an index."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from licensing.models import Client
from tests import factories

pytestmark = pytest.mark.django_db


def plan_of(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")  # the order must come from an index
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("order", "index"),
    [
        (["-renewal_deadline", "-id"], "client_org_flagged_deadline"),
        (["renewal_deadline", "id"], "client_org_flagged_deadline"),
        (["-last_renewal_at", "-id"], "client_org_flagged_renewal"),
    ],
)
def test_a_flag_sorted_by_a_date_reads_only_that_flag(org, order, index):
    factories.ClientFactory(organisation=org, compliance_flag="at_risk")
    page = (
        Client.objects.for_organisation(org)
        .filter(compliance_flag="at_risk", retired_at__isnull=True)
        .order_by(*order)[:51]
    )
    plan = plan_of(page)
    assert f"using {index}" in plan, plan
    assert "compliance_flag)::text = 'at_risk'::text" in plan.split("Index Cond:")[1], plan


def test_the_ok_flag_keeps_the_date_index(org):
    """OK clients are most of an organisation: they stay out of the flagged indexes."""
    page = (
        Client.objects.for_organisation(org)
        .filter(compliance_flag="ok")
        .order_by("-renewal_deadline", "-id")[:51]
    )
    assert "client_org_flagged" not in plan_of(page)


def test_retired_clients_are_read_from_their_own_index(org):
    page = (
        Client.objects.for_organisation(org)
        .filter(retired_at__isnull=False)
        .order_by("hostname", "id")[:51]
    )
    assert "using client_org_retired" in plan_of(page)


def test_the_list_shows_a_flag_sorted_by_deadline_latest_first(as_admin, org):
    now = timezone.now()
    for n, days in enumerate((3, 9, 6)):
        factories.ClientFactory(
            organisation=org,
            hostname=f"risk-{n}",
            compliance_flag="at_risk",
            renewal_deadline=now + timedelta(days=days),
        )
    factories.ClientFactory(organisation=org, hostname="fine", renewal_deadline=now)
    body = as_admin.get("/clients/", {"compliance_flag": "at_risk", "sort": "-deadline"})
    assert re.findall(r'href="/clients/\d+/">([^<]+)</a>', body.content.decode()) == [
        "risk-1",
        "risk-2",
        "risk-0",
    ]
