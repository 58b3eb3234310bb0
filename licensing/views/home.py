from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from licensing.models import Organisation
from licensing.scoping import SESSION_KEY


def no_organisation_page(request: HttpRequest) -> HttpResponse | None:
    """The "choose an organisation" page, when a page of one organisation is asked for without
    one (none in the URL, none in the session); None when there is one."""
    if request.GET.get("organisation") or getattr(request, "organisation", None):
        return None
    return render(request, "licensing/no_organisation.html")


# How many organisations the chooser lists at once; a longer list is narrowed by typing its name.
CHOOSER_ROWS = 50

# Parameters that belong to the organisation being left: its slug, and a page cursor into its rows.
_STALE_AFTER_SWITCH = ("organisation", "cursor")


def _without_stale_parameters(target: str) -> str:
    parts = urlsplit(target)
    query = QueryDict(parts.query, mutable=True)
    for name in _STALE_AFTER_SWITCH:
        query.pop(name, None)
    return urlunsplit(parts._replace(query=urlencode(list(query.lists()), doseq=True)))


def _safe_next(request: HttpRequest, target: str) -> str:
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    return target


@login_required
@require_GET
def choose_organisation(request: HttpRequest) -> HttpResponse:
    """The organisations the user may switch to, by name, narrowed by part of the name: the
    header links here instead of a select when there are more than the switcher lists
    (licensing/context_processors.py)."""
    q = request.GET.get("q", "").strip()[:100]
    organisations = Organisation.objects.for_user(request.user).named(q).order_by("name", "id")
    shown = list(organisations.only("id", "name", "slug")[: CHOOSER_ROWS + 1])
    return render(
        request,
        "licensing/organisation_choose.html",
        {
            "organisations": shown[:CHOOSER_ROWS],
            "more": len(shown) > CHOOSER_ROWS,
            "rows": CHOOSER_ROWS,
            "q": q,
            "next": _safe_next(request, request.GET.get("next") or "/"),
        },
    )


@login_required
@require_POST
def switch_organisation(request: HttpRequest) -> HttpResponse:
    """Remember which organisation the user works in, and go back to the same page in it (an
    `?organisation=` left in the address would keep showing the old one). Unknown ids are
    ignored (no hint)."""
    chosen = request.POST.get("organisation", "")
    org = (
        Organisation.objects.for_user(request.user).filter(pk=int(chosen)).first()
        if chosen.isascii() and chosen.isdigit()
        else None
    )
    target = _safe_next(request, request.POST.get("next") or "/")
    if org is not None:
        request.session[SESSION_KEY] = org.pk
        target = _without_stale_parameters(target)
    return redirect(target)
