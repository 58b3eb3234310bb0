"""End to end through a real Celery worker on the real Redis: beat's dispatch task -> one poll
task per due host -> HostPoll row -> state change -> exactly one email."""

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from licensing.models import HostPoll, HostState, KmsHost
from licensing.tasks import dispatch_due_host_polls
from tests.kms.conftest import zone_text
from tests.kms.helpers import a, host, report, srv


def wait_for(predicate, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.celery_worker
def test_a_due_host_is_polled_end_to_end_by_a_real_worker(
    real_celery_worker, kms_org, dns_server, tcp_listener, admin_with_email
):
    h = host(
        kms_org,
        "kms-ok.contoso.test",
        tcp_listener,
        next_poll_at=timezone.now() - timedelta(seconds=1),
        poll_interval_minutes=10,
    )
    not_due = host(kms_org, "later.contoso.test", next_poll_at=timezone.now() + timedelta(hours=1))
    dns_server.zone.set(zone_text([srv(h.fqdn, tcp_listener), a(h.fqdn)]))
    report(h, 3)  # under the threshold of 5: the poll must move the host and email once

    dispatch_due_host_polls.delay()  # what beat sends every 60 s

    assert wait_for(lambda: HostPoll.objects.filter(host=h).exists())
    assert wait_for(lambda: len(mail.outbox) == 1)
    poll = HostPoll.objects.get(host=h)
    assert poll.state == HostState.BELOW_THRESHOLD and poll.reachable and poll.srv_published
    h.refresh_from_db()
    assert h.state == HostState.BELOW_THRESHOLD and h.last_notified_state == h.state
    assert h.next_poll_at > timezone.now() + timedelta(minutes=9)
    assert mail.outbox[0].to == ["kms-admin@example.test"]
    assert not HostPoll.objects.filter(host=not_due).exists()

    # A second dispatch right away finds nothing due (the claim moved next_poll_at) ...
    dispatch_due_host_polls.delay()
    # ... and a forced second poll of the same state sends no second email.
    KmsHost.objects.filter(pk=h.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))
    dispatch_due_host_polls.delay()
    assert wait_for(lambda: HostPoll.objects.filter(host=h).count() == 2)
    time.sleep(0.5)
    assert HostPoll.objects.filter(host=h).count() == 2
    assert len(mail.outbox) == 1
