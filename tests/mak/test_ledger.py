"""A pool's activation ledger: each activation stores its key's pool, the database holds the two
equal, and the ledger pages newest first from the pool's own index (migration 2030)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from licensing.models import MakActivation, MakKey
from licensing.services.mak import allocation
from tests import factories

pytestmark = pytest.mark.django_db


def _checked() -> None:
    """Run the deferred constraint checks now (they would run at commit)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_recorded_activation_stores_its_keys_pool(org, pool, admin_user, make_clients):
    key = factories.MakKeyFactory(pool=pool, activation_limit=3)
    (client,) = make_clients(org, 1)
    activation = allocation.record_activation(actor=admin_user, client=client, reason="first")
    assert activation.key_id == key.pk and activation.pool_id == pool.pk


def test_the_database_refuses_an_activation_in_another_pool_than_its_keys(
    org, pool, second_pool, make_clients
):
    key = factories.MakKeyFactory(pool=pool)
    (client,) = make_clients(org, 1)
    with pytest.raises(IntegrityError, match="mak_activation_key_in_pool"), transaction.atomic():
        MakActivation.objects.create(
            key=key, pool=second_pool, client=client, reason="first", activated_at=timezone.now()
        )
        _checked()
    assert not MakActivation.objects.exists()


def test_a_key_with_activations_cannot_move_to_another_pool(org, pool, second_pool, make_clients):
    key = factories.MakKeyFactory(pool=pool)
    (client,) = make_clients(org, 1)
    MakActivation.objects.create(
        key=key, pool=pool, client=client, reason="first", activated_at=timezone.now()
    )
    with pytest.raises(IntegrityError, match="mak_activation_key_in_pool"), transaction.atomic():
        MakKey.objects.filter(pk=key.pk).update(pool=second_pool)
        _checked()
    assert MakKey.objects.get(pk=key.pk).pool_id == pool.pk


def test_the_ledger_pages_through_the_pools_activations_newest_first(
    org, pool, second_pool, as_admin, make_clients
):
    keys = [factories.MakKeyFactory(pool=pool, activation_limit=100) for _ in range(3)]
    other_key = factories.MakKeyFactory(pool=second_pool)
    # Every tenth activation belongs to another pool.
    factories.activations(
        [other_key if i % 10 == 0 else keys[i % 3] for i in range(70)],
        make_clients(org, 70),
        [timedelta(hours=i // 2) for i in range(70)],  # pairs share a time: ties go by id
    )
    expected = list(
        MakActivation.objects.filter(key__pool=pool)
        .order_by("-activated_at", "-id")
        .values_list("id", "client_id")
    )
    seen: list[tuple[int, int]] = []
    path = f"/pools/{pool.pk}/activations/"
    url = f"{path}?per_page=25"
    while url:
        body = as_admin.get(url).content.decode()
        # Each row: the activation, and a link to its client's page.
        seen += [
            (int(a), int(c))
            for a, c in re.findall(
                r'data-testid="ledger-row" data-activation="(\d+)"><td[^>]*>[^<]*</td>'
                r'<td><a href="/clients/(\d+)/">',
                body,
            )
        ]
        more = re.search(r'rel="next" href="([^"]+)"', body)
        url = path + more.group(1).replace("&amp;", "&") if more else ""
    assert len(expected) == 63 and seen == expected


def test_a_ledger_page_reads_the_pools_index_without_sorting(org, pool, as_admin, make_clients):
    key = factories.MakKeyFactory(pool=pool)
    (client,) = make_clients(org, 1)
    MakActivation.objects.create(
        key=key, pool=pool, client=client, reason="first", activated_at=timezone.now()
    )
    with CaptureQueriesContext(connection) as queries:
        assert as_admin.get(f"/pools/{pool.pk}/activations/").status_code == 200
    (sql,) = [q["sql"] for q in queries if q["sql"].startswith('SELECT "licensing_makactivation"')]
    with transaction.atomic(), connection.cursor() as cursor:
        # A test table is small enough to scan and sort: read the plan with those turned off.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "mak_activation_pool_time" in plan and "Sort" not in plan, plan
