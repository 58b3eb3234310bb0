"""Who may do what, through pages, the API and exports: same rules as the services.
Auditors read only, managers decide but never add keys, admins never approve, outsiders get 404."""

from __future__ import annotations

import json

import pytest
from django.test import Client as DjangoClient

from licensing.models import ActivationRequest, MakKey, RequestStatus
from licensing.services.mak import requests as mak_requests
from tests import factories
from tests.factories import product_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, pool, admin_user):
    key = factories.MakKeyFactory(pool=pool, activation_limit=10)
    client = factories.ClientFactory(
        organisation=org,
        hostname="acc-pc",
        edition=factories.edition("Office LTSC Professional Plus 2024"),
    )
    req = mak_requests.request_activations(
        actor=admin_user, pool=pool, key=key, quantity=5, justification="growth"
    )
    return {"pool": pool, "key": key, "client": client, "req": req}


def _pages(w):
    p, k, r = w["pool"].pk, w["key"].pk, w["req"].pk
    reads = ["/pools/", f"/pools/{p}/", f"/pools/{p}/activations/", "/requests/"]
    exports = ["/pools/export.csv", "/pools/keys-export.csv", "/requests/export.csv"]
    object_pages = [
        f"/pools/{p}/",
        f"/pools/{p}/activations/",
        f"/pools/{p}/keys/add/",
        f"/pools/{p}/keys/import/",
        f"/pools/{p}/request/",
        f"/pools/{p}/activations/record/",
        f"/keys/{k}/reveal/",
    ]
    object_posts = [
        f"/pools/{p}/settings/",
        f"/keys/{k}/block/",
        f"/keys/{k}/unblock/",
        f"/keys/{k}/microsoft-remaining/",
        f"/requests/{r}/approve/",
        f"/requests/{r}/reject/",
        f"/requests/{r}/cancel/",
        f"/requests/{r}/grant/",
    ]
    return reads, exports, object_pages, object_posts


def test_an_outsider_gets_404_on_every_page_action_and_api_object(
    world, as_outsider, outsider, other_org, api_token_for
):
    _, _, object_pages, object_posts = _pages(world)
    for url in object_pages:
        assert as_outsider.get(url).status_code == 404, url
    for url in object_posts:
        assert (
            as_outsider.post(
                url, {"note": "x", "reason": "x", "remaining": 1, "reference": "x"}
            ).status_code
            == 404
        ), url
    # Lists and exports show the outsider's own (empty) organisation, never ours.
    listing = as_outsider.get("/pools/").content.decode()
    assert "data-pool=" not in listing and 'data-testid="empty"' in listing
    body = b"".join(as_outsider.get("/pools/export.csv").streaming_content).decode()
    assert body.count("\n") == 1  # the header only
    assert as_outsider.get("/pools/export.csv?organisation=contoso-test").status_code == 404
    assert as_outsider.get("/requests/export.csv?organisation=contoso-test").status_code == 404
    assert as_outsider.get("/approvals/").status_code == 403  # admin of its own org: not a manager

    api = DjangoClient(**api_token_for(outsider, other_org))
    w = world
    keys_before = sorted(MakKey.objects.values_list("pk", flat=True))
    for url in (
        f"/api/v1/mak-pools/{w['pool'].pk}/",
        f"/api/v1/mak-keys/{w['key'].pk}/",
        f"/api/v1/activation-requests/{w['req'].pk}/",
    ):
        assert api.get(url).status_code == 404, url
    for url, data in (
        (f"/api/v1/mak-keys/{w['key'].pk}/block/", {"reason": "x"}),
        (f"/api/v1/activation-requests/{w['req'].pk}/approve/", {}),
        (
            "/api/v1/mak-keys/",
            {"pool": w["pool"].pk, "key": product_key(77), "activation_limit": 3},
        ),
        ("/api/v1/mak-activations/", {"client": w["client"].pk}),
        (
            "/api/v1/activation-requests/",
            {"pool": w["pool"].pk, "quantity": 3, "justification": "x"},
        ),
    ):
        assert (
            api.post(url, data=json.dumps(data), content_type="application/json").status_code == 404
        ), url
    for url in ("/api/v1/mak-pools/", "/api/v1/mak-keys/", "/api/v1/activation-requests/"):
        assert api.get(url).json()["results"] == []
    assert sorted(MakKey.objects.values_list("pk", flat=True)) == keys_before


