"""Celery tasks: thin wrappers that take ids, call one service and return a small summary."""

from celery import shared_task
from django.utils import timezone

from licensing.models import Heartbeat


@shared_task(name="licensing.tasks.record_beat_heartbeat", ignore_result=True)
def record_beat_heartbeat() -> str:
    """Proves beat and a worker are alive; /readyz reports its age."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(name="beat", defaults={"at": now})
    return now.isoformat()


# Area task modules: imported here so Celery's autodiscovery (which loads licensing.tasks)
# registers them in every worker.
from licensing import tasks_fleet, tasks_inventory, tasks_kms, tasks_mak  # noqa: E402, F401
