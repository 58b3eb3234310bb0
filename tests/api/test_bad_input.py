"""Bad input is a 4xx with a reason, never a 500 (issue 11): JSON depth and size, numbers out
of range, NaN; and the one error shape on every such answer."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient

from licensing.models import Edition
from licensing.services.mak.requests import request_activations
from tests import factories

# Every API operation that takes a JSON body ({id} filled by the fixture).
JSON_POSTS = [
    ("post", "/api/v1/inventory/clients/"),
    ("post", "/api/v1/inventory/status-text/"),
    ("post", "/api/v1/mak-pools/"),
    ("patch", "/api/v1/mak-pools/{pool}/"),
    ("post", "/api/v1/mak-keys/"),
    ("post", "/api/v1/mak-keys/import/"),
    ("post", "/api/v1/mak-keys/{key}/block/"),
    ("post", "/api/v1/mak-keys/{key}/microsoft-remaining/"),
    ("post", "/api/v1/mak-activations/"),
    ("post", "/api/v1/activation-requests/"),
    ("post", "/api/v1/activation-requests/{req}/approve/"),
    ("post", "/api/v1/activation-requests/{req}/reject/"),
    ("post", "/api/v1/activation-requests/{req}/grant/"),
    ("post", "/api/v1/kms-hosts/"),
    ("patch", "/api/v1/kms-hosts/{host}/"),
]


@pytest.fixture
def ids(org, admin_user):
    pool = factories.MakPoolFactory(organisation=org)
    key = factories.MakKeyFactory(pool=pool)
    req = request_activations(
        actor=admin_user,
        pool=pool,
        key=key,
        quantity=5,
        justification="growth",
        agreement_number="12345678",
        product_name="Office LTSC Professional Plus 2024",
    )
    host = factories.KmsHostFactory(organisation=org)
    return {"pool": pool.pk, "key": key.pk, "req": req.pk, "host": host.pk}


@pytest.fixture
def api(admin_user, org, api_token_for):
    return DjangoClient(**api_token_for(admin_user, org))


def assert_error_shape(response, status):
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    for field, messages in body.get("errors", {}).items():
        assert isinstance(field, str) and all(isinstance(m, str) for m in messages)
    return body


@pytest.mark.parametrize(("method", "path"), JSON_POSTS)
def test_deeply_nested_json_is_a_400_everywhere(api, ids, method, path):
    body = "[" * 100_000 + "]" * 100_000
    response = getattr(api, method)(path.format(**ids), data=body, content_type="application/json")
    body = assert_error_shape(response, 400)
    assert body["code"] == "parse_error" and "nested deeper" in body["detail"]


def test_moderate_nesting_past_the_limit_is_refused_too(api, ids):
    body = '{"clients": ' + "[" * 40 + "]" * 40 + "}"
    response = api.post("/api/v1/inventory/clients/", data=body, content_type="application/json")
    assert "nested deeper than 32" in assert_error_shape(response, 400)["detail"]


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "1" * 5000])
def test_numbers_out_of_range_are_a_400(api, number):
    response = api.post(
        "/api/v1/mak-pools/", data=f'{{"edition": {number}}}', content_type="application/json"
    )
    assert_error_shape(response, 400)


def test_huge_integers_are_bounded_by_their_field(api, ids):
    big = "1" + "0" * 30
    for path, body in [
        ("/api/v1/mak-pools/", f'{{"edition": {big}}}'),  # names no edition: 404
        ("/api/v1/mak-keys/", f'{{"pool": {big}, "key": "x", "activation_limit": 1}}'),
        (f"/api/v1/mak-keys/{ids['key']}/microsoft-remaining/", f'{{"remaining": {big}}}'),
        ("/api/v1/mak-activations/", f'{{"client": {big}}}'),
    ]:
        response = api.post(path, data=body, content_type="application/json")
        assert response.status_code in (400, 404), (path, response.content)
        assert_error_shape(response, response.status_code)
    listed = api.get("/api/v1/clients/", {"edition": big})
    assert listed.status_code == 200 and listed.json()["results"] == []


def test_a_body_over_the_limit_is_a_413(api, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = api.post(
        "/api/v1/inventory/clients/",
        data='{"clients": [' + ",".join(['{"hostname": "pc"}'] * 200) + "]}",
        content_type="application/json",
    )
    assert assert_error_shape(response, 413)["code"] == "body_too_large"


def test_a_body_that_is_not_utf8_is_a_400(api):
    response = api.post("/api/v1/mak-pools/", data=b"\xff\xfe{", content_type="application/json")
    assert_error_shape(response, 400)


def test_a_form_post_is_a_415_in_the_one_shape(api):
    response = api.post("/api/v1/mak-pools/", {"edition": 1})
    assert assert_error_shape(response, 415)["code"] == "unsupported_media_type"


def test_validation_errors_name_each_field(api, org):
    response = api.post(
        "/api/v1/mak-pools/",
        data={"edition": Edition.objects.first().pk, "low_water_mark": "many"},
        content_type="application/json",
    )
    body = assert_error_shape(response, 400)
    assert body["code"] == "invalid" and list(body["errors"]) == ["low_water_mark"]


def test_an_unknown_token_is_a_401_in_the_one_shape(db):
    response = DjangoClient(HTTP_AUTHORIZATION="Bearer vlp_nope").get("/api/v1/clients/")
    assert assert_error_shape(response, 401)["code"] == "authentication_failed"