def test_an_auditor_reads_and_exports_but_can_do_nothing(
    world, as_auditor, auditor_user, org, api_token_for
):
    reads, exports, _, object_posts = _pages(world)
    for url in reads:
        assert as_auditor.get(url).status_code == 200, url
    for url in exports:
        assert as_auditor.get(url).status_code == 200, url
    p, k = world["pool"].pk, world["key"].pk
    for url in (
        f"/pools/{p}/keys/add/",
        f"/pools/{p}/keys/import/",
        f"/pools/{p}/request/",
        f"/pools/{p}/activations/record/",
        f"/keys/{k}/reveal/",
        "/approvals/",
    ):
        assert as_auditor.get(url).status_code == 403, url
    for url in object_posts:
        assert (
            as_auditor.post(
                url, {"note": "x", "reason": "x", "remaining": 1, "reference": "x"}
            ).status_code
            == 403
        ), url
    page = as_auditor.get(f"/pools/{p}/").content.decode()
    assert "Reveal" not in page and "Add a key" not in page and "Request extra" not in page
    api = DjangoClient(**api_token_for(auditor_user, org))
    assert api.get("/api/v1/mak-keys/").status_code == 200
    for url, data in (
        ("/api/v1/mak-keys/", {"pool": p, "key": product_key(78), "activation_limit": 3}),
        (f"/api/v1/mak-keys/{k}/block/", {"reason": "x"}),
        ("/api/v1/mak-activations/", {"client": world["client"].pk}),
        ("/api/v1/activation-requests/", {"pool": p, "quantity": 3, "justification": "x"}),
        (f"/api/v1/activation-requests/{world['req'].pk}/approve/", {}),
        ("/api/v1/mak-pools/", {"edition": world["pool"].edition_id}),
    ):
        assert (
            api.post(url, data=json.dumps(data), content_type="application/json").status_code == 403
        ), url
    world["req"].refresh_from_db()
    assert world["req"].status == RequestStatus.PENDING


def test_a_manager_decides_but_cannot_add_keys_or_reveal(
    world, as_manager, manager_user, org, api_token_for
):
    p = world["pool"].pk
    assert as_manager.get(f"/pools/{p}/keys/add/").status_code == 403
    assert (
        as_manager.post(
            f"/pools/{p}/keys/add/", {"key": product_key(79), "activation_limit": 5}
        ).status_code
        == 403
    )
    assert as_manager.get(f"/keys/{world['key'].pk}/reveal/").status_code == 403
    assert as_manager.get(f"/pools/{p}/request/").status_code == 403
    api = DjangoClient(**api_token_for(manager_user, org))
    refused = api.post(
        "/api/v1/mak-keys/",
        data=json.dumps({"pool": p, "key": product_key(79), "activation_limit": 5}),
        content_type="application/json",
    )
    assert refused.status_code == 403
    approved = api.post(
        f"/api/v1/activation-requests/{world['req'].pk}/approve/",
        data=json.dumps({"note": "fine"}),
        content_type="application/json",
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = api.post(
        f"/api/v1/activation-requests/{world['req'].pk}/reject/",
        data=json.dumps({"note": "no"}),
        content_type="application/json",
    )
    assert again.status_code == 409 and again.json()["code"] == "already_decided"


def test_an_admin_cannot_approve(world, as_admin, admin_user, org, api_token_for):
    url = f"/requests/{world['req'].pk}/approve/"
    assert as_admin.post(url).status_code == 403
    assert as_admin.get("/approvals/").status_code == 403
    api = DjangoClient(**api_token_for(admin_user, org))
    approve = f"/api/v1/activation-requests/{world['req'].pk}/approve/"
    assert api.post(approve, {}, content_type="application/json").status_code == 403
    assert ActivationRequest.objects.get().status == RequestStatus.PENDING


def test_agent_tokens_see_nothing(world, org, admin_user):
    from licensing.services.tokens import create_api_token

    _, plaintext = create_api_token(actor=admin_user, organisation=org, name="agent", scope="agent")
    api = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert api.get("/api/v1/mak-keys/").status_code == 404
    assert api.get(f"/api/v1/mak-pools/{world['pool'].pk}/").status_code == 404
    assert api.get("/pools/export.csv").status_code == 404


def test_the_api_runs_the_whole_flow_with_the_same_rules(
    org, pool, admin_user, manager_user, api_token_for
):
    admin = DjangoClient(**api_token_for(admin_user, org))
    manager = DjangoClient(**api_token_for(manager_user, org))

    def post(client, url, data=None):
        return client.post(url, data=json.dumps(data or {}), content_type="application/json")

    bad = post(
        admin, "/api/v1/mak-keys/", {"pool": pool.pk, "key": "not-a-key", "activation_limit": 5}
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_key"
    created = post(
        admin, "/api/v1/mak-keys/", {"pool": pool.pk, "key": product_key(80), "activation_limit": 1}
    )
    assert created.status_code == 201
    body = created.json()
    assert "key" not in body and body["masked"].endswith(product_key(80)[-5:])
    imported = post(
        admin,
        "/api/v1/mak-keys/import/",
        {"pool": pool.pk, "csv": f"key,activation_limit\n{product_key(80)},3\n"},
    )
    assert imported.status_code == 400 and "row 2" in imported.json()["errors"]
    client = factories.ClientFactory(organisation=org, hostname="api-pc", edition=pool.edition)
    second = factories.ClientFactory(organisation=org, hostname="api-pc2", edition=pool.edition)
    assert (
        post(
            admin, "/api/v1/mak-activations/", {"client": client.pk, "reason": "reinstall"}
        ).status_code
        == 201
    )
    exhausted = post(admin, "/api/v1/mak-activations/", {"client": second.pk})
    assert exhausted.status_code == 400 and exhausted.json()["code"] == "pool_exhausted"
    for quantity in (0, -1, 100_001):
        r = post(
            admin,
            "/api/v1/activation-requests/",
            {"pool": pool.pk, "quantity": quantity, "justification": "x"},
        )
        assert r.status_code == 400, quantity
    missing = post(
        admin, "/api/v1/activation-requests/", {"pool": pool.pk, "quantity": 5, "justification": ""}
    )
    assert missing.status_code == 400 and "justification" in missing.json()["detail"]
    req = post(
        admin,
        "/api/v1/activation-requests/",
        {"pool": pool.pk, "quantity": 5, "justification": "more kiosks"},
    )
    assert req.status_code == 201
    req_id = req.json()["id"]
    rejected = post(manager, f"/api/v1/activation-requests/{req_id}/reject/", {"note": ""})
    assert rejected.status_code == 400
    assert post(manager, f"/api/v1/activation-requests/{req_id}/approve/").status_code == 200
    pool_data = admin.get(f"/api/v1/mak-pools/{pool.pk}/").json()
    assert pool_data["forecast"]["limit"] == 6 and pool_data["forecast"]["remaining"] == 5
    assert (
        post(admin, f"/api/v1/activation-requests/{req_id}/grant/", {"reference": "SR-9"}).json()[
            "microsoft_reference"
        ]
        == "SR-9"
    )
    key_id = body["id"]
    assert (
        post(admin, f"/api/v1/mak-keys/{key_id}/microsoft-remaining/", {"remaining": 2}).json()[
            "ledger_disagrees"
        ]
        is True
    )
    assert (
        post(admin, f"/api/v1/mak-keys/{key_id}/block/", {"reason": "leak"}).json()["status"]
        == "blocked"
    )
    listing = admin.get("/api/v1/mak-activations/").json()["results"]
    assert listing[0]["client_hostname"] == "api-pc" and listing[0]["reason"] == "reinstall"
