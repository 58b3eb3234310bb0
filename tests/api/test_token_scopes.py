"""Token scopes as documented (issue 11): an agent token reaches the two inventory posts, a
reporter token its host's status reports, and both are answered 404 on every other operation
of the API (every path and method of the OpenAPI schema) and on every export."""

from __future__ import annotations

import json

import pytest
from django.test import Client as DjangoClient
from drf_spectacular.generators import SchemaGenerator

from licensing.models import TokenScope
from licensing.services.tokens import create_api_token
from tests import factories

AGENT_ONLY = {
    ("post", "/api/v1/inventory/clients/"),
    ("post", "/api/v1/inventory/status-text/"),
    ("post", "/api/v1/inventory/wmi/"),
}
REPORTER_ONLY = {("post", "/api/v1/kms-hosts/{id}/status-reports/")}


def operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method, path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "patch", "put", "delete"}
    )


OPERATIONS = operations()


def test_the_schema_lists_every_operation():
    assert len(OPERATIONS) >= 40 and set(OPERATIONS) >= AGENT_ONLY | REPORTER_ONLY


@pytest.fixture
def tokens(org, admin_user):
    host = factories.KmsHostFactory(organisation=org)
    _, agent = create_api_token(
        actor=admin_user, organisation=org, name="a", scope=TokenScope.AGENT
    )
    _, reporter = create_api_token(
        actor=admin_user, organisation=org, name="r", scope=TokenScope.REPORTER, kms_host=host
    )
    return {"agent": agent, "reporter": reporter, "host": host}


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_agent_and_reporter_tokens_are_404_outside_their_endpoints(tokens, method, path):
    url = path.replace("{id}", str(tokens["host"].pk))
    for scope, allowed in (("agent", AGENT_ONLY), ("reporter", REPORTER_ONLY)):
        if (method, path) in allowed:
            continue
        client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {tokens[scope]}")
        if method == "get":
            response = client.get(url)
        else:
            response = getattr(client, method)(url, data="{}", content_type="application/json")
        assert response.status_code == 404, (scope, method, url, response.content[:200])
        assert response.json()["code"] == "not_found"


def test_each_token_reaches_its_own_endpoints(tokens):
    agent = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {tokens['agent']}")
    ingest = agent.post(
        "/api/v1/inventory/clients/",
        data=json.dumps({"clients": [{"hostname": "pc-1"}]}),
        content_type="application/json",
    )
    assert ingest.status_code == 200
    reporter = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {tokens['reporter']}")
    report = reporter.post(
        f"/api/v1/kms-hosts/{tokens['host'].pk}/status-reports/",
        data="not slmgr output",
        content_type="text/plain",
    )
    assert report.status_code == 400 and report.json()["code"] == "unreadable_status"
    # Each is 404 at the other's endpoint.
    assert (
        reporter.post(
            "/api/v1/inventory/clients/", data="[]", content_type="application/json"
        ).status_code
        == 404
    )
    assert (
        agent.post(
            f"/api/v1/kms-hosts/{tokens['host'].pk}/status-reports/",
            data="x",
            content_type="text/plain",
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    "path",
    [
        "/clients/export.csv",
        "/pools/export.csv",
        "/pools/keys-export.csv",
        "/requests/export.csv",
        "/kms/hosts/export.csv",
        "/audit/export.csv",
    ],
)
def test_agent_and_reporter_tokens_export_nothing(tokens, path):
    for scope in ("agent", "reporter"):
        client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {tokens[scope]}")
        assert client.get(path).status_code == 404
