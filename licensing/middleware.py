import logging
from collections.abc import Callable
from functools import partial

import psycopg
from django import db
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject

from licensing.scoping import organisation_or_none


def attach_organisation(request: HttpRequest) -> None:
    """Set `request.organisation` (lazily) from the one resolver, so the header, the switcher
    and the page agree, `?organisation=` included; None where the resolver would answer 404."""
    request.organisation = SimpleLazyObject(partial(organisation_or_none, request))  # type: ignore[attr-defined]


class CurrentOrganisationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        attach_organisation(request)
        return self.get_response(request)


# --- Database outages -----------------------------------------------------------------------

log = logging.getLogger(__name__)

# What a request meets when PostgreSQL is down or restarting: Django's wrapped errors, and
# psycopg's own (a pool timeout is a psycopg OperationalError) where they escape unwrapped.
DATABASE_UNAVAILABLE_ERRORS = (
    db.OperationalError,
    db.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


class DatabaseUnavailableMiddleware:
    """A view that cannot reach the database answers 503 with Retry-After (JSON under /api/),
    never a 500: nothing was written, and the same request can simply be sent again."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
            return None
        # The class and first line only: psycopg names the server, never the password.
        log.warning(
            "database unavailable, answering 503 to %s %s: %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
            str(exception).splitlines()[0] if str(exception) else "",
        )
        detail = "The database is unavailable. Try again shortly."
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": detail, "code": "database_unavailable"}, status=503)
        else:
            # Rendered without the request: context processors would query the database again.
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
        return response


# --- Error pages --------------------------------------------------------------------------------

error_log = logging.getLogger("licensing.errors")


class ErrorPagesMiddleware:
    """Pages answer a 404 or 403 with the portal's own page (header, menu and organisation
    switcher included) in every mode, DEBUG too: Django's debug 404 has no way back. A 403 is
    logged as one line (who, what, why), never a traceback. The API keeps its own JSON errors."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.urls import Resolver404, resolve

        if not request.path.startswith("/api/"):
            try:
                resolve(request.path_info)
            except Resolver404 as exc:
                # No URL matches: Django would answer before any view middleware runs.
                return self.process_exception(request, exc) or self.get_response(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.core.exceptions import PermissionDenied
        from django.http import Http404
        from django.shortcuts import render

        if request.path.startswith("/api/"):
            return None
        if isinstance(exception, Http404):
            return render(request, "404.html", {"exception": _public_reason(exception)}, status=404)
        if isinstance(exception, PermissionDenied):
            user = getattr(request, "user", None)
            error_log.warning(
                "forbidden: %s %s user=%s: %s",
                request.method,
                request.path,
                user.get_username() if user is not None and user.is_authenticated else "-",
                _public_reason(exception) or "not allowed",
            )
            response = render(
                request, "403.html", {"exception": _public_reason(exception)}, status=403
            )
            response._has_been_logged = True  # type: ignore[attr-defined]  # one line is enough
            return response
        return None


def _public_reason(exception: Exception) -> str:
    """The message a 404 or 403 was raised with, one line; Django's resolver messages (a dict
    of tried patterns) are not for people."""
    reason = exception.args[0] if exception.args else ""
    return reason.splitlines()[0] if isinstance(reason, str) and reason else ""
