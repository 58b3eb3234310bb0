"""The outbox on its own: written with the transaction, published after it, kept and backed off
while the broker is down, never logging arguments; `send_once` sends once."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from licensing.models import OutboxMessage, SentNotification
from licensing.services import outbox
from tests.outbox import queued


@pytest.mark.django_db
def test_a_message_is_written_in_the_callers_transaction_and_published_after_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            outbox.enqueue("licensing.kms.poll_host", 7)
        assert queued() == [[7]]
    assert len(callbacks) == 1  # the publish waits for the commit

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        outbox.enqueue("licensing.kms.poll_host", 8)
        raise Rollback
    assert queued() == [[7]]  # a rolled-back write queues nothing


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_row_stays_backs_off_and_logs_no_arguments(private_broker, caplog):
    private_broker.stop()
    with caplog.at_level(logging.WARNING, logger="licensing.services.outbox"):
        outbox.enqueue("licensing.mak.send_request_created", 424242)  # autocommit: publish now
    row = OutboxMessage.objects.get()
    assert row.attempts == 1 and row.last_error == "OperationalError"
    assert row.available_at > timezone.now()
    assert "424242" not in caplog.text and "broker unavailable" in caplog.text
    assert private_broker.url not in caplog.text

    # The beat publisher leaves it alone until its backoff has passed, then tries again.
    assert outbox.publish_due().published == 0
    later = timezone.now() + timedelta(minutes=10)
    assert outbox.publish_due(now=later).as_dict() == {"published": 0, "waiting": 1}
    row.refresh_from_db()
    assert row.attempts == 2 and row.available_at > later

    private_broker.start()
    assert outbox.publish_due(now=later + timedelta(minutes=10)).as_dict() == {
        "published": 1,
        "waiting": 0,
    }


@pytest.mark.django_db
def test_a_notification_is_sent_once_and_a_failed_send_can_be_retried():
    sent: list[str] = []

    def send() -> int:
        sent.append("mail")
        return 1

    assert outbox.send_once("test:1", send) == 1
    assert outbox.send_once("test:1", send) == 0
    assert sent == ["mail"]

    def broken() -> int:
        raise ConnectionError("SMTP down")

    with pytest.raises(ConnectionError):
        outbox.send_once("test:2", broken)
    assert not SentNotification.objects.filter(key="test:2").exists()
    assert outbox.send_once("test:2", send) == 1


@pytest.mark.django_db
def test_notification_claims_are_pruned_after_the_retention_and_kept_before():
    now = timezone.now()
    old = now - outbox.SENT_NOTIFICATION_RETENTION - timedelta(minutes=1)
    young = now - outbox.SENT_NOTIFICATION_RETENTION + timedelta(minutes=1)
    SentNotification.objects.create(key="test:old", sent_at=old)
    SentNotification.objects.create(key="test:young", sent_at=young)

    assert outbox.prune_sent_notifications(now=now) == 1
    assert outbox.prune_sent_notifications(now=now) == 0  # idempotent
    assert list(SentNotification.objects.values_list("key", flat=True)) == ["test:young"]
    assert outbox.send_once("test:young", lambda: 1) == 0  # a kept claim still blocks a resend
