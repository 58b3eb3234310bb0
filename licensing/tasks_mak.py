"""Celery tasks of the MAK area: thin, idempotent, ids only (never a key).

Registered through `app.autodiscover_tasks(..., related_name="tasks_mak")` in portal/celery.py.
"""

from celery import shared_task

from licensing.services import mak_alerts


@shared_task(name="licensing.tasks_mak.check_mak_low_water", ignore_result=True)
def check_mak_low_water() -> dict[str, int]:
    """Beat: claim low-water crossings the per-activation check cannot see (a lowered mark,
    a blocked key) and re-arm pools back above their mark."""
    result = mak_alerts.update_low_water_state()
    return {"crossed": len(result.crossed), "rearmed": len(result.rearmed)}


@shared_task(name="licensing.tasks_mak.send_low_water_alert", ignore_result=True)
def send_low_water_alert(pool_id: int) -> int:
    return mak_alerts.notify_low_water(pool_id=pool_id)


@shared_task(name="licensing.tasks_mak.send_request_created", ignore_result=True)
def send_request_created(request_id: int) -> int:
    return mak_alerts.notify_request_created(request_id=request_id)


@shared_task(name="licensing.tasks_mak.send_request_decided", ignore_result=True)
def send_request_decided(request_id: int) -> int:
    return mak_alerts.notify_request_decided(request_id=request_id)
