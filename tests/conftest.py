"""Shared fixtures: personas per role, an outsider, API clients, and a real Celery worker."""

from __future__ import annotations

import os
import uuid

import pytest
from django.test import Client as DjangoClient
from django.utils import translation

from licensing.models import Role
from licensing.services.tokens import create_api_token
from tests import factories


@pytest.fixture(autouse=True)
def _language_of_this_test_only():
    """A request activates its reader's language in the thread that serves it, and it stays
    there: without this, a test that calls a service directly after a Norwegian request in the
    same worker read its messages in Norwegian (tests/kms/test_csvlk_limit.py, depending on the
    order xdist gave)."""
    yield
    translation.deactivate()


@pytest.fixture(scope="session", autouse=True)
def _cache_keys_of_this_run():
    """Test runs, their xdist workers and other checkouts share one Redis, and their databases
    hand out the same ids: a cached value keyed by an id (the client list's filter bar) must
    not reach another run's organisation of that id. Each run and worker gets its own prefix;
    Django's own handler for a changed CACHES setting opens the caches anew with it."""
    from django.conf import settings
    from django.test.signals import setting_changed

    for alias in settings.CACHES.values():
        alias["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    setting_changed.send(sender=None, setting="CACHES", value=settings.CACHES, enter=True)


# --- The flush after a transactional test ------------------------------------------------------
# Django empties every table with one TRUNCATE of all 56 after each transactional test: about
# 0.5 s each on a 2-core machine (PostgreSQL makes every table's and index's files anew), over a
# hundred times a run. Deleting the rows of the few that hold any costs milliseconds. Replica
# mode (superuser only, as the test servers run) skips the foreign-key and trigger checks, so the
# order does not matter and the audit log's no-delete trigger stays out of the way; it is set for
# this transaction only. A flush that resets sequences keeps Django's own TRUNCATE. The content
# types and permissions, which the flush's post_migrate signal would write again identical, stay.
_KEPT_BY_FLUSH = {"django_content_type", "auth_permission"}


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete():
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [
            "SET LOCAL session_replication_role = replica",
            *(
                f"DELETE FROM {self.quote_name(table)}"
                for table in tables
                if table not in _KEPT_BY_FLUSH
            ),
        ]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = truncate


@pytest.fixture
def org(db):
    return factories.OrganisationFactory(name="Contoso Test", slug="contoso-test")


@pytest.fixture
def other_org(db):
    return factories.OrganisationFactory(name="Other Corp", slug="other-corp")


def _member(org, role):
    user = factories.UserFactory(username=f"{org.slug}-{role}")
    factories.MembershipFactory(user=user, organisation=org, role=role)
    return user


@pytest.fixture
def admin_user(org):
    return _member(org, Role.ADMIN)


@pytest.fixture
def manager_user(org):
    return _member(org, Role.MANAGER)


@pytest.fixture
def second_manager(org):
    user = factories.UserFactory(username=f"{org.slug}-manager2")
    factories.MembershipFactory(user=user, organisation=org, role=Role.MANAGER)
    return user


@pytest.fixture
def auditor_user(org):
    return _member(org, Role.AUDITOR)


@pytest.fixture
def outsider(other_org):
    """An admin of another organisation: must never see or touch `org`'s data."""
    return _member(other_org, Role.ADMIN)


@pytest.fixture
def superuser(db):
    return factories.UserFactory(username="root", is_superuser=True, is_staff=True)


def logged_in(user) -> DjangoClient:
    client = DjangoClient()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def as_admin(admin_user):
    return logged_in(admin_user)


@pytest.fixture
def as_manager(manager_user):
    return logged_in(manager_user)


@pytest.fixture
def as_auditor(auditor_user):
    return logged_in(auditor_user)


@pytest.fixture
def as_outsider(outsider):
    return logged_in(outsider)


@pytest.fixture
def api_token_for():
    """`api_token_for(user, org)` -> headers dict carrying a fresh personal token."""

    def make(user, organisation, **kwargs):
        _, plaintext = create_api_token(
            actor=user, organisation=organisation, name="test", **kwargs
        )
        return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}

    return make


# --- Celery: a real worker on the real Redis ------------------------------------------------
# Several test runs (xdist workers, other checkouts) may share one Redis: each run's broker keys
# carry a prefix made of its test database name and xdist worker, so queues never mix.


