"""The demo installation (`seed_demo`) records an Enterprise Agreement per demo organisation,
so `make run` shows a licence position with a shortfall to look at."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from licensing.models import Agreement, Organisation
from licensing.services.licences.position import summarise

pytestmark = pytest.mark.django_db


def test_seed_demo_records_agreements_and_a_shortfall():
    call_command("seed_demo", clients=2000, stdout=io.StringIO())
    contoso = Organisation.objects.get(slug="contoso")
    agreement = Agreement.objects.get(organisation=contoso)
    assert agreement.programme == "ea" and agreement.entitlements.exists()
    pool = contoso.mak_pools.order_by("id").first()
    assert pool is None or agreement.number == pool.agreement_number
    summary = summarise(contoso)
    assert summary.installed > 0 and summary.shortfall > 0
    call_command("seed_demo", clients=2000, stdout=io.StringIO())  # again: replaced, not doubled
    assert Agreement.objects.filter(organisation__slug="contoso").count() == 1
