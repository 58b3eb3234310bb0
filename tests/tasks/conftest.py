"""Fixtures of the task and outbox tests: the project's Celery app pointed at a private
redis-server (stopped and started for real), a worker thread on it, and real `celery worker`
processes that tests kill."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# The KMS tests' black-hole and reachable TCP listeners, for polls run by real workers.
from tests.kms.conftest import black_hole, tcp_listener  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def _reset_producer_pools(app) -> None:
    """Pooled broker connections were made for the previous broker: forget them."""
    import kombu.pools

    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def private_broker(private_redis, transactional_db, monkeypatch):
    """The Celery app publishes to (and workers consume from) a private redis-server: stop it
    to take the broker down for real. The app's settings are restored afterwards."""
    from django.conf import settings

    from portal.celery import app

    saved = {
        "broker_url": app.conf.broker_url,
        "broker_transport_options": dict(app.conf.broker_transport_options or {}),
        "task_always_eager": app.conf.task_always_eager,
    }
    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    monkeypatch.setenv("CELERY_BROKER_URL", private_redis.url)
    # The settings' transport options (visibility timeout), without the key prefix another
    # fixture may have left: the worker processes started here use none.
    app.conf.update(
        broker_url=private_redis.url,
        broker_transport_options=dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS),
        task_always_eager=False,
    )
    _reset_producer_pools(app)
    yield private_redis
    app.conf.update(**saved)
    _reset_producer_pools(app)
    _end_other_sessions()


def _end_other_sessions() -> None:
    """Workers (threads and killed processes) leave database sessions behind; end them so the
    flush and the test database's removal do not wait for them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@contextlib.contextmanager
def worker_thread() -> Iterator[None]:
    """A worker of the project's app in a thread of this process (its e-mails land in Django's
    test outbox), on whatever broker the app points at."""
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


def wait_for(predicate, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return bool(predicate())


class WorkerProcess:
    """`celery -A portal worker` (prefork) as a real process of its own session, on the test
    database and the given broker; `kill()` is `kill -9` of the whole process group."""

    def __init__(self, name: str, log: Path, env: dict[str, str], concurrency: int = 2) -> None:
        self.log = log
        self.handle = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-P",
                "prefork",
                "-c",
                str(concurrency),
                "-l",
                "info",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, seconds: float = 120.0) -> None:
        if not wait_for(
            lambda: " ready." in self.output() or self.process.poll() is not None, seconds
        ):
            raise TimeoutError(f"the worker did not start:\n{self.output()[-3000:]}")
        if self.process.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{self.output()[-3000:]}")

    def received(self, task_name: str) -> int:
        return self.output().count(f"Task {task_name}[")

    def pool_children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill(self) -> None:
        """kill -9 of the main process and its pool children, as an OOM killer or a lost
        machine would."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.kill()
        self.handle.close()


@pytest.fixture
def worker_process(private_broker, tmp_path, settings):
    """`worker_process(name, **env)` starts a real worker process on the private broker and
    the test database; every worker is killed at the end of the test."""
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    base_env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": private_broker.url,
        "REDIS_URL": "",
        "PORTAL_TESTING": "1",
        "DATABASE_POOL": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "KEY_FINGERPRINT_PEPPER": settings.KEY_FINGERPRINT_PEPPER,
        "PYTHONPATH": str(ROOT),
    }
    started: list[WorkerProcess] = []

    def start(name: str, **env: str) -> WorkerProcess:
        worker = WorkerProcess(name, tmp_path / f"{name}.log", {**base_env, **env})
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()
