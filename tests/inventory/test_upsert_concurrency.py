"""Two ingests at once, for real: two threads with their own connections, held at the same point
by a third transaction and released together once PostgreSQL shows both waiting for its lock.
Each test asserts what the fault table of issue 10 says must not happen (all of them failed on
the code before the upsert locked its rows)."""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client as HttpClient
from django.utils import timezone

from licensing.models import (
    Client,
    ClientFlagChange,
    ImportRun,
    TokenScope,
)
from licensing.services.inventory import csv_import, upsert
from licensing.services.tokens import create_api_token

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/inventory/clients/"

INSERT_CLIENT = (
    "INSERT INTO licensing_client (organisation_id, hostname, fqdn, activation_method,"
    " license_status, reactivation_required, compliance_flag, flag_reason, created_at,"
    " updated_at) VALUES (%s, %s, '', 'kms', 2, false, 'ok', '', now(), now())"
)


def _blocker() -> psycopg.Connection:
    """A second connection to the test database, for the transaction both ingests wait for."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    return psycopg.connect(**params)


def _wait_for_waiters(blocker: psycopg.Connection, count: int, agents: list[_Agent]) -> None:
    """Return once `count` other backends wait for a lock (PostgreSQL's view, not a timer)."""
    deadline = time.monotonic() + 60
    while True:
        for agent in agents:
            if not agent.is_alive():
                agent.outcome()  # its error, or: it finished without waiting
                raise AssertionError("an ingest finished without waiting for the other")
        # The activity view is read once per transaction unless its snapshot is cleared.
        blocker.execute("SELECT pg_stat_clear_snapshot()")
        waiting = blocker.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ).fetchone()[0]
        if waiting >= count:
            return
        assert time.monotonic() < deadline, f"{waiting} of {count} ingests waiting"
        time.sleep(0.02)


