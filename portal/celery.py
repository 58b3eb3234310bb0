"""The Celery application and its static beat schedule.

The schedule is code, not database rows: per-host poll intervals live on `KmsHost.next_poll_at`,
and the periodic tasks below only dispatch whatever is due.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Each issue's tasks register here; tasks are idempotent, so an overlap is harmless.
    "record-beat-heartbeat": {"task": "licensing.tasks.record_beat_heartbeat", "schedule": 60.0},
    # --- KMS hosts (polling) ---
    "kms-dispatch-due-host-polls": {
        "task": "licensing.tasks_kms.dispatch_due_host_polls",
        "schedule": 60.0,
    },
    "kms-discover-srv-records": {
        "task": "licensing.tasks_kms.dispatch_dns_discovery",
        "schedule": 600.0,
    },
    # --- inventory (compliance sweep, digests) ---
    # --- MAK pools (low-water checks) ---
    # --- fleet browser (dashboard counters of large organisations) ---
    "refresh-client-counts": {
        "task": "licensing.tasks_fleet.refresh_client_counts",
        "schedule": 300.0,
    },
    "check-mak-low-water": {"task": "licensing.tasks_mak.check_mak_low_water", "schedule": 900.0},
}
app.autodiscover_tasks(related_name="tasks_fleet")  # fleet browser tasks
app.conf.timezone = "UTC"
# MAK area tasks live in licensing/tasks_mak.py.
app.autodiscover_tasks(["licensing"], related_name="tasks_mak")

__all__ = ("app", "crontab")
