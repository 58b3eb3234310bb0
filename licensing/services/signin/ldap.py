"""Active Directory / LDAP sign-in through django-auth-ldap, configured from the portal's LDAP_*
settings (read at each sign-in, so a changed setting needs no restart of this module).

The directory's groups (nested ones included) go through the group mapping at every sign-in.
An unreachable directory is a clear message on the login page (`DIRECTORY_UNREACHABLE`), and
local accounts can still sign in when local sign-in is allowed."""

from __future__ import annotations

from typing import Any

import ldap
from django.conf import settings
from django_auth_ldap.backend import LDAPBackend, ldap_error
from django_auth_ldap.config import (
    LDAPSearch,
    LDAPSettings,
    NestedActiveDirectoryGroupType,
    NestedGroupOfNamesType,
)

from licensing.services import audit
from licensing.services.signin import mapping

BACKEND_PATH = "licensing.services.signin.ldap.DirectoryBackend"
# Set on the request when the directory did not answer, so the login form can say so.
DIRECTORY_UNREACHABLE = "_signin_directory_unreachable"

GROUP_TYPES = {
    "active_directory": NestedActiveDirectoryGroupType,
    "group_of_names": NestedGroupOfNamesType,
}


def ldap_settings() -> LDAPSettings:
    timeout = settings.LDAP_TIMEOUT_SECONDS
    options: dict[Any, Any] = {
        ldap.OPT_REFERRALS: 0,  # Active Directory's referrals lead nowhere useful here
        ldap.OPT_NETWORK_TIMEOUT: timeout,
        ldap.OPT_TIMEOUT: timeout,
        ldap.OPT_X_TLS_REQUIRE_CERT: ldap.OPT_X_TLS_DEMAND,
    }
    if settings.LDAP_CA_FILE:
        options[ldap.OPT_X_TLS_CACERTFILE] = settings.LDAP_CA_FILE
    # libldap reads TLS options when the TLS context is made: make a new one with these.
    options[ldap.OPT_X_TLS_NEWCTX] = 0
    group_type = GROUP_TYPES.get(settings.LDAP_GROUP_TYPE, NestedActiveDirectoryGroupType)
    values = {
        "SERVER_URI": settings.LDAP_SERVER_URI,
        "BIND_DN": settings.AUTH_LDAP_BIND_DN,
        "BIND_PASSWORD": settings.AUTH_LDAP_BIND_PASSWORD,
        "START_TLS": settings.AUTH_LDAP_START_TLS,
        "CONNECTION_OPTIONS": options,
        "USER_SEARCH": LDAPSearch(
            settings.LDAP_USER_BASE, ldap.SCOPE_SUBTREE, settings.LDAP_USER_FILTER
        ),
        "GROUP_SEARCH": LDAPSearch(
            settings.LDAP_GROUP_BASE or settings.LDAP_USER_BASE,
            ldap.SCOPE_SUBTREE,
            "(objectClass=*)",
        ),
        "GROUP_TYPE": group_type(),
        "USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "ALWAYS_UPDATE_USER": True,
        "CACHE_TIMEOUT": 0,
    }
    ldap_config = LDAPSettings()
    for name, value in values.items():
        setattr(ldap_config, name, value)
    return ldap_config


class DirectoryBackend(LDAPBackend):
    """django-auth-ldap's backend with the portal's settings and group mapping."""

    @property
    def settings(self) -> LDAPSettings:  # type: ignore[override]
        return ldap_settings()

    @settings.setter
    def settings(self, value: Any) -> None:  # django-auth-ldap assigns it; ours is computed
        pass

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if not settings.LDAP_SERVER_URI or not username or not password:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def authenticate_ldap_user(self, ldap_user: Any, password: str) -> Any:
        user = ldap_user.authenticate(password)
        if user is not None:
            mapping.apply(
                user,
                ldap_user.group_dns,
                "ldap",
                ip_address=audit.client_ip(getattr(ldap_user, "_request", None)),
            )
        return user


def _note_unreachable(
    sender: Any, context: str, request: Any = None, exception: Any = None, **kwargs: Any
) -> None:
    if request is not None and isinstance(
        exception, ldap.SERVER_DOWN | ldap.TIMEOUT | ldap.CONNECT_ERROR
    ):
        setattr(request, DIRECTORY_UNREACHABLE, True)


ldap_error.connect(_note_unreachable, dispatch_uid="signin-ldap-unreachable")
