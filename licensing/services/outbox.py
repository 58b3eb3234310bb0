"""The one way to queue work after commit: a transactional outbox.

`enqueue("licensing.kms.poll_host", host.pk)` writes an `OutboxMessage` row in the caller's
transaction. When that transaction commits, the row is published at once (a short broker
timeout, no retries) and deleted; if the broker is down the row stays, the request that
committed answers as usual, and the beat task `licensing.outbox.publish` (every 30 s) publishes
it later with `publish_due()`, backing off per row. So a committed write never fails because of
the broker, and the work it queued is never lost.

Delivery is at least once (a publish may succeed just before its row's delete is lost), so
tasks are idempotent; side effects that must happen once (e-mails) go through `send_once`.

Tasks are named by string (`licensing.<area>.<action>`, see licensing/tasks.py): services never
import the task module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from licensing.models import OutboxMessage

log = logging.getLogger(__name__)

# The beat publisher leaves rows this young to the publish right after their commit.
HEAD_START = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=5)
BATCH = 500
# A notification's claim outlives every redelivery of the message that sent it (the outbox row
# is gone once published; a broker redelivers within hours), then it is pruned.
SENT_NOTIFICATION_RETENTION = timedelta(days=90)


def enqueue(task_name: str, *args: Any) -> OutboxMessage:
    """Queue `task_name(*args)` to run once the current transaction commits (at once when
    there is none). Arguments must be JSON: ids, never secrets."""
    return enqueue_many(task_name, [args])[0]


def enqueue_many(task_name: str, arg_lists: Iterable[Sequence[Any]]) -> list[OutboxMessage]:
    """One message per argument list, written in one INSERT and published in one batch."""
    now = timezone.now()
    rows = OutboxMessage.objects.bulk_create(
        OutboxMessage(
            task_name=task_name, args=list(args), created_at=now, available_at=now + HEAD_START
        )
        for args in arg_lists
    )
    if rows:
        ids = [row.pk for row in rows]
        transaction.on_commit(lambda: publish(ids))
    return rows


def publish(ids: list[int]) -> int:
    """Publish these messages now (after their transaction committed) and delete the ones the
    broker took. Never raises: a failure is logged and the rows wait for `publish_due`."""
    try:
        with transaction.atomic():
            rows = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk__in=ids)
                .order_by("pk")
            )
            return _publish_locked(rows, now=timezone.now())
    except Exception as exc:  # the database itself failed: the rows (if any) stay for later
        log.warning("outbox: could not publish %d message(s): %s", len(ids), type(exc).__name__)
        return 0


@dataclass(frozen=True)
class PublishSummary:
    published: int
    waiting: int

    def as_dict(self) -> dict[str, int]:
        return {"published": self.published, "waiting": self.waiting}


def publish_due(*, now: datetime | None = None, limit: int = BATCH) -> PublishSummary:
    """The beat task's body: claim rows whose time has come (SKIP LOCKED, so concurrent runs
    and the immediate publish take disjoint rows), publish them, delete them. Rows that fail
    are pushed back (exponential backoff, at most MAX_BACKOFF)."""
    now = now or timezone.now()
    published = 0
    while True:
        with transaction.atomic():
            rows = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(available_at__lte=now)
                .order_by("available_at", "pk")[:limit]
            )
            sent = _publish_locked(rows, now=now)
        published += sent
        if len(rows) < limit or sent < len(rows):
            break
    return PublishSummary(published=published, waiting=OutboxMessage.objects.count())


def _publish_locked(rows: list[OutboxMessage], *, now: datetime) -> int:
    """Publish rows the caller holds locked; delete the sent ones, back off the others."""
    if not rows:
        return 0
    sent: list[int] = []
    error: Exception | None = None
    try:
        if current_app.conf.task_always_eager:
            for row in rows:
                current_app.tasks[row.task_name].apply(args=row.args)
                sent.append(row.pk)
        else:
            with broker_connection() as conn:
                for row in rows:
                    current_app.send_task(
                        row.task_name, args=row.args, connection=conn, retry=False
                    )
                    sent.append(row.pk)
    except Exception as exc:  # broker down or unreachable: keep the rest for later
        error = exc
    if sent:
        OutboxMessage.objects.filter(pk__in=sent).delete()
    if error is not None:
        sent_ids = set(sent)
        failed = [row for row in rows if row.pk not in sent_ids]
        # The error's class only: its text may carry a broker URL, and args are never logged.
        log.warning(
            "outbox: broker unavailable (%s); %d message(s) wait for the next publish",
            type(error).__name__,
            len(failed),
        )
        for row in failed:
            row.attempts += 1
            row.last_error = type(error).__name__[:200]
            row.available_at = now + min(HEAD_START * 2**row.attempts, MAX_BACKOFF)
        OutboxMessage.objects.bulk_update(failed, ["attempts", "last_error", "available_at"])
    return len(sent)


def broker_connection(*, for_read: bool = False) -> Any:
    """A connection of its own for this batch (a pooled one may be dead after a broker
    restart), which gives up quickly when the broker does not answer. Also used by /metrics
    to read the queue's length (`for_read`)."""
    timeout = settings.OUTBOX_PUBLISH_TIMEOUT_SECONDS
    connect = current_app.connection_for_read if for_read else current_app.connection_for_write
    return connect(
        connect_timeout=timeout,
        transport_options={
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
            "max_retries": 0,
        },
    )


def send_once(key: str, send: Callable[[], int]) -> int:
    """Run `send` (an e-mail, typically) unless a notification with this key was sent already;
    returns what `send` returned, or 0 when it was a duplicate. The claim row and the send share
    one transaction: concurrent duplicates wait for it and then skip, and a send that raises
    releases the claim so a retry can send."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO licensing_sentnotification (key, sent_at) VALUES (%s, %s) "
                "ON CONFLICT (key) DO NOTHING RETURNING key",
                [key[:200], timezone.now()],
            )
            claimed = cursor.fetchone() is not None
        return send() if claimed else 0


def prune_sent_notifications(*, now: datetime | None = None) -> int:
    """Delete notification claims older than SENT_NOTIFICATION_RETENTION, in one statement;
    returns the number deleted."""
    cutoff = (now or timezone.now()) - SENT_NOTIFICATION_RETENTION
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM licensing_sentnotification WHERE sent_at < %s", [cutoff])
        return cursor.rowcount
