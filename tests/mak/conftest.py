"""Fixtures of the MAK tests: a pool with keys, clients of its edition, eager Celery."""

from __future__ import annotations

import pytest

from licensing.models import ActivationMethod
from tests import factories

EDITION = "Office LTSC Professional Plus 2024"


@pytest.fixture
def pool(org):
    return factories.MakPoolFactory(
        organisation=org, edition=factories.edition(EDITION), agreement_number="12345678"
    )


@pytest.fixture
def other_pool(other_org):
    return factories.MakPoolFactory(organisation=other_org, edition=factories.edition(EDITION))


@pytest.fixture
def make_clients():
    def make(org, n, *, edition=EDITION, prefix="mak-pc"):
        return [
            factories.ClientFactory(
                organisation=org,
                hostname=f"{prefix}-{i:03d}",
                edition=factories.edition(edition),
                activation_method=ActivationMethod.KMS,
            )
            for i in range(n)
        ]

    return make


def run_tasks_in_process(monkeypatch) -> list[tuple[str, int]]:
    """Run enqueued MAK tasks in-process, right when the on-commit callback fires: the task
    body runs as it would in a worker (the e-mails land in Django's test outbox). Celery's own
    eager mode is avoided: it leaves the shared app in a state where a later real worker test
    never receives its message."""
    from licensing import tasks_mak
    from licensing.services import mak_alerts

    calls: list[tuple[str, int]] = []

    def run_now(task_name: str, object_id: int) -> None:
        calls.append((task_name, object_id))
        getattr(tasks_mak, task_name)(object_id)

    monkeypatch.setattr(mak_alerts, "_enqueue", run_now)
    return calls


@pytest.fixture
def eager_celery(monkeypatch):
    return run_tasks_in_process(monkeypatch)
