"""Fleet browser in a real browser: filter, page, open a client, export; screenshots."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import expect

from licensing.models import ActivationMethod, ComplianceFlag, ComplianceSnapshot
from tests import factories


def make_fleet(org):
    now = timezone.now()
    host = factories.KmsHostFactory(
        organisation=org, fqdn="kms1.contoso.test", state="healthy", current_count=40
    )
    factories.MakKeyFactory(pool__organisation=org, activation_limit=50, activations_used=47)
    for i in range(130):
        expired = i % 2 == 0
        factories.ClientFactory(
            organisation=org,
            hostname=f"ws-{i:04d}",
            kms_host=host,
            compliance_flag=ComplianceFlag.EXPIRED if expired else ComplianceFlag.OK,
            flag_reason="No KMS renewal for 180 days: activation has lapsed" if expired else "",
            flag_changed_at=now - timedelta(hours=i) if expired else None,
            last_renewal_at=now - timedelta(days=200 if expired else 3),
            renewal_deadline=now - timedelta(days=20) if expired else now + timedelta(days=177),
        )
    factories.ClientFactory(
        organisation=org, hostname="mak-01", activation_method=ActivationMethod.MAK
    )
    today = now.date()
    for d in range(90):
        ComplianceSnapshot.objects.create(
            organisation=org,
            day=today - timedelta(days=d),
            flag="expired",
            count=65 - d // 3 + (d % 7),
        )


def test_filter_page_open_client_and_export(live_server, page, login, screenshot, org, admin_user):
    make_fleet(org)
    login(page, admin_user)
    expect(page.locator("h1")).to_contain_text(org.name)
    expect(page.get_by_test_id("trend-chart")).to_be_visible()
    screenshot(page, "fleet-dashboard")

    page.click("nav >> text=Clients")
    expect(page.get_by_test_id("client-table")).to_be_visible()
    page.select_option("#id_compliance_flag", "expired")
    expect(page).to_have_url(re.compile(r"compliance_flag=expired"))
    expect(page.get_by_test_id("row-count").first).to_contain_text("65 matching rows")
    first_page = page.locator("[data-testid=client-table] tbody tr").all_inner_texts()
    assert len(first_page) == 50 and all("Expired" in row for row in first_page)
    screenshot(page, "fleet-client-list")

    page.locator("a[rel=next]").first.click()
    expect(page).to_have_url(re.compile(r"cursor="))
    expect(page.locator("[data-testid=client-table] tbody tr")).to_have_count(15)
    second_page = page.locator("[data-testid=client-table] tbody tr").all_inner_texts()
    assert not set(first_page) & set(second_page)

    page.go_back()  # the pushed URL restores the first page
    expect(page.locator("[data-testid=client-table] tbody tr")).to_have_count(50)

    page.get_by_role("link", name="ws-0000").click()
    expect(page.locator("h1")).to_have_text("ws-0000")
    expect(page.locator(".alert")).to_contain_text("activation has lapsed")
    screenshot(page, "fleet-client-detail")

    page.go_back()
    with page.expect_download() as download_info:
        page.get_by_test_id("export-link").click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"{org.slug}-clients-")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert len(rows) == 65 and all(r["compliance_flag"] == "expired" for r in rows)

    page.click("nav >> text=Reports")
    expect(page.get_by_test_id("report-links")).to_contain_text("outside the renewal window")
    screenshot(page, "fleet-reports")


def test_client_list_works_without_javascript(live_server, browser, org, admin_user):
    from tests.browser.conftest import PASSWORD

    make_fleet(org)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/clients/")
    page.select_option("#id_compliance_flag", "ok")
    page.click("button:has-text('Filter')")
    expect(page.get_by_test_id("row-count").first).to_contain_text("66 matching rows")
    page.locator("a[rel=next]").first.click()
    expect(page.locator("[data-testid=client-table] tbody tr")).to_have_count(16)
    context.close()
