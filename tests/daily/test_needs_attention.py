"""The dashboard's "Needs attention" strip: each item a count and a link to the list of exactly
those rows; the KPI cards are links; the Approvals menu item carries the pending count."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import (
    ActivationRequest,
    ComplianceFlag,
    DnsFinding,
    HostState,
)
from tests import factories

pytestmark = pytest.mark.django_db


def hostnames(body: str) -> list[str]:
    return re.findall(r'href="/clients/\d+/">([^<]+)</a>', body)


@pytest.fixture
def busy_day(org, other_org, admin_user):
    now = timezone.now()
    factories.KmsHostFactory(
        organisation=org, fqdn="down.contoso.test", state=HostState.UNREACHABLE
    )
    factories.KmsHostFactory(organisation=org, fqdn="ok.contoso.test", state=HostState.HEALTHY)
    factories.KmsHostFactory(organisation=other_org, state=HostState.UNREACHABLE)
    DnsFinding.objects.create(
        organisation=org,
        domain="contoso.test",
        target="rogue.contoso.test",
        port=1688,
        first_seen_at=now,
        last_seen_at=now,
    )
    pool = factories.MakPoolFactory(organisation=org, low_water_mark=0)
    key = factories.MakKeyFactory(pool=pool, activation_limit=100)
    burners = [
        factories.ClientFactory(organisation=org, hostname=f"mak-{i:02d}") for i in range(30)
    ]
    factories.activations(key, burners, [timedelta(days=i) for i in range(30)])
    type(key).objects.filter(pk=key.pk).update(activations_used=98)  # 2 days left
    ActivationRequest.objects.create(
        pool=pool,
        key=key,
        key_last5=key.last5,
        quantity=10,
        justification="lab",
        requested_by=admin_user,
    )
    factories.ClientFactory(
        organisation=org,
        hostname="new-flag",
        compliance_flag=ComplianceFlag.EXPIRED,
        flag_changed_at=now,
    )
    factories.ClientFactory(
        organisation=org,
        hostname="old-flag",
        compliance_flag=ComplianceFlag.EXPIRED,
        flag_changed_at=now - timedelta(days=3),
    )
    factories.ClientFactory(
        organisation=org, hostname="gone", last_seen_at=now - timedelta(days=200)
    )
    factories.ClientFactory(
        organisation=other_org,
        hostname="elsewhere",
        compliance_flag=ComplianceFlag.EXPIRED,
        flag_changed_at=now,
        last_seen_at=now - timedelta(days=200),
    )
    return pool


def _items(body: str) -> dict[str, tuple[int, str]]:
    found = re.findall(
        r'<a class="btn btn-sm btn-outline-secondary text-start" href="([^"]+)" '
        r'data-testid="attention-(\w+)"><span class="badge text-bg-\w+">(\d+)</span>',
        body,
    )
    return {key: (int(n), url.replace("&amp;", "&")) for url, key, n in found}


def test_the_strip_lists_what_to_act_on_with_links_to_exactly_those_rows(as_manager, busy_day):
    body = as_manager.get("/").content.decode()
    items = _items(body)
    assert {k: n for k, (n, _) in items.items()} == {
        "hosts_unreachable": 1,
        "rogue_srv": 1,
        "pools_red": 1,
        "approvals": 1,
        "flagged_today": 1,
        "stale": 1,
    }
    assert hostnames(as_manager.get(items["flagged_today"][1]).content.decode()) == ["new-flag"]
    assert hostnames(as_manager.get(items["stale"][1]).content.decode()) == ["gone"]
    hosts = as_manager.get(items["hosts_unreachable"][1]).content.decode()
    assert "down.contoso.test" in hosts and "ok.contoso.test" not in hosts
    pools = as_manager.get(items["pools_red"][1]).content.decode()
    assert 'data-testid="urgency-filter"' in pools and 'data-urgency="red"' in pools
    assert as_manager.get(items["approvals"][1]).status_code == 200


def test_admins_see_no_approval_item_and_an_empty_day_says_so(as_admin, busy_day, org):
    items = _items(as_admin.get("/").content.decode())
    assert "approvals" not in items  # admins ask, managers decide


def test_an_empty_organisation_has_nothing_to_act_on(as_admin):
    body = as_admin.get("/").content.decode()
    assert 'data-testid="needs-attention"' in body and "Nothing to act on now" in body


def test_cards_are_links_and_the_approvals_menu_counts(as_manager, busy_day):
    body = as_manager.get("/").content.decode()
    for card in ("card-flagged", "card-hosts", "card-pools"):
        assert re.search(rf'<a class="card[^"]*" href="[^"]+" data-testid="{card}"', body), card
    other_page = as_manager.get("/clients/").content.decode()
    count = re.search(r'data-testid="approvals-count">(\d+)<', other_page)
    assert count and count.group(1) == "1"
