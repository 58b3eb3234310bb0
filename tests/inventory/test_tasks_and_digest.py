"""Celery tasks (direct and through a real worker) and the daily digest."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail

from licensing.models import Client, ClientFlagChange, ComplianceDigest, Heartbeat
from licensing.services.inventory import sweep
from licensing.services.inventory.digest import send_daily_digests
from licensing.tasks_inventory import send_compliance_digests, sweep_after_ingest, sweep_compliance
from tests import factories
from tests.inventory.conftest import NOW, days_ago


@pytest.mark.django_db
def test_the_worker_registers_the_inventory_tasks():
    from portal.celery import app

    app.loader.import_default_modules()
    assert {
        "licensing.inventory.sweep_compliance",
        "licensing.inventory.sweep_after_ingest",
        "licensing.inventory.send_compliance_digests",
    } <= set(app.tasks)
    scheduled = {e["task"] for e in app.conf.beat_schedule.values()}
    assert "licensing.inventory.sweep_compliance" in scheduled
    assert "licensing.inventory.send_compliance_digests" in scheduled


@pytest.mark.django_db
def test_sweep_task_body_flags_and_records_its_heartbeat(frozen, make_client):
    c = make_client(license_status=1, last_renewal_at=days_ago(190))
    assert sweep_compliance(full=True)["flagged"] == 1
    assert sweep_compliance(full=True)["changed"] == 0
    c.refresh_from_db()
    assert c.compliance_flag == "expired"
    assert Heartbeat.objects.filter(name="sweep").exists()


@pytest.mark.django_db
def test_sweep_after_ingest_refreshes_the_organisations_snapshot(frozen, org, make_client):
    make_client(license_status=5)
    sweep.sweep(full=True)
    make_client(license_status=1, last_renewal_at=days_ago(1), compliance_flag="ok")
    sweep_after_ingest(org.pk)
    from licensing.models import ComplianceSnapshot

    counts = dict(
        ComplianceSnapshot.objects.filter(organisation=org, day=NOW.date()).values_list(
            "flag", "count"
        )
    )
    assert counts["ok"] == 1 and counts["unlicensed"] == 1


@pytest.mark.celery_worker
def test_a_real_worker_runs_the_sweep(real_celery_worker, org):
    c = factories.ClientFactory(
        organisation=org,
        edition=None,  # a transactional test runs on a flushed database: no built-in editions
        license_status=1,
        last_renewal_at=days_ago(0) - timedelta(days=400),
    )
    sweep_compliance.delay(True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        c.refresh_from_db()
        if c.compliance_flag != "ok":
            break
        time.sleep(0.2)
    assert c.compliance_flag == "unlicensed"
    assert ClientFlagChange.objects.filter(client=c, to_flag="unlicensed").exists()


@pytest.mark.django_db
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


@pytest.mark.django_db
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
