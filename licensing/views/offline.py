"""Offline (proxy) activation pages: the organisation's queue, recording a Confirmation ID
(then the command to install it), cancelling, and the CILX file out and back in."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from licensing import policy
from licensing.forms.offline import ConfirmationForm, OfflineImportForm
from licensing.models import OfflineActivation, OfflineStatus
from licensing.scoping import get_scoped_or_404, resolve_organisation
from licensing.services import audit
from licensing.services.errors import DomainError
from licensing.services.offline import activation as offline
from licensing.views.inventory import run_cil_upload

PAGE_SIZE = 200


@login_required
def offline_list(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    policy.require(request.user, policy.Action.VIEW, org)
    base = OfflineActivation.objects.for_organisation(org).select_related("client", "mak_key")
    pending = list(
        base.filter(status=OfflineStatus.PENDING).order_by("requested_at", "id")[:PAGE_SIZE]
    )
    done = list(base.exclude(status=OfflineStatus.PENDING).order_by("-id")[:50])
    return render(
        request,
        "licensing/offline/list.html",
        {
            "pending": [(item, ConfirmationForm(item_id=item.pk)) for item in pending],
            "done": done,
            "import_form": OfflineImportForm(),
            "can_manage": policy.allowed(request.user, policy.Action.MANAGE_KEYS, org),
        },
    )


@login_required
@require_POST
def offline_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_scoped_or_404(
        request,
        OfflineActivation.objects.select_related("client"),
        policy.Action.MANAGE_KEYS,
        pk=pk,
    )
    form = ConfirmationForm(request.POST, item_id=item.pk)
    if not form.is_valid():
        messages.error(request, _("Enter the Confirmation ID."))
        return redirect("licensing:offline_list")
    try:
        item, warning = offline.record_confirmation(
            actor=request.user,
            item=item,
            confirmation_id=form.cleaned_data["confirmation_id"],
            ip_address=audit.client_ip(request),
        )
    except DomainError as exc:
        messages.error(
            request, _("%(hostname)s: %(error)s") % {"hostname": item.client.hostname, "error": exc}
        )
        return redirect("licensing:offline_list")
    if warning:
        messages.warning(request, warning)
    messages.success(
        request,
        _(
            "Confirmation ID recorded for %(hostname)s; one activation of MAK key %(key)s used. "
            "On the client run: %(command)s"
        )
        % {
            "hostname": item.client.hostname,
            "key": item.mak_key.masked if item.mak_key else "",
            "command": item.command,
        },
    )
    return redirect("licensing:offline_list")


@login_required
@require_POST
def offline_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_scoped_or_404(
        request,
        OfflineActivation.objects.select_related("client"),
        policy.Action.MANAGE_KEYS,
        pk=pk,
    )
    try:
        offline.cancel(actor=request.user, item=item, ip_address=audit.client_ip(request))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Offline activation of %(hostname)s cancelled.") % {"hostname": item.client.hostname},
        )
    return redirect("licensing:offline_list")


@login_required
def offline_export(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    body = offline.export_cilx(
        actor=request.user, organisation=org, ip_address=audit.client_ip(request)
    )
    response = HttpResponse(body, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="offline-activations-{org.slug}.cilx"'
    return response


@login_required
@require_POST
def offline_import(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    policy.require(request.user, policy.Action.MANAGE_KEYS, org)
    form = OfflineImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose the CILX file to import."))
        return redirect("licensing:offline_list")
    run_cil_upload(request, form, org)
    return redirect("licensing:offline_list")
