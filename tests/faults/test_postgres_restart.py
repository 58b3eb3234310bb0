"""The private PostgreSQL restarted for real (pg_ctl stop -m fast, start) under a
production-mode portal with its connection pool: while it is down every answer is a 503 with
Retry-After (JSON under /api/), never a 500; once it is back every request succeeds at once
(the pool checks connections, so no request meets a dead one), /readyz included."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.faults.harness import ALL_OK


@pytest.fixture
def database_down(portal, fault_postgres):
    # The pool holds connections (idle) when the server goes.
    for i in range(3):
        assert portal.everything(f"before-{i}") == ALL_OK
    fault_postgres.stop()
    try:
        yield
    finally:
        fault_postgres.start()


def test_pages_answer_503_with_retry_after_while_the_database_is_down(portal, database_down):
    for path in ("/", "/clients/"):
        answer = portal.page(path)
        assert answer.status == 503, answer.text[:500]
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.headers["Content-Type"].startswith("text/html")
        assert "Temporarily unavailable" in answer.text


def test_the_api_answers_503_json_while_the_database_is_down(portal, database_down):
    for answer in (portal.api("/api/v1/clients/"), portal.ingest("pg-during")):
        assert answer.status == 503, answer.text[:500]
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.json()["code"] == "database_unavailable"
        assert answer.json()["detail"]


def test_health_endpoints_during_the_outage(portal, database_down):
    assert portal.get("/healthz").status == 200
    ready = portal.get("/readyz")
    assert ready.status == 503 and ready.json()["checks"]["database"].startswith("error")


def _grow_the_pool(portal, connections: int) -> None:
    """Concurrent requests until the pool holds `connections` (each becomes idle after)."""
    with ThreadPoolExecutor(max_workers=8) as executor:
        for _ in range(20):
            if portal.database_connections() >= connections:
                return
            statuses = set(executor.map(lambda _: portal.page("/clients/").status, range(16)))
            assert statuses == {200}
    pytest.fail(f"the pool never grew to {connections} connections")


def test_after_a_restart_every_request_succeeds_at_once(portal, fault_postgres):
    for i in range(2):
        assert portal.everything(f"warm-{i}") == ALL_OK
    # Several idle pooled connections, all of them dead once the server restarts.
    _grow_the_pool(portal, connections=4)
    fault_postgres.stop()
    fault_postgres.start()
    with psycopg.connect(fault_postgres.url("portal"), connect_timeout=5):
        pass  # the database is back
    # No request was in flight during the restart: not one may fail, the first ones included.
    for i in range(6):
        assert portal.everything(f"after-{i}") == ALL_OK, f"round {i}"


def test_after_an_outage_every_request_succeeds_once_the_database_is_back(portal, fault_postgres):
    for i in range(2):
        assert portal.everything(f"warm-{i}") == ALL_OK
    fault_postgres.stop()
    try:
        assert portal.get("/readyz").status == 503
        assert portal.page("/").status == 503
    finally:
        fault_postgres.start()
    with psycopg.connect(fault_postgres.url("portal"), connect_timeout=5):
        pass
    for i in range(6):
        assert portal.everything(f"back-{i}") == ALL_OK, f"round {i}"
    assert "Internal Server Error" not in portal.log()
