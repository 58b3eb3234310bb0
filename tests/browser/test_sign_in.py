"""Sign-in end to end in Chromium: single sign-on through a real OpenID Connect provider
process, a password plus an authenticator-app code, and a passkey made and used through
Chromium's virtual authenticator (DevTools WebAuthn domain)."""

from __future__ import annotations

import time

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.utils.csp import CSP
from playwright.sync_api import expect

from licensing.models import AuditEvent, GroupMapping, Membership
from tests.servers import OidcProvider

PASSWORD = "correct-horse-battery"


@pytest.fixture
def provider(settings):
    server = OidcProvider()
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Contoso ID",
                    "client_id": "portal-browser-test",
                    "secret": "browser-test-secret",
                    "settings": {"server_url": server.issuer},
                }
            ],
        }
    }
    # As portal/settings.py does for OIDC_ISSUER: the form post may lead to the provider.
    settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": [CSP.SELF, server.issuer]}
    yield server
    server.stop()


def test_single_sign_on_end_to_end(live_server, page, screenshot, provider, org):
    GroupMapping.objects.create(organisation=org, source="oidc", group="LIC-Admins", role="admin")
    provider.set_user(
        "pat-sub", email="pat@contoso.test", preferred_username="pat", groups=["LIC-Admins"]
    )
    page.goto(f"{live_server.url}/accounts/login/")
    screenshot(page, "sign-in-page-with-sso")
    page.get_by_role("button", name="Sign in with Contoso ID").click()
    page.fill("#subject-input", "pat-sub")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_contain_text(org.name)
    expect(page.locator("nav")).to_contain_text("Administrator")
    assert Membership.objects.get(user__email="pat@contoso.test").source == "oidc"
    page.goto(f"{live_server.url}/account/")
    expect(page.locator("#recent-sign-ins")).to_contain_text("single sign-on")
    screenshot(page, "sign-in-account-page")


def _code_with_time_left(secret: str) -> str:
    """The current code, taken at least 10 s before its 30-second window ends: the portal accepts
    the current window only (allauth's tolerance 0), and a browser round trip under load once
    crossed into the next one (a flaky failure in a full run)."""
    totp = pyotp.TOTP(secret)
    left = totp.interval - time.time() % totp.interval
    if left < 10:
        time.sleep(left + 0.1)
    return totp.now()


def test_password_and_authenticator_code(live_server, page, admin_user, org):
    secret = pyotp.random_base32()
    TOTP.activate(admin_user, secret)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("input[name=code]", _code_with_time_left(secret))
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_contain_text(org.name)
    event = AuditEvent.objects.get(action="auth.signed_in", actor=admin_user)
    assert event.changes["method"] == ["password", "mfa:totp"]


def test_a_passkey_is_made_and_then_signs_in(live_server, page, screenshot, admin_user, org):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/accounts/2fa/webauthn/add/?passwordless")
    if "/accounts/reauthenticate/" in page.url:  # allauth asks for the password again
        page.fill("input[name=password]", PASSWORD)
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url("**/accounts/2fa/webauthn/add/**")
    page.fill("input[name=name]", "Virtual key")
    passwordless = page.locator("input[name=passwordless]")
    if passwordless.count():
        passwordless.check()
    page.click("#mfa_webauthn_add")
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    screenshot(page, "sign-in-passkey-added")
    assert admin_user.authenticator_set.filter(type="webauthn").exists()

    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.click("#passkey_login")
    page.wait_for_url(f"{base}/")
    expect(page.locator("h1")).to_contain_text(org.name)
    last = AuditEvent.objects.filter(action="auth.signed_in", actor=admin_user).first()
    assert "mfa:webauthn" in last.changes["method"]
