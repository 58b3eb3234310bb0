"""Recent password confirmation for revealing a KMS host key (admin + password in the last
few minutes). The confirmation time lives in the session; the reveal service checks its age."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

SESSION_KEY = "kms_password_confirmed_at"


def confirm_password(request: HttpRequest, password: str) -> bool:
    """Check the signed-in user's password again; remember the time on success."""
    user = request.user
    # authenticate() goes through axes, so guessing here counts towards the lockout too.
    checked = (
        authenticate(request, username=user.get_username(), password=password) if password else None
    )
    ok = checked is not None and checked.pk == user.pk
    if ok:
        request.session[SESSION_KEY] = timezone.now().isoformat()
    return ok


def password_confirmed_at(request: HttpRequest) -> datetime | None:
    value = request.session.get(SESSION_KEY)
    return parse_datetime(value) if value else None
