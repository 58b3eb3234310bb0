"""The HTTP side of every CSV export: `export_response` audits the export and streams the rows
through the one COPY path of `licensing.exports` (its module doc lists the guarantees and shows
a typical export view); `token_aware` lets an export URL be called with an API token as well as
with a browser session."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.db import models
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    StreamingHttpResponse,
)
from django.utils import timezone
from rest_framework import exceptions as drf_exceptions

from licensing.api.authentication import ApiTokenAuthentication
from licensing.exports import ExportColumn, as_columns, copy_sql, stream_copy
from licensing.models import Organisation, TokenScope
from licensing.scoping import attach_organisation
from licensing.services import audit


def export_filename(organisation: Organisation | None, name: str) -> str:
    slug = organisation.slug if organisation is not None else "all-organisations"
    return f"{slug}-{name}-{timezone.now():%Y-%m-%d}.csv"


def export_response(
    request: HttpRequest,
    *,
    name: str,
    queryset: QuerySet,
    columns: Sequence[ExportColumn | tuple[str, Any]],
    organisation: Organisation | None,
    filters: dict[str, Any] | None = None,
    obj: models.Model | None = None,
) -> StreamingHttpResponse:
    """Audit the export, then stream `queryset` as CSV with `columns`. The queryset must
    already be scoped to `organisation` (or be a superuser's all-organisations queryset).
    `obj`: the one object the export belongs to (an import run's rejections), named in the
    audit entry and the filename."""
    statement, params = copy_sql(queryset, columns)
    if filters is None:
        filters = {
            k: v
            for k, v in request.GET.items()
            if k not in ("cursor", "per_page", "organisation") and v
        }
    token = getattr(request, "export_token", None)
    audit.record(
        action=f"export.{name}",
        actor=request.user,
        organisation=organisation,
        obj=obj,
        changes={"filters": filters, "columns": [c.header for c in as_columns(columns)]},
        ip_address=audit.client_ip(request),
        label=(
            f"{request.user.get_username()} (token {token.prefix}…)" if token is not None else None
        ),
    )
    response = StreamingHttpResponse(
        stream_copy(statement, params, using=queryset.db), content_type="text/csv; charset=utf-8"
    )
    filename = export_filename(organisation, name if obj is None else f"{name}-{obj.pk}")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- authentication and organisation for export URLs -------------------------------------------


def token_aware(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let a page-area view (an export) be called with `Authorization: Bearer <token>` as well
    as with a browser session. A personal (user-scope) token acts as its owner, limited to the
    token's organisation; agent and reporter tokens can export nothing (404). Exports answer
    GET (and HEAD) only: any other method is 405, so the CSRF exemption a token request needs
    cannot let a cross-site form post read an export with the victim's session."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        auth = ApiTokenAuthentication()
        try:
            result = auth.authenticate(request)
        except drf_exceptions.AuthenticationFailed as exc:
            response = HttpResponse(
                f"{exc.detail}\n", status=401, content_type="text/plain; charset=utf-8"
            )
            response["WWW-Authenticate"] = auth.authenticate_header(request)
            return response
        if result is not None:
            user, token = result
            if token.scope != TokenScope.USER:
                raise Http404("Not found.")
            request.user = user
            request.export_token = token  # type: ignore[attr-defined]
            attach_organisation(request)  # now the token's: the resolver's rule 2
        elif not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    # A token request is not a browser form post: CSRF does not apply (GET only anyway).
    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper
