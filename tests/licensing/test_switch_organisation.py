"""The organisation switcher and the header always show the organisation whose rows the page
shows: `?organisation=` drives both, and switching leaves no stale `?organisation=` behind."""

from __future__ import annotations

import re

import pytest
from django.test import Client as DjangoClient

from licensing.models import Role
from licensing.scoping import SESSION_KEY
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def consultant():
    """Admin of Contoso, auditor of Fabrikam, currently switched to Fabrikam."""
    user = factories.UserFactory(username="consultant")
    orgs = {}
    for slug, role in (("contoso", Role.ADMIN), ("fabrikam", Role.AUDITOR)):
        orgs[slug] = factories.OrganisationFactory(name=slug.title(), slug=slug)
        factories.MembershipFactory(user=user, organisation=orgs[slug], role=role)
        factories.ClientFactory(organisation=orgs[slug], hostname=f"row-{slug}")
    browser = DjangoClient()
    browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = browser.session
    session[SESSION_KEY] = orgs["fabrikam"].pk
    session.save()
    return browser, orgs


def _header(html: str) -> tuple[str, str]:
    """(the organisation selected in the switcher, the role badge) of a rendered page."""
    selected = re.search(r'<option value="\d+" selected>([^<]+)</option>', html)
    badge = re.search(r'<span class="badge text-bg-secondary">([^<]+)</span>', html)
    assert selected and badge, html[:2000]
    return selected.group(1), badge.group(1)


def test_the_header_shows_the_organisation_named_in_the_address(consultant):
    browser, _ = consultant
    html = browser.get("/clients/", {"organisation": "contoso"}).content.decode()
    assert "row-contoso" in html and "row-fabrikam" not in html
    assert _header(html) == ("Contoso", "Administrator")
    assert 'href="/imports/"' in html  # Contoso's admin menu, not Fabrikam's auditor one


def test_the_header_follows_the_session_without_a_name(consultant):
    browser, _ = consultant
    html = browser.get("/clients/").content.decode()
    assert "row-fabrikam" in html and "row-contoso" not in html
    assert _header(html) == ("Fabrikam", "Auditor")
    assert 'href="/imports/"' not in html


def test_switching_away_from_a_named_organisation_shows_the_switched_one(consultant):
    browser, orgs = consultant
    browser.get("/clients/", {"organisation": "contoso"})  # Contoso's rows and header
    response = browser.post(
        "/organisation/switch/",
        {"organisation": orgs["fabrikam"].pk, "next": "/clients/?organisation=contoso&q=row"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/clients/?q=row"
    html = browser.get(response["Location"]).content.decode()
    assert "row-fabrikam" in html and "row-contoso" not in html
    assert _header(html) == ("Fabrikam", "Auditor")


def test_switching_drops_a_cursor_into_the_old_organisations_rows(consultant):
    browser, orgs = consultant
    response = browser.post(
        "/organisation/switch/",
        {"organisation": orgs["contoso"].pk, "next": "/kms/hosts/?cursor=abc&state=ok"},
    )
    assert response["Location"] == "/kms/hosts/?state=ok"
