from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from licensing.middleware import SESSION_KEY
from licensing.models import Organisation


@login_required
@require_POST
def switch_organisation(request: HttpRequest) -> HttpResponse:
    """Remember which organisation the user works in. Unknown ids are ignored (no hint)."""
    chosen = request.POST.get("organisation", "")
    org = (
        Organisation.objects.for_user(request.user).filter(pk=int(chosen)).first()
        if chosen.isascii() and chosen.isdigit()
        else None
    )
    if org is not None:
        request.session[SESSION_KEY] = org.pk
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    return redirect(target)
