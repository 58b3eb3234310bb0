"""Single sign-on against a real OpenID Connect provider process on loopback
(oidc-provider-mock): users made on first sign-in, groups mapped to organisations and roles at
every sign-in, refused tokens, the provider's MFA claim, the provider down."""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.contrib.auth import get_user_model
from django.test import Client as DjangoClient
from django.utils import timezone

from licensing.models import AuditEvent, GroupMapping, Membership
from tests import factories
from tests.servers import free_port
from tests.signin.conftest import CLIENT_ID, CLIENT_SECRET, sso_sign_in

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def mapped(org, other_org):
    GroupMapping.objects.create(organisation=org, source="oidc", group="LIC-Admins", role="admin")
    GroupMapping.objects.create(
        organisation=org, source="oidc", group="LIC-Readers", role="auditor"
    )
    GroupMapping.objects.create(
        organisation=other_org, source="oidc", group="lic-approvers", role="manager"
    )
    GroupMapping.objects.create(
        organisation=other_org, source="ldap", group="LIC-Admins", role="admin"
    )


def _roles(user) -> dict[str, tuple[str, str]]:
    return {
        m.organisation.slug: (m.role, m.source)
        for m in Membership.objects.filter(user=user).select_related("organisation")
    }


def test_the_login_page_offers_single_sign_on(sso):
    page = DjangoClient().get("/accounts/login/").content.decode()
    assert "Sign in with Contoso ID" in page


def test_first_sign_in_creates_the_user_with_the_mapped_roles(sso, mapped, org, other_org):
    sso.set_user(
        "alice-sub",
        email="alice@contoso.test",
        preferred_username="alice",
        groups=["lic-admins", "LIC-Approvers", "Some-Other-Group"],
    )
    client, response = sso_sign_in(sso, "alice-sub")
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(email="alice@contoso.test")
    assert not user.has_usable_password()
    # Group names compare case-insensitively; the ldap mapping does not apply to sso.
    assert _roles(user) == {org.slug: ("admin", "oidc"), other_org.slug: ("manager", "oidc")}
    assert org.name in client.get("/").content.decode()
    signed_in = AuditEvent.objects.get(action="auth.signed_in", actor=user)
    assert signed_in.changes["method"] == ["sso"]
    assert AuditEvent.objects.filter(action="signin.membership_added", actor=user).count() == 2


def test_a_changed_group_changes_the_role_and_a_removed_one_ends_the_membership(
    sso, mapped, org, other_org
):
    sso.set_user("bob-sub", email="bob@contoso.test", groups=["LIC-Admins", "lic-approvers"])
    sso_sign_in(sso, "bob-sub")
    user = User.objects.get(email="bob@contoso.test")
    # A membership given by hand is never touched by the mapping.
    third = factories.OrganisationFactory(name="Hand Made", slug="hand-made")
    factories.MembershipFactory(user=user, organisation=third, role="auditor")

    sso.set_user("bob-sub", email="bob@contoso.test", groups=["LIC-Readers"])
    sso_sign_in(sso, "bob-sub")
    assert _roles(user) == {org.slug: ("auditor", "oidc"), third.slug: ("auditor", "")}
    changed = AuditEvent.objects.get(action="signin.membership_role_changed")
    assert changed.changes == {"role": ["admin", "auditor"], "source": "oidc"}
    assert changed.organisation_id == org.pk
    removed = AuditEvent.objects.get(action="signin.membership_removed")
    assert removed.organisation_id == other_org.pk


def test_a_user_in_no_mapped_group_gets_no_organisation(sso, mapped):
    sso.set_user("carol-sub", email="carol@contoso.test", groups=["Marketing"])
    client, response = sso_sign_in(sso, "carol-sub")
    assert response.status_code == 302
    user = User.objects.get(email="carol@contoso.test")
    assert _roles(user) == {}
    assert client.get("/").status_code < 500
    assert client.get("/clients/").status_code in (403, 404)


def test_an_expired_id_token_is_refused(sso, mapped):
    sso.set_user("dave-sub", email="dave@contoso.test", groups=["LIC-Admins"])
    # The provider issues tokens valid for an hour; the portal checks them two hours later.
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=True):
        client, response = sso_sign_in(sso, "dave-sub")
    assert response.status_code in (200, 401)
    assert "Third-Party Login Failure" in response.content.decode()
    assert not User.objects.filter(email="dave@contoso.test").exists()
    assert client.get("/").status_code == 302


