"""Second factors: what this session's sign-in proved, the organisations' "require 2FA" rule, and
the stronger check before a key is revealed or an activation approved.

A session remembers how it signed in (`METHODS_KEY`: "password", "ldap", "sso", "mfa:totp",
"mfa:webauthn", "mfa:recovery_codes") and, for single sign-on, whether the identity provider
reported multi-factor authentication (the `amr` claim holds "mfa", or "otp"/"hwk"/"swk"/"fido")."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.utils.translation import gettext_lazy

from licensing.models import Membership
from licensing.scoping import memberships

METHODS_KEY = "signin_methods"
SIGNED_IN_AT_KEY = "signin_at"
SSO_MFA_KEY = "signin_sso_mfa"
# `amr` values (RFC 8176) that mean more than one factor.
MFA_AMR = {"mfa", "otp", "hwk", "swk", "fido", "sc"}


def remember_sign_in(request: Any, methods: Iterable[str]) -> None:
    request.session[METHODS_KEY] = list(methods)
    request.session[SIGNED_IN_AT_KEY] = time.time()


def add_method(request: Any, method: str) -> None:
    methods = list(request.session.get(METHODS_KEY) or [])
    if method not in methods:
        methods.append(method)
    request.session[METHODS_KEY] = methods


def methods(request: Any) -> list[str]:
    return list(request.session.get(METHODS_KEY) or [])


def sso_claims(sociallogin: Any) -> dict:
    """The ID token's and userinfo's claims of an OpenID Connect sign-in, merged."""
    data = sociallogin.account.extra_data or {}
    if isinstance(data, dict) and ("id_token" in data or "userinfo" in data):
        return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}
    return dict(data) if isinstance(data, dict) else {}


def groups_from_claims(claims: dict) -> list[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def remember_sso_claims(request: Any, claims: dict) -> None:
    amr = claims.get("amr") or []
    if isinstance(amr, str):
        amr = [amr]
    request.session[SSO_MFA_KEY] = bool(MFA_AMR & {str(a).lower() for a in amr})


def signed_in_with_sso(request: Any) -> bool:
    return "sso" in methods(request)


def session_is_multi_factor(request: Any) -> bool:
    """This session's sign-in (or a later confirmation) proved a second factor."""
    confirmed_factor = any(m.startswith("mfa:") for m in methods(request))
    if signed_in_with_sso(request):
        return bool(request.session.get(SSO_MFA_KEY)) or confirmed_factor
    return confirmed_factor


def organisations_requiring(user: Any) -> list[str]:
    return list(
        Membership.objects.filter(user=user, organisation__require_2fa=True)
        .values_list("organisation__name", flat=True)
        .order_by("organisation__name")
    )


def must_set_up(request: Any) -> bool:
    """A member of an organisation that requires 2FA, without a second factor yet (or, after
    single sign-on, without the identity provider's multi-factor claim)."""
    user = request.user
    if not user.is_authenticated:
        return False
    if signed_in_with_sso(request):
        return False  # the identity provider's policy decides; see secrets_allowed()
    member_of = memberships(request)
    if member_of is not None and member_of.complete:
        requiring = any(org.require_2fa for org in member_of.organisations)
    else:
        requiring = Membership.objects.filter(user=user, organisation__require_2fa=True).exists()
    if not requiring:
        return False
    return not is_mfa_enabled(user)


def secrets_allowed(request: Any) -> bool:
    """Revealing a key or approving an activation: a second factor in this session (local and
    directory accounts), or the identity provider's multi-factor claim (single sign-on)."""
    if not settings.SIGNIN_SECRETS_REQUIRE_2FA:
        return True
    return session_is_multi_factor(request)


SECRETS_NEED_2FA_MESSAGE = gettext_lazy(
    "Revealing a key or approving an activation needs two-factor authentication: set up an "
    "authenticator app or a passkey under Account, then confirm with it."
)
SECRETS_NEED_SSO_MFA_MESSAGE = gettext_lazy(
    "Your identity provider did not report multi-factor authentication for this sign-in: sign "
    "in again with multi-factor authentication, or set up an authenticator app under Account "
    "and confirm with it, to reveal a key or approve an activation."
)


def secrets_refusal(request: Any) -> str:
    message = (
        SECRETS_NEED_SSO_MFA_MESSAGE if signed_in_with_sso(request) else SECRETS_NEED_2FA_MESSAGE
    )
    return str(message)
