from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from licensing import policy
from licensing.middleware import SESSION_KEY
from licensing.models import Client, ComplianceFlag, KmsHost, MakPool, Organisation


@login_required
def home(request: HttpRequest) -> HttpResponse:
    org = request.organisation  # type: ignore[attr-defined]
    if not org:
        return render(request, "licensing/no_organisation.html", status=200)
    policy.require(request.user, policy.Action.VIEW, org)
    by_flag = dict(
        Client.objects.for_organisation(org)
        .values_list("compliance_flag")
        .annotate(n=Count("id"))
        .order_by()
    )
    flags = [(value, label, by_flag.get(value, 0)) for value, label in ComplianceFlag.choices]
    return render(
        request,
        "licensing/home.html",
        {
            "flags": flags,
            "client_total": sum(by_flag.values()),
            "pool_count": MakPool.objects.for_organisation(org).count(),
            "host_count": KmsHost.objects.for_organisation(org)
            .filter(retired_at__isnull=True)
            .count(),
        },
    )


@login_required
@require_POST
def switch_organisation(request: HttpRequest) -> HttpResponse:
    """Remember which organisation the user works in. Unknown ids are ignored (no hint)."""
    org = (
        Organisation.objects.for_user(request.user)
        .filter(pk=request.POST.get("organisation"))
        .first()
    )
    if org is not None:
        request.session[SESSION_KEY] = org.pk
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    return redirect(target)
