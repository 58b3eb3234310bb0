"""The forecast counts a pool's activations of the last 30 days from the (pool, activated_at)
index alone. With COUNT(id) PostgreSQL fetched every activation row for its id: the pool list of
an organisation with 100,000 recent activations took 74 ms, 29 ms now (docs/daily-work.md). A
test table is small enough to scan, so the plan is read with scans turned off."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from licensing.models import MakPool
from licensing.services.mak.forecast import forecast_pools
from tests import factories

pytestmark = pytest.mark.django_db


def test_recent_activations_are_counted_from_the_index_alone(org):
    pool = factories.MakKeyFactory(pool__organisation=org).pool
    with CaptureQueriesContext(connection) as queries:
        forecast_pools(MakPool.objects.filter(pk=pool.pk))
    (sql,) = [q["sql"] for q in queries if "licensing_makactivation" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using mak_activation_pool_time" in plan, plan
