"""Pools are warned by time, not only by number: red when they run out within
MAK_POOL_RED_DAYS at the current burn rate (or are below the low-water mark), amber within
MAK_POOL_AMBER_DAYS; the dashboard, the pool list and the global view use the same rule."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client as DjangoClient

from licensing.models import MakPool
from licensing.services.mak.forecast import forecast_pools
from tests import factories

pytestmark = pytest.mark.django_db


def _burning(pool, clients, *, limit, used):
    """A key of `limit` with `used` activations, one a day for the last 30 days."""
    key = factories.MakKeyFactory(pool=pool, activation_limit=limit)
    factories.activations(key, clients[:30], [timedelta(days=i) for i in range(30)])
    type(key).objects.filter(pk=key.pk).update(activations_used=used)
    MakPool.objects.filter(pk=pool.pk).update(low_water_mark=0)


def test_a_pool_running_out_in_three_days_is_red_everywhere(
    org, pool, admin_user, superuser, make_clients
):
    _burning(pool, make_clients(org, 30), limit=100, used=97)  # 3 left at 1 a day
    (f,) = forecast_pools(MakPool.objects.filter(pk=pool.pk))
    assert (f.days_left, f.below_low_water, f.urgency) == (3, False, "red")
    assert f.urgency_label == "runs out in 3 days"

    browser = DjangoClient()
    browser.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
    for page in ("/", "/pools/"):
        body = browser.get(page).content.decode()
        badge = re.search(
            r'<span class="badge text-bg-danger" data-testid="pool-urgency"[^>]*>([^<]+)', body
        )
        assert badge and badge.group(1) == "runs out in 3 days", page

    browser.force_login(superuser, backend="django.contrib.auth.backends.ModelBackend")
    body = browser.get("/global/").content.decode()
    row = re.search(rf">{re.escape(org.name)}</a></td>(.*?)</tr>", body, re.S).group(1)
    assert '<span class="badge text-bg-danger">1</span>' in row  # counted though above low water


def test_a_pool_running_out_within_a_month_is_amber(org, pool, make_clients):
    _burning(pool, make_clients(org, 30), limit=100, used=80)  # 20 left at 1 a day
    (f,) = forecast_pools(MakPool.objects.filter(pk=pool.pk))
    assert (f.days_left, f.urgency) == (20, "amber")


def test_an_idle_pool_above_its_mark_needs_nothing(org, pool):
    factories.MakKeyFactory(pool=pool, activation_limit=100)
    (f,) = forecast_pools(MakPool.objects.filter(pk=pool.pk))
    assert (f.days_left, f.urgency, f.urgency_label) == (None, "", "")
