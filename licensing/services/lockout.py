"""The login lockout (django-axes, `AXES_HANDLER`): axes locks a username+address pair after
AXES_FAILURE_LIMIT failures; this handler adds a per-address rate limit, so that one address
(the client's, through `audit.client_ip` and TRUSTED_PROXIES) guessing many user names is
refused for the cool-off after LOGIN_ADDRESS_FAILURE_LIMIT failures. A stranger can thus lock
out only their own address, never a named user signing in from elsewhere."""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

from licensing.services.audit import client_ip


def address_failures(request: Any) -> int:
    address = client_ip(request)
    if not address:
        return 0
    attempts = AccessAttempt.objects.filter(
        ip_address=address, attempt_time__gte=get_cool_off_threshold(request)
    )
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


class AddressLimitedAxesHandler(AxesDatabaseHandler):
    def is_locked(self, request: Any, credentials: dict | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        return address_failures(request) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT

    def user_login_failed(self, sender: Any, credentials: dict, request: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        # axes flags the request (429 from its middleware) by the username+address count only.
        if (
            request is not None
            and not getattr(request, "axes_locked_out", False)
            and address_failures(request) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT
        ):
            request.axes_locked_out = True
            request.axes_credentials = credentials
