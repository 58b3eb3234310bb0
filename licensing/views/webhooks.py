"""Webhook destinations of an organisation (admins) and a person's e-mail choices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from licensing import policy
from licensing.forms.webhooks import (
    NotificationChoicesForm,
    WebhookDestinationEditForm,
    WebhookDestinationForm,
)
from licensing.models import WebhookDestination
from licensing.scoping import get_scoped_or_404, resolve_organisation
from licensing.services import audit, notify, webhooks
from licensing.services.errors import DomainError


@login_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.MANAGE_ORGANISATION)
    form = WebhookDestinationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = webhooks.create_destination(
                actor=request.user,
                organisation=org,
                ip_address=audit.client_ip(request),
                **form.cleaned_data,
            )
        except DomainError as exc:
            exc.apply_to_form(form)
        else:
            messages.success(
                request, _("Destination “%(name)s” added.") % {"name": created.destination.name}
            )
            if created.secret:
                # Shown once, like an API token; only its ciphertext is stored.
                return render(
                    request,
                    "licensing/webhooks/secret_once.html",
                    {
                        "organisation": org,
                        "destination": created.destination,
                        "secret": created.secret,
                    },
                )
            return redirect("licensing:webhook_detail", pk=created.destination.pk)
    return render(
        request,
        "licensing/webhooks/webhook_list.html",
        {
            "organisation": org,
            "form": form,
            "destinations": WebhookDestination.objects.for_organisation(org).order_by("name"),
            "deliveries": webhooks.recent_deliveries(org),
            "events": notify.EVENTS,
        },
    )


def _destination(request: HttpRequest, pk: int) -> WebhookDestination:
    return get_scoped_or_404(
        request,
        WebhookDestination.objects.select_related("organisation"),
        policy.Action.MANAGE_ORGANISATION,
        pk=pk,
    )


@login_required
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dest = _destination(request, pk)
    form = WebhookDestinationEditForm(
        request.POST or None, initial={"events": dest.events, "enabled": dest.enabled}
    )
    if request.method == "POST" and form.is_valid():
        try:
            webhooks.update_destination(
                actor=request.user,
                destination=dest,
                ip_address=audit.client_ip(request),
                **form.cleaned_data,
            )
        except DomainError as exc:
            exc.apply_to_form(form)
        else:
            messages.success(request, _("Saved."))
            return redirect("licensing:webhook_detail", pk=dest.pk)
    return render(
        request,
        "licensing/webhooks/webhook_detail.html",
        {
            "organisation": dest.organisation,
            "destination": dest,
            "form": form,
            "deliveries": webhooks.recent_deliveries(dest.organisation, destination=dest),
            "events": notify.EVENTS,
        },
    )


@login_required
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    dest = _destination(request, pk)
    webhooks.send_test(actor=request.user, destination=dest, ip_address=audit.client_ip(request))
    messages.info(
        request,
        _("Test message queued. Its delivery appears below within seconds (reload the page)."),
    )
    return redirect("licensing:webhook_detail", pk=dest.pk)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    dest = _destination(request, pk)
    webhooks.delete_destination(
        actor=request.user, destination=dest, ip_address=audit.client_ip(request)
    )
    messages.success(request, _("Destination “%(name)s” deleted.") % {"name": dest.name})
    return redirect("licensing:webhook_list")


@login_required
def notification_choices(request: HttpRequest) -> HttpResponse:
    """Which events e-mail me (per person, in every organisation)."""
    muted = set(webhooks.muted_events(request.user))
    form = NotificationChoicesForm(
        request.POST or None, initial={"email_events": [e for e in notify.EVENTS if e not in muted]}
    )
    if request.method == "POST" and form.is_valid():
        webhooks.set_email_choices(
            user=request.user, email_events=form.cleaned_data["email_events"]
        )
        messages.success(request, _("Saved."))
        return redirect("licensing:notification_choices")
    return render(request, "licensing/webhooks/notification_choices.html", {"form": form})
