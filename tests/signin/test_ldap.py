"""Directory sign-in against a real slapd (Debian's package) on loopback, over StartTLS checked
against the directory's CA: bind, search, nested groups, wrong password, server down, TLS."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as DjangoClient

from licensing.models import AuditEvent, GroupMapping, Membership
from tests.signin.conftest import DIRECTORY_PASSWORD, GROUPS, PASSWORD, sign_in

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def mapped(org, other_org):
    GroupMapping.objects.create(
        organisation=org, source="ldap", group=f"cn=LIC-Admins,{GROUPS}", role="admin"
    )
    GroupMapping.objects.create(
        organisation=other_org, source="ldap", group=f"CN=LIC-Readers,{GROUPS}", role="auditor"
    )
    # The same name through single sign-on does not count for the directory.
    GroupMapping.objects.create(
        organisation=other_org, source="oidc", group="LIC-Admins", role="admin"
    )


def _directory_sign_in(username: str, password: str = DIRECTORY_PASSWORD, **extra):
    client = DjangoClient(**extra)
    return client, client.post("/accounts/login/", {"username": username, "password": password})


def test_a_directory_user_signs_in_and_a_nested_group_gives_the_role(directory, mapped, org):
    client, response = _directory_sign_in("alice")
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username="alice")
    assert (user.email, user.first_name) == ("alice@contoso.test", "Alice")
    assert not user.has_usable_password()
    memberships = list(
        Membership.objects.filter(user=user).values_list("organisation", "role", "source")
    )
    assert memberships == [(org.pk, "admin", "ldap")]  # alice is in LIC-Leaf, inside LIC-Admins
    assert org.name in client.get("/").content.decode()
    assert AuditEvent.objects.get(action="auth.signed_in", actor=user).changes["method"] == ["ldap"]
    assert AuditEvent.objects.filter(action="signin.membership_added", actor=user).count() == 1


def test_a_directory_user_in_no_mapped_group_gets_no_organisation(directory, mapped):
    _, response = _directory_sign_in("carol")
    assert response.status_code == 302
    assert not Membership.objects.filter(user__username="carol").exists()


def test_a_wrong_directory_password_is_refused_audited_and_counts_towards_the_lockout(
    directory, mapped, settings
):
    _, response = _directory_sign_in("bob", "not-bobs-password")
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert AuditEvent.objects.filter(
        action="auth.sign_in_failed", actor_label="anonymous:bob"
    ).exists()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _directory_sign_in("bob", "not-bobs-password")
    _, locked = _directory_sign_in("bob")
    assert locked.status_code == 429


def test_directory_down_says_so_and_local_admins_still_sign_in(directory, mapped, admin_user):
    directory.stop()
    try:
        _, response = _directory_sign_in("alice")
        assert response.status_code == 200
        assert "company directory could not be reached" in response.content.decode()
        _, local = sign_in(admin_user)
        assert local.status_code == 302
    finally:
        directory.start()
    _, again = _directory_sign_in("alice")
    assert again.status_code == 302


def test_the_directorys_certificate_is_checked(directory, mapped, settings, tmp_path):
    """StartTLS against a CA that did not sign the directory's certificate: no sign-in."""
    from tests.servers import SlapdServer

    stranger = SlapdServer(tmp_path)
    stranger._certificates()
    settings.LDAP_CA_FILE = str(stranger.ca_file)
    _, response = _directory_sign_in("alice")
    assert response.status_code == 200
    assert "company directory could not be reached" in response.content.decode()
    assert not User.objects.filter(username="alice").exists()


def test_the_bind_password_is_never_logged(directory, mapped, caplog):
    with caplog.at_level(logging.DEBUG):
        _directory_sign_in("alice")
        _directory_sign_in("alice", "wrong-password")
    assert directory.ROOT_PASSWORD not in caplog.text
    assert DIRECTORY_PASSWORD not in caplog.text


def test_with_local_sign_in_off_only_the_directory_counts(directory, mapped, settings, admin_user):
    settings.SIGNIN_LOCAL_ENABLED = False
    _, local = sign_in(admin_user, PASSWORD)
    assert local.status_code == 200
    _, response = _directory_sign_in("alice")
    assert response.status_code == 302
