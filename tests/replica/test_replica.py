"""Read replica against a real streaming replica: a private primary (tests/servers.py
PostgresServer), a hot standby made with pg_basebackup on another port, and a production-mode
portal (gunicorn) with REPLICA_DATABASE_URL. Pausing the standby's replay makes it visibly
behind: what a request shows tells which server answered it."""

from __future__ import annotations

import http.client
import re
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import psycopg
import pytest

from portal.replica import replica_state
from tests.faults.harness import PortalServer
from tests.servers import PostgresServer, RedisServer, ReplicaServer

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    directory = Path(tempfile.mkdtemp(prefix="portal-replica-"))
    servers = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            primary = PostgresServer(directory / "primary")
            primary.start()
            servers.append(primary)
            primary_url = primary.create_database("portal")
            standby = ReplicaServer(directory / "standby", primary)
            standby.start()
            servers.append(standby)
        redis = RedisServer(tmp_path_factory.mktemp("redis"))
        redis.start()
        servers.append(redis)
        portal = PortalServer(
            directory=tmp_path_factory.mktemp("portal"),
            database_url=primary_url,
            redis_url=redis.url,
            extra_env={
                "REPLICA_DATABASE_URL": standby.url("portal"),
                "REPLICA_MAX_LAG_SECONDS": "3600",
                "REPLICA_RETRY_SECONDS": "1",
            },
        )
        portal.start()
        servers.append(portal)
        yield {"primary": primary, "standby": standby, "portal": portal, "url": primary_url}
    finally:
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _primary_lsn(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]


def _wait_caught_up(cluster) -> None:
    target = _primary_lsn(cluster["url"])
    deadline = time.monotonic() + 60
    with psycopg.connect(cluster["standby"].url("portal"), autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[
                0
            ]:
                return
            time.sleep(0.05)
    raise TimeoutError("the standby did not catch up within 60 s")


class Replay:
    """Pause the standby's replay (it keeps receiving WAL, applies none) and resume it."""

    def __init__(self, cluster) -> None:
        self.url = cluster["standby"].url("portal")
        self.primary_url = cluster["url"]

    def __enter__(self) -> Replay:
        # A pause takes effect at the next WAL record the standby would apply: feed it small
        # writes until it reports "paused", so that every later write stays unapplied.
        deadline = time.monotonic() + 60
        with (
            psycopg.connect(self.url, autocommit=True) as conn,
            psycopg.connect(self.primary_url, autocommit=True) as primary,
        ):
            conn.execute("SELECT pg_wal_replay_pause()")
            while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused":
                if time.monotonic() > deadline:
                    raise TimeoutError("the standby did not pause within 60 s")
                primary.execute("UPDATE licensing_heartbeat SET at = at")
                time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


def listed(answer, hostname: str) -> bool:
    """The client is one of the rows (not merely echoed in the search box or a link)."""
    return f">{hostname}<" in answer.text or f'"hostname":"{hostname}"' in answer.text


def _switch_organisation(portal: PortalServer, url: str) -> int:
    """A POST of the session (through CSRF, as a browser): a write that pins the session."""
    page = portal.page("/")
    csrf = re.search(r"csrftoken=([^;]+)", page.headers.get("Set-Cookie", "")).group(1)
    with psycopg.connect(url, autocommit=True) as conn:
        org_id = conn.execute(
            "SELECT id FROM licensing_organisation WHERE slug = 'fault-tolerance'"
        ).fetchone()[0]
    conn = http.client.HTTPConnection("127.0.0.1", portal.port, timeout=60)
    try:
        conn.request(
            "POST",
            "/organisation/switch/",
            body=f"organisation={org_id}&next=/clients/",
            headers={
                "Host": "127.0.0.1",
                "Cookie": f"sessionid={portal.session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        return conn.getresponse().status
    finally:
        conn.close()


def test_lists_read_the_replica_and_a_session_that_wrote_reads_the_primary(cluster):
    portal = cluster["portal"]
    _wait_caught_up(cluster)
    with Replay(cluster):
        assert portal.ingest("fresh-after-pause").status == 200  # written on the primary
        # Nobody pinned: the token's API list and the session's list page come from the replica.
        api = portal.api("/api/v1/clients/?q=fresh-after-pause")
        page = portal.page("/clients/?q=fresh-after-pause")
        assert (api.status, page.status) == (200, 200)
        assert not listed(api, "fresh-after-pause") and not listed(page, "fresh-after-pause")
        # The session writes: its reads now wait for the replica, so they come from the primary.
        assert _switch_organisation(portal, cluster["url"]) == 302
        assert listed(portal.page("/clients/?q=fresh-after-pause"), "fresh-after-pause")
        # Others still read the replica.
        assert not listed(portal.api("/api/v1/clients/?q=fresh-after-pause"), "fresh-after-pause")
    _wait_caught_up(cluster)
    # The replica caught up: the session reads it again (the pin is dropped) ...
    assert listed(portal.page("/clients/?q=fresh-after-pause"), "fresh-after-pause")
    with Replay(cluster):
        assert portal.ingest("second-after-pause").status == 200
        # ... and, unpinned, sees the replica's (older) rows.
        assert not listed(portal.page("/clients/?q=second-after-pause"), "second-after-pause")
    _wait_caught_up(cluster)


def test_a_replica_that_is_down_falls_back_to_the_primary(cluster):
    portal = cluster["portal"]
    assert portal.ingest("written-while-standby-down").status == 200
    cluster["standby"].stop()
    try:
        for path in ("/clients/?q=written-while-standby-down", "/", "/clients/export.csv"):
            answer = portal.page(path)
            assert answer.status == 200, (path, answer.text[:500])
        assert listed(portal.page("/clients/?q=written"), "written-while-standby-down")
        api = portal.api("/api/v1/clients/?q=written-while-standby-down")
        assert api.status == 200 and listed(api, "written-while-standby-down")
    finally:
        cluster["standby"].start()
    _wait_caught_up(cluster)
    assert portal.page("/clients/").status == 200


def test_lag_beyond_the_setting_is_not_used_and_a_pin_waits_for_replay(cluster, settings):
    standby_url = cluster["standby"].url("portal")
    _wait_caught_up(cluster)
    with Replay(cluster), psycopg.connect(standby_url, autocommit=True) as standby:
        with psycopg.connect(cluster["url"], autocommit=True) as primary:
            primary.execute("UPDATE licensing_heartbeat SET at = now()")
        pin = _primary_lsn(cluster["url"])
        deadline = time.monotonic() + 60
        state = replica_state(standby.cursor(), pin)
        while state.lag_seconds <= 1.0 and time.monotonic() < deadline:
            time.sleep(0.1)
            state = replica_state(standby.cursor(), pin)
        assert state.lag_seconds > 1.0 and not state.caught_up
        settings.REPLICA_MAX_LAG_SECONDS = 1.0
        assert not state.usable(pinned=False)
        settings.REPLICA_MAX_LAG_SECONDS = 3600
        assert state.usable(pinned=False) and not state.usable(pinned=True)
    _wait_caught_up(cluster)
    with psycopg.connect(standby_url, autocommit=True) as standby:
        state = replica_state(standby.cursor(), pin)
    assert state.caught_up and state.lag_seconds == 0
