"""Low-water alerts: one e-mail per crossing, re-armed when the pool is back above the mark."""

from __future__ import annotations

import pytest
from django.utils import timezone

from licensing.models import AuditEvent, MakPool
from licensing.services.mak import allocation, vault
from licensing.services.mak import requests as mak_requests
from licensing.services.mak.alerts import update_low_water_state
from licensing.services.mak.forecast import forecast_pools
from licensing.tasks import check_mak_low_water
from tests import factories

pytestmark = pytest.mark.django_db


def test_admins_are_emailed_once_per_crossing_and_again_after_re_arming(
    org,
    pool,
    admin_user,
    manager_user,
    make_clients,
    eager_celery,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    # low-water mark 5; 8 activations available
    key = factories.MakKeyFactory(pool=pool, activation_limit=8)
    clients = make_clients(org, 8)

    def activate(client):
        with django_capture_on_commit_callbacks(execute=True):
            allocation.record_activation(actor=admin_user, client=client)

    for c in clients[:3]:
        activate(c)  # 5 left: not below 5
    assert mailoutbox == []
    activate(clients[3])  # 4 left: crossing
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [admin_user.email]  # admins only
    assert "4 activations left" in mail.subject and "low-water mark 5" in mail.body
    assert f"/pools/{pool.pk}/" in mail.body
    for c in clients[4:7]:
        activate(c)  # 3, 2, 1 left: same crossing, no more mail
    assert len(mailoutbox) == 1
    pool.refresh_from_db()
    assert pool.low_water_alerted_at is not None

    # Approved extra activations lift the pool above the mark: re-armed.
    req = mak_requests.request_activations(
        actor=admin_user, pool=pool, key=key, quantity=10, justification="more"
    )
    with django_capture_on_commit_callbacks(execute=True):
        mak_requests.approve_request(actor=manager_user, request=req)
    pool.refresh_from_db()
    assert pool.low_water_alerted_at is None
    mails_before = len(mailoutbox)
    # 11 left; drop below 5 again -> a second alert
    more = make_clients(org, 7, prefix="more")
    for c in more:
        activate(c)
    low_mails = [m for m in mailoutbox[mails_before:] if "is low" in m.subject]
    assert len(low_mails) == 1 and "4 activations left" in low_mails[0].subject
    assert AuditEvent.objects.filter(action="mak_pool.low_water").count() == 2
    assert AuditEvent.objects.filter(action="mak_pool.low_water_rearmed").count() == 1


def test_the_beat_check_catches_a_raised_mark_and_is_idempotent(
    org, pool, admin_user, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    factories.MakKeyFactory(pool=pool, activation_limit=20)
    with django_capture_on_commit_callbacks(execute=True):
        assert check_mak_low_water() == {"crossed": 0, "rearmed": 0}
        MakPool.objects.filter(pk=pool.pk).update(low_water_mark=50)
        assert check_mak_low_water() == {"crossed": 1, "rearmed": 0}
        assert check_mak_low_water() == {"crossed": 0, "rearmed": 0}
    assert len(mailoutbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        vault.update_pool(actor=admin_user, pool=pool, low_water_mark=5)
    pool.refresh_from_db()
    assert pool.low_water_alerted_at is None
    assert len(mailoutbox) == 1


def test_pools_without_keys_do_not_alert(pool):
    assert update_low_water_state().crossed == []


def test_forecast_burn_rate_and_run_out_date(org, pool, admin_user, make_clients):
    key = factories.MakKeyFactory(pool=pool, activation_limit=100)
    blocked = factories.MakKeyFactory(pool=pool, activation_limit=1000, status="blocked")
    clients = make_clients(org, 60)
    now = timezone.now()
    ages = [timezone.timedelta(days=i % 40) for i in range(len(clients))]
    factories.activations(key, clients, ages)
    type(key).objects.filter(pk=key.pk).update(activations_used=60)
    (f,) = forecast_pools(MakPool.objects.filter(pk=pool.pk))
    in_window = sum(1 for i in range(60) if i % 40 < 30)
    assert (f.limit, f.used, f.remaining) == (100, 60, 40)
    assert f.burn_per_day == round(in_window / 30, 2)
    assert in_window == 50  # 40 remaining at 50/30 a day: 24 days
    assert f.runs_out_on == now.date() + timezone.timedelta(days=24)
    assert (f.key_count, f.blocked_keys) == (2, 1)
    assert not f.below_low_water
    assert blocked.activation_limit == 1000


def test_a_crossing_queues_the_alert_task_with_the_pool_id_in_its_transaction(
    pool, django_capture_on_commit_callbacks
):
    from tests.outbox import queued

    factories.MakKeyFactory(pool=pool, activation_limit=3)  # 3 left, mark 5
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert update_low_water_state(pool_ids=[pool.pk]).crossed == [pool.pk]
    # Written with the crossing (a rollback drops both); published once the commit happened.
    assert queued("licensing.mak.send_low_water_alert") == [[pool.pk]]
    assert len(callbacks) == 1
