"""The audit log in a browser: pick an action from the picker (htmx swaps the rows), open an
entry, read its before/after table, and follow a KMS host's History link."""

from __future__ import annotations

from playwright.sync_api import expect

from licensing.services.kms import hosts
from tests import factories


def test_pick_an_action_open_the_entry_and_a_hosts_history(
    live_server, page, login, screenshot, admin_user, auditor_user, org
):
    host = factories.KmsHostFactory(organisation=org, fqdn="kms1.contoso.test", port=1688)
    hosts.update_host(actor=admin_user, host=host, ip_address="192.0.2.7", port=1689)
    factories.ClientFactory(organisation=org, hostname="pc-01")
    login(page, auditor_user)
    page.goto(f"{live_server.url}/audit/")
    page.select_option("select[name=action]", "kms_host.update")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert "action=kms_host.update" in page.url
    page.get_by_test_id("audit-entry-link").first.click()
    table = page.get_by_test_id("audit-changes")
    expect(table.locator("tr", has_text="port")).to_contain_text("1688")
    expect(table.locator("tr", has_text="port").locator("ins")).to_have_text("1689")
    screenshot(page, "audit-entry")
    page.get_by_test_id("history-link").click()
    expect(page.get_by_test_id("object-filter")).to_be_visible()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/audit/")
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "audit-list-phone")
    assert width <= 390, width
