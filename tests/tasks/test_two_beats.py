"""Beat runs once, but two beats (or a retried task) must not do harm: the periodic work that
rebuilds or announces something takes turns instead of doubling it."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from licensing.models import ClientCount, OutboxMessage
from licensing.probes import SrvLookup
from licensing.probes.dns import SrvRecord
from licensing.services import fleet_summary
from licensing.services.kms.discovery import record_srv_findings
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _first_holds_while_second_starts(first, second) -> None:
    """Run `first` in a transaction that stays open until `second` (another thread) has had
    time to reach the same point, then commit and let `second` finish."""
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                first()
                entered.set()
                release.wait(30)
        finally:
            connection.close()

    def run_second() -> None:
        try:
            with transaction.atomic():
                second()
        finally:
            connection.close()

    a = threading.Thread(target=hold)
    a.start()
    assert entered.wait(30)
    b = threading.Thread(target=run_second)
    b.start()
    time.sleep(0.5)  # the second reaches its first statement (it waits there after the fix)
    release.set()
    a.join(30)
    b.join(30)


def test_two_client_count_refreshes_at_once_count_each_client_once(org):
    factories.ClientFactory.create_batch(3, organisation=org)
    _first_holds_while_second_starts(
        fleet_summary.refresh_client_counts, fleet_summary.refresh_client_counts
    )
    assert sum(ClientCount.objects.filter(organisation=org).values_list("count", flat=True)) == 3


def test_two_discoveries_at_once_announce_a_rogue_host_once(org):
    lookups = [
        SrvLookup(
            domain=org.dns_domains[0],
            records=[SrvRecord(target="rogue.evil.test", port=1688, priority=0, weight=0)],
        )
    ]

    def discover() -> None:
        record_srv_findings(organisation=org, lookups=lookups, now=timezone.now())

    # No broker publish from the threads: keep the messages in the outbox to count them.
    from licensing.services import outbox

    original = outbox.publish
    outbox.publish = lambda ids: 0
    try:
        _first_holds_while_second_starts(discover, discover)
    finally:
        outbox.publish = original
    assert OutboxMessage.objects.filter(task_name="licensing.kms.notify_rogue_srv").count() == 1
