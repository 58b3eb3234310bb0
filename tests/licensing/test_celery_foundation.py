import pytest

from licensing.models import Heartbeat
from licensing.tasks import record_beat_heartbeat


@pytest.mark.django_db
def test_heartbeat_task_body_records_beat():
    record_beat_heartbeat()
    assert Heartbeat.objects.filter(name="beat").exists()


@pytest.mark.celery_worker
def test_a_real_worker_runs_the_heartbeat_through_redis(real_celery_worker):
    result = record_beat_heartbeat.apply_async()
    # ignore_result: wait on the domain row instead of a result backend.
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not Heartbeat.objects.filter(name="beat").exists():
        time.sleep(0.1)
    assert result.id and Heartbeat.objects.filter(name="beat").exists()
