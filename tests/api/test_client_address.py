"""Addresses you can trust (issue 11): X-Forwarded-For only through TRUSTED_PROXIES, one
client address for the login lockout (django-axes), throttles and audit entries; a stranger
cannot lock a named user out from another address."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient
from django.test import RequestFactory

from licensing.models import AuditEvent
from licensing.services.audit import client_ip

PROXY = "10.0.0.5"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY, "10.1.0.0/16"]


def meta(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(meta("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_through_a_trusted_proxy_the_forwarded_client_is_used(behind_proxy):
    assert client_ip(meta(PROXY, "198.51.100.1")) == "198.51.100.1"
    # The right-most untrusted hop: a client cannot prepend a made-up address.
    assert client_ip(meta(PROXY, "1.2.3.4, 198.51.100.1")) == "198.51.100.1"
    assert client_ip(meta(PROXY, "198.51.100.1, 10.1.2.3")) == "198.51.100.1"
    assert client_ip(meta(PROXY, "[2001:db8::1]:4711")) == "2001:db8::1"


def test_a_header_from_anyone_else_is_ignored(behind_proxy):
    assert client_ip(meta("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_a_garbled_header_keeps_the_proxy_address(behind_proxy):
    assert client_ip(meta(PROXY, "not-an-address")) == PROXY
    assert client_ip(meta(PROXY)) == PROXY


def login(client, username, password, forwarded):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_a_stranger_behind_the_proxy_cannot_lock_a_named_user_out(behind_proxy, admin_user):
    from django.conf import settings

    stranger = DjangoClient()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        login(stranger, admin_user.username, "wrong", "198.51.100.66")
    assert login(stranger, admin_user.username, "wrong", "198.51.100.66").status_code == 429
    # The user, from their own address through the same proxy, still signs in.
    response = login(DjangoClient(), admin_user.username, "correct-horse-battery", "192.0.2.10")
    assert response.status_code == 302


def test_audit_entries_record_the_forwarded_client(behind_proxy, admin_user, org):
    browser = DjangoClient()
    browser.force_login(admin_user)
    browser.get("/clients/export.csv", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert AuditEvent.objects.filter(action__startswith="export").get().ip_address == (
        "198.51.100.7"
    )


def test_one_address_guessing_many_names_is_rate_limited(behind_proxy, admin_user, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    guesser = DjangoClient()
    for n in range(5):
        assert login(guesser, f"user{n}", "wrong", "198.51.100.66").status_code == 200
    assert login(guesser, "user5", "wrong", "198.51.100.66").status_code == 429
    # Even a right password is refused from that address for the cool-off...
    assert (
        login(guesser, admin_user.username, "correct-horse-battery", "198.51.100.66").status_code
        == 429
    )
    # ...while the same user from another address signs in.
    response = login(DjangoClient(), admin_user.username, "correct-horse-battery", "192.0.2.10")
    assert response.status_code == 302