def _real_id_token(provider) -> str:
    authorize = (
        f"{provider.issuer}/oauth2/authorize?client_id={CLIENT_ID}&response_type=code"
        "&scope=openid+email&state=s&redirect_uri=http%3A%2F%2Ftestserver%2Fcb"
    )
    code = parse_qs(urlsplit(provider.authorize(authorize, "erin-sub")).query)["code"][0]
    token = requests.post(
        f"{provider.issuer}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://testserver/cb",
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    token.raise_for_status()
    return token.json()["id_token"]


def _verify(provider, id_token: str, audience: str = CLIENT_ID) -> dict:
    """allauth's own check of an ID token (signature against the provider's published keys,
    issuer, audience, expiry)."""
    return jwtkit.verify_and_decode(
        credential=id_token,
        keys_url=f"{provider.issuer}/jwks",
        issuer=provider.issuer,
        audience=audience,
        lookup_kid=jwtkit.lookup_kid_jwk,
    )


def test_a_tampered_id_token_is_refused(sso):
    sso.set_user("erin-sub", email="erin@contoso.test", groups=["LIC-Readers"])
    token = _real_id_token(sso)
    assert _verify(sso, token)["sub"] == "erin-sub"  # the genuine token passes
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["groups"] = ["LIC-Admins"]  # promote oneself
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(OAuth2Error):
        _verify(sso, f"{header}.{forged}.{signature}")
    with pytest.raises(OAuth2Error):  # a token made for another client
        _verify(sso, token, audience="another-app")


def test_the_identity_providers_mfa_claim_allows_a_reveal_and_a_fresh_sign_in_confirms(
    sso, mapped, org, settings
):
    settings.SIGNIN_SECRETS_REQUIRE_2FA = True
    key = factories.MakKeyFactory(pool=factories.MakPoolFactory(organisation=org))
    url = f"/keys/{key.pk}/reveal/"
    sso.set_user("frank-sub", email="frank@contoso.test", groups=["LIC-Admins"], amr=["pwd"])
    client, _ = sso_sign_in(sso, "frank-sub")
    refused = client.get(url)
    assert refused.status_code == 302 and refused["Location"] == "/account/"

    sso.set_user("frank-sub", email="frank@contoso.test", groups=["LIC-Admins"], amr=["pwd", "mfa"])
    client, _ = sso_sign_in(sso, "frank-sub", next_url=url)
    # The sign-in just made is the confirmation: no password needed (there is none).
    shown = client.post(url)
    assert shown.status_code == 200
    assert AuditEvent.objects.filter(action="mak_key.reveal").count() == 1
    # Later, the confirmation page offers to sign in again.
    session = client.session
    session["signin_at"] = 0
    session.save()
    assert client.get(url)["Location"].startswith("/confirm-password/")
    confirm = client.get(f"/confirm-password/?next={url}").content.decode()
    assert 'id="confirm-sso"' in confirm and "prompt%3Dlogin" in confirm


def test_the_provider_down_is_a_clear_503(settings, db):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Contoso ID",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {"server_url": f"http://127.0.0.1:{free_port()}"},
                }
            ]
        }
    }
    client = DjangoClient(raise_request_exception=False)
    response = client.post("/accounts/oidc/sso/login/?process=login")
    assert response.status_code == 503
    assert "identity provider could not be reached" in response.content.decode()


def test_the_client_secret_is_never_logged(sso, mapped, caplog):
    sso.set_user("gina-sub", email="gina@contoso.test", groups=["LIC-Admins"])
    with caplog.at_level(logging.DEBUG):
        sso_sign_in(sso, "gina-sub")
    assert CLIENT_SECRET not in caplog.text
    assert not AuditEvent.objects.filter(changes__icontains=CLIENT_SECRET).exists()


def test_single_sign_on_works_with_local_sign_in_switched_off(sso, mapped, settings, admin_user):
    settings.SIGNIN_LOCAL_ENABLED = False
    sso.set_user("hal-sub", email="hal@contoso.test", groups=["LIC-Readers"])
    client, response = sso_sign_in(sso, "hal-sub")
    assert response.status_code == 302 and client.get("/").status_code == 200
    page = DjangoClient().get("/accounts/login/").content.decode()
    assert "Sign in with Contoso ID" in page and 'name="password"' not in page


def test_single_sign_on_is_rate_limited_per_address(sso, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    client = DjangoClient(REMOTE_ADDR="203.0.113.50")
    answers = [client.post("/accounts/oidc/sso/login/?process=login").status_code for _ in range(3)]
    assert answers == [302, 302, 429]
    assert (
        DjangoClient(REMOTE_ADDR="203.0.113.51")
        .post("/accounts/oidc/sso/login/?process=login")
        .status_code
        == 302
    )
