"""An administrator adds a KMS host, finds it on the list, polls it now (htmx, a real Celery
worker does the poll) and pastes a status report; screenshots of list and detail."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from licensing.models import DnsFinding, HostPoll, HostState
from tests.kms.conftest import (  # noqa: F401 (fixtures shared with tests/kms)
    dlv,
    dns_server,
    kms_org,
    tcp_listener,
    zone_text,
)
from tests.kms.helpers import a, host, report, srv


@pytest.mark.celery_worker
def test_admin_adds_a_host_and_polls_it_now(
    live_server,
    page,
    login,
    screenshot,
    admin_user,
    kms_org,  # noqa: F811
    dns_server,  # noqa: F811
    tcp_listener,  # noqa: F811
    real_celery_worker,
):
    dns_server.zone.set(
        zone_text(
            [
                srv("kms-ok.contoso.test", tcp_listener),
                srv("rogue.contoso.test", 1688),
                a("kms-ok.contoso.test"),
                a("kms-history.contoso.test"),
            ]
        )
    )
    # A second host with a day of history, so the chart has something to draw.
    old = host(
        kms_org,
        "kms-history.contoso.test",
        tcp_listener,
        state=HostState.BELOW_THRESHOLD,
        current_count=4,
        srv_published=False,
        next_poll_at=timezone.now() + timedelta(hours=1),
        state_reason="No _vlmcs._tcp SRV record for this host in contoso.test.",
    )
    now = timezone.now()
    for i, count in enumerate([0, 1, 2, 2, 3, 5, 6, 6, 7, 4, 4, 3, 4]):
        HostPoll.objects.create(
            host=old,
            polled_at=now - timedelta(hours=2 * (13 - i)),
            reachable=True,
            srv_published=False,
            current_count=count,
            latency_ms=0.3,
            duration_ms=4,
            state=HostState.HEALTHY if count >= 5 else HostState.BELOW_THRESHOLD,
        )
    report(old, 4)
    DnsFinding.objects.create(
        organisation=kms_org,
        domain="contoso.test",
        target="rogue.contoso.test",
        port=1688,
        first_seen_at=now,
        last_seen_at=now,
    )

    login(page, admin_user)
    page.click("nav >> text=KMS hosts")
    expect(page.locator("h1")).to_contain_text("KMS hosts")
    page.click("[data-testid=add-host]")
    page.fill("#id_fqdn", "kms01")
    page.fill("#id_port", str(tcp_listener))
    page.click("[data-testid=host-form] button[type=submit]")
    expect(page.locator(".invalid-feedback")).to_contain_text("not fully qualified")
    page.fill("#id_fqdn", "KMS-OK.contoso.test")
    page.select_option("#id_product_group", "office_2021")
    page.click("[data-testid=host-form] button[type=submit]")
    expect(page.locator("h1")).to_contain_text("kms-ok.contoso.test")

    page.click("nav >> text=KMS hosts")
    expect(page.locator("[data-testid=host-table]")).to_contain_text("kms-ok.contoso.test")
    expect(page.locator("[data-testid=rogue-hosts]")).to_contain_text("rogue.contoso.test")
    page.fill("#id_q", "kms-ok")
    expect(page.locator("[data-testid=host-table] tbody tr")).to_have_count(1)
    page.fill("#id_q", "")
    expect(page.locator("[data-testid=host-table] tbody tr")).to_have_count(2)
    screenshot(page, "kms-host-list")

    page.click("text=kms-ok.contoso.test")
    page.click("[data-testid=poll-now]")
    expect(page.locator("[data-testid=poll-queued]")).to_be_visible()
    # The card reloads itself a few seconds later with what the worker found.
    expect(page.locator("[data-testid=state-reason]")).to_contain_text(
        "waiting for the first status report", timeout=20000
    )
    page.fill("#id_text", dlv(count=7))
    page.click("text=Store report")
    expect(page.locator(".alert-success")).to_contain_text("count 7")
    page.click("[data-testid=poll-now]")
    expect(page.locator("[data-testid=state-reason]")).to_contain_text(
        "Current count 7 (threshold 5)", timeout=20000
    )
    page.click("[data-testid=create-token]")
    expect(page.locator("[data-testid=created-token]")).to_contain_text("vlp_")
    screenshot(page, "kms-host-detail-new")

    page.goto(f"{live_server.url}/kms/hosts/{old.pk}/")
    expect(page.locator("[data-testid=count-chart]")).to_be_visible()
    screenshot(page, "kms-host-detail-chart")
