from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from licensing import policy
from licensing.forms.tokens import TokenForm
from licensing.models import ApiToken, TokenScope
from licensing.scoping import get_scoped_or_404, resolve_organisation
from licensing.services import audit
from licensing.services.agent import install_command, script_text
from licensing.services.errors import DomainError
from licensing.services.tokens import create_api_token, revoke_api_token


@never_cache  # shows a new token once: Cache-Control: no-store
@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    policy.require(request.user, policy.Action.USE_API_TOKENS, org)
    form = TokenForm(request.POST or None)
    created = None
    created_scope = None
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
                request,
                _("Token “%(name)s” created. Copy it now: it is not shown again.")
                % {"name": token.name},
            )
            created_scope = token.scope
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
        {
            "form": form,
            "created": created,
            "mine": mine,
            "shared": shared,
            # The agent's install one-liner: with the new agent token when one was just made.
            "agent_command": install_command(
                request.build_absolute_uri("/"),
                created if created and created_scope == TokenScope.AGENT else _("<agent token>"),
            ),
            "agent_command_has_token": bool(created and created_scope == TokenScope.AGENT),
        },
    )


def agent_script(request: HttpRequest) -> HttpResponse:
    """The PowerShell agent itself (no secrets in it): anyone may download it."""
    response = HttpResponse(script_text(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="vlp-agent.ps1"'
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_scoped_or_404(request, ApiToken.objects.all(), pk=pk)
    revoke_api_token(actor=request.user, token=token, ip_address=audit.client_ip(request))
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("licensing:token_list")
