"""Redis stopped for real under a production-mode portal: pages and the API keep serving
(cache misses compute live, throttles fail open and log a warning), and the throttle counts
again once Redis is back."""

from __future__ import annotations

import pytest

from tests.faults.conftest import REDIS_PASSWORD, THROTTLE_LIMIT
from tests.faults.harness import ALL_OK


@pytest.fixture
def redis_down(portal, fault_redis):
    assert portal.api("/api/v1/clients/").status == 200  # pooled cache connections exist
    fault_redis.stop()
    try:
        yield
    finally:
        fault_redis.start()


def test_pages_and_api_answer_while_redis_is_down(portal, redis_down):
    # Ready, too: the portal serves without its cache (reported as unavailable below).
    for round_ in range(3):
        assert portal.everything(f"redis-down-{round_}") == ALL_OK
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
