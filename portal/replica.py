"""Read replica: lag-tolerant reads (lists, exports, dashboards, reports) go to the
`replica` database when `REPLICA_DATABASE_URL` is set, everything else to the primary.

- **Which reads**: GET/HEAD requests to the views named in `REPLICA_VIEWS` (list pages, CSV
  exports, the dashboards and reports) and the API's list endpoints. Detail pages, every write,
  and every read inside a transaction on the primary (`select_for_update`, services that read
  then write) use the primary.
- **Read-your-writes**: after a request with an unsafe method (POST, PUT, PATCH, DELETE) the
  session is pinned to the primary's WAL insert position (`pg_current_wal_insert_lsn()`, not the
  write position, which lags behind a commit under `synchronous_commit=off`); a later read goes
  to the replica only once the replica has replayed past it, then the pin is dropped. API token
  requests have no session: their list reads may lag by up to REPLICA_MAX_LAG_SECONDS.
- **Fallback**: each eligible request asks the replica one question (its replay position and
  lag, ~0.2 ms). A replica that does not answer (connect timeout REPLICA_CONNECT_TIMEOUT) is left
  alone for REPLICA_RETRY_SECONDS in this process; one that lags more than
  REPLICA_MAX_LAG_SECONDS is not used for that request. Both read the primary instead.

Lag is the age of the last replayed transaction while WAL is waiting to be replayed, 0 when
everything received is replayed (an idle primary is not "lag").
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

log = logging.getLogger(__name__)

REPLICA = "replica"
PIN_KEY = "_replica_pin_lsn"

# URL names whose GET reads may be served by the replica (besides the API's `*-list` views).
REPLICA_VIEWS = frozenset(
    {
        "licensing:home",
        "licensing:global_overview",
        "licensing:client_list",
        "licensing:client_export",
        "licensing:audit_list",
        "licensing:audit_export",
        "licensing:reports",
        "licensing:pool_list",
        "licensing:pool_export",
        "licensing:key_export",
        "licensing:request_list",
        "licensing:request_export",
        "licensing:host_list",
        "licensing:host_export",
        "licensing:import_list",
        "licensing:import_rejections_csv",
    }
)

use_replica: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "portal_use_replica", default=False
)
_down_until = 0.0

STATE_SQL = """
SELECT COALESCE(NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= %s::pg_lsn, false),
       CASE WHEN NOT pg_is_in_recovery()
                 OR pg_last_wal_receive_lsn() IS NULL
                 OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp()
                                            - pg_last_xact_replay_timestamp()), 0)::float8
       END
"""


@dataclass(frozen=True)
class ReplicaState:
    caught_up: bool  # replayed past the session's pin (True without a pin)
    lag_seconds: float

    def usable(self, *, pinned: bool) -> bool:
        if self.lag_seconds > settings.REPLICA_MAX_LAG_SECONDS:
            return False
        return self.caught_up or not pinned


def replica_state(cursor: Any, pin_lsn: str | None) -> ReplicaState:
    """Ask the replica (a DB-API cursor on it) how far it is."""
    cursor.execute(STATE_SQL, [pin_lsn or "0/0"])
    caught_up, lag = cursor.fetchone()
    return ReplicaState(caught_up=bool(caught_up), lag_seconds=float(lag))


def enabled() -> bool:
    return bool(settings.REPLICA_DATABASE_URL) and REPLICA in connections.settings


def eligible(request: Any) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    name = match.view_name or ""
    return name in REPLICA_VIEWS or (name.startswith("api:") and name.endswith("-list"))


def choose_replica(request: Any) -> bool:
    """Whether this request's reads go to the replica (asks the replica once)."""
    global _down_until
    if time.monotonic() < _down_until:
        return False
    session = getattr(request, "session", None)
    pin = session.get(PIN_KEY) if session is not None else None
    try:
        with connections[REPLICA].cursor() as cursor:
            state = replica_state(cursor, pin)
    except Exception as exc:  # down, refusing, or broken: read the primary for a while
        _down_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
        log.warning(
            "replica unavailable (%s): reading the primary for %s s",
            type(exc).__name__,
            settings.REPLICA_RETRY_SECONDS,
        )
        with contextlib.suppress(Exception):  # closing a broken connection may fail too
            connections[REPLICA].close()
        return False
    if not state.usable(pinned=bool(pin)):
        return False
    if pin and session is not None:
        del session[PIN_KEY]  # the replica has what this session wrote
    return True


def pin_session(request: Any) -> None:
    """After a write: reads of this session wait for the replica to reach this position."""
    session = getattr(request, "session", None)
    if session is None:
        return
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
            session[PIN_KEY] = cursor.fetchone()[0]
    except Exception as exc:  # the primary is down: nothing was written, nothing to pin
        log.debug("no replica pin: %s", type(exc).__name__)


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if use_replica.get() and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS  # also for instances read from the replica

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
