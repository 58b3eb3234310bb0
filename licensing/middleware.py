import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from django import db
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.functional import SimpleLazyObject, empty

from licensing.scoping import attach_organisation
from licensing.services import language, metrics
from portal import observability, replica


class PortalLocaleMiddleware(LocaleMiddleware):
    """Django's locale middleware with the portal's choice of language
    (licensing.services.language.for_request): the person's choice, then the browser; English
    for the API and CSV exports. Adds Content-Language and Vary: Accept-Language."""

    def process_request(self, request: HttpRequest) -> None:
        code = language.for_request(request)
        translation.activate(code)
        request.LANGUAGE_CODE = translation.get_language()


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


# --- Two-factor authentication required by an organisation -----------------------------------


class RequireSecondFactorMiddleware:
    """A member of an organisation that requires two-factor authentication, without a second
    factor yet, sees only the pages that set one up (and sign-out) until they have one."""

    ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz", "/readyz", "/api/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from licensing.services.signin import second_factor

        try:
            stop = not request.path.startswith(self.ALLOWED_PREFIXES) and (
                second_factor.must_set_up(request)
            )
        except DATABASE_UNAVAILABLE_ERRORS:
            # The database is down: let the view meet it and answer 503 (never a 500 here).
            stop = False
        if stop:
            from django.contrib import messages
            from django.shortcuts import redirect

            names = ", ".join(second_factor.organisations_requiring(request.user))
            messages.warning(
                request,
                f"{names} requires two-factor authentication: set up an authenticator app "
                "or a passkey to continue.",
            )
            return redirect("mfa_index")
        return self.get_response(request)


class IdentityProviderUnavailableMiddleware:
    """Single sign-on: the identity provider did not answer (down, refused, timed out, an error
    page): a 503 page that says so and offers the other ways in, never a 500. Logged with the
    error's class only (a request to the token endpoint carries the client secret)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        import requests
        from django.shortcuts import render

        if not request.path.startswith("/accounts/") or not isinstance(
            exception, requests.RequestException
        ):
            return None
        log.warning(
            "identity provider unreachable during %s: %s", request.path, type(exception).__name__
        )
        response = render(request, "licensing/signin/provider_unavailable.html", status=503)
        response["Retry-After"] = "60"
        return response


# --- Request id, metrics and the request log line -------------------------------------------

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
request_log = logging.getLogger("portal.request")


def _loaded_user(request: HttpRequest) -> Any:
    """The user if authentication already ran for this request (never a query of its own)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _loaded_organisation(request: HttpRequest) -> Any:
    org = request.__dict__.get("organisation")
    if isinstance(org, SimpleLazyObject):
        org = None if org._wrapped is empty else org._wrapped
    return org


class RequestObservabilityMiddleware:
    """Outermost: gives each request an id (a sane incoming `X-Request-ID` from the proxy, or a
    new one; echoed in the response), times it for /metrics by URL name, and, with
    LOG_REQUESTS, logs one line: request id, method, path (no query string), URL name, status,
    user, organisation, duration."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = observability.current_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            observability.current_id.reset(token)
        seconds = time.perf_counter() - started
        match = request.resolver_match
        view = (match.view_name or "unnamed") if match else "unresolved"
        metrics.observe_request(view, request.method or "", response.status_code, seconds)
        response["X-Request-ID"] = request_id
        if settings.LOG_REQUESTS:
            user = _loaded_user(request)
            org = _loaded_organisation(request)
            request_log.info(
                "%s %s %s %.1f ms",
                request.method,
                request.path,
                response.status_code,
                seconds * 1000,
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "view": view,
                    "status": response.status_code,
                    "user": user.get_username() if user else None,
                    "organisation": getattr(org, "slug", None),
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
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


# --- Read replica -----------------------------------------------------------------------------


class ReplicaMiddleware:
    """Sends the lag-tolerant reads of eligible views to the replica, pins a session that wrote
    to the primary until the replica has caught up (portal/replica.py). Does nothing without
    REPLICA_DATABASE_URL."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica.enabled():
            return self.get_response(request)
        try:
            response = self.get_response(request)
        finally:
            token = getattr(request, "_replica_token", None)
            if token is not None:
                replica.use_replica.reset(token)
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            replica.pin_session(request)
        return response

    def process_view(self, request: HttpRequest, *args: Any) -> None:
        if replica.enabled() and replica.eligible(request) and replica.choose_replica(request):
            request._replica_token = replica.use_replica.set(True)  # type: ignore[attr-defined]
        return None
