"""The organisation rule (licensing/scoping.py) on the licences area's lists, exports and API,
with the same world and checks as tests/licensing/test_organisation_resolver.py: naming one's
organisation acts on it, naming another is 404, a token acts in its own organisation only,
without a name the session's switched organisation is used."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client as DjangoClient

from licensing.models import Agreement, Entitlement
from tests import factories
from tests.licensing.test_organisation_resolver import (
    Endpoint,
    _acted_on,
    _call,
    _created_org,
    _session,
    _token_headers,
)
from tests.licensing.test_organisation_resolver import world as resolver_world  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(resolver_world):  # noqa: F811
    for slug, org in resolver_world["orgs"].items():
        marker = f"row-{slug}"
        agreement = Agreement.objects.create(
            organisation=org, programme="ea", number=marker, starts_on=dt.date(2025, 1, 1)
        )
        Entitlement.objects.create(
            organisation=org,
            agreement=agreement,
            edition=factories.edition(),
            quantity=5,
            acquired_on=dt.date(2025, 1, 1),
            note=marker,
        )
    return resolver_world


ENDPOINTS = {
    "page agreements": Endpoint("/licences/agreements/", tokens=False),
    "api agreements": Endpoint("/api/v1/agreements/", tokens=True),
    "api entitlements": Endpoint("/api/v1/entitlements/", tokens=True),
    "api create agreement": Endpoint(
        "/api/v1/agreements/",
        tokens=True,
        body=lambda: {"programme": "mpsa", "number": "NEW-1", "starts_on": "2025-01-01"},
        created_in=_created_org,
    ),
}
POSITION = ("/licences/", "/licences/export.csv", "/api/v1/licence-position/")


@pytest.mark.parametrize("name", ENDPOINTS)
def test_a_member_naming_an_organisation_acts_on_it(world, name):
    endpoint = ENDPOINTS[name]
    assert _acted_on(endpoint, _call(endpoint, _session(world), "contoso", {})) == {"contoso"}


@pytest.mark.parametrize("name", ENDPOINTS)
def test_naming_an_organisation_the_caller_is_not_in_is_not_found(world, name):
    assert _call(ENDPOINTS[name], _session(world), "northwind", {}).status_code == 404


@pytest.mark.parametrize("name", [n for n, e in ENDPOINTS.items() if e.tokens])
def test_a_token_acts_in_its_own_organisation_only(world, name):
    endpoint = ENDPOINTS[name]
    headers: dict[str, Any] = _token_headers(world)
    assert _call(endpoint, DjangoClient(), "fabrikam", headers).status_code == 404
    assert _acted_on(endpoint, _call(endpoint, DjangoClient(), None, headers)) == {"contoso"}


@pytest.mark.parametrize("name", ENDPOINTS)
def test_without_a_name_the_session_switched_organisation_is_used(world, name):
    endpoint = ENDPOINTS[name]
    assert _acted_on(endpoint, _call(endpoint, _session(world), None, {})) == {"fabrikam"}


@pytest.mark.parametrize("path", POSITION)
def test_the_position_follows_the_same_rule(world, path):
    """The position has no text to mark rows with: its installs tell the organisations apart
    (one client each, of the entitled edition or none), and 404 where the rule says so."""
    browser = _session(world)
    assert browser.get(path, {"organisation": "northwind"}).status_code == 404
    assert browser.get(path, {"organisation": "contoso"}).status_code == 200
    assert browser.get(path).status_code == 200
    if path != "/licences/export.csv":
        headers = _token_headers(world)
        assert DjangoClient().get(path, {"organisation": "fabrikam"}, **headers).status_code in (
            404,
            302,  # the page is session-only: a token is not a login there
        )
    if path == "/api/v1/licence-position/":
        rows = browser.get(path, {"organisation": "contoso"}).json()["results"]
        assert {r["organisation"] for r in rows} == {"contoso"}
        rows = browser.get(path).json()["results"]
        assert {r["organisation"] for r in rows} == {"fabrikam"}
