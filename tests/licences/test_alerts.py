"""Alerts of the licences area through the one notification mechanism: agreement and Software
Assurance ends 90 and 30 days ahead (once each), a shortfall that appears or grows (once per
change)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from licensing.models import Agreement, Entitlement, OutboxMessage, ShortfallState
from licensing.services.licences import alerts
from licensing.services.licences.agreements import delete_entitlement, update_entitlement
from tests.licences.conftest import PRO_PLUS, entitle, install, make_agreement


@pytest.fixture
def members(admin_user, manager_user, auditor_user):
    return admin_user, manager_user, auditor_user


@pytest.fixture
def committed(tasks_in_process, django_capture_on_commit_callbacks):
    """`committed(fn, *args, **kwargs)`: call fn, then run what its commit queued (the
    outbox's tasks, in this process) as a real commit would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def test_end_alerts_90_then_30_days_ahead_once_each(org, members, committed, tasks_in_process):
    today = timezone.localdate()
    agreement = make_agreement(
        org,
        "EA-END",
        starts_on=today - dt.timedelta(days=700),
        ends_on=today + dt.timedelta(days=80),
        sa_ends_on=today + dt.timedelta(days=200),
    )
    claimed = committed(alerts.claim_end_alerts, today=today)
    assert [(c.kind, c.days) for c in claimed] == [("end", 90)]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "EA-END" in message.subject and "(80 days)" in message.subject
    assert sorted(message.to) == [
        "contoso-test-admin@example.test",
        "contoso-test-manager@example.test",
    ]
    # The next days: nothing new until 30 days ahead.
    assert committed(alerts.claim_end_alerts, today=today + dt.timedelta(days=1)) == []
    claimed = committed(alerts.claim_end_alerts, today=today + dt.timedelta(days=51))
    assert [(c.kind, c.days) for c in claimed] == [("end", 30)]
    assert committed(alerts.claim_end_alerts, today=today + dt.timedelta(days=52)) == []
    assert len(mail.outbox) == 2
    # Software Assurance: its own alerts.
    claimed = committed(alerts.claim_end_alerts, today=today + dt.timedelta(days=115))
    assert [(c.kind, c.days) for c in claimed] == [("sa_end", 90)]
    assert "Software Assurance" in mail.outbox[-1].subject
    # Running the message again (a redelivered task) sends nothing.
    assert alerts.notify_agreement_end(agreement_id=agreement.pk, kind="sa_end", days=90) == 0
    assert len(mail.outbox) == 3


def test_an_agreement_inside_30_days_gets_the_30_day_alert_only(
    org, members, committed, tasks_in_process
):
    today = timezone.localdate()
    make_agreement(
        org,
        "EA-SOON",
        starts_on=today - dt.timedelta(days=10),
        ends_on=today + dt.timedelta(days=20),
    )
    claimed = committed(alerts.claim_end_alerts, today=today)
    assert [(c.kind, c.days) for c in claimed] == [("end", 30)]
    assert len(mail.outbox) == 1 and "(20 days)" in mail.outbox[0].subject


def test_a_new_end_date_re_arms_the_alerts(org, admin_user, members, committed, tasks_in_process):
    from licensing.services.licences.agreements import update_agreement

    today = timezone.localdate()
    agreement = make_agreement(
        org, "EA-RE", starts_on=today - dt.timedelta(days=10), ends_on=today + dt.timedelta(days=60)
    )
    committed(alerts.claim_end_alerts, today=today)
    committed(
        update_agreement,
        actor=admin_user,
        agreement=agreement,
        ends_on=today + dt.timedelta(days=85),
    )
    claimed = committed(alerts.claim_end_alerts, today=today)
    assert [(c.kind, c.days) for c in claimed] == [("end", 90)]
    assert len(mail.outbox) == 2


def test_past_and_far_ends_are_not_alerted(org, members, committed, tasks_in_process):
    today = timezone.localdate()
    make_agreement(
        org, "A", starts_on=today - dt.timedelta(days=900), ends_on=today - dt.timedelta(days=1)
    )
    make_agreement(org, "B", starts_on=today, ends_on=today + dt.timedelta(days=91))
    assert committed(alerts.claim_end_alerts, today=today) == []
    assert mail.outbox == []


def test_a_shortfall_that_appears_is_alerted_once_per_change(
    org, admin_user, members, committed, tasks_in_process
):
    agreement = make_agreement(org)
    line = entitle(agreement, PRO_PLUS["2024"], 10)
    install(org, PRO_PLUS["2021"], 8)
    assert alerts.check_shortfall(organisation_id=org.pk) is False  # no shortfall: nothing
    assert mail.outbox == []
    # A line reduced through the service queues the check in its transaction.
    committed(update_entitlement, actor=admin_user, entitlement=line, quantity=5)
    assert [t for t, _ in tasks_in_process if t.startswith("licensing.licences")][:2] == [
        "licensing.licences.check_shortfall",
        "licensing.licences.send_shortfall_alert",
    ]
    assert len(mail.outbox) == 1
    assert "1 edition under-licensed, 3 installs short" in mail.outbox[0].subject
    assert (
        "Office LTSC Professional Plus 2021: 8 installed, 5 covered, 3 short" in mail.outbox[0].body
    )
    # The same shortfall again (beat, retries): nothing.
    assert alerts.check_shortfall(organisation_id=org.pk) is False
    assert alerts.check_all_shortfalls() == 0
    assert len(mail.outbox) == 1
    # It grows: one more. It shrinks: silence, but the state follows.
    install(org, PRO_PLUS["2021"], 2)
    assert committed(alerts.check_all_shortfalls) == 1
    assert len(mail.outbox) == 2
    committed(update_entitlement, actor=admin_user, entitlement=line, quantity=9)
    assert len(mail.outbox) == 2
    assert list(ShortfallState.objects.get(organisation=org).signature.values()) == [1]
    # Closed, then open again: a new change, a new alert.
    committed(update_entitlement, actor=admin_user, entitlement=line, quantity=20)
    assert ShortfallState.objects.get(organisation=org).signature == {}
    committed(delete_entitlement, actor=admin_user, entitlement=Entitlement.objects.get(pk=line.pk))
    assert len(mail.outbox) == 3


def test_the_task_names_and_beat_schedule():
    from portal.celery import app

    tasks = {e["task"] for e in app.conf.beat_schedule.values()}
    assert {
        "licensing.licences.check_agreement_ends",
        "licensing.licences.check_all_shortfalls",
    } <= tasks
    import licensing.tasks  # noqa: F401

    for name in (
        "licensing.licences.check_agreement_ends",
        "licensing.licences.send_agreement_end_alert",
        "licensing.licences.check_shortfall",
        "licensing.licences.check_all_shortfalls",
        "licensing.licences.send_shortfall_alert",
    ):
        assert name in app.tasks


def test_claims_are_queued_through_the_outbox(org, members):
    today = timezone.localdate()
    make_agreement(
        org, "EA-Q", starts_on=today - dt.timedelta(days=10), ends_on=today + dt.timedelta(days=10)
    )
    alerts.claim_end_alerts(today=today)
    message = OutboxMessage.objects.get(task_name="licensing.licences.send_agreement_end_alert")
    assert message.args == [Agreement.objects.get().pk, "end", 30]
