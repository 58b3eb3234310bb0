"""Keyset pagination: every row exactly once, in order, in both directions, whatever the ties."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import RequestFactory

from licensing.models import Client
from licensing.pagination import KeysetPaginator, SortKey, capped_count
from tests.fleet.conftest import KEYSET_SORTS as SORTS


def expected(rows, descending: bool):
    dated = sorted(
        (r for r in rows if r.last_renewal_at is not None),
        key=lambda r: (r.last_renewal_at, r.pk),
        reverse=descending,
    )
    nulls = sorted(
        (r for r in rows if r.last_renewal_at is None), key=lambda r: r.pk, reverse=descending
    )
    return [r.pk for r in dated + nulls]


def page_for(paginator, qs, query: str):
    request = RequestFactory().get("/clients/" + (query if query.startswith("?") else "?" + query))
    return paginator.paginate(request, qs)


def walk(paginator, qs, start: str):
    seen, pages, page = [], [], page_for(paginator, qs, start)
    while True:
        pages.append([r.pk for r in page.rows])
        seen.extend(r.pk for r in page.rows)
        if not page.next_url:
            return seen, pages, page
        page = page_for(paginator, qs, page.next_url)


@pytest.mark.parametrize("sort", ["renewal", "-renewal"])
def test_pages_neither_skip_nor_repeat_rows_sharing_a_sort_value_or_null(org, tied_clients, sort):
    paginator = KeysetPaginator(SORTS, default="hostname", salt="t", page_size=4)
    qs = Client.objects.for_organisation(org)
    seen, pages, last = walk(paginator, qs, f"sort={sort}")
    assert seen == expected(tied_clients, sort.startswith("-"))
    assert len(pages) == 6  # 23 rows, 4 per page

    # ...and walking back with "previous" gives the same pages in reverse.
    back, page = [], last
    while page.previous_url:
        page = page_for(paginator, qs, page.previous_url)
        back.append([r.pk for r in page.rows])
    assert back == list(reversed(pages[:-1]))
    assert page.is_first is False and page.has_previous is False


def test_hostname_sort_and_descending(org, tied_clients):
    paginator = KeysetPaginator(SORTS, default="hostname", salt="t", page_size=10)
    qs = Client.objects.for_organisation(org)
    seen, _, _ = walk(paginator, qs, "sort=-hostname")
    assert seen == [c.pk for c in sorted(tied_clients, key=lambda c: c.hostname, reverse=True)]


def test_the_sort_menu_offers_each_labelled_sort_both_ways_keeping_the_filters(org, tied_clients):
    sorts = {**SORTS, "unlabelled": SortKey("cmid")}
    sorts["renewal"] = SortKey("last_renewal_at", nullable=True, label="Last renewal")
    sorts["hostname"] = SortKey("hostname", label="Hostname")
    paginator = KeysetPaginator(sorts, default="hostname", salt="t", page_size=5)
    qs = Client.objects.for_organisation(org)
    second = page_for(paginator, qs, page_for(paginator, qs, "flag=ok&sort=-renewal").next_url)
    choices = {c.label: c for c in second.sort_choices}
    assert set(choices) == {"Hostname", "Last renewal"}  # a key without a label has no entry
    renewal = choices["Last renewal"]
    assert renewal.active == "desc" and choices["Hostname"].active == ""
    for url, sort in ((renewal.ascending_url, "renewal"), (renewal.descending_url, "-renewal")):
        query = parse_qs(urlparse(url).query)
        # Another order starts from its first page, with the list's filters kept.
        assert query == {"flag": ["ok"], "sort": [sort]}
    # The column header of the sort in force reverses it; another column sorts ascending.
    assert second.sort_urls["renewal"] == renewal.ascending_url
    assert second.sort_urls["hostname"] == choices["Hostname"].ascending_url


def test_a_tampered_cursor_falls_back_to_the_first_page_with_an_explanation(org, tied_clients):
    paginator = KeysetPaginator(SORTS, default="hostname", salt="t", page_size=5)
    qs = Client.objects.for_organisation(org)
    second = page_for(paginator, qs, page_for(paginator, qs, "").next_url)
    cursor = parse_qs(urlparse(second.next_url).query)["cursor"][0]
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    page = page_for(paginator, qs, f"cursor={tampered}")
    assert page.cursor_error and page.is_first
    assert [r.hostname for r in page.rows] == sorted(c.hostname for c in tied_clients)[:5]
    # A cursor made for another sort order is refused the same way.
    other = page_for(paginator, qs, f"sort=-hostname&cursor={cursor}")
    assert other.cursor_error
    # Garbage is refused too.
    assert page_for(paginator, qs, "cursor=%00%ff..").cursor_error


def test_unknown_sort_and_page_size_fall_back_to_the_whitelist(org, tied_clients):
    paginator = KeysetPaginator(SORTS, default="hostname", salt="t")
    page = page_for(
        paginator, Client.objects.for_organisation(org), "sort=cmid;drop table&per_page=100000"
    )
    # A page size that is not offered is clamped to the nearest one, and the page says so.
    assert page.sort == "hostname" and page.per_page == 200
    assert "100,000 rows per page is not offered" in page.per_page_error
    assert page.count == 23 and not page.capped


def test_capped_count_says_when_it_stopped_counting(org, tied_clients):
    qs = Client.objects.for_organisation(org)
    assert capped_count(qs, cap=10) == (10, True)
    assert capped_count(qs, cap=23) == (23, False)
