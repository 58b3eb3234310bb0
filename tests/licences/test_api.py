"""/api/v1/agreements/, /api/v1/entitlements/, /api/v1/licence-position/: roles and tenancy."""

from __future__ import annotations

import json

import pytest
from django.test import Client as DjangoClient

from licensing.models import Agreement, AuditEvent, Edition, Entitlement
from tests.licences.conftest import PRO_PLUS, entitle, make_agreement


def api(headers) -> DjangoClient:
    return DjangoClient(**headers)


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def patch(client, url, data):
    return client.patch(url, json.dumps(data), content_type="application/json")


@pytest.fixture
def agreement(org):
    a = make_agreement(org, "EA-API")
    entitle(a, PRO_PLUS["2024"], 10)
    return a


def test_admin_creates_updates_and_deletes_through_the_api(admin_user, org, api_token_for):
    client = api(api_token_for(admin_user, org))
    response = post(
        client,
        "/api/v1/agreements/",
        {"programme": "mpsa", "number": "MPSA-9", "starts_on": "2025-04-01"},
    )
    assert response.status_code == 201, response.content
    agreement_id = response.json()["id"]
    assert response.json()["organisation"] == "contoso-test"
    edition = Edition.objects.get(name=PRO_PLUS["2021"])
    response = post(
        client,
        "/api/v1/entitlements/",
        {"agreement": agreement_id, "edition": edition.pk, "quantity": 40},
    )
    assert response.status_code == 201, response.content
    line_id = response.json()["id"]
    assert response.json()["acquired_on"] == "2025-04-01"
    response = patch(client, f"/api/v1/entitlements/{line_id}/", {"quantity": 45})
    assert response.status_code == 200 and response.json()["quantity"] == 45
    response = patch(client, f"/api/v1/agreements/{agreement_id}/", {"reseller": "Crayon"})
    assert response.status_code == 200 and response.json()["reseller"] == "Crayon"
    response = patch(client, f"/api/v1/agreements/{agreement_id}/", {"ends_on": "2020-01-01"})
    assert response.status_code == 400 and "ends_on" in response.json()["errors"]
    assert client.delete(f"/api/v1/entitlements/{line_id}/").status_code == 204
    assert client.delete(f"/api/v1/agreements/{agreement_id}/").status_code == 204
    assert not Agreement.objects.exists()
    assert AuditEvent.objects.filter(action__startswith="agreement.").count() == 3


def test_duplicate_number_and_bad_input_are_400(admin_user, org, api_token_for, agreement):
    client = api(api_token_for(admin_user, org))
    response = post(
        client,
        "/api/v1/agreements/",
        {"programme": "ea", "number": "EA-API", "starts_on": "2025-01-01"},
    )
    assert response.status_code == 400 and "number" in response.json()["errors"]
    response = post(
        client,
        "/api/v1/entitlements/",
        {"agreement": agreement.pk, "edition": 999999, "quantity": 0},
    )
    assert response.status_code == 400


def test_managers_and_auditors_read_but_cannot_write(
    manager_user, auditor_user, org, api_token_for, agreement, position_data
):
    line = agreement.entitlements.get()
    for user in (manager_user, auditor_user):
        client = api(api_token_for(user, org))
        assert client.get("/api/v1/agreements/").status_code == 200
        assert len(client.get("/api/v1/entitlements/").json()["results"]) == 3
        response = client.get("/api/v1/licence-position/?short=true")
        assert response.status_code == 200
        assert [(r["edition_name"], r["shortfall"]) for r in response.json()["results"]] == []
        assert (
            post(
                client,
                "/api/v1/agreements/",
                {"programme": "ea", "number": "N", "starts_on": "2025-01-01"},
            ).status_code
            == 403
        )
        assert (
            post(
                client,
                "/api/v1/entitlements/",
                {"agreement": agreement.pk, "edition": line.edition_id, "quantity": 1},
            ).status_code
            == 403
        )
        assert patch(client, f"/api/v1/entitlements/{line.pk}/", {"quantity": 1}).status_code == 403
        assert client.delete(f"/api/v1/agreements/{agreement.pk}/").status_code == 403
    assert Entitlement.objects.get(pk=line.pk).quantity == 10


def test_position_api_rows(auditor_user, org, api_token_for, position_data):
    client = api(api_token_for(auditor_user, org))
    rows = client.get("/api/v1/licence-position/").json()["results"]
    by_name = {r["edition_name"]: r for r in rows}
    assert by_name[PRO_PLUS["2019"]] | {} == {
        "organisation": "contoso-test",
        "edition": Edition.objects.get(name=PRO_PLUS["2019"]).pk,
        "edition_name": PRO_PLUS["2019"],
        "product": "proplus",
        "version": "2019",
        "installed": 3,
        "licences": 0,
        "covered": 1,
        "covered_by_newer": 1,
        "surplus": 0,
        "shortfall": 2,
    }
    assert len(rows) == 4


def test_an_outsider_sees_nothing_of_the_organisation(
    outsider, other_org, api_token_for, agreement, org
):
    line = agreement.entitlements.get()
    client = api(api_token_for(outsider, other_org))
    assert client.get("/api/v1/agreements/?organisation=contoso-test").status_code == 404
    assert client.get("/api/v1/licence-position/?organisation=contoso-test").status_code == 404
    assert client.get(f"/api/v1/agreements/{agreement.pk}/").status_code == 404
    assert client.get(f"/api/v1/entitlements/{line.pk}/").status_code == 404
    assert (
        patch(client, f"/api/v1/agreements/{agreement.pk}/", {"reseller": "x"}).status_code == 404
    )
    assert client.delete(f"/api/v1/entitlements/{line.pk}/").status_code == 404
    response = post(
        client,
        "/api/v1/entitlements/",
        {"agreement": agreement.pk, "edition": line.edition_id, "quantity": 5},
    )
    assert response.status_code == 404
    response = post(
        client,
        "/api/v1/agreements/",
        {
            "programme": "ea",
            "number": "X",
            "starts_on": "2025-01-01",
            "organisation": "contoso-test",
        },
    )
    assert response.status_code == 404
    assert client.get("/api/v1/agreements/").json()["results"] == []
    assert Entitlement.objects.count() == 1 and Agreement.objects.count() == 1


def test_session_outsider_and_anonymous(as_outsider, client, agreement):
    assert as_outsider.get(f"/api/v1/agreements/{agreement.pk}/").status_code == 404
    assert client.get("/api/v1/licence-position/").status_code in (401, 403)
