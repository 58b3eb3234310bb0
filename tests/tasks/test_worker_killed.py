"""A real `celery worker` (prefork, two processes) is killed while its polls hang on a host that
drops SYNs. Every host still gets a completed poll well within its interval: a task whose pool
process died goes back to the queue at once (task_reject_on_worker_lost), and one whose whole
worker died comes back after the broker's visibility timeout, which is derived from the hard
time limit (here set short through CELERY_TASK_TIME_LIMIT), not kombu's hour."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import HostPoll, HostState, KmsHost
from licensing.services.kms import polling
from licensing.tasks import dispatch_due_host_polls
from tests import factories
from tests.tasks.conftest import wait_for

pytestmark = pytest.mark.celery_worker

HOSTS = 4
INTERVAL_MINUTES = 15
# Each poll hangs this long on the black hole; the worker is killed well inside that window.
WORKER_ENV = {
    "KMS_TCP_TIMEOUT_SECONDS": "6",
    "CELERY_TASK_TIME_LIMIT": "10",  # poll limit 10 s, visibility timeout 15 s
}


def _due_hosts(port: int) -> list[KmsHost]:
    due = timezone.now() - timedelta(seconds=1)
    return [
        KmsHost.objects.create(
            organisation=factories.OrganisationFactory(
                name=f"Killed {i}", slug=f"killed-{i}", dns_domains=[]
            ),
            fqdn="127.0.0.1",  # an address: no resolver in the way of the black hole
            port=port,
            product_group="office_2024",
            poll_interval_minutes=INTERVAL_MINUTES,
            next_poll_at=due,
            state_changed_at=due,
        )
        for i in range(HOSTS)
    ]


@pytest.fixture(autouse=True)
def two_hosts_per_batch(monkeypatch):
    """The dispatch queues the four hosts as two batches: one for each pool process."""
    monkeypatch.setattr(polling, "POLL_BATCH", HOSTS // 2)


def _dispatch_and_wait_until_two_polls_run(worker) -> None:
    assert dispatch_due_host_polls() == HOSTS  # beat's dispatch, publishing to the worker
    assert wait_for(lambda: worker.received("licensing.kms.poll_hosts") >= 2), worker.output()
    time.sleep(1.5)  # both pool processes are now inside their 6 s connect


def _assert_every_host_polled_in_time(hosts: list[KmsHost], dispatched_at, seconds: float):
    def all_polled() -> bool:
        return HostPoll.objects.filter(host__in=hosts).values("host").distinct().count() == HOSTS

    assert wait_for(all_polled, seconds)
    for host in hosts:
        poll = HostPoll.objects.filter(host=host).earliest("polled_at")
        assert poll.state == HostState.UNREACHABLE and not poll.reachable
        # Well within the interval (and nowhere near the hour of kombu's default).
        assert poll.polled_at - dispatched_at < timedelta(minutes=3)
        host.refresh_from_db()
        assert host.next_poll_at > poll.polled_at + timedelta(minutes=INTERVAL_MINUTES - 1)


def test_polls_of_a_worker_killed_with_kill_9_run_on_the_next_worker(worker_process, black_hole):
    hosts = _due_hosts(black_hole)
    first = worker_process("first", **WORKER_ENV)
    dispatched_at = timezone.now()
    _dispatch_and_wait_until_two_polls_run(first)
    first.kill()  # kill -9 of the worker and its pool processes, mid-poll
    assert not HostPoll.objects.filter(host__in=hosts).exists()

    second = worker_process("second", **WORKER_ENV)
    _assert_every_host_polled_in_time(hosts, dispatched_at, seconds=150)
    assert second.received("licensing.kms.poll_hosts") >= 2


def test_polls_of_killed_pool_processes_are_run_again(worker_process, black_hole):
    hosts = _due_hosts(black_hole)
    worker = worker_process("pool", **WORKER_ENV)
    dispatched_at = timezone.now()
    _dispatch_and_wait_until_two_polls_run(worker)
    children = worker.pool_children()
    assert len(children) == 2
    for pid in children:
        os.kill(pid, signal.SIGKILL)  # the OOM killer takes the pool processes, not the worker

    _assert_every_host_polled_in_time(hosts, dispatched_at, seconds=120)
    assert "WorkerLostError" in worker.output()
