"""Second factors: TOTP with codes computed here, recovery codes once only, enrolment and
removal audited, an organisation's "require 2FA", and the gate on revealing a key."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.test import Client as DjangoClient
from django.utils import timezone

from licensing.models import AuditEvent
from tests import factories
from tests.signin.conftest import PASSWORD, sign_in, with_recovery_codes, with_totp

pytestmark = pytest.mark.django_db


def _second_step(client, code):
    return client.post("/accounts/2fa/authenticate/", {"code": code})


def test_totp_sign_in_needs_the_code_and_records_the_second_factor(admin_user):
    totp = with_totp(admin_user)
    client, response = sign_in(admin_user)
    assert response.status_code == 302 and response["Location"].startswith(
        "/accounts/2fa/authenticate/"
    )
    assert client.get("/").status_code == 302  # not signed in yet
    wrong = _second_step(client, "000000" if totp.now() != "000000" else "111111")
    assert wrong.status_code == 200
    assert AuditEvent.objects.filter(action="auth.sign_in_failed", actor=admin_user).exists()
    done = _second_step(client, totp.now())
    assert done.status_code == 302
    assert client.get("/").status_code == 200
    event = AuditEvent.objects.get(action="auth.signed_in", actor=admin_user)
    assert event.changes["method"] == ["password", "mfa:totp"]


def test_a_recovery_code_works_once_only(admin_user):
    with_totp(admin_user)
    codes = with_recovery_codes(admin_user)
    client, _ = sign_in(admin_user)
    assert _second_step(client, codes[0]).status_code == 302
    again, _ = sign_in(admin_user)
    assert _second_step(again, codes[0]).status_code == 200  # used already
    assert again.get("/").status_code == 302
    assert _second_step(again, codes[1]).status_code == 302


def test_enrolling_and_removing_an_authenticator_app_is_audited(
    admin_user, django_capture_on_commit_callbacks
):
    client, _ = sign_in(admin_user)
    # allauth asks for the password again before a second factor is added or removed.
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith(
        "/accounts/reauthenticate/"
    )
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = page.context["form"].secret
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
        response = client.post("/accounts/2fa/totp/activate/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=admin_user, type="totp").exists()
    added = AuditEvent.objects.filter(action="auth.second_factor_added")
    assert {"type": "totp"} in [e.changes for e in added]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=admin_user, type="totp").exists()
    assert AuditEvent.objects.filter(action="auth.second_factor_removed").exists()


def test_an_organisation_that_requires_2fa_sends_members_to_set_it_up(org, admin_user, as_admin):
    settings_page = as_admin.post(
        "/organisation/sign-in/", {"form": "require", "require_2fa": "on"}
    )
    assert settings_page.status_code == 302
    assert AuditEvent.objects.filter(action="signin.require_2fa_changed").exists()
    member = factories.UserFactory(username="no-2fa-yet")
    factories.MembershipFactory(user=member, organisation=org, role="auditor")
    client, _ = sign_in(member)
    response = client.get("/clients/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/"
    assert client.get("/accounts/2fa/").status_code == 200  # the set-up pages stay open
    totp = with_totp(member)
    assert client.get("/clients/").status_code == 200
    # A member of an organisation that does not require it is not stopped.
    other = factories.UserFactory(username="elsewhere")
    factories.MembershipFactory(
        user=other, organisation=factories.OrganisationFactory(), role="admin"
    )
    elsewhere, _ = sign_in(other)
    assert elsewhere.get("/clients/").status_code == 200
    del totp


@pytest.fixture
def key(org):
    pool = factories.MakPoolFactory(organisation=org)
    return factories.MakKeyFactory(pool=pool, activation_limit=20)


def test_revealing_a_key_needs_a_second_factor_for_a_local_account(key, admin_user, settings):
    settings.SIGNIN_SECRETS_REQUIRE_2FA = True
    url = f"/keys/{key.pk}/reveal/"
    password_only, _ = sign_in(admin_user)
    refused = password_only.get(url)
    assert refused.status_code == 302 and refused["Location"] == "/account/"
    assert password_only.post(url).status_code == 302
    assert not AuditEvent.objects.filter(action="mak_key.reveal").exists()

    totp = with_totp(admin_user)
    client, _ = sign_in(admin_user)
    with time_machine.travel(timezone.now(), tick=True):
        _second_step(client, totp.now())
    # Signed in with the second factor: the usual confirmation, then the key.
    to_confirm = client.get(url)
    assert to_confirm.status_code == 302 and to_confirm["Location"].startswith("/confirm-password/")
    confirm_page = client.get(to_confirm["Location"])
    assert 'id="confirm-code"' in confirm_page.content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=False):
        ok = client.post("/confirm-password/", {"code": totp.now(), "next": url})
        assert ok.status_code == 302 and ok["Location"] == url
        shown = client.post(url)
    assert shown.status_code == 200
    assert AuditEvent.objects.filter(action="mak_key.reveal").count() == 1
    assert AuditEvent.objects.filter(action="auth.second_factor_confirmed").count() == 1


def test_a_password_only_session_confirms_with_a_code_and_then_counts_as_two_factor(
    key, admin_user, settings
):
    """Someone who set up an app after signing in confirms with it; the session then counts."""
    settings.SIGNIN_SECRETS_REQUIRE_2FA = True
    client, _ = sign_in(admin_user)
    totp = with_totp(admin_user)
    to_code = client.get(f"/keys/{key.pk}/reveal/")
    assert to_code.status_code == 302
    assert to_code["Location"] == f"/confirm-password/?next=%2Fkeys%2F{key.pk}%2Freveal%2F"
    wrong = client.post("/confirm-password/", {"code": "12345", "next": "/"})
    assert wrong.status_code == 200 and "not valid" in wrong.content.decode()
    assert client.post("/confirm-password/", {"code": totp.now(), "next": "/"}).status_code == 302
    assert client.post(f"/keys/{key.pk}/reveal/").status_code == 200


def test_second_factor_code_guessing_is_rate_limited(admin_user):
    client, _ = sign_in(admin_user)
    totp = with_totp(admin_user)
    for _ in range(10):  # allauth's "reauthenticate" limit: 10 a minute per user
        client.post("/confirm-password/", {"code": "000000", "next": "/"})
    limited = client.post("/confirm-password/", {"code": totp.now(), "next": "/"})
    assert limited.status_code == 200  # refused even with the right code


def test_the_sign_in_settings_page_is_for_admins_only(as_manager, as_admin):
    assert as_manager.get("/organisation/sign-in/").status_code == 403
    assert as_admin.get("/organisation/sign-in/").status_code == 200
    assert DjangoClient().get("/organisation/sign-in/").status_code == 302
