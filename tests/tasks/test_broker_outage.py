"""The broker goes down for real (a private redis-server, stopped): writes that queue work still
commit and answer as usual, the work waits in the outbox, and once the broker is back the
beat publisher sends it and a real worker runs it. Its e-mail is sent exactly once, however
often the publisher runs and even when the message is delivered twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from licensing.models import ActivationRequest, Heartbeat, KmsHost, OutboxMessage, Role
from licensing.services import outbox
from portal.celery import app
from tests import factories
from tests.conftest import logged_in
from tests.kms.helpers import report
from tests.outbox import queued
from tests.tasks.conftest import wait_for, worker_thread

pytestmark = pytest.mark.celery_worker

# What the beat publisher sees when it runs a few minutes later (the failed rows backed off).
LATER = timedelta(minutes=10)


def _member(org, role, name):
    user = factories.UserFactory(username=name, email=f"{name}@example.test")
    factories.MembershipFactory(user=user, organisation=org, role=role)
    return user


def _deliver_again_and_wait(task_name: str, args: list) -> None:
    """Deliver the message a second time (as if a publish had succeeded but its row's delete
    was lost), then wait until the worker has got past it: the solo worker runs messages in
    order, so a heartbeat sent after it marks that point."""
    Heartbeat.objects.filter(name="beat").delete()
    app.send_task(task_name, args=args)
    app.send_task("licensing.ops.record_heartbeat")
    assert wait_for(lambda: Heartbeat.objects.filter(name="beat").exists())


def test_request_extra_activations_survives_a_broker_outage_and_mails_once(private_broker):
    org = factories.OrganisationFactory(name="Outage Corp", slug="outage-corp")
    admin = _member(org, Role.ADMIN, "outage-admin")
    manager = _member(org, Role.MANAGER, "outage-manager")
    pool = factories.MakPoolFactory(
        organisation=org, edition=factories.edition(), agreement_number="12345678"
    )
    key = factories.MakKeyFactory(pool=pool, activation_limit=100)

    private_broker.stop()
    response = logged_in(admin).post(
        f"/pools/{pool.pk}/request/",
        {
            "key": key.pk,
            "agreement_number": "12345678",
            "product_name": "Office LTSC Professional Plus 2024",
            "quantity": 50,
            "justification": "New branch office",
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/pools/{pool.pk}/"
    req = ActivationRequest.objects.get()
    assert queued("licensing.mak.send_request_created") == [[req.pk]]
    waiting = OutboxMessage.objects.get()
    assert waiting.attempts == 1 and waiting.last_error  # the publish after commit failed
    assert mail.outbox == []

    private_broker.start()
    with worker_thread():
        assert outbox.publish_due(now=timezone.now() + LATER).published == 1
        assert wait_for(lambda: len(mail.outbox) == 1)
        # The publisher runs again (beat, every 30 s): nothing is left to send.
        assert outbox.publish_due(now=timezone.now() + LATER).published == 0
        _deliver_again_and_wait("licensing.mak.send_request_created", [req.pk])
    assert OutboxMessage.objects.count() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [manager.email] and "Approval needed" in mail.outbox[0].subject


def test_poll_now_survives_a_broker_outage_and_the_state_mail_goes_once(
    private_broker, tcp_listener
):
    org = factories.OrganisationFactory(name="Outage KMS", slug="outage-kms", dns_domains=[])
    admin = _member(org, Role.ADMIN, "outage-kms-admin")
    host = KmsHost.objects.create(
        organisation=org,
        fqdn="127.0.0.1",
        port=tcp_listener,
        product_group="office_2024",
        next_poll_at=timezone.now() + timedelta(hours=1),
        state_changed_at=timezone.now(),
    )
    report(host, 3)  # under the threshold of 5: the poll moves the state

    private_broker.stop()
    response = logged_in(admin).post(f"/kms/hosts/{host.pk}/poll/")
    assert response.status_code == 302 and response["Location"] == f"/kms/hosts/{host.pk}/"
    assert queued("licensing.kms.poll_host") == [[host.pk]]

    private_broker.start()
    with worker_thread():
        assert outbox.publish_due(now=timezone.now() + LATER).published == 1
        assert wait_for(lambda: len(mail.outbox) == 1)
        assert outbox.publish_due(now=timezone.now() + LATER).published == 0
        poll = host.polls.get()
        _deliver_again_and_wait("licensing.kms.notify_state_change", [poll.pk, "pending"])
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [admin.email] and "Below activation threshold" in (
        mail.outbox[0].subject
    )
    host.refresh_from_db()
    assert host.state == "below_threshold"
    assert host.next_poll_at > timezone.now() + timedelta(minutes=10)
