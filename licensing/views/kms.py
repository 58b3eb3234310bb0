"""KMS host pages: list (keyset), detail with poll history chart, add/edit/retire, poll now,
reporter tokens, audited host-key reveal, DNS settings and the status CSV export."""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from licensing import policy
from licensing.exports import ExportColumn, filter_errors, invalid_filter_response
from licensing.filters import KmsHostFilterSet
from licensing.forms.kms import (
    DnsSettingsForm,
    HostForm,
    HostKeyRevealForm,
    ReporterTokenForm,
    ReportUploadForm,
)
from licensing.models import (
    ApiToken,
    DnsFinding,
    HostPoll,
    HostState,
    HostStatusReport,
    KmsHost,
    Organisation,
    TokenScope,
)
from licensing.pagination import KeysetPaginator, SortKey
from licensing.scoping import get_scoped_or_404, resolve_organisation
from licensing.services import audit, reauth
from licensing.services.agent import install_command
from licensing.services.errors import DomainError
from licensing.services.kms import discovery, hosts, polling, reasons, reports
from licensing.services.tokens import create_api_token
from licensing.views import signin
from licensing.views.exports import export_response, token_aware
from licensing.views.htmx import render_page_or_partial, vary_on_htmx, wants_fragment
from licensing.views.kms_chart import count_chart

HOST_SORTS = {
    "fqdn": SortKey("fqdn", label=gettext_lazy("Host")),
    "state": SortKey("state", label=pgettext_lazy("KMS host state", "State")),
    "count": SortKey(
        "current_count", nullable=True, label=pgettext_lazy("KMS activation count", "Count")
    ),
    "polled": SortKey("last_polled_at", nullable=True, label=gettext_lazy("Last poll")),
    "report": SortKey("last_report_at", nullable=True, label=gettext_lazy("Last report")),
}
PAGINATOR = KeysetPaginator(HOST_SORTS, default="fqdn", salt="kms_host_list")
CHART_POLLS = 300
HISTORY_ROWS = 10
# The poll history of a host page: newest first, HISTORY_ROWS a page (keyset, like every list).
poll_paginator = KeysetPaginator(
    {"polled": SortKey("polled_at", label=gettext_lazy("Polled"))},
    default="-polled",
    salt="host_polls",
    page_size=HISTORY_ROWS,
    count=True,
)


# --- list, export ------------------------------------------------------------------------


