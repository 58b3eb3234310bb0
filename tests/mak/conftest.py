"""Fixtures of the MAK tests: a pool with keys, clients of its edition, tasks run in process."""

from __future__ import annotations

import pytest

from licensing.models import ActivationMethod, Edition
from tests import factories

EDITION = "Office LTSC Professional Plus 2024"


@pytest.fixture
def pool(org):
    return factories.MakPoolFactory(
        organisation=org, edition=factories.edition(EDITION), agreement_number="12345678"
    )


@pytest.fixture
def other_pool(other_org):
    return factories.MakPoolFactory(organisation=other_org, edition=factories.edition(EDITION))


@pytest.fixture
def second_pool(org, pool):
    """Another pool of the same organisation (another edition)."""
    return factories.MakPoolFactory(
        organisation=org, edition=Edition.objects.exclude(pk=pool.edition_id).first()
    )


@pytest.fixture
def make_clients():
    def make(org, n, *, edition=EDITION, prefix="mak-pc"):
        return [
            factories.ClientFactory(
                organisation=org,
                hostname=f"{prefix}-{i:03d}",
                edition=factories.edition(edition),
                activation_method=ActivationMethod.KMS,
            )
            for i in range(n)
        ]

    return make


@pytest.fixture
def eager_celery(tasks_in_process):
    """The MAK tasks queued by a commit run right away in this process (e-mails in the test
    outbox)."""
    return tasks_in_process


@pytest.fixture(autouse=True)
def _second_factor_gate_off(settings):
    """These tests are about the vault, hosts and approvals, not sign-in: their sessions are made
    with force_login or a password alone. The second-factor gate on reveal and approve
    (SIGNIN_SECRETS_REQUIRE_2FA, on by default) is tested in tests/signin/."""
    settings.SIGNIN_SECRETS_REQUIRE_2FA = False
