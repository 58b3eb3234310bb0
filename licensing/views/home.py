from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from licensing.models import Organisation
from licensing.scoping import SESSION_KEY

# Parameters that belong to the organisation being left: its slug, and a page cursor into its rows.
_STALE_AFTER_SWITCH = ("organisation", "cursor")


def _without_stale_parameters(target: str) -> str:
    parts = urlsplit(target)
    query = QueryDict(parts.query, mutable=True)
    for name in _STALE_AFTER_SWITCH:
        query.pop(name, None)
    return urlunsplit(parts._replace(query=urlencode(list(query.lists()), doseq=True)))


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
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    if org is not None:
        request.session[SESSION_KEY] = org.pk
        target = _without_stale_parameters(target)
    return redirect(target)
