"""The one answer to "is this an htmx partial?": the same URL returns the whole page, or only
one `{% partialdef %}` block of it (rendered as "page.html#block") when htmx asks for a piece.

Every response whose body depends on the HX-Request header carries `Vary: HX-Request`, so a
browser or proxy cache never hands the fragment to a full page load (or the reverse).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx swap asks for a piece of the page; a boosted link and a history restore (the back
    button after hx-push-url, when htmx's own cache has no copy) want the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def vary_on_htmx(response: HttpResponseBase) -> HttpResponseBase:
    patch_vary_headers(response, ["HX-Request"])
    return response


def render_page_or_partial(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None,
    status: int = 200,
) -> HttpResponse:
    """Render `template`, or only its `partial` block for an htmx swap (`partial=None`: this
    request never gets a fragment, e.g. a query parameter says which piece it wants)."""
    name = f"{template}#{partial}" if partial and wants_fragment(request) else template
    response = render(request, name, context, status=status)
    vary_on_htmx(response)
    return response
