"""Sign-in pages of the portal around django-allauth's: the account's security overview (recent
sign-ins), the confirmation before a secret is shown, and an organisation's sign-in settings
(require 2FA, group mapping)."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from licensing import policy
from licensing.forms.signin import (
    ConfirmPasswordForm,
    GroupMappingForm,
    LanguageForm,
    RequireSecondFactorForm,
    SecondFactorConfirmForm,
)
from licensing.models import AuditEvent, GroupMapping
from licensing.scoping import resolve_organisation
from licensing.services import audit, language, reauth
from licensing.services.errors import DomainError
from licensing.services.signin import events, second_factor
from licensing.services.signin import settings as signin_settings

RECENT_SIGN_INS = 20


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return _account_page(
        request, LanguageForm(initial={"language": language.chosen_by(request.user)})
    )


def _account_page(
    request: HttpRequest, language_form: LanguageForm, status: int = 200
) -> HttpResponse:
    user = request.user
    recent = AuditEvent.objects.filter(actor=user, action__in=events.SIGN_IN_ACTIONS)[
        :RECENT_SIGN_INS
    ]
    failed = AuditEvent.objects.filter(
        actor__isnull=True,
        action=events.SIGN_IN_FAILED,
        actor_label=f"anonymous:{user.get_username()}",
    )[:RECENT_SIGN_INS]
    kinds = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    context = {
        "recent": recent,
        "failed": failed,
        "has_password": user.has_usable_password(),
        "mfa_enabled": is_mfa_enabled(user),
        "authenticator_kinds": sorted(kinds),
        "methods": second_factor.methods(request),
        "multi_factor_session": second_factor.session_is_multi_factor(request),
        "requiring": second_factor.organisations_requiring(user),
        "language_form": language_form,
    }
    response = render(request, "licensing/signin/account.html", context, status=status)
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def account_language(request: HttpRequest) -> HttpResponse:
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return _account_page(request, form, status=400)
    language.choose(request, form.cleaned_data["language"])
    messages.success(request, _("Language saved."))
    return redirect("licensing:account")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or reverse("licensing:pool_list")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("licensing:pool_list")
    return target


@login_required
def confirm(request: HttpRequest) -> HttpResponse:
    """Confirm before a sensitive act (valid SECRET_REVEAL_REAUTH_SECONDS): the password, a code
    of one's authenticator app or a recovery code, or a fresh single sign-on."""
    target = _safe_next(request)
    user = request.user
    password_form = ConfirmPasswordForm(
        request.POST if "password" in request.POST else None, prefix=None
    )
    code_form = SecondFactorConfirmForm(request.POST if "code" in request.POST else None)
    if request.method == "POST":
        if "code" in request.POST and code_form.is_valid():
            if reauth.confirm_second_factor(request, code_form.cleaned_data["code"]):
                return redirect(target)
            code_form.add_error("code", _("That code is not valid (or was used already)."))
        elif "password" in request.POST and password_form.is_valid():
            if reauth.confirm_password(request, password_form.cleaned_data["password"]):
                return redirect(target)
            password_form.add_error("password", _("That is not your password."))
    has_code = Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
    ).exists()
    response = render(
        request,
        "licensing/signin/confirm.html",
        {
            "password_form": password_form if user.has_usable_password() else None,
            "code_form": code_form if has_code else None,
            "sso": second_factor.signed_in_with_sso(request),
            "next": target,
        },
    )
    add_never_cache_headers(response)
    return response


def refuse_without_second_factor(request: HttpRequest) -> HttpResponse | None:
    """For the views that reveal a key or approve an activation: a redirect with the reason
    when this session has no second factor, else None."""
    if second_factor.secrets_allowed(request):
        return None
    if Authenticator.objects.filter(
        user=request.user,
        type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES],
    ).exists():
        # A second factor exists but this session has not used it: confirm with a code.
        back = (
            request.get_full_path()
            if request.method == "GET"
            else request.META.get("HTTP_REFERER", "")
        )
        messages.warning(request, _("Confirm with a code from your authenticator app."))
        target = reverse("licensing:password_confirm") + "?" + urlencode({"next": back or "/"})
    else:
        messages.error(request, second_factor.secrets_refusal(request))
        target = reverse("licensing:account")
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(target)
    return redirect(target)


@login_required
def sign_in_settings(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.MANAGE_ORGANISATION)
    require_form = RequireSecondFactorForm(
        request.POST if request.POST.get("form") == "require" else None,
        initial={"require_2fa": org.require_2fa},
    )
    mapping_form = GroupMappingForm(request.POST if request.POST.get("form") == "mapping" else None)
    ip = audit.client_ip(request)
    if request.method == "POST":
        if request.POST.get("form") == "require" and require_form.is_valid():
            changed = signin_settings.set_require_2fa(
                actor=request.user,
                organisation=org,
                required=require_form.cleaned_data["require_2fa"],
                ip_address=ip,
            )
            messages.success(request, _("Saved.") if changed else _("Nothing changed."))
            return redirect(request.get_full_path())
        if request.POST.get("form") == "mapping" and mapping_form.is_valid():
            try:
                signin_settings.add_group_mapping(
                    actor=request.user, organisation=org, ip_address=ip, **mapping_form.cleaned_data
                )
            except DomainError as exc:
                exc.apply_to_form(mapping_form)
            else:
                messages.success(
                    request, _("Group mapped. It applies at each member's next sign-in.")
                )
                return redirect(request.get_full_path())
    mappings = GroupMapping.objects.filter(organisation=org)
    return render(
        request,
        "licensing/signin/settings.html",
        {
            "organisation": org,
            "require_form": require_form,
            "mapping_form": mapping_form,
            "mappings": mappings,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def group_mapping_remove(request: HttpRequest, pk: int) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.MANAGE_ORGANISATION)
    mapping = get_object_or_404(GroupMapping, pk=pk, organisation=org)
    signin_settings.remove_group_mapping(
        actor=request.user, mapping=mapping, ip_address=audit.client_ip(request)
    )
    messages.success(
        request, _("Mapping removed. Memberships it gave end at each member's next sign-in.")
    )
    return redirect("licensing:sign_in_settings")
