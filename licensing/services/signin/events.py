"""Audit of sign-in events, and the group mapping after a single sign-on.

Connected in LicensingConfig.ready(). Every path ends in Django's signals (allauth's login
form, single sign-on, passkeys, the directory, the admin's login), so one receiver each."""

from __future__ import annotations

from typing import Any

from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.signals import user_logged_in as allauth_logged_in
from allauth.mfa.signals import authentication_failed as second_factor_failed
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from licensing.services import audit, language
from licensing.services.signin import ldap as directory
from licensing.services.signin import mapping, second_factor

SIGNED_IN = "auth.signed_in"
SIGNED_OUT = "auth.signed_out"
SIGN_IN_FAILED = "auth.sign_in_failed"
SECOND_FACTOR_ADDED = "auth.second_factor_added"
SECOND_FACTOR_REMOVED = "auth.second_factor_removed"
SIGN_IN_ACTIONS = (SIGNED_IN, SIGNED_OUT, SIGN_IN_FAILED)


def sign_in_method(request: Any, user: Any) -> list[str]:
    """What this sign-in used, e.g. ["password", "mfa:totp"], ["ldap"], ["sso"]."""
    methods: list[str] = []
    backend = getattr(user, "backend", "") or ""
    # allauth's record of this sign-in's steps (read from the session directly: while Django's
    # login() runs, request.user is not yet the user that allauth's accessor compares with).
    session = getattr(request, "session", None)
    records = (
        session.get(AUTHENTICATION_METHODS_SESSION_KEY) if session is not None else None
    ) or []
    for record in records:
        if not isinstance(record, dict):
            continue
        method = record.get("method", "")
        if method == "socialaccount":
            methods.append("sso")
        elif method == "mfa":
            methods.append(f"mfa:{record.get('type', '')}")
        elif method == "password":
            methods.append("ldap" if backend == directory.BACKEND_PATH else "password")
        elif method:
            methods.append(method)
    if not methods:
        methods.append("ldap" if backend == directory.BACKEND_PATH else "password")
    return list(dict.fromkeys(methods))


@receiver(user_logged_in, dispatch_uid="signin-audit-logged-in")
def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is None:
        return
    methods = sign_in_method(request, user)
    second_factor.remember_sign_in(request, methods)
    if hasattr(request, "session"):
        language.remember_at_sign_in(request, user)
    audit.record(
        action=SIGNED_IN,
        actor=user,
        changes={
            "method": methods,
            "user_agent": (request.META.get("HTTP_USER_AGENT") or "")[:200],
        },
        ip_address=audit.client_ip(request),
    )


@receiver(user_logged_out, dispatch_uid="signin-audit-logged-out")
def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    audit.record(action=SIGNED_OUT, actor=user, ip_address=audit.client_ip(request))


@receiver(user_login_failed, dispatch_uid="signin-audit-login-failed")
def _sign_in_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    # Django passes the credentials with the password already masked; keep the name only.
    username = str(credentials.get("username") or credentials.get("login") or "")[:150]
    audit.record(
        action=SIGN_IN_FAILED,
        actor=f"anonymous:{username}" if username else "anonymous",
        changes={"username": username},
        ip_address=audit.client_ip(request),
    )


@receiver(allauth_logged_in, dispatch_uid="signin-sso-mapping")
def _apply_sso_groups(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is None:
        return
    claims = second_factor.sso_claims(sociallogin)
    second_factor.remember_sso_claims(request, claims)
    mapping.apply(
        user, second_factor.groups_from_claims(claims), "oidc", ip_address=audit.client_ip(request)
    )


@receiver(authenticator_added, dispatch_uid="signin-audit-2fa-added")
def _second_factor_added(
    sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    audit.record(
        action=SECOND_FACTOR_ADDED,
        actor=user,
        changes={"type": authenticator.type},
        ip_address=audit.client_ip(request),
    )


@receiver(authenticator_removed, dispatch_uid="signin-audit-2fa-removed")
def _second_factor_removed(
    sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    audit.record(
        action=SECOND_FACTOR_REMOVED,
        actor=user,
        changes={"type": authenticator.type},
        ip_address=audit.client_ip(request),
    )


@receiver(second_factor_failed, dispatch_uid="signin-audit-2fa-failed")
def _second_factor_failed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.record(
        action=SIGN_IN_FAILED,
        actor=user,
        changes={
            "step": "second_factor_confirmation"
            if kwargs.get("reauthentication")
            else "second_factor",
            "type": getattr(kwargs.get("authenticator"), "type", ""),
        },
        ip_address=audit.client_ip(request),
    )
