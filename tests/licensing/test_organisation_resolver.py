"""One rule for which organisation a request acts on, asserted over every endpoint that takes an
organisation (page lists, CSV exports, API lists and creates, ingest):

- a member naming an organisation (`?organisation=` or a body field) acts on it;
- naming one the caller does not belong to is 404;
- a token plus another organisation's slug is 404 (even one the token's owner belongs to);
- a token alone acts on the token's organisation;
- otherwise the session's current (switched-to) organisation.

`consultant` is an admin of Contoso and Fabrikam and has switched to Fabrikam; Northwind is
someone else's. Every organisation has one row of each kind marked `row-<slug>`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from licensing.models import (
    ActivationReason,
    ActivationRequest,
    Client,
    DnsFinding,
    Edition,
    ImportRun,
    ImportSource,
    ImportStatus,
    KmsProductGroup,
    MakActivation,
    Role,
)
from licensing.scoping import SESSION_KEY
from licensing.services import audit
from licensing.services.tokens import create_api_token
from tests import factories
from tests.samples import read_sample

pytestmark = pytest.mark.django_db

SLUGS = ("contoso", "fabrikam", "northwind")
MEMBER_OF = ("contoso", "fabrikam")


@pytest.fixture
def world() -> dict[str, Any]:
    now = timezone.now()
    orgs = {s: factories.OrganisationFactory(name=s.title(), slug=s) for s in SLUGS}
    consultant = factories.UserFactory(username="consultant")
    for slug in MEMBER_OF:
        factories.MembershipFactory(user=consultant, organisation=orgs[slug], role=Role.ADMIN)
    for slug, org in orgs.items():
        marker = f"row-{slug}"
        client = factories.ClientFactory(organisation=org, hostname=marker)
        factories.KmsHostFactory(organisation=org, fqdn=f"kms.{marker}.test")
        pool = factories.MakPoolFactory(organisation=org, agreement_number=marker)
        key = factories.MakKeyFactory(pool=pool, label=marker)
        MakActivation.objects.create(
            key=key,
            pool_id=key.pool_id,
            client=client,
            reason=ActivationReason.FIRST_ACTIVATION,
            activated_at=now,
        )
        ActivationRequest.objects.create(
            pool=pool,
            agreement_number=marker,
            quantity=5,
            justification="more seats",
            requested_by=consultant,
        )
        ImportRun.objects.create(
            organisation=org,
            source=ImportSource.CSV,
            status=ImportStatus.DONE,
            actor_label=marker,
            filename=f"{marker}.csv",
            started_at=now,
        )
        DnsFinding.objects.create(
            organisation=org,
            domain=f"{slug}.test",
            target=f"kms.{marker}.test",
            port=1688,
            first_seen_at=now,
            last_seen_at=now,
        )
        audit.record(action="test.marker", actor=marker, organisation=org, label=marker)
    return {"orgs": orgs, "consultant": consultant}


def _session(world: dict[str, Any]) -> DjangoClient:
    """consultant's browser, switched to Fabrikam."""
    browser = DjangoClient()
    browser.force_login(world["consultant"], backend="django.contrib.auth.backends.ModelBackend")
    session = browser.session
    session[SESSION_KEY] = world["orgs"]["fabrikam"].pk
    session.save()
    return browser


