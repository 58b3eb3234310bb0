"""The portal's shell in Norwegian Bokmål (issue 15): the header, the dashboard, search, API
tokens, the audit log and the account page speak Norwegian when the browser asks for `nb`, and
numbers and dates follow the language (1 000, 29.11.2026). They need the compiled `nb` catalogue."""

from __future__ import annotations

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
    assert "29.11.2026 14:05" in body and "2026-11-29" not in body


def test_the_dashboard_stays_english_by_default(fleet):
    body = page(fleet, "/")
    assert "Needs attention" in body and "Trenger oppfølging" not in body
    assert "1,500" in body
    assert "2026-11-29 14:05" in body


def test_search_in_norwegian(as_admin, org):
    factories.ClientFactory(organisation=org, hostname="ws-oslo-01")
    body = page(as_admin, "/search/?q=ws-oslo", **NB)
    assert '<h1 class="h3">Søk</h1>' in body and "ws-oslo-01" in body
    assert '<h2 class="h6">Klienter</h2>' in body and ">Clients<" not in body
    empty = page(as_admin, "/search/?q=nothing-here", **NB)
    assert "Ingenting i organisasjonene dine samsvarer med" in empty
    assert "Nothing in your organisations matches" not in empty
