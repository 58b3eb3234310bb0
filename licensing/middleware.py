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
