"""Dark mode: Bootstrap's colour modes follow the system setting, and a toggle in the header
switches and is remembered."""

from __future__ import annotations

from playwright.sync_api import expect


def test_dark_mode_follows_the_system_and_the_toggle_is_remembered(
    live_server, browser, admin_user, org
):
    context = browser.new_context(color_scheme="dark", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    html = page.locator("html")
    expect(html).to_have_attribute("data-bs-theme", "dark")
    page.fill("#id_username", admin_user.get_username())
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    expect(html).to_have_attribute("data-bs-theme", "dark")
    page.get_by_test_id("theme-toggle").click()
    expect(html).to_have_attribute("data-bs-theme", "light")
    page.goto(f"{live_server.url}/clients/")
    expect(html).to_have_attribute("data-bs-theme", "light")  # the choice outlives the page
    context.close()
