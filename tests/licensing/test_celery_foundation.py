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


def test_the_file_broker_of_make_run_keeps_all_its_files_under_its_own_folder(tmp_path):
    """kombu's filesystem transport writes an exchange table to ./control unless told otherwise."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    broker_dir, workdir = tmp_path / "broker", tmp_path / "cwd"
    workdir.mkdir()
    env = {
        **os.environ,
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_FILESYSTEM_DIR": str(broker_dir),
        "PYTHONPATH": str(root),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    script = (
        "import django; django.setup()\n"
        "from portal.celery import app\n"
        "app.send_task('licensing.record_beat_heartbeat')\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, cwd=workdir, check=True, timeout=60)
    assert not (workdir / "control").exists()
    assert list((broker_dir / "control").glob("*.exchange"))
    assert len(list((broker_dir / "out").iterdir())) == 1
