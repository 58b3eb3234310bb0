"""The beat's counter refresh, run by a real worker: it stores every organisation's counters and
then fills the caches a large organisation's dashboard reads under their time."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from licensing.models import ClientCount
from licensing.services import fleet_summary
from licensing.services.mak.forecast import forecast_cache_key
from portal.celery import app
from tests import factories
from tests.tasks.conftest import wait_for


@pytest.mark.celery_worker
def test_the_refresh_task_stores_counters_and_warms_the_dashboard(private_broker, monkeypatch):
    from tests.tasks.conftest import worker_thread

    monkeypatch.setattr(fleet_summary, "LIVE_LIMIT", 2)
    large = factories.OrganisationFactory(name="Large", slug="large")
    small = factories.OrganisationFactory(name="Small", slug="small")
    factories.MakKeyFactory(pool__organisation=large, activation_limit=10)
    for i in range(3):
        factories.ClientFactory(organisation=large, hostname=f"large-{i}")
    factories.ClientFactory(organisation=small, hostname="small-0")

    with worker_thread():
        app.send_task("licensing.fleet.refresh_client_counts")
        assert wait_for(lambda: ClientCount.objects.filter(organisation=small).exists())
        as_of = fleet_summary.client_breakdown(large).as_of
        assert as_of is not None  # large: its dashboard reads the stored counters
        assert wait_for(lambda: cache.get(forecast_cache_key(large, as_of)) is not None)
    assert fleet_summary.client_breakdown(small).as_of is None  # small: counted live
