"""The Celery application and its static beat schedule.

The schedule is code, not database rows: per-host poll intervals live on `KmsHost.next_poll_at`,
and the periodic tasks below only dispatch whatever is due.
"""

import os

from celery import Celery, signals
from celery.schedules import crontab
from kombu.utils.objects import cached_property

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


class PortalCelery(Celery):
    """Workers and beat touch keys and data: they exit non-zero without production secrets,
    before they start (portal.startup; a signal handler's exception would only be logged)."""

    @cached_property
    def Worker(self):
        return self.subclass_with_self("portal.startup:CheckedWorker")

    @cached_property
    def Beat(self):
        return self.subclass_with_self("portal.startup:CheckedBeat")


app = PortalCelery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Loads licensing.tasks, the one module that holds every task.
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Tasks are idempotent, so an overlap is harmless.
    "record-beat-heartbeat": {"task": "licensing.ops.record_heartbeat", "schedule": 60.0},
    # Messages the publish after commit could not send (broker down) are sent from here.
    "publish-outbox": {"task": "licensing.outbox.publish", "schedule": 30.0},
    "prune-sent-notifications": {
        "task": "licensing.outbox.prune_sent_notifications",
        "schedule": crontab(hour=3, minute=15),
    },
    # --- KMS hosts (polling) ---
    "kms-dispatch-due-host-polls": {"task": "licensing.kms.dispatch_due_polls", "schedule": 60.0},
    "kms-discover-srv-records": {"task": "licensing.kms.dispatch_dns_discovery", "schedule": 600.0},
    # --- inventory (compliance sweep, digests) ---
    # Transitions only: rows whose flag_recheck_at has come (a no-op costs milliseconds).
    "inventory-sweep-compliance": {
        "task": "licensing.inventory.sweep_compliance",
        "schedule": 300.0,
    },
    # Every client, nightly: the safety net (e.g. after an organisation changed its at-risk days).
    "inventory-sweep-compliance-full": {
        "task": "licensing.inventory.sweep_compliance",
        "schedule": crontab(hour=2, minute=30),
        "kwargs": {"full": True},
    },
    # One e-mail per organisation and day; running it again the same day sends nothing.
    "inventory-compliance-digest": {
        "task": "licensing.inventory.send_compliance_digests",
        "schedule": crontab(hour=7, minute=0),
    },
    # --- MAK pools (low-water checks) ---
    "check-mak-low-water": {"task": "licensing.mak.check_low_water", "schedule": 900.0},
    # --- licences (agreement ends 90/30 days ahead, shortfalls that appear) ---
    "licences-check-agreement-ends": {
        "task": "licensing.licences.check_agreement_ends",
        "schedule": crontab(hour=6, minute=30),
    },
    "licences-check-all-shortfalls": {
        "task": "licensing.licences.check_all_shortfalls",
        "schedule": crontab(minute=15),
    },
    # --- fleet browser (dashboard counters of large organisations) ---
    "refresh-client-counts": {"task": "licensing.fleet.refresh_client_counts", "schedule": 300.0},
}
app.conf.timezone = "UTC"


def _observe_tasks() -> None:
    """Time every task, count it for /metrics and log one line for it (portal/observability)."""
    from portal import observability

    signals.task_prerun.connect(observability.task_started, weak=False)
    signals.task_postrun.connect(observability.task_finished, weak=False)


_observe_tasks()

__all__ = ("app", "crontab")
