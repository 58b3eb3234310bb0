"""The connection pool's check: after a database restart every idle pooled connection is dead,
and the first request to meet one has the whole pool checked, not one connection at a time."""

from __future__ import annotations

from typing import Any

from psycopg_pool import ConnectionPool


def check_connection(conn: Any) -> None:
    """`ConnectionPool.check_connection`, and on failure `pool.check()`: that discards every
    dead idle connection at once and opens new ones. psycopg_pool would otherwise hand the
    request the next dead one after a growing pause (0, 1, 2, 4 s ...), and with a few of them
    the request runs out of DATABASE_POOL_TIMEOUT although the database is back."""
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        from django.db import connections

        pool = connections["default"].pool
        if pool is not None:
            pool.check()
        raise
