"""Fixtures of the sign-in tests: users with an authenticator app, codes computed here (pyotp),
and a client that signs in through the real login form."""

from __future__ import annotations

import pyotp
import pytest
import redis
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.test import Client as DjangoClient

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password


def _forget_rate_limit_counters() -> None:
    """allauth counts attempts in the cache (Redis); every test here signs in from 127.0.0.1 as
    the same personas, so counters are dropped around each test, leaving none for other tests.
    Only this worker's: another xdist worker's test may be counting at the same moment (its
    keys have their own prefix, tests/conftest.py)."""
    if not settings.REDIS_URL:
        return
    from django.core.cache import cache

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        for key in client.scan_iter(match=cache.make_key("allauth:rl:") + "*", count=500):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    _forget_rate_limit_counters()
    yield
    _forget_rate_limit_counters()


def with_totp(user) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    TOTP.activate(user, secret)
    return pyotp.TOTP(secret)


def with_recovery_codes(user) -> list[str]:
    return RecoveryCodes.activate(user).get_unused_codes()


def sign_in(user, password: str = PASSWORD, *, client: DjangoClient | None = None, **extra):
    client = client or DjangoClient(**extra)
    response = client.post(
        "/accounts/login/", {"username": user.get_username(), "password": password}
    )
    return client, response


@pytest.fixture(scope="module")
def oidc_provider():
    from tests.servers import OidcProvider

    provider = OidcProvider()
    yield provider
    provider.stop()


CLIENT_ID = "volume-licensing-portal"
CLIENT_SECRET = "oidc-client-secret-never-logged"


@pytest.fixture
def sso(settings, oidc_provider):
    """Single sign-on configured against the real provider process."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Contoso ID",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {"server_url": oidc_provider.issuer, "fetch_userinfo": True},
                }
            ],
        }
    }
    return oidc_provider


def sso_sign_in(provider, sub: str, *, client: DjangoClient | None = None, next_url: str = ""):
    """The whole flow: the portal's button, the provider's sign-in, the callback."""
    from urllib.parse import urlsplit

    client = client or DjangoClient()
    start = client.post(
        "/accounts/oidc/sso/login/?process=login" + (f"&next={next_url}" if next_url else "")
    )
    assert start.status_code == 302, start.content[:500]
    back = urlsplit(provider.authorize(start["Location"], sub))
    response = client.get(f"{back.path}?{back.query}")
    return client, response


DIRECTORY_PASSWORD = "alice-directory-pass-1"
PEOPLE = "ou=people,dc=contoso,dc=test"
GROUPS = "ou=groups,dc=contoso,dc=test"


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    """A real slapd with people and groups; LIC-Admins contains LIC-Leaf, which holds alice
    (a nested group, as Active Directory has them)."""
    from tests.servers import SlapdServer

    server = SlapdServer(tmp_path_factory.mktemp("slapd"))
    server.start()
    server.add(
        server.SUFFIX,
        {"objectClass": ["dcObject", "organization"], "dc": ["contoso"], "o": ["Contoso"]},
    )
    for ou in ("people", "groups"):
        server.add(f"ou={ou},{server.SUFFIX}", {"objectClass": ["organizationalUnit"], "ou": [ou]})
    for uid, given in (("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol")):
        server.add(
            f"uid={uid},{PEOPLE}",
            {
                "objectClass": ["inetOrgPerson"],
                "uid": [uid],
                "cn": [f"{given} Example"],
                "givenName": [given],
                "sn": ["Example"],
                "mail": [f"{uid}@contoso.test"],
                "userPassword": [DIRECTORY_PASSWORD],
            },
        )
    server.add(
        f"cn=LIC-Leaf,{GROUPS}",
        {"objectClass": ["groupOfNames"], "cn": ["LIC-Leaf"], "member": [f"uid=alice,{PEOPLE}"]},
    )
    server.add(
        f"cn=LIC-Admins,{GROUPS}",
        {
            "objectClass": ["groupOfNames"],
            "cn": ["LIC-Admins"],
            "member": [f"cn=LIC-Leaf,{GROUPS}"],
        },
    )
    server.add(
        f"cn=LIC-Readers,{GROUPS}",
        {"objectClass": ["groupOfNames"], "cn": ["LIC-Readers"], "member": [f"uid=bob,{PEOPLE}"]},
    )
    yield server
    server.stop()


@pytest.fixture
def directory(settings, slapd):
    """Directory sign-in configured against the real slapd, StartTLS verified with its CA."""
    settings.LDAP_SERVER_URI = slapd.uri
    settings.AUTH_LDAP_BIND_DN = slapd.ROOT_DN
    settings.AUTH_LDAP_BIND_PASSWORD = slapd.ROOT_PASSWORD
    settings.AUTH_LDAP_START_TLS = True
    settings.LDAP_CA_FILE = str(slapd.ca_file)
    settings.LDAP_USER_BASE = PEOPLE
    settings.LDAP_USER_FILTER = "(uid=%(user)s)"
    settings.LDAP_GROUP_BASE = GROUPS
    settings.LDAP_GROUP_TYPE = "group_of_names"
    settings.LDAP_TIMEOUT_SECONDS = 2
    return slapd
