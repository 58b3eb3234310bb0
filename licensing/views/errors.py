"""The page of an unexpected error (handler500): the portal's own layout with its navigation.
The header needs the database (organisations, role); if that fails too, the same page without it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.csrf import requires_csrf_token


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    try:
        return render(request, "500.html", status=500)
    except Exception:  # the header's own queries failed: the bare page, never a second 500 trace
        return HttpResponseServerError(render_to_string("500_bare.html"))
