"""A user in more organisations than the header's switcher lists (a consultant of many
customers, a superuser) gets a link to the chooser instead of a select of every organisation:
the chooser lists theirs by name, narrowed by part of the name, and switches back to the page
they came from."""

from __future__ import annotations

import re

import pytest

from licensing.models import Role
from licensing.scoping import SWITCHER_LIMIT
from licensing.views.home import CHOOSER_ROWS
from tests import factories
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def member_of(n: int, prefix: str = "Customer"):  # type: ignore[no-untyped-def]
    user = factories.UserFactory(username=f"consultant-{n}")
    orgs = []
    for i in range(n):
        org = factories.OrganisationFactory(name=f"{prefix} {i:03d}", slug=f"c-{n}-{i:03d}")
        factories.MembershipFactory(user=user, organisation=org, role=Role.AUDITOR)
        orgs.append(org)
    return user, orgs


def test_up_to_the_limit_the_header_has_the_select():
    user, _ = member_of(SWITCHER_LIMIT)
    html = logged_in(user).get("/clients/").content.decode()
    assert 'id="org-select"' in html and 'data-testid="org-chooser"' not in html
    assert len(re.findall(r'<option value="\d+"[^>]*>Customer', html)) == SWITCHER_LIMIT


def test_beyond_the_limit_the_header_links_to_the_chooser():
    user, orgs = member_of(SWITCHER_LIMIT + 1)
    html = logged_in(user).get("/clients/", {"organisation": orgs[5].slug}).content.decode()
    assert 'id="org-select"' not in html and "Customer 007" not in html
    link = re.search(r'<a [^>]*href="([^"]+)"[^>]*data-testid="org-chooser"[^>]*>(.*?)</a>', html)
    assert link is not None
    assert link.group(1) == "/organisation/choose/?next=/clients/%3Forganisation%3Dc-21-005"
    assert "Customer 005" in link.group(2)  # the current organisation's name


def test_the_chooser_lists_mine_by_name_and_narrows_by_part_of_it(other_org):
    user, _ = member_of(CHOOSER_ROWS + 5)
    browser = logged_in(user)
    html = browser.get("/organisation/choose/").content.decode()
    names = re.findall(r'<span class="me-auto">(Customer \d+)', html)
    assert names == [f"Customer {i:03d}" for i in range(CHOOSER_ROWS)]
    assert 'data-testid="org-more"' in html
    assert other_org.name not in html  # not a member
    narrowed = browser.get("/organisation/choose/", {"q": "mer 05"}).content.decode()
    assert re.findall(r'<span class="me-auto">(Customer \d+)', narrowed) == [
        f"Customer {i:03d}" for i in range(50, 55)
    ]
    assert 'data-testid="org-more"' not in narrowed
    none = browser.get("/organisation/choose/", {"q": "Other Corp"}).content.decode()
    assert 'data-testid="empty-state"' in none and "Other Corp" in none


def test_switching_from_the_chooser_goes_back_to_the_page_in_the_chosen_one():
    user, orgs = member_of(SWITCHER_LIMIT + 1)
    factories.ClientFactory(organisation=orgs[9], hostname="row-nine")
    browser = logged_in(user)
    html = browser.get("/organisation/choose/", {"next": "/clients/?organisation=c-21-000"})
    page = html.content.decode()
    assert 'name="next" value="/clients/?organisation=c-21-000"' in page
    response = browser.post(
        "/organisation/switch/",
        {"organisation": orgs[9].pk, "next": "/clients/?organisation=c-21-000"},
    )
    assert response.status_code == 302 and response["Location"] == "/clients/"
    assert "row-nine" in browser.get(response["Location"]).content.decode()


def test_a_next_address_elsewhere_is_not_followed():
    user, _ = member_of(2)
    page = logged_in(user).get("/organisation/choose/", {"next": "https://evil.example/"})
    assert 'name="next" value="/"' in page.content.decode()


def test_the_chooser_needs_a_sign_in(client):
    response = client.get("/organisation/choose/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_switcher_adds_no_query_to_a_page():
    """The header's switcher lists the organisations the page was resolved from
    (`scoping.memberships`): a page with the header and an htmx fragment without it (the list's
    rows after a filter change) read the user's organisations once each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user, _ = member_of(3)
    browser = logged_in(user)

    def organisation_queries(**headers) -> int:  # type: ignore[no-untyped-def]
        with CaptureQueriesContext(connection) as queries:
            response = browser.get("/clients/", **headers)
            assert response.status_code == 200
        return sum('FROM "licensing_organisation"' in q["sql"] for q in queries)

    page = browser.get("/clients/").content.decode()
    assert len(re.findall(r'<option value="\d+"[^>]*>Customer', page)) == 3
    assert organisation_queries() == 1
    assert organisation_queries(HTTP_HX_REQUEST="true") == 1
