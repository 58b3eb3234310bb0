from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from licensing import policy
from licensing.models import ApiToken, TokenScope
from licensing.scoping import current_organisation, get_scoped_or_404
from licensing.services import audit
from licensing.services.errors import DomainError
from licensing.services.tokens import create_api_token, revoke_api_token


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="Where the token is used, e.g. 'nightly CSV export'."
    )
    scope = forms.ChoiceField(
        choices=[
            (TokenScope.USER, TokenScope.USER.label),
            (TokenScope.AGENT, TokenScope.AGENT.label),
        ]
    )
    days = forms.IntegerField(
        min_value=1, max_value=settings.API_TOKEN_MAX_DAYS, initial=settings.API_TOKEN_DEFAULT_DAYS
    )


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    org = current_organisation(request)
    policy.require(request.user, policy.Action.USE_API_TOKENS, org)
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            token, created = create_api_token(
                actor=request.user,
                organisation=org,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                days=form.cleaned_data["days"],
                ip_address=audit.client_ip(request),
            )
        except DomainError as exc:
            exc.apply_to_form(form)
        except policy.PermissionDenied as exc:
            form.add_error("scope", str(exc))
        else:
            messages.success(
                request, f"Token “{token.name}” created. Copy it now: it is not shown again."
            )
            form = TokenForm()
    mine = ApiToken.objects.for_organisation(org).filter(user=request.user)
    shared = (
        ApiToken.objects.for_organisation(org)
        .exclude(scope=TokenScope.USER)
        .select_related("kms_host")
        if policy.allowed(request.user, policy.Action.MANAGE_CLIENTS, org)
        else ApiToken.objects.none()
    )
    return render(
        request,
        "licensing/tokens.html",
        {"form": form, "created": created, "mine": mine, "shared": shared},
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_scoped_or_404(request, ApiToken.objects.all(), pk=pk)
    revoke_api_token(actor=request.user, token=token, ip_address=audit.client_ip(request))
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("licensing:token_list")