def _token_headers(world: dict[str, Any]) -> dict[str, str]:
    """consultant's personal token for Contoso."""
    _, plaintext = create_api_token(
        actor=world["consultant"], organisation=world["orgs"]["contoso"], name="resolver"
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def _markers(response: Any) -> set[str]:
    text = b"".join(response.streaming_content) if response.streaming else response.content
    return {slug for slug in SLUGS if f"row-{slug}".encode() in text}


@dataclass(frozen=True)
class Endpoint:
    """`path` is read with GET (its rows show which organisation it worked in), or written with
    POST `body()` (with the organisation slug in the body) and `created_in` names the
    organisation of what was written."""

    path: str
    tokens: bool  # accepts `Authorization: Bearer`
    body: Callable[[], Any] | None = None
    created_in: Callable[[Any], str] | None = None


def _import_org(response: Any) -> str:
    return ImportRun.objects.get(pk=response.json()["import"]).organisation.slug


def _created_org(response: Any) -> str:
    assert response.status_code == 201, response.json()
    return response.json()["organisation"]


def _edition_id() -> int:
    """An edition without a pool yet (the fixture's pools are of the factory's edition)."""
    return Edition.objects.filter(mak_pools=None).order_by("id").first().pk


ENDPOINTS = {
    # page lists (sessions only)
    "page clients": Endpoint("/clients/", tokens=False),
    "page kms hosts": Endpoint("/kms/hosts/", tokens=False),
    "page mak pools": Endpoint("/pools/", tokens=False),
    "page requests": Endpoint("/requests/", tokens=False),
    "page imports": Endpoint("/imports/", tokens=False),
    "page audit": Endpoint("/audit/", tokens=False),
    # CSV exports (session or personal token)
    "csv clients": Endpoint("/clients/export.csv", tokens=True),
    "csv kms hosts": Endpoint("/kms/hosts/export.csv", tokens=True),
    "csv mak pools": Endpoint("/pools/export.csv", tokens=True),
    "csv mak keys": Endpoint("/pools/keys-export.csv", tokens=True),
    "csv requests": Endpoint("/requests/export.csv", tokens=True),
    "csv audit": Endpoint("/audit/export.csv", tokens=True),
    # API lists
    "api clients": Endpoint("/api/v1/clients/", tokens=True),
    "api kms hosts": Endpoint("/api/v1/kms-hosts/", tokens=True),
    "api kms findings": Endpoint("/api/v1/kms-findings/", tokens=True),
    "api mak pools": Endpoint("/api/v1/mak-pools/", tokens=True),
    "api mak keys": Endpoint("/api/v1/mak-keys/", tokens=True),
    "api mak activations": Endpoint("/api/v1/mak-activations/", tokens=True),
    "api activation requests": Endpoint("/api/v1/activation-requests/", tokens=True),
    "api imports": Endpoint("/api/v1/inventory/imports/", tokens=True),
    # API creates and ingest
    "api create kms host": Endpoint(
        "/api/v1/kms-hosts/",
        tokens=True,
        body=lambda: {
            "fqdn": "kms-new.example.test",
            "product_group": KmsProductGroup.OFFICE_2024.value,
        },
        created_in=_created_org,
    ),
    "api create mak pool": Endpoint(
        "/api/v1/mak-pools/",
        tokens=True,
        body=lambda: {"edition": _edition_id(), "agreement_number": "EA-NEW"},
        created_in=_created_org,
    ),
    "api ingest": Endpoint(
        "/api/v1/inventory/clients/",
        tokens=True,
        body=lambda: {"clients": [{"hostname": "new-pc", "license_status": "licensed"}]},
        created_in=_import_org,
    ),
    "api status text": Endpoint(
        "/api/v1/inventory/status-text/",
        tokens=True,
        body=lambda: {
            "hostname": "new-pc",
            "text": read_sample("ospp-dstatus-office365-oobgrace-full-mas-issue269.txt"),
        },
        created_in=_import_org,
    ),
}


def _call(
    endpoint: Endpoint, browser: DjangoClient, slug: str | None, headers: dict[str, str]
) -> Any:
    if endpoint.body is None:
        query = {"organisation": slug} if slug else {}
        return browser.get(endpoint.path, query, **headers)
    body = endpoint.body() | ({"organisation": slug} if slug else {})
    return browser.post(endpoint.path, body, content_type="application/json", **headers)


def _acted_on(endpoint: Endpoint, response: Any) -> set[str]:
    assert response.status_code in (200, 201, 400), response.content[:300]
    if endpoint.created_in is not None:
        return {endpoint.created_in(response)}
    return _markers(response)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_a_member_naming_an_organisation_acts_on_it(world, name):
    endpoint = ENDPOINTS[name]
    response = _call(endpoint, _session(world), "contoso", {})
    assert _acted_on(endpoint, response) == {"contoso"}


@pytest.mark.parametrize("name", ENDPOINTS)
def test_naming_an_organisation_the_caller_is_not_in_is_not_found(world, name):
    response = _call(ENDPOINTS[name], _session(world), "northwind", {})
    assert response.status_code == 404


@pytest.mark.parametrize("name", [n for n, e in ENDPOINTS.items() if e.tokens])
def test_a_token_with_another_organisations_slug_is_not_found(world, name):
    # consultant belongs to Fabrikam too, but the token is Contoso's: never ignored, never B.
    response = _call(ENDPOINTS[name], DjangoClient(), "fabrikam", _token_headers(world))
    assert response.status_code == 404


@pytest.mark.parametrize("name", [n for n, e in ENDPOINTS.items() if e.tokens])
def test_a_token_acts_in_its_own_organisation(world, name):
    endpoint = ENDPOINTS[name]
    response = _call(endpoint, DjangoClient(), None, _token_headers(world))
    assert _acted_on(endpoint, response) == {"contoso"}


@pytest.mark.parametrize("name", ENDPOINTS)
def test_without_a_name_the_session_switched_organisation_is_used(world, name):
    endpoint = ENDPOINTS[name]
    response = _call(endpoint, _session(world), None, {})
    assert _acted_on(endpoint, response) == {"fabrikam"}


def test_a_query_and_a_body_naming_different_organisations_are_not_found(world):
    response = _session(world).post(
        "/api/v1/mak-pools/?organisation=fabrikam",
        {"edition": _edition_id(), "organisation": "contoso"},
        content_type="application/json",
    )
    assert response.status_code == 404


def test_objects_named_by_id_are_found_in_any_of_the_callers_organisations(world):
    contoso_client = Client.objects.get(hostname="row-contoso")
    browser = _session(world)  # switched to Fabrikam
    assert browser.get(f"/api/v1/clients/{contoso_client.pk}/").status_code == 200
    northwind_client = Client.objects.get(hostname="row-northwind")
    assert browser.get(f"/api/v1/clients/{northwind_client.pk}/").status_code == 404


def test_a_user_without_an_organisation_gets_not_found_not_someone_elses(world):
    loner = DjangoClient()
    loner.force_login(factories.UserFactory(username="loner"))
    assert loner.get("/kms/hosts/").status_code == 404
    assert loner.get("/api/v1/clients/").status_code == 404
    created = loner.post(
        "/api/v1/mak-pools/", {"edition": _edition_id()}, content_type="application/json"
    )
    assert created.status_code == 404
    assert loner.get("/").status_code == 200  # the "ask an administrator" page


def test_the_page_and_its_header_resolve_the_organisation_once(world):
    browser = _session(world)
    with CaptureQueriesContext(connection) as queries:
        response = browser.get("/kms/hosts/", {"organisation": "contoso"})
    assert response.status_code == 200
    # One read of the user's organisations serves the page, the header's switcher and the
    # two-factor check (`scoping.memberships`).
    assert sum('FROM "licensing_organisation"' in q["sql"] for q in queries) == 1
