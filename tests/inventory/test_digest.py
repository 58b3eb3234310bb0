"""The daily digest of newly flagged clients: to admins, once a day, each client counted once."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from licensing.models import Client, ClientFlagChange, ComplianceDigest
from licensing.services.inventory import sweep
from licensing.services.inventory.digest import send_daily_digests
from licensing.tasks import send_compliance_digests
from tests import factories
from tests.inventory.conftest import NOW, days_ago

pytestmark = pytest.mark.django_db


def test_the_digest_goes_to_admins_once_a_day(frozen, org, admin_user, auditor_user, make_client):
    make_client(license_status=1, last_renewal_at=days_ago(190))
    make_client(license_status=5)
    sweep.sweep(full=True)
    assert send_compliance_digests() == {"sent": 1, "skipped": 0}
    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    assert msg.to == [admin_user.email]
    assert "2 client(s) newly flagged" in msg.subject
    assert "Expired: 1" in msg.body and "Unlicensed: 1" in msg.body and "http" in msg.body
    # The task runs again the same day: nothing more is sent.
    assert send_daily_digests()["sent"] == 0
    assert len(mail.outbox) == 1
    assert ComplianceDigest.objects.get(organisation=org).counts == {"expired": 1, "unlicensed": 1}


def test_the_next_days_digest_only_lists_what_is_new_since(frozen, org, admin_user, make_client):
    make_client(license_status=5)
    sweep.sweep(full=True)
    send_daily_digests()
    frozen.shift(timedelta(days=1))
    assert send_daily_digests()["sent"] == 0  # nothing new: no mail
    make_client(license_status=1, last_renewal_at=NOW - timedelta(days=200))
    sweep.sweep(full=True)
    frozen.shift(timedelta(hours=1))
    assert send_daily_digests()["sent"] == 1
    assert "Expired: 1" in mail.outbox[-1].body and "Unlicensed" not in mail.outbox[-1].body
    assert Client.objects.count() == 2


def test_the_digest_counts_each_newly_flagged_client_once(org, admin_user):
    now = timezone.now()
    twice, moved_on, settled = (
        factories.ClientFactory(organisation=org, hostname=name, edition=None)
        for name in ("pc-twice", "pc-moved-on", "pc-settled")
    )
    changes = [
        # The same change recorded twice (what two racing imports used to write).
        (twice, "", "expired"),
        (twice, "", "expired"),
        # A client that went on from at risk to expired within the day: one client, expired.
        (moved_on, "ok", "at_risk"),
        (moved_on, "at_risk", "expired"),
        # Flagged, then fine again: not flagged any more, so not in the digest.
        (settled, "ok", "at_risk"),
        (settled, "at_risk", "ok"),
    ]
    for minutes, (client, from_flag, to_flag) in enumerate(changes):
        ClientFlagChange.objects.create(
            client=client,
            organisation=org,
            from_flag=from_flag,
            to_flag=to_flag,
            changed_at=now - timedelta(hours=2) + timedelta(minutes=minutes),
            changed_by="test",
        )
    call_command("send_compliance_digest", stdout=io.StringIO())

    digest = ComplianceDigest.objects.get(organisation=org)
    assert digest.counts == {"expired": 2}
    assert len(mail.outbox) == 1 and "2 client(s) newly flagged" in mail.outbox[0].subject
