from playwright.sync_api import expect

from tests import factories


def test_login_switch_organisation_and_log_out(
    live_server, page, login, screenshot, org, other_org
):
    user = factories.UserFactory(username="consultant")
    factories.MembershipFactory(user=user, organisation=org, role="auditor")
    factories.MembershipFactory(user=user, organisation=other_org, role="admin")
    factories.ClientFactory(organisation=org)

    login(page, user)
    expect(page.locator("h1")).to_contain_text(org.name)
    expect(page.locator("nav")).to_contain_text("Auditor")
    screenshot(page, "foundation-dashboard")

    page.select_option("#org-select", str(other_org.pk))
    expect(page.locator("h1")).to_contain_text(other_org.name)
    expect(page.locator("nav")).to_contain_text("Administrator")

    page.click("text=consultant")
    page.click("text=Log out")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")


def test_wrong_password_shows_a_clear_message(live_server, page, admin_user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator(".alert-danger")).to_contain_text("correct username and password")
