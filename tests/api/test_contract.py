"""The API keeps its own contract (issue 11): Schemathesis, every check on (the few
per-operation exceptions are in tests/api/schemathesis.toml with their reasons), against a
live production-mode portal (gunicorn, DEBUG off) on a seeded database, as an admin, a manager
and an agent token, for all 41 operations: no server error, no response the OpenAPI schema
does not describe, schema-valid requests accepted and schema-violating ones refused."""

from __future__ import annotations

import os

import pytest

from tests.api.contract import drop_database, schemathesis, start_portal

# Examples per operation and phase: the whole run (3 tokens x 41 operations) stays ~2 min.
MAX_EXAMPLES = 3


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    database = f"{os.environ['DATABASE_URL'].rsplit('/', 1)[1]}_contract_{worker}"
    server = start_portal(tmp_path_factory.mktemp("contract"), database)
    try:
        yield server
    finally:
        server.stop()
        drop_database(server.database_url)


@pytest.mark.parametrize("who", ["admin", "manager", "agent"])
def test_every_operation_keeps_the_contract(portal, who, tmp_path):
    code, output = schemathesis(
        portal, portal.tokens[who], str(tmp_path / "junit.xml"), MAX_EXAMPLES
    )
    assert "Tested: 41" in output, output[-3000:]
    assert code == 0, output[-6000:]
