"""The portal's shell in Norwegian Bokmål (issue 15): the header, the dashboard, search, API
tokens, the audit log and the account page speak Norwegian when the browser asks for `nb`, and
numbers and dates follow the language (1 000, 29.11.2026). They need the compiled `nb` catalogue."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from licensing.models import ComplianceFlag
from tests import factories
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

NB = {"HTTP_ACCEPT_LANGUAGE": "nb"}


def page(client, url: str, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.fixture
def fleet(org, admin_user):
    """A flagged client with a known flag date, and a MAK pool of 1,500 activations."""
    factories.ClientFactory(
        organisation=org,
        hostname="pc-flagged",
        compliance_flag=ComplianceFlag.EXPIRED,
        flag_changed_at=datetime(2026, 11, 29, 14, 5, tzinfo=UTC),
    )
    pool = factories.MakPoolFactory(organisation=org, low_water_mark=0)
    factories.MakKeyFactory(pool=pool, activation_limit=1500)
    return logged_in(admin_user)


def test_the_dashboard_speaks_norwegian_with_norwegian_numbers_and_dates(fleet):
    body = page(fleet, "/", **NB)
    assert '<html lang="nb"' in body
    for norwegian in ("Oversikt", "Trenger oppfølging", "Klienter med merknad", "Etter utgave"):
        assert norwegian in body
    for english in ("Dashboard", "Needs attention", "Flagged clients", "By edition", "Log out"):
        assert english not in body
    assert "1\xa0500" in body and "1,500" not in body
    # Date and time may wrap apart on a phone, each on one line (two spans).
    assert (
        re.search(r"29\.11\.2026(</span> <span[^>]*>)? ?14:05", body) and "2026-11-29" not in body
    )


def test_the_dashboard_stays_english_by_default(fleet):
    body = page(fleet, "/")
    assert "Needs attention" in body and "Trenger oppfølging" not in body
    assert "1,500" in body
    assert re.search(r"2026-11-29(</span> <span[^>]*>)? ?14:05", body)


def test_search_in_norwegian(as_admin, org):
    factories.ClientFactory(organisation=org, hostname="ws-oslo-01")
    body = page(as_admin, "/search/?q=ws-oslo", **NB)
    assert '<h1 class="h3">Søk</h1>' in body and "ws-oslo-01" in body
    assert '<h2 class="h6">Klienter</h2>' in body and ">Clients<" not in body
    empty = page(as_admin, "/search/?q=nothing-here", **NB)
    assert "Ingenting i organisasjonene dine samsvarer med" in empty
    assert "Nothing in your organisations matches" not in empty


def test_api_tokens_in_norwegian(as_admin):
    body = page(as_admin, "/tokens/", **NB)
    for norwegian in ("API-tokener", "Nytt token", "Opprett token", "Tokenene dine", "Navn"):
        assert norwegian in body
    for english in ("New token", "Create token", "Your tokens", "Valid for (days)"):
        assert english not in body
    created = as_admin.post("/tokens/", {"name": "nightly", "scope": "user", "days": 30}, **NB)
    assert "Tokenet «nightly» er opprettet" in created.content.decode()


def test_the_audit_log_in_norwegian(as_admin, org, admin_user):
    from licensing.services import audit

    event = audit.record(
        action="organisation.settings_changed",
        actor=admin_user,
        organisation=org,
        obj=org,
        changes={"at_risk_days": [30, 20]},
    )
    listing = page(as_admin, "/audit/", **NB)
    assert "Revisjonslogg" in listing and "Audit log" not in listing
    assert "Når (UTC)" in listing and "When (UTC)" not in listing
    assert event.at.strftime("%d.%m.%Y") in listing
    # The action code is a stored identifier: it stays as it is.
    assert "organisation.settings_changed" in listing
    detail = page(as_admin, f"/audit/{event.pk}/", **NB)
    assert "Endringer" in detail and "Før" in detail and "Etter" in detail
    assert "Changes" not in detail and "Before" not in detail


def test_the_account_pages_in_norwegian(as_admin):
    account = page(as_admin, "/account/", **NB)
    for norwegian in ("Konto og sikkerhet", "Tofaktorautentisering", "Siste pålogginger"):
        assert norwegian in account
    for english in ("Account and security", "Two-factor authentication", "Recent sign-ins"):
        assert english not in account
    settings_page = page(as_admin, "/organisation/sign-in/", **NB)
    assert "Påloggingsinnstillinger" in settings_page and "Koble en gruppe" in settings_page
    assert "Sign-in settings" not in settings_page and "Map a group" not in settings_page


def test_the_role_badge_speaks_the_page_language(as_auditor):
    badge = '<span class="badge text-bg-secondary">{}</span>'
    assert badge.format("Auditor") in page(as_auditor, "/")
    norwegian = page(as_auditor, "/", **NB)
    assert badge.format("Revisor") in norwegian and badge.format("Auditor") not in norwegian
