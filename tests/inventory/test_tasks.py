"""Celery tasks of the inventory area, called directly and run by a real worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import transaction

from licensing.models import AuditEvent, Client, ClientFlagChange, Heartbeat
from licensing.services.inventory import bulk, sweep
from licensing.tasks import sweep_after_ingest, sweep_compliance
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


@pytest.mark.celery_worker
def test_a_real_worker_retires_all_matching_clients_queued_in_the_background(
    real_celery_worker, org, admin_user
):
    """A bulk action past BULK_INLINE_MAX is queued at commit and done by a real worker."""
    for i in range(3):
        factories.ClientFactory(
            organisation=org, edition=None, hostname=f"old-{i}", compliance_flag="expired"
        )
    factories.ClientFactory(organisation=org, edition=None, hostname="keep")
    with transaction.atomic():
        bulk.queue("retire", actor=admin_user, organisation=org, query="q=old")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if AuditEvent.objects.filter(action="client.retired").exists():
            break
        time.sleep(0.2)
    retired = Client.objects.filter(retired_at__isnull=False).values_list("hostname", flat=True)
    assert sorted(retired) == ["old-0", "old-1", "old-2"]
    assert AuditEvent.objects.get(action="client.retired").actor == admin_user
