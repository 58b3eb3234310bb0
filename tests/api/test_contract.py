"""The API keeps its own contract (issue 11): Schemathesis, every check on (the few
per-operation exceptions are in tests/api/schemathesis.toml with their reasons), against a
live production-mode portal (gunicorn, DEBUG off) on a seeded database, as an admin, a manager
and an agent token, for all 41 operations: no server error, no response the OpenAPI schema
does not describe, schema-valid requests accepted and schema-violating ones refused."""

from __future__ import annotations

import os
import re

import pytest

from tests.api.contract import drop_database, schemathesis, start_portal

# Examples per operation and phase: the whole run (3 tokens x every operation) stays ~2 min.
MAX_EXAMPLES = 3


@pytest.mark.timeout(900)  # a server start and three runs, on a busy 2-core machine
def test_every_operation_keeps_the_contract(tmp_path):
    # One server for the three tokens (one test, so that xdist never starts a second one).
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    database = f"{os.environ['DATABASE_URL'].rsplit('/', 1)[1]}_contract_{worker}"
    portal = start_portal(tmp_path / "portal", database)
    failures = []
    try:
        for who in ("admin", "manager", "agent"):
            code, output = schemathesis(
                portal, portal.tokens[who], str(tmp_path / f"{who}.xml"), MAX_EXAMPLES
            )
            if code != 0 or not _every_operation_tested(output):
                failures.append(f"--- as {who} (exit {code}):\n{output[-5000:]}")
    finally:
        portal.stop()
        drop_database(portal.database_url)
    assert not failures, "\n".join(failures)


def _every_operation_tested(output: str) -> bool:
    """Schemathesis's summary: "Selected: 56/56" and "Tested: 56" (every operation of the
    schema, however many there are)."""
    selected = re.search(r"Selected:\s+(\d+)/(\d+)", output)
    tested = re.search(r"Tested:\s+(\d+)", output)
    return bool(selected and tested and selected.group(1) == selected.group(2) == tested.group(1))