class _Agent(threading.Thread):
    """Runs one ingest in its own thread (and so its own database connection)."""

    def __init__(self, job: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.job = job
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.job()
        except BaseException as exc:  # re-raised in the test's thread
            self.error = exc
        finally:
            connections.close_all()

    def outcome(self) -> Any:
        self.join(120)
        assert not self.is_alive(), "the ingest did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def _race(blocker: psycopg.Connection, jobs: list[Callable[[], Any]], release: str) -> list:
    """Start the jobs one after another, each once the previous one waits behind `blocker`;
    then end the blocker's transaction (`commit` or `rollback`) and collect the results."""
    agents = []
    try:
        for n, job in enumerate(jobs, start=1):
            agent = _Agent(job)
            agent.start()
            agents.append(agent)
            _wait_for_waiters(blocker, n, agents)
        getattr(blocker, release)()
    finally:
        blocker.close()  # never leave it open: the flush after the test would wait for it
    return [agent.outcome() for agent in agents]


def _agent_poster(org, admin_user, name: str) -> Callable[[list[dict]], dict]:
    _, plaintext = create_api_token(
        actor=admin_user, organisation=org, name=name, scope=TokenScope.AGENT
    )

    def post(records: list[dict]) -> dict:
        response = HttpClient().post(
            URL,
            data=json.dumps({"clients": records}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {plaintext}",
        )
        assert response.status_code == 200, response.content[:500]
        return response.json()

    return post


def _records(n: int, renewed_days_ago: Callable[[int], int]) -> list[dict]:
    now = timezone.now()
    return [
        {
            "hostname": f"pc-{i:04d}",
            "activation_method": "kms",
            "license_status": "licensed",
            "last_renewal_at": (now - timedelta(days=renewed_days_ago(i))).isoformat(),
            "last_seen_at": (now - timedelta(hours=1)).isoformat(),
        }
        for i in range(n)
    ]


def _one_history_row_per_real_change(org) -> None:
    per_client = Counter(
        ClientFlagChange.objects.filter(organisation=org).values_list("client_id", flat=True)
    )
    assert max(per_client.values()) == 1
    # Every client arrived once, with its flag: a history row exactly for the flagged ones.
    flagged = set(
        Client.objects.filter(organisation=org)
        .exclude(compliance_flag="ok")
        .values_list("id", flat=True)
    )
    assert set(per_client) == flagged and flagged


def test_two_agents_posting_the_same_new_clients_create_each_once(org, admin_user):
    # One client in five is past day 150 (at risk) or day 180 (expired): they get history rows.
    records = _records(1000, lambda i: (0, 10, 160, 20, 190)[i % 5])
    first, second = (_agent_poster(org, admin_user, name) for name in ("agent a", "agent b"))
    blocker = _blocker()
    # Holding one of the new hostnames uncommitted stops both ingests at their inserts, after
    # each has read the stored clients: the moment the race was lost before.
    blocker.execute(INSERT_CLIENT, [org.pk, "pc-0500"])
    answers = _race(blocker, [lambda: first(records), lambda: second(records)], release="rollback")

    assert Client.objects.filter(organisation=org).count() == 1000
    created = Counter(
        r["hostname"] for answer in answers for r in answer["results"] if r["result"] == "created"
    )
    assert len(created) == 1000 and set(created.values()) == {1}
    assert sorted(a["summary"]["created"] for a in answers) == [0, 1000]
    other = next(a for a in answers if a["summary"]["created"] == 0)
    assert other["summary"]["updated"] + other["summary"]["unchanged"] == 1000
    runs = ImportRun.objects.filter(organisation=org).order_by("created")
    assert [r.created for r in runs] == [0, 1000]
    _one_history_row_per_real_change(org)
    assert ClientFlagChange.objects.filter(organisation=org).count() == 400


def test_two_agents_posting_different_renewal_dates_never_move_a_date_back(org, admin_user):
    clients = 200
    first, second = (_agent_poster(org, admin_user, name) for name in ("agent a", "agent b"))
    first(_records(clients, lambda i: 170))
    for round_ in range(5):
        older = _records(clients, lambda i, r=round_: 150 - 10 * r)
        newer = _records(clients, lambda i, r=round_: 145 - 10 * r)
        # The newer report starts first in rounds 0, 2, 4: before, the older one then wrote
        # what it had merged from its stale snapshot, and the dates went back.
        one, two = (newer, older) if round_ % 2 == 0 else (older, newer)
        jobs = [lambda one=one: first(one), lambda two=two: second(two)]
        blocker = _blocker()
        blocker.execute(
            "SELECT id FROM licensing_client WHERE organisation_id = %s AND hostname = %s"
            " FOR UPDATE",
            [org.pk, "pc-0100"],
        )
        _race(blocker, jobs, release="commit")
        expected = {r["last_renewal_at"] for r in newer}
        stored = {
            c.isoformat()
            for c in Client.objects.filter(organisation=org).values_list(
                "last_renewal_at", flat=True
            )
        }
        assert stored == expected, f"round {round_}: renewal dates went back"


def test_two_csv_imports_of_the_same_file_at_once_stay_one_client_per_row(
    org, admin_user, tmp_path
):
    now = timezone.now()
    lines = ["hostname,activation_method,license_status,last_renewal_at"]
    for i in range(5000):
        renewed = now - timedelta(days=(0, 160, 20, 190, 40)[i % 5])
        lines.append(f"pc-{i:04d},kms,licensed,{renewed.isoformat()}")
    path = tmp_path / "inventory.csv"
    path.write_text("\n".join(lines) + "\n")

    def run_command() -> str:
        out = io.StringIO()
        call_command("import_inventory", org.slug, str(path), stdout=out)
        return out.getvalue()

    blocker = _blocker()
    blocker.execute(INSERT_CLIENT, [org.pk, "pc-2500"])
    _race(blocker, [run_command, run_command], release="rollback")

    assert Client.objects.filter(organisation=org).count() == 5000
    runs = list(ImportRun.objects.filter(organisation=org).order_by("created"))
    assert [(r.received, r.created, r.updated + r.unchanged) for r in runs] == [
        (5000, 0, 5000),
        (5000, 5000, 0),
    ]
    _one_history_row_per_real_change(org)
    assert ClientFlagChange.objects.filter(organisation=org).count() == 2000


def test_a_csv_import_in_chunks_and_an_agent_at_once_both_finish(
    org, admin_user, tmp_path, monkeypatch, caplog
):
    """A chunked import locks clients in file order, agents in hostname order. Here the file's
    first chunk holds pc-0100..0199 when an agent, holding pc-0000..0099 already, waits for
    pc-0100; the second chunk then needs pc-0000: a deadlock. PostgreSQL fails the agent's
    attempt (it waited first), which is merged again once the import is in: both finish."""
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 100)
    renewed = (timezone.now() - timedelta(days=3)).isoformat()
    lines = ["hostname,activation_method,license_status,last_renewal_at"]
    lines += [f"pc-{i:04d},kms,licensed,{renewed}" for i in [*range(100, 200), *range(100)]]
    path = tmp_path / "inventory.csv"
    path.write_text("\n".join(lines) + "\n")
    post = _agent_poster(org, admin_user, "agent")
    records = _records(200, lambda i: 1)  # renewed a day ago: newer than the file says

    merge = upsert.merge
    first_chunk_merged, agent_waiting = threading.Event(), threading.Event()

    def merge_then_hold(cursor: Any, params: dict, final: str) -> list:
        rows = merge(cursor, params, final)
        if not first_chunk_merged.is_set():
            first_chunk_merged.set()
            assert agent_waiting.wait(60)
        return rows

    monkeypatch.setattr(upsert, "merge", merge_then_hold)

    def run_command() -> str:
        out = io.StringIO()
        call_command("import_inventory", org.slug, str(path), stdout=out)
        return out.getvalue()

    monitor = _blocker()
    try:
        with caplog.at_level("INFO", logger=upsert.__name__):
            importer = _Agent(run_command)
            importer.start()
            assert first_chunk_merged.wait(60)
            agent = _Agent(lambda: post(records))
            agent.start()
            _wait_for_waiters(monitor, 1, [agent])
            agent_waiting.set()
            answer = agent.outcome()
            importer.outcome()
    finally:
        agent_waiting.set()
        monitor.close()

    assert "stopped to break a deadlock" in caplog.text
    run = ImportRun.objects.get(organisation=org, source="csv")
    assert (run.received, run.rejected) == (200, 0)
    assert run.created + answer["summary"]["created"] == 200
    assert Client.objects.filter(organisation=org).count() == 200
    stored = set(Client.objects.filter(organisation=org).values_list("last_renewal_at", flat=True))
    assert {d.isoformat() for d in stored} == {r["last_renewal_at"] for r in records}
