"""The outbox seen from tests: what is queued, and running it in the test process."""

from __future__ import annotations

from typing import Any

from licensing.models import OutboxMessage


def queued(task_name: str | None = None) -> list[list[Any]]:
    """The argument lists of the messages waiting in the outbox (of one task, if named)."""
    rows = OutboxMessage.objects.order_by("pk")
    if task_name is not None:
        rows = rows.filter(task_name=task_name)
    return [row.args for row in rows]


def run_messages(rows: list[OutboxMessage]) -> list[tuple[str, list[Any]]]:
    """Run these messages' tasks here, as a worker would, and delete them."""
    import licensing.tasks  # noqa: F401  (registers every task, as a worker's start does)
    from portal.celery import app

    ran = []
    OutboxMessage.objects.filter(pk__in=[row.pk for row in rows]).delete()
    for row in rows:
        ran.append((row.task_name, row.args))
        app.tasks[row.task_name](*row.args)
    return ran


def run_outbox() -> list[tuple[str, list[Any]]]:
    """Run every waiting message (and the ones those tasks queue) in this process."""
    ran = []
    while rows := list(OutboxMessage.objects.order_by("pk")):
        ran += run_messages(rows)
    return ran