@login_required
def host_list(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    policy.require(request.user, policy.Action.VIEW, org)
    base = KmsHost.objects.for_organisation(org)
    data = request.GET.copy()
    if "retired" not in data:
        data["retired"] = "false"
    filterset = KmsHostFilterSet(data, queryset=base)
    errors = filter_errors(filterset)
    page = PAGINATOR.paginate(request, base.none() if errors else filterset.qs)
    context = {
        "filterset": filterset,
        "filter_errors": errors,
        "page": page,
        "states": HostState.choices,
        "findings": discovery.open_findings(org).order_by("domain", "target"),
        "missing": discovery.missing_hosts(org).order_by("fqdn"),
        "by_state": dict(
            base.filter(retired_at__isnull=True)
            .values_list("state")
            .annotate(n=Count("id"))
            .order_by()
        ),
        "organisation": org,
        "export_query": page.query_without_cursor,
    }
    return render_page_or_partial(
        request, "licensing/kms/host_list.html", context, partial="results"
    )


HOST_EXPORT_COLUMNS = [
    ExportColumn("host_id", "id"),
    ExportColumn("fqdn", "fqdn"),
    ExportColumn("port", "port"),
    ExportColumn("product_group", "product_group"),
    ExportColumn("state", "state"),
    ExportColumn("state_reason", "state_reason"),
    ExportColumn("state_changed_at", "state_changed_at"),
    ExportColumn("current_count", "current_count"),
    ExportColumn("activation_threshold", "activation_threshold"),
    ExportColumn("license_status", "license_status"),
    ExportColumn("published_in_dns", "srv_published"),
    ExportColumn("last_polled_at", "last_polled_at"),
    ExportColumn("last_report_at", "last_report_at"),
    ExportColumn("poll_interval_minutes", "poll_interval_minutes"),
    ExportColumn("host_key_last5", "host_key_last5"),
    ExportColumn("retired_at", "retired_at"),
]


@token_aware
def host_export(request: HttpRequest) -> HttpResponse:
    """KMS host status CSV (the reports page links here): the list's filters, no secrets."""
    org = resolve_organisation(request, policy.Action.EXPORT)
    data = request.GET.copy()
    if "retired" not in data:
        data["retired"] = "false"
    filterset = KmsHostFilterSet(data, queryset=KmsHost.objects.for_organisation(org))
    if (refused := invalid_filter_response(filterset)) is not None:
        return refused
    return export_response(
        request,
        name="kms-hosts",
        queryset=filterset.qs.order_by("fqdn", "id"),
        columns=HOST_EXPORT_COLUMNS,
        organisation=org,
    )


# --- create, edit, retire ----------------------------------------------------------------


@login_required
def host_create(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    policy.require(request.user, policy.Action.MANAGE_HOSTS, org)
    form = HostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            host = hosts.register_host(
                actor=request.user,
                organisation=org,
                ip_address=audit.client_ip(request),
                **form.cleaned_data,
            )
        except DomainError as exc:
            exc.apply_to_form(form)
        else:
            messages.success(
                request,
                _(
                    "%(fqdn)s added. It is polled within a minute; create a reporter token "
                    "below so it can post its status."
                )
                % {"fqdn": host.fqdn},
            )
            return redirect("licensing:host_detail", pk=host.pk)
    return render(request, "licensing/kms/host_form.html", {"form": form, "host": None})


@login_required
def host_edit(request: HttpRequest, pk: int) -> HttpResponse:
    host = get_scoped_or_404(request, KmsHost.objects.all(), policy.Action.MANAGE_HOSTS, pk=pk)
    if host.retired_at is not None:
        messages.error(request, _("This host is retired; retired hosts cannot be edited."))
        return redirect("licensing:host_detail", pk=host.pk)
    initial = {name: getattr(host, name) for name in hosts.EDITABLE}
    form = HostForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            hosts.update_host(
                actor=request.user,
                host=host,
                ip_address=audit.client_ip(request),
                host_key=data.pop("host_key"),
                **data,
            )
        except DomainError as exc:
            exc.apply_to_form(form)
        else:
            messages.success(request, _("Host saved."))
            return redirect("licensing:host_detail", pk=host.pk)
    return render(request, "licensing/kms/host_form.html", {"form": form, "host": host})


@login_required
@require_POST
def host_retire(request: HttpRequest, pk: int) -> HttpResponse:
    host = get_scoped_or_404(request, KmsHost.objects.all(), policy.Action.MANAGE_HOSTS, pk=pk)
    hosts.retire_host(actor=request.user, host=host, ip_address=audit.client_ip(request))
    messages.success(
        request,
        _("%(fqdn)s retired: no more polls, its reporter tokens are revoked.")
        % {"fqdn": host.fqdn},
    )
    return redirect("licensing:host_detail", pk=host.pk)


# --- detail ------------------------------------------------------------------------------


def _detail_context(request: HttpRequest, host: KmsHost, **extra: Any) -> dict[str, Any]:
    polls = list(HostPoll.objects.filter(host=host).select_related("report")[: max(CHART_POLLS, 1)])
    samples = [(p.polled_at, p.current_count) for p in reversed(polls)]
    report = polling.newest_report(host)
    last_rejected = (
        HostStatusReport.objects.filter(host=host, accepted=False)
        .order_by("-received_at", "-id")
        .first()
    )
    org = host.organisation
    api_url = request.build_absolute_uri(
        reverse("api:kms-host-status-report", kwargs={"pk": host.pk})
    )
    context = {
        "host": host,
        "chart": count_chart(samples, host.activation_threshold),
        "poll_page": (
            poll_page := poll_paginator.paginate(
                request, HostPoll.objects.filter(host=host).select_related("report")
            )
        ),
        "polls": poll_page.rows,
        "latest_poll": polls[0] if polls else None,
        "report": report,
        "last_rejected": last_rejected
        if last_rejected and (report is None or last_rejected.received_at > report.received_at)
        else None,
        "reports": HostStatusReport.objects.filter(host=host)
        .only("id", "received_at", "accepted", "error", "current_count", "submitted_by")
        .order_by("-received_at", "-id")[:10],
        "tokens": ApiToken.objects.filter(kms_host=host, scope=TokenScope.REPORTER).order_by(
            "-created_at"
        ),
        "findings": discovery.open_findings(org).order_by("domain", "target"),
        "token_form": ReporterTokenForm(),
        "upload_form": ReportUploadForm(),
        "api_url": api_url,
        "masked_key": kms_mask(host),
        "organisation": org,
        "now": timezone.now(),
    }
    context.update(extra)
    if context.get("created_token"):
        context["commands"] = reporter_commands(api_url, context["created_token"])
        context["commands"]["agent"] = install_command(
            request.build_absolute_uri("/"), context["created_token"], host_id=host.pk
        )
    return context


def reporter_commands(api_url: str, token: str) -> dict[str, str]:
    """What to run on the KMS host: the PowerShell one-liner, the same as an hourly scheduled
    task (Register-ScheduledTask: schtasks /TR is limited to 261 characters, and an encoded
    command needs no quoting), and a cmd + curl.exe variant."""
    post = (
        f"Invoke-RestMethod -Method Post -Uri '{api_url}' "
        f"-Headers @{{Authorization='Bearer {token}'}} "
        "-ContentType 'text/plain; charset=utf-8' "
        '-Body ((cscript.exe //nologo $env:windir\\system32\\slmgr.vbs /dlv all) -join "`n")'
    )
    encoded = base64.b64encode(post.encode("utf-16-le")).decode()
    schedule = (
        "Register-ScheduledTask -TaskName 'KMS status to portal' -User 'NT AUTHORITY\\SYSTEM' "
        "-RunLevel Highest -Force "
        "-Trigger (New-ScheduledTaskTrigger -Once -At (Get-Date) "
        "-RepetitionInterval (New-TimeSpan -Hours 1)) "
        "-Action (New-ScheduledTaskAction -Execute 'powershell.exe' "
        f"-Argument '-NoProfile -NonInteractive -EncodedCommand {encoded}')"
    )
    cmd = (
        'cscript //nologo %windir%\\system32\\slmgr.vbs /dlv all > "%TEMP%\\dlv.txt" && '
        f'curl.exe -sS -H "Authorization: Bearer {token}" -H "Content-Type: text/plain" '
        f'--data-binary "@%TEMP%\\dlv.txt" {api_url}'
    )
    return {"powershell": post, "schedule": schedule, "cmd": cmd}


def kms_mask(host: KmsHost) -> str:
    from licensing.crypto import mask_last5

    return mask_last5(host.host_key_last5) if host.host_key_last5 else ""


@login_required
def host_detail(request: HttpRequest, pk: int) -> HttpResponse:
    host = get_scoped_or_404(
        request, KmsHost.objects.select_related("organisation"), policy.Action.VIEW, pk=pk
    )
    # The state card reloads itself (`?partial=state`) after "Poll now"; the history's pager
    # swaps the history only.
    partial = request.GET.get("partial")
    # A reporter token just created (POST, then redirect here): shown once, then gone.
    created_token = request.session.pop(_CREATED_TOKEN_KEY.format(host.pk), None)
    context = _detail_context(request, host, created_token=created_token)
    response = render_page_or_partial(
        request,
        "licensing/kms/host_detail.html",
        context,
        partial="state"
        if partial == "state"
        else "history"
        if "cursor" in request.GET or "per_page" in request.GET
        else None,
    )
    if created_token:
        response["Cache-Control"] = "no-store"  # the one page that shows the new token
    return response


_CREATED_TOKEN_KEY = "kms_host_created_token:{}"


@login_required
@require_POST
def host_poll_now(request: HttpRequest, pk: int) -> HttpResponse:
    host = get_scoped_or_404(
        request, KmsHost.objects.select_related("organisation"), policy.Action.MANAGE_HOSTS, pk=pk
    )
    try:
        polling.queue_poll(actor=request.user, host=host, ip_address=audit.client_ip(request))
    except DomainError as exc:
        if wants_fragment(request):
            return vary_on_htmx(HttpResponse(str(exc), status=409))
        messages.error(request, str(exc))
        return vary_on_htmx(redirect("licensing:host_detail", pk=host.pk))
    if wants_fragment(request):
        context = _detail_context(request, host, poll_queued_at=timezone.now())
        return vary_on_htmx(render(request, "licensing/kms/host_detail.html#state", context))
    messages.success(request, _("Poll queued: refresh this page in a few seconds."))
    return vary_on_htmx(redirect("licensing:host_detail", pk=host.pk))


@never_cache  # shows the new reporter token once: Cache-Control: no-store
@login_required
@require_POST
def host_token_create(request: HttpRequest, pk: int) -> HttpResponse:
    host = get_scoped_or_404(
        request, KmsHost.objects.select_related("organisation"), policy.Action.MANAGE_HOSTS, pk=pk
    )
    form = ReporterTokenForm(request.POST)
    created = None
    if host.retired_at is not None:
        form.add_error(None, _("This host is retired; it takes no status reports."))
    elif form.is_valid():
        try:
            _token, created = create_api_token(
                actor=request.user,
                organisation=host.organisation,
                name=form.cleaned_data["name"],
                scope=TokenScope.REPORTER,
                days=form.cleaned_data["days"],
                kms_host=host,
                ip_address=audit.client_ip(request),
            )
        except DomainError as exc:
            exc.apply_to_form(form)
    if created:
        # POST, redirect, GET: a reload does not create a second token. The token waits in the
        # server-side session for the one page that shows it (never in a cookie or a message).
        request.session[_CREATED_TOKEN_KEY.format(host.pk)] = created
        messages.success(
            request, _("Reporter token created: copy it below now, it is shown only this once.")
        )
        return redirect(reverse("licensing:host_detail", args=[host.pk]) + "#created-token")
    context = _detail_context(request, host, token_form=form)
    return render(request, "licensing/kms/host_detail.html", context, status=400)


@login_required
@require_POST
def host_report_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """An administrator pastes the /dlv text (no scheduled task yet): same service as the API."""
    host = get_scoped_or_404(
        request, KmsHost.objects.select_related("organisation"), policy.Action.MANAGE_HOSTS, pk=pk
    )
    form = ReportUploadForm(request.POST)
    if form.is_valid():
        try:
            report = reports.submit_status_report(
                host=host,
                data=form.cleaned_data["text"],
                submitted_by=request.user.get_username(),
                source_ip=audit.client_ip(request),
            )
        except DomainError as exc:
            form.add_error("text", str(exc))
        else:
            if report.accepted:
                messages.success(
                    request,
                    _("Status report stored: count %(count)s.") % {"count": report.current_count},
                )
                return redirect("licensing:host_detail", pk=host.pk)
            form.add_error(
                "text",
                _("Not stored as a status: %(error)s")
                % {"error": reasons.report_error(report.error)},
            )
    context = _detail_context(request, host, upload_form=form)
    return render(request, "licensing/kms/host_detail.html", context, status=400)


@login_required
def host_report_detail(request: HttpRequest, pk: int, report_id: int) -> HttpResponse:
    report = get_scoped_or_404(
        request,
        HostStatusReport.objects.select_related("host"),
        policy.Action.VIEW,
        pk=report_id,
        host_id=pk,
    )
    return render(request, "licensing/kms/report_detail.html", {"report": report})


@login_required
def host_reveal_key(request: HttpRequest, pk: int) -> HttpResponse:
    """Admins only; needs the password again (or a confirmation in the last few minutes)."""
    host = get_scoped_or_404(
        request, KmsHost.objects.select_related("organisation"), policy.Action.REVEAL_SECRET, pk=pk
    )
    if refused := signin.refuse_without_second_factor(request):
        return refused
    form = HostKeyRevealForm(request.POST or None)
    key = None
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data["password"]
        if password and not reauth.confirm_password(request, password):
            form.add_error("password", _("That is not your password."))
        else:
            try:
                key = hosts.reveal_host_key(
                    actor=request.user,
                    host=host,
                    password_confirmed_at=reauth.confirmed_at(request),
                    ip_address=audit.client_ip(request),
                )
            except DomainError as exc:
                form.add_error("password", str(exc))
    response = render(
        request,
        "licensing/kms/reveal_key.html",
        {"host": host, "form": form, "key": key, "masked_key": kms_mask(host)},
        status=200 if key or request.method == "GET" else 400,
    )
    response["Cache-Control"] = "no-store"
    return response


# --- organisation DNS settings and discovery ---------------------------------------------


@login_required
def dns_settings(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    policy.require(request.user, policy.Action.VIEW, org)
    can_edit = policy.allowed(request.user, policy.Action.MANAGE_ORGANISATION, org)
    initial = {
        "dns_domains": "\n".join(org.dns_domains),
        "dns_resolvers": "\n".join(org.dns_resolvers),
    }
    form = DnsSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(_("Your role does not allow: manage organisation."))
        if form.is_valid():
            discovery.update_dns_settings(
                actor=request.user,
                organisation=org,
                dns_domains=form.cleaned_data["dns_domains"],
                dns_resolvers=form.cleaned_data["dns_resolvers"],
                ip_address=audit.client_ip(request),
            )
            messages.success(request, _("DNS settings saved; SRV records are checked again now."))
            return redirect("licensing:host_list")
    return render(
        request,
        "licensing/kms/dns_settings.html",
        {"form": form, "can_edit": can_edit, "organisation": org},
    )


@login_required
@require_POST
def dns_scan(request: HttpRequest) -> HttpResponse:
    org: Organisation = resolve_organisation(request)
    policy.require(request.user, policy.Action.MANAGE_HOSTS, org)
    discovery.queue_discovery(actor=request.user, organisation=org)
    messages.success(request, _("DNS check queued: refresh in a few seconds."))
    return redirect("licensing:host_list")


FINDING_EXPORT_COLUMNS = [
    ExportColumn("domain", "domain"),
    ExportColumn("target", "target"),
    ExportColumn("port", "port"),
    ExportColumn("priority", "priority"),
    ExportColumn("weight", "weight"),
    ExportColumn("first_seen_at", "first_seen_at"),
    ExportColumn("last_seen_at", "last_seen_at"),
    ExportColumn("resolved_at", "resolved_at"),
]


@token_aware
def finding_export(request: HttpRequest) -> HttpResponse:
    """SRV records pointing at unregistered KMS hosts (CSV): open ones first, then resolved."""
    org = resolve_organisation(request, policy.Action.EXPORT)
    qs = DnsFinding.objects.for_organisation(org).order_by(
        F("resolved_at").desc(nulls_first=True), "domain", "target"
    )
    return export_response(
        request, name="kms-findings", queryset=qs, columns=FINDING_EXPORT_COLUMNS, organisation=org
    )
