"""Recent confirmation, required before any secret (MAK key, KMS host key) is shown.

One confirmation, stored in the session as epoch seconds, counts for
SECRET_REVEAL_REAUTH_SECONDS for every kind of secret. It is one of: the password again (local
and directory accounts), a code from the user's authenticator app or a recovery code (anyone
with a second factor, single sign-on users included), or a fresh single sign-on (the sign-in's
own time counts, so "sign in again" confirms).
"""

from __future__ import annotations

import time
from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils import timezone

from licensing.services import audit

SESSION_KEY = "secret_reauth_at"


def confirm_password(request: HttpRequest, password: str) -> bool:
    """Check the signed-in user's password again; on success remember when, and audit it.
    authenticate() goes through django-axes, so guesses here count towards the lockout."""
    user = request.user
    checked = (
        authenticate(request, username=user.get_username(), password=password) if password else None
    )
    if checked is None or checked.pk != user.pk:
        return False
    request.session[SESSION_KEY] = time.time()
    audit.record(
        action="auth.password_confirmed",
        actor=user,
        organisation=getattr(request, "organisation", None) or None,
        ip_address=audit.client_ip(request),
    )
    return True


def confirm_second_factor(request: HttpRequest, code: str) -> bool:
    """Check a code of the user's authenticator app (or an unused recovery code); on success
    remember when, count the session as multi-factor, and audit it. Failures are rate limited
    (allauth's "reauthenticate" limit) and audited as failed sign-ins."""
    from allauth.core import ratelimit
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    from licensing.services.signin import events, second_factor

    user = request.user
    code = (code or "").strip().replace(" ", "")
    if not code or not ratelimit.consume(request, action="reauthenticate", user=user):
        return False
    used = None
    for authenticator in Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
    ):
        wrapped = (
            TOTP(authenticator)
            if authenticator.type == Authenticator.Type.TOTP
            else RecoveryCodes(authenticator)
        )
        if wrapped.validate_code(code):
            used = authenticator
            break
    ip = audit.client_ip(request)
    if used is None:
        audit.record(
            action=events.SIGN_IN_FAILED,
            actor=user,
            changes={"step": "second_factor_confirmation"},
            ip_address=ip,
        )
        return False
    used.record_usage()
    request.session[SESSION_KEY] = time.time()
    second_factor.add_method(request, f"mfa:{used.type}")
    audit.record(
        action="auth.second_factor_confirmed",
        actor=user,
        changes={"type": used.type},
        organisation=getattr(request, "organisation", None) or None,
        ip_address=ip,
    )
    return True


def confirmed_at(request: HttpRequest) -> float | None:
    """When the user last confirmed: a confirmation above, or a single sign-on's own time."""
    from licensing.services.signin import second_factor

    times = [request.session.get(SESSION_KEY)]
    if second_factor.signed_in_with_sso(request):
        times.append(request.session.get(second_factor.SIGNED_IN_AT_KEY))
    values = []
    for value in times:
        try:
            values.append(float(value)) if value else None
        except (TypeError, ValueError):
            continue
    return max(values) if values else None


def is_fresh(confirmed: float | datetime | None, *, now: datetime | None = None) -> bool:
    """True when the confirmation (epoch seconds or a datetime) is recent enough."""
    if not confirmed:
        return False
    seconds = confirmed.timestamp() if isinstance(confirmed, datetime) else float(confirmed)
    age = (now or timezone.now()).timestamp() - seconds
    return 0 <= age <= settings.SECRET_REVEAL_REAUTH_SECONDS
