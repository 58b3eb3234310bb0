"""Reports: every ready-made CSV of the organisation on one page, each a link to its export."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from licensing import policy
from licensing.scoping import resolve_organisation
from licensing.views.home import no_organisation_page


@login_required
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    if (choose := no_organisation_page(request)) is not None:
        return choose
    org = resolve_organisation(request, policy.Action.EXPORT)
    assert org is not None
    clients = reverse("licensing:client_export")
    o = f"organisation={org.slug}"
    ready = [
        (
            _("Clients outside the renewal window"),
            _("KMS clients whose 180-day activation has lapsed (flag: expired)."),
            f"{clients}?{o}&compliance_flag=expired&sort=deadline",
        ),
        (
            _("Clients near the end of the renewal window"),
            _("KMS clients with fewer than %(days)s days of activation left (flag: at risk).")
            % {"days": org.at_risk_days},
            f"{clients}?{o}&compliance_flag=at_risk&sort=deadline",
        ),
        (
            _("Never activated, past their grace"),
            _("Clients that never activated and whose 30-day install grace has ended."),
            f"{clients}?{o}&never_activated=true&past_deadline=true&sort=deadline",
        ),
        (
            _("All clients"),
            _("Every client of the organisation with its licence state and flag."),
            f"{clients}?{o}",
        ),
    ]
    for title, text, name in (
        (
            _("MAK usage per pool"),
            _("Activations used, limit and remaining per MAK pool."),
            "licensing:pool_export",
        ),
        (
            _("KMS host status"),
            _("Each KMS host's state, count and last poll."),
            "licensing:host_export",
        ),
        (
            _("Activation requests"),
            _("Requests for extra MAK activations and their decisions."),
            "licensing:request_export",
        ),
        (
            _("MAK activation ledger"),
            _("Every activation recorded against a MAK: key (last five), client, reason, when."),
            "licensing:activation_export",
        ),
        (
            _("Unregistered KMS hosts (DNS findings)"),
            _("SRV records pointing at KMS hosts the portal does not know, open and resolved."),
            "licensing:finding_export",
        ),
        (
            _("Import history"),
            _("Every inventory import with its counts."),
            "licensing:import_export",
        ),
        (
            _("Office editions"),
            _("The edition catalogue with Microsoft's public KMS client keys (GVLKs)."),
            "licensing:edition_export",
        ),
    ):
        ready.append((title, text, f"{reverse(name)}?{o}"))
    if policy.allowed(request.user, policy.Action.VIEW_AUDIT, org):
        ready.append(
            (
                _("Audit log"),
                _("Who did what and when, including every export."),
                f"{reverse('licensing:audit_export')}?{o}",
            )
        )
    example = request.build_absolute_uri(ready[0][2])
    return render(
        request,
        "licensing/reports.html",
        {"org": org, "ready": ready, "curl_url": example},
    )
