"""Recent password confirmation for revealing a KMS host key (admin + password in the last
few minutes). Same session key, format (epoch seconds) and window setting as the MAK vault's
confirmation (branch `mak`: `licensing.views.mak.REAUTH_SESSION_KEY`,
SECRET_REVEAL_REAUTH_SECONDS), so one confirmation serves both once the branches meet."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest

SESSION_KEY = "secret_reauth_at"


def window() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "SECRET_REVEAL_REAUTH_SECONDS", 300)))


def confirm_password(request: HttpRequest, password: str) -> bool:
    """Check the signed-in user's password again; remember the time on success."""
    user = request.user
    # authenticate() goes through axes, so guessing here counts towards the lockout too.
    checked = (
        authenticate(request, username=user.get_username(), password=password) if password else None
    )
    ok = checked is not None and checked.pk == user.pk
    if ok:
        request.session[SESSION_KEY] = time.time()
    return ok


def password_confirmed_at(request: HttpRequest) -> datetime | None:
    value = request.session.get(SESSION_KEY)
    try:
        return datetime.fromtimestamp(float(value), tz=UTC) if value else None
    except (TypeError, ValueError):
        return None
