"""The organisation settings page: its admins edit the at-risk days."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from licensing import policy
from licensing.forms.organisation import OrganisationSettingsForm
from licensing.scoping import resolve_organisation
from licensing.services import audit
from licensing.services.errors import DomainError
from licensing.services.organisation import update_organisation_settings


@login_required
def organisation_settings(request: HttpRequest) -> HttpResponse:
    # `?organisation=<slug>` of an organisation the user is not in: 404; not an admin: 403.
    org = resolve_organisation(request, policy.Action.MANAGE_ORGANISATION)
    form = OrganisationSettingsForm(
        request.POST or None,
        initial={
            "at_risk_days": org.at_risk_days,
            "stale_after_days": org.stale_after_days,
            "language": org.language,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            change = update_organisation_settings(
                actor=request.user,
                organisation=org,
                at_risk_days=form.cleaned_data["at_risk_days"],
                stale_after_days=form.cleaned_data["stale_after_days"],
                language=form.cleaned_data["language"] or None,
                ip_address=audit.client_ip(request),
            )
        except DomainError as exc:
            exc.apply_to_form(form)
        else:
            if change.changed and change.sweep is None and not change.queued:
                messages.success(request, _("Saved."))
            elif not change.changed:
                messages.info(request, _("Nothing changed."))
            elif change.queued:
                messages.success(
                    request,
                    _(
                        "Saved. This organisation's clients are being re-flagged in the "
                        "background; the client list shows the new flags within a few minutes."
                    ),
                )
            else:
                messages.success(
                    request,
                    _(
                        "Saved and applied at once. Clients whose flag changed: %(flagged)s; "
                        "with a new flag, deadline or recheck time: %(changed)s."
                    )
                    % {
                        "flagged": intcomma(change.sweep.flagged),
                        "changed": intcomma(change.sweep.changed),
                    },
                )
            return redirect(request.get_full_path())
    return render(
        request, "licensing/organisation_settings.html", {"form": form, "organisation": org}
    )
