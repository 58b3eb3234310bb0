"""Celery tasks of the fleet browser (registered through portal/celery.py's fleet section)."""

from __future__ import annotations

from celery import shared_task

from licensing.services.fleet_summary import refresh_client_counts


@shared_task(name="licensing.tasks_fleet.refresh_client_counts", ignore_result=True)
def refresh_client_counts_task() -> int:
    """Rebuild the dashboard counters of every organisation (idempotent, set-based)."""
    return refresh_client_counts()
