"""Local accounts: sign-in audit, account page, password change and reset, sessions, switching
local sign-in off, lockout, the admin's login."""

from __future__ import annotations

import re

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client as DjangoClient

from licensing.models import AuditEvent
from tests import factories
from tests.signin.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db


def test_sign_in_and_out_are_audited_with_method_and_address(admin_user):
    client, response = sign_in(admin_user, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302 and response["Location"] == "/"
    event = AuditEvent.objects.get(action="auth.signed_in", actor=admin_user)
    assert event.changes["method"] == ["password"]
    assert event.ip_address == "198.51.100.7"
    client.post("/accounts/logout/")
    assert AuditEvent.objects.filter(action="auth.signed_out", actor=admin_user).count() == 1


def test_a_failed_sign_in_is_audited_without_the_password(admin_user):
    _, response = sign_in(admin_user, "Not-The-Password-42")
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    event = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert event.actor_id is None
    assert event.actor_label == f"anonymous:{admin_user.username}"
    assert "Not-The-Password-42" not in str(event.changes)


def test_the_account_page_lists_recent_sign_ins_and_failed_attempts(admin_user):
    sign_in(admin_user, "wrong-password-1")
    client, _ = sign_in(admin_user)
    page = client.get("/account/").content.decode()
    assert 'id="recent-sign-ins"' in page and "Signed in" in page
    assert 'id="failed-sign-ins"' in page
    assert "Change password" in page


def test_change_password(admin_user):
    client, _ = sign_in(admin_user)
    new = "a-brand-new-passphrase-77"
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    assert response.status_code == 302
    _, old_attempt = sign_in(admin_user)
    assert old_attempt.status_code == 200  # the old password no longer works
    _, new_attempt = sign_in(admin_user, new)
    assert new_attempt.status_code == 302


def test_reset_a_forgotten_password_by_email(admin_user):
    client = DjangoClient()
    response = client.post("/accounts/password/reset/", {"email": admin_user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [admin_user.email]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    form_page = client.get(link.group(1), follow=True)
    new = "reset-by-mail-passphrase-9"
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1),
        {"password1": new, "password2": new},
    )
    assert response.status_code == 302
    _, attempt = sign_in(admin_user, new)
    assert attempt.status_code == 302


def test_see_and_end_ones_other_sessions(admin_user):
    laptop, _ = sign_in(admin_user, HTTP_USER_AGENT="Laptop browser")
    phone, _ = sign_in(admin_user, HTTP_USER_AGENT="Phone browser")
    page = laptop.get("/accounts/sessions/")
    assert page.status_code == 200
    assert "Phone browser" in page.content.decode()
    assert Session.objects.count() == 2
    response = laptop.post("/accounts/sessions/", {"action": "logout"})
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200  # this session stays
    assert phone.get("/").status_code == 302  # the other one was ended


def test_local_sign_in_can_be_switched_off(admin_user, settings):
    settings.SIGNIN_LOCAL_ENABLED = False
    _, response = sign_in(admin_user)
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="auth.signed_in").exists()
    assert AuditEvent.objects.filter(action="auth.sign_in_failed").count() == 1


def test_the_admin_site_signs_in_through_the_portal_login(superuser):
    response = DjangoClient().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_lockout_also_applies_through_the_admin_and_the_portal_login(admin_user, settings):
    client = DjangoClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": admin_user.username, "password": "x"})
    assert (
        client.post(
            "/accounts/login/", {"username": admin_user.username, "password": PASSWORD}
        ).status_code
        == 429
    )


def test_no_self_sign_up(db):
    response = DjangoClient().get("/accounts/signup/")
    assert response.status_code == 200
    assert "Sign Up Closed" in response.content.decode() or "closed" in response.content.decode()
    assert factories.UserFactory._meta.model.objects.count() == 0
