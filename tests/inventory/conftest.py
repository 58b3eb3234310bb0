"""Fixtures of the inventory tests: a fixed clock, client rows with chosen rule inputs, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from licensing.models import Client, TokenScope
from licensing.services.tokens import create_api_token
from tests import factories

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    """Freeze the clock at NOW (the rules read `timezone.now()`); yields the traveller."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


@pytest.fixture
def make_client(org):
    """`make_client(**fields)`: a client row written straight to the table (no rules applied)."""
    counter = iter(range(1, 10**6))

    def make(**fields) -> Client:
        fields.setdefault("hostname", f"pc-{next(counter):05d}")
        fields.setdefault("organisation", org)
        fields.setdefault("installed_at", days_ago(400))
        fields.setdefault("last_activation_at", days_ago(300))
        fields.setdefault("last_renewal_at", days_ago(2))
        return factories.ClientFactory(**fields)

    return make


@pytest.fixture
def agent_headers(org, admin_user):
    _, plaintext = create_api_token(
        actor=admin_user, organisation=org, name="agent", scope=TokenScope.AGENT
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


@pytest.fixture(autouse=True)
def _locmem_cache(settings):
    # Throttle counters must not leak between tests (or into other checkouts' shared Redis).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
