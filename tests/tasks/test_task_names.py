"""One naming scheme for every task, former names still served, and the Celery settings that
let tasks survive their workers."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from licensing import tasks
from licensing.models import Heartbeat, MakPool
from portal.celery import app
from tests import factories
from tests.tasks.conftest import wait_for

NAME = re.compile(r"^licensing\.[a-z]+\.[a-z_]+$")


def _portal_tasks() -> dict[str, object]:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.startswith("licensing.")}


def test_every_task_is_named_by_area_and_action_or_is_a_former_name():
    names = set(_portal_tasks())
    current = names - set(tasks.FORMER_NAMES)
    assert all(NAME.match(name) for name in current), sorted(current)
    assert set(tasks.FORMER_NAMES.values()) <= current


def test_a_former_name_runs_the_same_function_with_the_same_limits():
    registered = _portal_tasks()
    for former, current in tasks.FORMER_NAMES.items():
        old, new = registered[former], registered[current]
        assert old.run is new.run
        assert (old.time_limit, old.soft_time_limit) == (new.time_limit, new.soft_time_limit)


def test_the_beat_schedule_uses_registered_current_names():
    registered = _portal_tasks()
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled <= set(registered)
    assert not scheduled & set(tasks.FORMER_NAMES)
    assert "licensing.outbox.publish" in scheduled


def test_celery_gives_a_lost_task_back_well_within_the_hour():
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert settings.CELERY_TASK_TIME_LIMIT < visibility < 3600
    assert app.tasks["licensing.kms.poll_host"].time_limit <= settings.CELERY_TASK_TIME_LIMIT


@pytest.mark.celery_worker
def test_a_message_queued_under_a_former_name_still_runs(private_broker):
    """A message queued by the previous version (tasks_mak, tasks.record_beat_heartbeat) is
    run by a worker of this one."""
    from tests.tasks.conftest import worker_thread

    org = factories.OrganisationFactory(name="Former", slug="former")
    pool = factories.MakPoolFactory(organisation=org, low_water_mark=50)
    factories.MakKeyFactory(pool=pool, activation_limit=10)  # 10 left, mark 50
    with worker_thread():
        app.send_task("licensing.tasks_mak.check_mak_low_water")
        app.send_task("licensing.tasks.record_beat_heartbeat")
        assert wait_for(lambda: Heartbeat.objects.filter(name="beat").exists())
        assert wait_for(lambda: MakPool.objects.get(pk=pool.pk).low_water_alerted_at is not None)