def _broker_prefix() -> str:
    from django.db import connection

    return (
        f"test-{connection.settings_dict['NAME']}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}:"
    )


@pytest.fixture
def real_celery_worker(transactional_db):
    """Start a worker thread of the project's own Celery app against the real Redis broker.
    Tests that use it need transactional_db: the worker thread has its own DB connection."""
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings

    from portal.celery import app

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = _broker_prefix()
    app.conf.update(
        broker_url=url,
        task_always_eager=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            "global_keyprefix": prefix,
        },
    )
    # A task published earlier in this process (e.g. the sweep an ingest queues on commit) left
    # pooled connections made with the old settings; drop them so `.delay()` uses the prefix.
    import kombu.pools

    kombu.pools.reset()  # closes and forgets kombu's shared producer pools
    app._pool = None
    app.amqp._producer_pool = None
    import redis

    r = redis.Redis.from_url(url)
    for key in r.scan_iter(f"{prefix}*"):
        r.delete(key)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


@pytest.fixture
def tasks_in_process(monkeypatch):
    """Each commit runs the tasks it queued (outbox messages) in this process, right away,
    instead of publishing them: the e-mails land in Django's test outbox. Returns what ran."""
    from licensing.models import OutboxMessage
    from licensing.services import outbox
    from tests.outbox import run_messages

    ran: list[tuple[str, list]] = []

    def run_now(ids: list[int]) -> int:
        rows = list(OutboxMessage.objects.filter(pk__in=ids).order_by("pk"))
        ran.extend(run_messages(rows))
        return len(rows)

    monkeypatch.setattr(outbox, "publish", run_now)
    return ran


# --- The edition catalogue --------------------------------------------------------------------
# Migration 0002 loads the built-in editions; a transactional test (live_server, a real worker,
# django_db(transaction=True)) ends with a flush that empties the table. This is the one place
# that puts them back: after each such test, once every fixture (and the flush) has finished.


def pytest_configure(config: pytest.Config) -> None:
    """Compile the translation catalogues once, before any worker starts, when a .po is newer
    than its .mo: `make test` has compiled them already; this serves a targeted run, with the
    same command (`manage.py compilemessages`, gettext's msgfmt)."""
    if hasattr(config, "workerinput"):
        return
    import subprocess
    import sys
    from pathlib import Path

    from tests.i18n.check import IGNORED_BY_MESSAGES

    root = Path(__file__).resolve().parent.parent
    stale = [
        po
        for po in (root / "locale").glob("*/LC_MESSAGES/*.po")
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        ignores = [f"--ignore={name}" for name in IGNORED_BY_MESSAGES]
        subprocess.run(
            [sys.executable, "manage.py", "compilemessages", "-v0", *ignores], cwd=root, check=True
        )


_TRANSACTIONAL_FIXTURES = {"transactional_db", "live_server", "real_celery_worker"}


def load_builtin_editions() -> None:
    import importlib

    from django.apps import apps

    from licensing.models import Edition

    if not Edition.objects.exists():
        importlib.import_module("licensing.migrations.0002_builtin_editions").load(apps, None)


def _is_transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)):
        return True
    return bool(_TRANSACTIONAL_FIXTURES & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    yield
    # After the last test the session's teardown has already dropped the test database.
    if nextitem is not None and _is_transactional(item):
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            load_builtin_editions()


# --- Private servers for fault tests -----------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test alone: stop it to make Redis fail for real."""
    from tests.servers import RedisServer

    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


# --- Session end --------------------------------------------------------------------------------
# A real worker's thread, or a server a test started, may leave a connection to the test database
# open after the thread is gone; pytest-django could then not drop the database ("being accessed
# by other users"). Runs after every test of this process and before the database is dropped.


@pytest.fixture(scope="session", autouse=True)
def _end_stray_test_database_connections(django_db_setup):
    yield
    import psycopg
    from django.db import connection

    db = connection.settings_dict
    connection.close()
    # A fresh connection to the maintenance database: the test's own may be a dead one (a fault
    # test restarted a server under it).
    with psycopg.connect(
        dbname="postgres",
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        autocommit=True,
    ) as maintenance:
        maintenance.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [db["NAME"]],
        )
