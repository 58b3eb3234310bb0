"""A filtered list's index walk has a budget: past it PostgreSQL cancels the walk and the page is
read filter-first, with the very same rows in the very same order (licensing/pagination.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import BooleanField, F
from django.db.models.expressions import RawSQL
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from licensing.models import Client, ComplianceFlag
from licensing.pagination import KeysetPaginator, _filter_first
from tests.fleet.conftest import KEYSET_SORTS as SORTS


def _slow(qs, seconds: float = 0.002):
    """A filter that matches every row and takes `seconds` a row: the walk over 23 rows takes
    about 50 ms, for real."""
    return qs.filter(RawSQL("pg_sleep(%s) IS NOT NULL", [seconds], output_field=BooleanField()))


def _walk(paginator, qs, sort: str, filtered: bool):
    """Every page forward, then every page back from the last; the pk lists of each."""
    factory = RequestFactory()
    forward, back = [], []
    page = paginator.paginate(factory.get(f"/?sort={sort}"), qs, filtered=filtered)
    while True:
        forward.append([r.pk for r in page.rows])
        if not page.next_url:
            break
        page = paginator.paginate(factory.get(page.next_url), qs, filtered=filtered)
    while page.previous_url:
        page = paginator.paginate(factory.get(page.previous_url), qs, filtered=filtered)
        back.append([r.pk for r in page.rows])
    return forward, back


def _timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("sort", ["renewal", "-renewal", "-hostname"])
def test_a_walk_over_budget_is_cancelled_and_read_filter_first_with_the_same_rows(
    org, tied_clients, settings, sort
):
    paginator = KeysetPaginator(SORTS, default="hostname", salt="t", page_size=5)
    qs = _slow(Client.objects.for_organisation(org))
    before = _timeout()

    settings.LIST_WALK_BUDGET_MS = 0  # no budget: PostgreSQL's own walk
    expected = _walk(paginator, qs, sort, filtered=True)

    # 1 ms: a walk that tests even one row (2 ms) is cancelled; one that finds no row to test
    # (an empty segment at the end of the list) ends within it.
    settings.LIST_WALK_BUDGET_MS = 1
    with CaptureQueriesContext(connection) as queries:
        got = _walk(paginator, qs, sort, filtered=True)

    assert got == expected
    forward, back = expected
    assert len(forward) == 5 and sum(map(len, forward)) == 23 and len(back) == 4
    ordered = [q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"]]
    fenced = ["ORDER BY COALESCE(" in sql for sql in ordered]
    # Every page's rows came from a filter-first read (ordered by COALESCE), each right after
    # the walk it replaced.
    assert sum(fenced) >= len(forward) + len(back)
    assert all(not fenced[i - 1] for i, f in enumerate(fenced) if f)
    # The budget ended with its read: the test's transaction has its own timeout back.
    assert _timeout() == before


def test_a_walk_within_budget_is_the_plain_walk_and_leaves_the_timeout_as_it_was(
    org, tied_clients, settings
):
    settings.LIST_WALK_BUDGET_MS = 10_000
    paginator = KeysetPaginator(SORTS, default="hostname", salt="t", page_size=5)
    before = _timeout()
    with CaptureQueriesContext(connection) as queries:
        page = paginator.paginate(
            RequestFactory().get("/?sort=-renewal"),
            Client.objects.for_organisation(org),
            filtered=True,
        )
    assert len(page.rows) == 5
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "set_config('statement_timeout', '10000ms', true)" in sql
    assert "COALESCE(" not in sql
    assert _timeout() == before


def test_an_unfiltered_list_has_no_budget(org, tied_clients, settings):
    settings.LIST_WALK_BUDGET_MS = 5
    paginator = KeysetPaginator(SORTS, default="hostname", salt="t", page_size=5)
    with CaptureQueriesContext(connection) as queries:
        page = paginator.paginate(
            RequestFactory().get("/?sort=renewal"), _slow(Client.objects.for_organisation(org))
        )
    assert len(page.rows) == 5
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "statement_timeout" not in sql and "COALESCE(" not in sql


def test_the_filter_first_order_is_one_no_index_gives(org, tied_clients):
    """With sorting forbidden, PostgreSQL still sorts COALESCE(col): no index order matches it,
    so the matching rows are found first (by their filter's own index) and sorted after."""
    plain = Client.objects.for_organisation(org).order_by(
        F("last_renewal_at").desc(), F("pk").desc()
    )
    fenced = _filter_first(plain)
    assert list(fenced) == list(plain)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
    assert "Sort" not in plain.explain()
    assert "Sort Key: (COALESCE(last_renewal_at)) DESC" in fenced.explain()


def test_the_client_list_budgets_its_walk_only_when_filtered(as_admin, org, tied_clients):
    base = f"/clients/?organisation={org.slug}&sort=-last_renewal"
    with CaptureQueriesContext(connection) as plain:
        assert as_admin.get(base).status_code == 200
    with CaptureQueriesContext(connection) as filtered:
        response = as_admin.get(f"{base}&compliance_flag={ComplianceFlag.OK}")
    assert response.status_code == 200
    assert not any("statement_timeout" in q["sql"] for q in plain.captured_queries)
    assert any("statement_timeout" in q["sql"] for q in filtered.captured_queries)
