"""A Redis cache that degrades to a miss: with Redis down, pages and the API keep serving."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger("portal.cache")

# One warning per interval and process: an outage must show in the log, not flood it.
WARNING_INTERVAL_SECONDS = 30.0


class _Warner:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._suppressed = 0

    def __call__(self, operation: str, exc: RedisError) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < WARNING_INTERVAL_SECONDS:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        # The class and message only: redis-py names the host and port, never the password.
        log.warning(
            "Redis unavailable, serving without the cache (%s: %s: %s; %d more failures since "
            "the last warning)",
            operation,
            type(exc).__name__,
            exc,
            suppressed,
        )


_warn = _Warner()


def _degrade(default: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer `default(*args)` instead of raising when Redis fails."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except RedisError as exc:
                _warn(method.__name__, exc)
                return default(*args, **kwargs)

        return wrapper

    return decorate


def _none(*args: Any, **kwargs: Any) -> None:
    return None


def _false(*args: Any, **kwargs: Any) -> bool:
    return False


class DegradingRedisCache(RedisCache):
    """Django's RedisCache, except that a Redis failure is a logged miss, never an exception:
    reads answer their default (so throttles fail open and cached values are computed live),
    writes are dropped. The cache is an optimisation; it must not take the portal down.
    Keep the socket timeouts short (settings.CACHES) so that a dead Redis costs milliseconds."""

    get = _degrade(lambda key, default=None, version=None: default)(RedisCache.get)
    get_many = _degrade(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _degrade(_false)(RedisCache.has_key)
    add = _degrade(_false)(RedisCache.add)
    set = _degrade(_none)(RedisCache.set)
    set_many = _degrade(lambda data, *a, **k: list(data))(RedisCache.set_many)
    touch = _degrade(_false)(RedisCache.touch)
    delete = _degrade(_false)(RedisCache.delete)
    delete_many = _degrade(_none)(RedisCache.delete_many)
    clear = _degrade(_false)(RedisCache.clear)
