"""Recent password confirmation, required before any secret (MAK key, KMS host key) is shown.

One confirmation, stored in the session as epoch seconds, counts for
SECRET_REVEAL_REAUTH_SECONDS for every kind of secret.
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


def confirmed_at(request: HttpRequest) -> float | None:
    value = request.session.get(SESSION_KEY)
    try:
        return float(value) if value else None
    except (TypeError, ValueError):
        return None


def is_fresh(confirmed: float | datetime | None, *, now: datetime | None = None) -> bool:
    """True when the confirmation (epoch seconds or a datetime) is recent enough."""
    if not confirmed:
        return False
    seconds = confirmed.timestamp() if isinstance(confirmed, datetime) else float(confirmed)
    age = (now or timezone.now()).timestamp() - seconds
    return 0 <= age <= settings.SECRET_REVEAL_REAUTH_SECONDS
