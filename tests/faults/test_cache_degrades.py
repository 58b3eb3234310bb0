"""The cache backend itself, against a private redis-server stopped for real: reads miss,
writes are dropped, one warning names the failure and never the password."""

from __future__ import annotations

import logging

import pytest

from portal import cache as portal_cache
from portal.cache import DegradingRedisCache


@pytest.fixture
def redis_cache(private_redis, monkeypatch):
    monkeypatch.setattr(portal_cache._warn, "_last", float("-inf"))
    return DegradingRedisCache(
        f"redis://default:canary-password@127.0.0.1:{private_redis.port}/0",
        {"OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}},
    )


def test_with_redis_down_reads_miss_and_writes_are_dropped(private_redis, redis_cache, caplog):
    redis_cache.set("k", "v")
    assert redis_cache.get("k") == "v"
    private_redis.stop()
    with caplog.at_level(logging.WARNING, logger="portal.cache"):
        assert redis_cache.get("k", "fallback") == "fallback"
        assert redis_cache.get_many(["k"]) == {}
        assert redis_cache.add("n", 1) is False
        redis_cache.set("k", "w")
        redis_cache.delete("k")
        assert redis_cache.get_or_set("g", 7) == 7  # a miss computes the value live
    warnings = [r for r in caplog.records if r.name == "portal.cache"]
    assert len(warnings) == 1  # one per interval, not one per call
    assert warnings[0].levelno == logging.WARNING
    assert "Redis unavailable" in warnings[0].getMessage()
    assert "canary-password" not in caplog.text
    private_redis.start()
    redis_cache.set("k", "back")
    assert redis_cache.get("k") == "back"
