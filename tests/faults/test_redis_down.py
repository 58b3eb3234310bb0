"""Redis stopped for real under a production-mode portal: pages and the API keep serving
(cache misses compute live, throttles fail open and log a warning), and the throttle counts
again once Redis is back."""

from __future__ import annotations

import pytest

from tests.faults.conftest import REDIS_PASSWORD, THROTTLE_LIMIT


def _serve_everything(portal, round_: int) -> list[tuple[str, int]]:
    answers = [
        ("dashboard", portal.page("/").status),
        ("client list", portal.page("/clients/").status),
        ("api clients", portal.api("/api/v1/clients/").status),
        ("ingest", portal.ingest(f"redis-down-{round_}").status),
    ]
    return answers


@pytest.fixture
def redis_down(portal, fault_redis):
    assert portal.api("/api/v1/clients/").status == 200  # pooled cache connections exist
    fault_redis.stop()
    try:
        yield
    finally:
        fault_redis.start()


def test_pages_and_api_answer_while_redis_is_down(portal, redis_down):
    for round_ in range(3):
        assert _serve_everything(portal, round_) == [
            ("dashboard", 200),
            ("client list", 200),
            ("api clients", 200),
            ("ingest", 200),
        ]
    dashboard = portal.page("/")
    assert "Fault Tolerance Ltd" in dashboard.text
    ready = portal.get("/readyz")
    assert ready.status == 200 and ready.json()["checks"]["cache"].startswith("unavailable")


def test_the_outage_is_logged_as_a_warning_without_secrets(portal, redis_down):
    portal.api("/api/v1/clients/")
    log = portal.log()
    assert "WARNING portal.cache Redis unavailable, serving without the cache" in log
    for secret in (REDIS_PASSWORD, portal.session, *portal.tokens.values()):
        assert secret not in log
    assert " 500 " not in log and "Internal Server Error" not in log


def test_the_throttle_fails_open_and_counts_again_once_redis_is_back(portal, fault_redis):
    calls = THROTTLE_LIMIT + 5  # more than the rate allows
    fault_redis.stop()
    try:
        statuses = [portal.api("/api/v1/clients/", "throttled").status for _ in range(calls)]
    finally:
        fault_redis.start()
    assert statuses == [200] * calls
    statuses = [portal.api("/api/v1/clients/", "throttled").status for _ in range(calls)]
    assert statuses == [200] * THROTTLE_LIMIT + [429] * 5
    assert portal.get("/readyz").json()["checks"]["cache"] == "ok"
