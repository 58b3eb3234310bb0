"""Events that reach the webhook channel: an unregistered KMS host in DNS (new), and a real
Celery worker retrying a delivery until the receiver answers."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.utils import timezone

from licensing.models import DeliveryStatus, DnsFinding, WebhookDelivery, WebhookKind
from licensing.probes import SrvLookup
from licensing.probes.dns import SrvRecord
from licensing.services import webhooks
from licensing.services.kms.discovery import record_srv_findings
from tests.outbox import queued, run_outbox
from tests.webhooks.conftest import SECRET

pytestmark = pytest.mark.django_db


def _lookup(org, *targets):
    return [
        SrvLookup(
            domain=org.dns_domains[0],
            records=[SrvRecord(target=t, port=1688, priority=0, weight=0) for t in targets],
        )
    ]


def test_a_rogue_srv_record_notifies_admins_once_per_appearance(org, admin_user, receiver):
    webhooks.create_destination(
        actor=admin_user,
        organisation=org,
        name="sec",
        kind=WebhookKind.JSON,
        url=receiver.url(),
        events=["kms.rogue_srv"],
        secret=SECRET,
    )
    record_srv_findings(
        organisation=org, lookups=_lookup(org, "rogue.evil.test"), now=timezone.now()
    )
    record_srv_findings(
        organisation=org, lookups=_lookup(org, "rogue.evil.test"), now=timezone.now()
    )
    assert len(queued("licensing.kms.notify_rogue_srv")) == 1  # still open: no second alert
    run_outbox()
    (message,) = mail.outbox
    assert message.to == [admin_user.email]
    assert "rogue.evil.test" in message.subject and "remove the record" in message.body
    assert len(receiver.received) == 1 and receiver.received[0]["signature_ok"]
    # it leaves DNS, then comes back: a new alert
    record_srv_findings(organisation=org, lookups=_lookup(org), now=timezone.now())
    assert DnsFinding.objects.get().resolved_at is not None
    record_srv_findings(
        organisation=org, lookups=_lookup(org, "rogue.evil.test"), now=timezone.now()
    )
    run_outbox()
    assert len(mail.outbox) == 2 and len(receiver.received) == 2


@pytest.mark.celery_worker
def test_a_real_worker_retries_with_back_off_until_the_receiver_answers(
    org, admin_user, receiver, fast_webhooks, real_celery_worker
):
    receiver.answers = [500, 502, 200]
    dest = webhooks.create_destination(
        actor=admin_user,
        organisation=org,
        name="ops",
        kind=WebhookKind.JSON,
        url=receiver.url(),
        events=[],
        secret=SECRET,
    ).destination
    row = webhooks.send_test(actor=admin_user, destination=dest)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row.refresh_from_db()
        if row.status != DeliveryStatus.PENDING:
            break
        time.sleep(0.1)
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert [p["signature_ok"] for p in receiver.received] == [True, True, True]
    assert not WebhookDelivery.objects.exclude(pk=row.pk).exists()
