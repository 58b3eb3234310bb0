"""Celery tasks of the inventory area (imported by licensing/tasks.py so autodiscovery finds
them). Thin: they call one service and return a small summary."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from licensing.models import Heartbeat
from licensing.services.inventory.digest import send_daily_digests
from licensing.services.inventory.sweep import refresh_snapshots, summary, sweep


@shared_task(name="licensing.inventory.sweep_compliance", ignore_result=True)
def sweep_compliance(full: bool = False) -> dict[str, Any]:
    """The periodic sweep: transitions only (rows whose recheck time has come), or every
    client with `full=True` (nightly safety net). Overlapping runs skip (advisory lock)."""
    result = sweep(full=full, changed_by="sweep:full" if full else "sweep")
    if not result.skipped:
        Heartbeat.objects.update_or_create(name="sweep", defaults={"at": timezone.now()})
    return summary(result)


@shared_task(name="licensing.inventory.sweep_after_ingest", ignore_result=True)
def sweep_after_ingest(organisation_id: int) -> dict[str, Any]:
    """After an ingest commits: sweep the organisation's due rows (waiting for a running sweep
    rather than skipping) and refresh its snapshot counts for today."""
    result = sweep(organisation_id=organisation_id, changed_by="sweep:ingest", wait=True)
    refresh_snapshots(organisation_ids=[organisation_id], day=result.at.date())
    return summary(result)


@shared_task(name="licensing.inventory.send_compliance_digests", ignore_result=True)
def send_compliance_digests() -> dict[str, int]:
    """Once a day (safe to run more often: each organisation gets one digest per day)."""
    return send_daily_digests()
