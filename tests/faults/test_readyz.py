"""/readyz is about being able to do the job: a stale (or missing) beat heartbeat means beat or
the worker is not running, so the answer is 503 with the heartbeat's age; /healthz stays 200."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import Heartbeat

pytestmark = pytest.mark.django_db


def _beat(seconds_ago: int) -> None:
    Heartbeat.objects.update_or_create(
        name="beat", defaults={"at": timezone.now() - timedelta(seconds=seconds_ago)}
    )


def test_a_fresh_heartbeat_is_ready(client, settings):
    _beat(settings.READYZ_BEAT_STALE_SECONDS - 60)
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    assert ready.json()["beat_age_seconds"] >= settings.READYZ_BEAT_STALE_SECONDS - 60


def test_a_stale_heartbeat_is_503_with_its_age(client, settings):
    _beat(settings.READYZ_BEAT_STALE_SECONDS + 5)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["beat_age_seconds"] >= settings.READYZ_BEAT_STALE_SECONDS + 5
    assert "stale" in body["checks"]["beat"]
    assert body["checks"]["database"] == "ok"
    assert client.get("/healthz").status_code == 200


def test_a_heartbeat_never_seen_is_503(client):
    Heartbeat.objects.filter(name="beat").delete()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["beat"] == "never seen"
    assert client.get("/healthz").status_code == 200
