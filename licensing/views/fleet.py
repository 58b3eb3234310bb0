"""Fleet browser pages: dashboard, global overview, client list/detail, audit log, reports, and
their CSV exports. Views only scope, filter, paginate and render; counting and exporting live
in `licensing.services.fleet_summary` and `licensing.exports`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Sum, Value, When
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, override
from django.views.decorators.http import require_GET, require_POST

from licensing import policy
from licensing.exports import ExportColumn, filter_errors, invalid_filter_response
from licensing.filters import AuditEventFilterSet, ClientFilterSet, clients_matching
from licensing.models import (
    ActivationMethod,
    ActivationRequest,
    AuditEvent,
    Client,
    ClientFlagChange,
    ComplianceFlag,
    ComplianceSnapshot,
    Edition,
    HostState,
    KmsHost,
    LicenseStatus,
    MakActivation,
    Organisation,
    RequestStatus,
    SavedView,
)
from licensing.pagination import PAGE_SIZES, KeysetPaginator, SortKey
from licensing.scoping import get_scoped_or_404, resolve_organisation
from licensing.services import audit
from licensing.services.daily.attention import needs_attention
from licensing.services.errors import DomainError
from licensing.services.filter_bar import FilterBarCache
from licensing.services.fleet_summary import (
    breakdown_by_organisation,
    client_breakdown,
)
from licensing.services.inventory import bulk
from licensing.services.inventory.reasons import translated as translated_reason
from licensing.services.inventory.remedies import remedy_for
from licensing.services.kms import discovery
from licensing.services.mak.forecast import cached_forecast
from licensing.services.saved_views import clean_query, delete_view, save_view
from licensing.views.exports import export_response, token_aware
from licensing.views.htmx import render_page_or_partial

# --- client list --------------------------------------------------------------------------------

CLIENT_SORTS = {
    "hostname": SortKey("hostname", label="Hostname"),
    "last_renewal": SortKey("last_renewal_at", nullable=True, label="Last renewal"),
    "deadline": SortKey("renewal_deadline", nullable=True, label="Renewal deadline"),
    # Indexed as (organisation, column, id): migration 1310.
    "flag": SortKey("compliance_flag", label="Flag"),
    "state": SortKey("license_status", label="Licence state"),
    # Edition names live in the small edition table: a join, no index range (docs/daily-work.md).
    "edition": SortKey("edition__name", nullable=True, label="Edition"),
}
client_paginator = KeysetPaginator(CLIENT_SORTS, default="hostname", salt="client_list")

# The CSV names the state in English whatever the page language (labels are translatable).
with override(settings.LANGUAGE_CODE):
    LICENSE_STATE_LABEL = Case(
        *[When(license_status=v, then=Value(str(label))) for v, label in LicenseStatus.choices],
        output_field=CharField(),
    )

# The client CSV: one row per client, exactly the rows of the list's current filter.
CLIENT_EXPORT_COLUMNS = [
    ExportColumn("organisation", "organisation__slug"),
    ExportColumn("hostname", "hostname"),
    ExportColumn("fqdn", "fqdn"),
    ExportColumn("cmid", "cmid"),
    ExportColumn("edition", "edition__name"),
    ExportColumn("activation_method", "activation_method"),
    ExportColumn("kms_host", "kms_host__fqdn"),
    ExportColumn("mak_key_last5", "mak_key__last5"),
    ExportColumn("license_status", "license_status"),
    ExportColumn("license_state", LICENSE_STATE_LABEL),
    ExportColumn("compliance_flag", "compliance_flag"),
    ExportColumn("flag_reason", "flag_reason"),
    ExportColumn("renewal_deadline", "renewal_deadline"),
    ExportColumn("last_renewal_at", "last_renewal_at"),
    ExportColumn("last_activation_at", "last_activation_at"),
    ExportColumn("installed_at", "installed_at"),
    ExportColumn("last_seen_at", "last_seen_at"),
]

AUDIT_SORTS = {"at": SortKey("at", label=gettext_lazy("When"))}
audit_paginator = KeysetPaginator(AUDIT_SORTS, default="-at", salt="audit_list")

AUDIT_EXPORT_COLUMNS = [
    ExportColumn("at", "at"),
    ExportColumn("actor", "actor_label"),
    ExportColumn("action", "action"),
    ExportColumn("object_type", "object_type"),
    ExportColumn("object_id", "object_id"),
    ExportColumn("object", "object_repr"),
    ExportColumn("changes", "changes"),
    ExportColumn("ip_address", "ip_address"),
]


def _ordered(queryset: QuerySet, key: SortKey, descending: bool) -> QuerySet:
    col = F(key.path)
    first = col.desc(nulls_last=True) if descending else col.asc(nulls_last=True)
    return queryset.order_by(first, "-pk" if descending else "pk")


# Query parameters that filter the list (a range filter's are `last_renewal_after`, `_before`).
_FILTERS = tuple(ClientFilterSet.base_filters)


def _client_filterset(request: HttpRequest, org: Organisation | None) -> ClientFilterSet:
    base = Client.objects.all() if org is None else Client.objects.for_organisation(org)
    return ClientFilterSet(request.GET or None, queryset=base, request=request, organisation=org)


_ANY_PK = 987_654_321
_OWN_REPORT_FLAGS = (ComplianceFlag.EXPIRED, ComplianceFlag.UNLICENSED)


def _row_labels() -> dict[str, dict[str, str]]:
    """Each choice's label in the page language, looked up once per page: a model's
    `get_<field>_display` translates every label of the field on each call (about 1,000 lookups
    for a page of 50 rows)."""
    return {
        "flag": {v: str(label) for v, label in ComplianceFlag.choices},
        "state": {v: str(label) for v, label in LicenseStatus.choices},
        "method": {v: str(label) for v, label in ActivationMethod.choices},
    }


# Django date format characters that strftime spells the same way (zero-padded day and month,
# four- and two-digit year); SHORT_DATE_FORMAT is made of these in every language we ship.
_STRFTIME = {"d": "%d", "m": "%m", "Y": "%Y", "y": "%y"}


class _ShortDates:
    """A page's dates in the page's time zone and SHORT_DATE_FORMAT, both read once per page:
    `date_format` looks them up and parses the format again for each of the ~100 dates of a page
    of rows. A format strftime cannot spell the same way falls back to Django's formatter."""

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self.format = get_format("SHORT_DATE_FORMAT")
        self.pattern = _strftime_pattern(self.format)

    def __call__(self, value: Any) -> dict[str, str] | None:
        if value is None:
            return None
        local = value.astimezone(self.zone)
        short = (
            local.strftime(self.pattern)
            if self.pattern is not None
            else dateformat.format(local, self.format)
        )
        return {"iso": local.isoformat(), "short": short}


def _strftime_pattern(django_format: str) -> str | None:
    """The strftime pattern that writes `django_format` (None if a character has no exact
    strftime twin, or is escaped)."""
    out = []
    for char in django_format:
        if char in _STRFTIME:
            out.append(_STRFTIME[char])
        elif char.isalpha() or char == "\\":
            return None
        else:
            out.append("%%" if char == "%" else char)
    return "".join(out)


# The columns the list shows, read as dicts (no model instances for a page of rows).
_LIST_COLUMNS = (
    "pk",
    "hostname",
    "fqdn",
    "retired_at",
    "last_seen_at",
    "compliance_flag",
    "flag_reason",
    "license_status",
    "edition__name",
    "activation_method",
    "kms_host__fqdn",
    "last_renewal_at",
    "renewal_deadline",
)


def _prepare_rows(rows: list[dict[str, Any]], org: Organisation, now: Any) -> list[dict[str, Any]]:
    """What each row of the list shows, computed here once rather than by tags and filters inside
    a loop of up to 200 rows (plain dicts: the template resolves a key faster than an attribute).
    Stale means no report for `org.stale_after_days`; a flag "from the client's own report" is
    one the client reported while its renewal deadline is still ahead."""
    detail = reverse("licensing:client_detail", args=[_ANY_PK]).replace(str(_ANY_PK), "{}")
    labels = _row_labels()
    short_date = _ShortDates()
    stale_before = now - timedelta(days=org.stale_after_days)
    select = _("Select %(hostname)s")
    via = _("via %(host)s")
    stale = _("No report since %(since)s (stale after %(days)s days)")
    reasons: dict[str, str] = {}
    prepared = []
    for c in rows:
        seen, deadline, flag = c["last_seen_at"], c["renewal_deadline"], c["compliance_flag"]
        reason = c["flag_reason"] or ""
        if reason not in reasons:
            reasons[reason] = translated_reason(reason)
        fqdn, kms_host = c["fqdn"], c["kms_host__fqdn"]
        prepared.append(
            {
                "pk": c["pk"],
                "hostname": c["hostname"],
                "fqdn": fqdn if fqdn and fqdn != c["hostname"] else "",
                "detail_url": detail.format(c["pk"]),
                "select_label": select % {"hostname": c["hostname"]},
                "retired": c["retired_at"] is not None,
                "stale_title": (
                    stale % {"since": short_date(seen)["short"], "days": org.stale_after_days}
                    if seen is not None and seen < stale_before
                    else ""
                ),
                "flag": flag,
                "flag_label": labels["flag"].get(flag, flag),
                "flag_reason": reasons[reason],
                "state_label": labels["state"].get(c["license_status"], c["license_status"]),
                "edition": c["edition__name"] or "—",
                "method_label": labels["method"].get(
                    c["activation_method"], c["activation_method"]
                ),
                "via": via % {"host": kms_host} if kms_host else "",
                "last_renewal": short_date(c["last_renewal_at"]),
                "deadline": short_date(deadline),
                "flag_from_own_report": (
                    deadline is not None and deadline > now and flag in _OWN_REPORT_FLAGS
                ),
            }
        )
    return prepared


@login_required
@require_GET
def client_list(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.VIEW)
    filterset = _client_filterset(request, org)
    # An invalid filter shows what is wrong, never every row nor an empty organisation.
    errors = filter_errors(filterset)
    queryset = filterset.queryset.none() if errors else filterset.qs
    filtered = bool(errors) or any(v for k, v in request.GET.items() if k.startswith(_FILTERS))
    page = client_paginator.paginate(request, queryset, columns=_LIST_COLUMNS, filtered=filtered)
    view_query = clean_query(page.query_without_cursor, _FILTERS)
    context = {
        "rows": _prepare_rows(page.rows, org, timezone.now()),
        "org": org,
        "filterset": filterset,
        "filter_bar": FilterBarCache(request, org, filterset, filtered),
        "filter_errors": errors,
        "page": page,
        "filtered": filtered,
        "export_url": f"{reverse('licensing:client_export')}?{page.query_without_cursor}",
        "flags": ComplianceFlag,
        "page_sizes": PAGE_SIZES,
        "saved_views": SavedView.objects.for_organisation(org).filter(user=request.user),
        "view_query": view_query,
    }
    return render_page_or_partial(request, "licensing/client_list.html", context, partial="results")


@token_aware
@require_GET
def client_export(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.EXPORT, allow_all=True)
    filterset = _client_filterset(request, org)
    if (refused := invalid_filter_response(filterset)) is not None:
        return refused
    queryset = filterset.qs.order_by()
    if request.GET.get("sort"):
        # Sorting 600k wide rows costs about a second more than streaming them in storage
        # order, so a CSV is sorted only when the link asks for it.
        name, descending = client_paginator.parse_sort(request.GET["sort"])
        queryset = _ordered(queryset, CLIENT_SORTS[name], descending)
    return export_response(
        request,
        name="clients",
        queryset=queryset,
        columns=CLIENT_EXPORT_COLUMNS,
        organisation=org,
    )


def _list_back(request: HttpRequest) -> str:
    query = request.POST.get("query", "")
    url = reverse("licensing:client_list")
    nxt = request.POST.get("next", "")
    if nxt.startswith("/clients/") and "//" not in nxt:
        return nxt
    return f"{url}?{query}" if query else url


def _bulk_selection(request: HttpRequest, org: Organisation) -> tuple[QuerySet | None, str]:
    """The clients a bulk action acts on: the ticked rows (`ids`), or every client matching the
    list's filter (`all_matching=1` with the list's `query`): "select all N matching" over keyset
    pages. None (with a message) when the list's filter is not valid."""
    query = request.POST.get("query", "")
    if request.POST.get("all_matching") == "1":
        matching = clients_matching(org, query)
        if matching is None:
            messages.error(request, _("The list's filter is not valid: nothing was changed."))
            return None, ""
        return matching, f"all matching: {query}"
    ids = [int(i) for i in request.POST.getlist("ids") if i.isascii() and i.isdigit()]
    return Client.objects.filter(pk__in=ids), f"{len(ids)} ticked"


def _queued_in_background(request: HttpRequest, org: Organisation, action: str, clients) -> bool:
    """Queue an "all matching" selection too large for a request (bulk.py); say so."""
    if request.POST.get("all_matching") != "1" or not bulk.too_large_for_a_request(clients):
        return False
    bulk.queue(action, actor=request.user, organisation=org, query=request.POST.get("query", ""))
    texts = {
        "retire": _(
            "Retiring more than %(count)s clients in the background. The list shows them as "
            "retired once it is done; the audit log records it."
        ),
        "restore": _(
            "Restoring more than %(count)s clients in the background. The list shows them as "
            "live once it is done; the audit log records it."
        ),
        "recheck": _(
            "Re-checking more than %(count)s clients in the background. Their flags change on "
            "the list once it is done; the audit log records it."
        ),
    }
    messages.info(request, texts[action] % {"count": intcomma(settings.BULK_INLINE_MAX)})
    return True


@login_required
@require_POST
def client_set_retired(request: HttpRequest, retire: bool) -> HttpResponse:
    """Retire or restore the ticked clients, or every client matching the list's filter."""
    org = resolve_organisation(request, policy.Action.MANAGE_CLIENTS)
    clients, selection = _bulk_selection(request, org)
    if clients is None or _queued_in_background(
        request, org, "retire" if retire else "restore", clients
    ):
        return redirect(_list_back(request))
    try:
        result = bulk.run(
            "retire" if retire else "restore",
            actor=request.user,
            organisation=org,
            clients=clients,
            ip_address=audit.client_ip(request),
            selection=selection,
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        n = result.changed
        hostnames = ", ".join(result.hostnames[:5]) + ("…" if n > 5 else "")
        if retire and hostnames:
            text = ngettext(
                "Retired %(count)s client: %(hostnames)s. They keep their history; the list shows "
                "them with Retired: Yes.",
                "Retired %(count)s clients: %(hostnames)s. They keep their history; the list "
                "shows them with Retired: Yes.",
                n,
            )
        elif retire:
            text = ngettext(
                "Retired %(count)s client. They keep their history; the list shows them with "
                "Retired: Yes.",
                "Retired %(count)s clients. They keep their history; the list shows them with "
                "Retired: Yes.",
                n,
            )
        elif hostnames:
            text = ngettext(
                "Restored %(count)s client: %(hostnames)s.",
                "Restored %(count)s clients: %(hostnames)s.",
                n,
            )
        else:
            text = ngettext("Restored %(count)s client.", "Restored %(count)s clients.", n)
        messages.success(request, text % {"count": intcomma(n), "hostnames": hostnames})
    return redirect(_list_back(request))


@login_required
@require_POST
def client_recheck(request: HttpRequest) -> HttpResponse:
    """Re-check now: recompute the flag of the ticked (or all matching) clients."""
    org = resolve_organisation(request, policy.Action.MANAGE_CLIENTS)
    clients, selection = _bulk_selection(request, org)
    if clients is None or _queued_in_background(request, org, "recheck", clients):
        return redirect(_list_back(request))
    try:
        result = bulk.run(
            "recheck",
            actor=request.user,
            organisation=org,
            clients=clients,
            ip_address=audit.client_ip(request),
            selection=selection,
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        n = result.checked
        if result.changed:
            text = ngettext(
                "Re-checked %(count)s client: %(changed)s changed (flag, reason or deadline).",
                "Re-checked %(count)s clients: %(changed)s changed (flag, reason or deadline).",
                n,
            )
        else:
            text = ngettext(
                "Re-checked %(count)s client: nothing changed.",
                "Re-checked %(count)s clients: nothing changed.",
                n,
            )
        messages.success(
            request, text % {"count": intcomma(n), "changed": intcomma(result.changed)}
        )
    return redirect(_list_back(request))


MAX_EXPORT_IDS = 1000


@login_required
@require_POST
def client_export_selection(request: HttpRequest) -> HttpResponse:
    """The bulk form's "Export the selection": a 303 to the GET export of the ticked ids (or of
    the list's filter), so the export itself stays GET-only and its link can be shared."""
    org = resolve_organisation(request, policy.Action.EXPORT)
    export = reverse("licensing:client_export")
    params = QueryDict(request.POST.get("query", ""), mutable=True)
    for key in ("cursor", "ids", "per_page"):
        params.pop(key, None)
    params["organisation"] = org.slug
    if request.POST.get("all_matching") != "1":
        ids = [i for i in request.POST.getlist("ids") if i.isascii() and i.isdigit()]
        if not ids:
            messages.error(request, _("Tick at least one row, or all matching rows, to export."))
            return redirect(_list_back(request))
        if len(ids) > MAX_EXPORT_IDS:
            messages.error(
                request,
                _("Tick at most %(count)s rows, or all matching.")
                % {"count": intcomma(MAX_EXPORT_IDS)},
            )
            return redirect(_list_back(request))
        params["ids"] = ",".join(ids)
    return redirect(f"{export}?{params.urlencode(safe=',')}", permanent=False)


@login_required
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.VIEW)
    query = clean_query(request.POST.get("query", ""), _FILTERS)
    try:
        view, created = save_view(
            user=request.user,
            organisation=org,
            name=request.POST.get("name", ""),
            query=query,
            ip_address=audit.client_ip(request),
        )
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect(_list_back(request))
    text = _("View “%(name)s” saved.") if created else _("View “%(name)s” updated.")
    messages.success(request, text % {"name": view.name})
    return redirect(f"{reverse('licensing:client_list')}?organisation={org.slug}&{view.query}")


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.VIEW)
    # Only the user's own views of this organisation: anyone else's is a 404.
    view = SavedView.objects.for_organisation(org).filter(user=request.user, pk=pk).first()
    if view is None:
        raise Http404(_("No such saved view."))
    delete_view(user=request.user, view=view, ip_address=audit.client_ip(request))
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect(_list_back(request))


# --- client detail ------------------------------------------------------------------------------


@login_required
@require_GET
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_scoped_or_404(
        request,
        Client.objects.select_related(
            "organisation", "edition", "kms_host", "mak_key", "mak_key__pool__edition"
        ),
        policy.Action.VIEW,
        pk=pk,
    )
    activations = (
        MakActivation.objects.filter(client=client)
        .select_related("key", "recorded_by")
        .order_by("-activated_at", "-id")[:50]
    )
    flag_changes = ClientFlagChange.objects.filter(client=client).order_by("-changed_at", "-id")[
        :50
    ]
    now = timezone.now()
    days_left = None
    if client.renewal_deadline is not None:
        days_left = (client.renewal_deadline - now).days
    return render(
        request,
        "licensing/client_detail.html",
        {
            "client": client,
            "activations": activations,
            "flag_changes": flag_changes,
            "days_left": days_left,
            "remedy": remedy_for(client, now, client.organisation.stale_after_days),
            "back_url": request.GET.get("back", ""),
        },
    )


# --- dashboard -----------------------------------------------------------------------------------

TREND_DAYS = 90
CHART_W, CHART_H, CHART_PAD = 960, 200, 28


def flagged_trend(org: Organisation, today: Any) -> dict[str, Any]:
    """Flagged clients per day over the last 90 days as SVG coordinates (drawn server-side)."""
    since = today - timedelta(days=TREND_DAYS - 1)
    per_day = dict(
        ComplianceSnapshot.objects.for_organisation(org)
        .filter(day__gte=since, day__lte=today)
        .exclude(flag=ComplianceFlag.OK)
        .values_list("day")
        .annotate(n=Sum("count"))
        .order_by()
    )
    if len(per_day) < 2 or not any(per_day.values()):
        # One day is a dot, not a trend; all zeros would draw an axis of "1" over nothing.
        return {}
    days = sorted(per_day)
    top = max(per_day.values()) or 1
    inner_w, inner_h = CHART_W - 2 * CHART_PAD, CHART_H - 2 * CHART_PAD
    points = []
    for day in days:
        x = CHART_PAD + inner_w * (day - since).days / (TREND_DAYS - 1)
        y = CHART_PAD + inner_h * (1 - per_day[day] / top)
        points.append((round(x, 1), round(y, 1)))
    line = " ".join(f"{x},{y}" for x, y in points)
    base_y = CHART_PAD + inner_h
    area = f"{points[0][0]},{base_y} {line} {points[-1][0]},{base_y}"
    return {
        "width": CHART_W,
        "height": CHART_H,
        "pad": CHART_PAD,
        "right": CHART_W - CHART_PAD,
        "bottom": base_y,
        "line": line,
        "area": area,
        "top": top,
        "first_day": days[0],
        "last_day": days[-1],
        "first": per_day[days[0]],
        "last": per_day[days[-1]],
        "last_x": points[-1][0],
        "last_y": points[-1][1],
        "mid_y": CHART_PAD + inner_h / 2,
        "half": top // 2,
    }


def _no_organisation(request: HttpRequest) -> bool:
    return not request.GET.get("organisation") and not getattr(request, "organisation", None)


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    if _no_organisation(request):
        return render(request, "licensing/no_organisation.html", status=200)
    org = resolve_organisation(request, policy.Action.VIEW)
    assert org is not None
    breakdown = client_breakdown(org)
    editions = dict(
        Edition.objects.filter(pk__in=[k for k in breakdown.by_edition if k]).values_list(
            "pk", "name"
        )
    )
    by_edition = sorted(
        ((editions.get(pk, _("No edition")), pk, n) for pk, n in breakdown.by_edition.items()),
        key=lambda row: -row[2],
    )
    flags = [
        (value, label, breakdown.by_flag.get(value, 0)) for value, label in ComplianceFlag.choices
    ]
    flagged = breakdown.total - breakdown.by_flag.get(ComplianceFlag.OK, 0)
    pools = cached_forecast(org, breakdown.as_of)
    hosts = list(
        KmsHost.objects.for_organisation(org)
        .filter(retired_at__isnull=True)
        .order_by("fqdn")
        .only("id", "fqdn", "port", "state", "current_count", "activation_threshold")[:50]
    )
    newest_flagged = list(
        Client.objects.for_organisation(org)
        .filter(retired_at__isnull=True)
        .exclude(compliance_flag=ComplianceFlag.OK)
        .select_related("edition")
        .order_by(F("flag_changed_at").desc(nulls_last=True), "-id")[:8]
    )
    pending = None
    pending_count = 0
    if policy.allowed(request.user, policy.Action.DECIDE_REQUESTS, org):
        pending_qs = ActivationRequest.objects.for_organisation(org).filter(
            status=RequestStatus.PENDING
        )
        pending = list(
            pending_qs.select_related("pool__edition", "requested_by", "key").order_by(
                "requested_at", "id"
            )[:5]
        )
        pending_count = pending_qs.count() if len(pending) == 5 else len(pending)
    context = {
        "org": org,
        "breakdown": breakdown,
        "flags": flags,
        "flagged": flagged,
        "by_edition": by_edition[:12],
        "by_method": sorted(breakdown.by_method.items()),
        "pools": pools,
        "hosts": hosts,
        "host_states": HostState,
        "newest_flagged": newest_flagged,
        "pending": pending,
        "pending_count": pending_count,
        "attention": needs_attention(
            user=request.user, org=org, forecasts=pools, as_of=breakdown.as_of
        ),
        "trend": flagged_trend(org, timezone.now().date()),
        "trend_days": TREND_DAYS,
        "client_list_url": reverse("licensing:client_list"),
        # Security: SRV records pointing at unknown KMS hosts, registered hosts gone from DNS.
        "findings": discovery.open_findings(org).order_by("domain", "target")[:10],
        "missing": discovery.missing_hosts(org).order_by("fqdn")[:10],
    }
    return render(request, "licensing/home.html", context)


# Rows of the global overview's table; the totals above it count every organisation.
GLOBAL_ROWS = 50


@login_required
@require_GET
def global_overview(request: HttpRequest) -> HttpResponse:
    """Every organisation at a glance (superusers only; others get 404, not a hint): totals over
    all of them, and a table of the GLOBAL_ROWS with the most flagged clients, narrowed by part
    of the name (`?q=`). With 1,000 organisations the whole table was 369 KB and 82 ms a page."""
    if not request.user.is_superuser:
        raise Http404("Not found.")
    q = request.GET.get("q", "").strip()[:100]
    breakdowns = breakdown_by_organisation()
    hosts = {
        row["organisation_id"]: row
        for row in KmsHost.objects.filter(retired_at__isnull=True)
        .values("organisation_id")
        .annotate(
            total=Count("id"),
            unhealthy=Count("id", filter=~Q(state__in=[HostState.HEALTHY, HostState.PENDING])),
        )
        .order_by()
    }
    low_pools: dict[int, int] = {}
    as_of = next((b.as_of for b in breakdowns.values() if b.as_of), None)
    for forecast in cached_forecast(None, as_of):
        if forecast.urgency:  # the dashboard's rule: by days left, or below low water
            low_pools[forecast.pool.organisation_id] = (
                low_pools.get(forecast.pool.organisation_id, 0) + 1
            )
    pending = dict(
        ActivationRequest.objects.filter(status=RequestStatus.PENDING)
        .values_list("pool__organisation_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = []
    for org in Organisation.objects.order_by("name"):
        b = breakdowns.get(org.pk)
        total = b.total if b else 0
        by_flag = b.by_flag if b else {}
        rows.append(
            {
                "org": org,
                "total": total,
                "flagged": total - by_flag.get(ComplianceFlag.OK, 0),
                "expired": by_flag.get(ComplianceFlag.EXPIRED, 0),
                "at_risk": by_flag.get(ComplianceFlag.AT_RISK, 0),
                "unlicensed": by_flag.get(ComplianceFlag.UNLICENSED, 0),
                "hosts": hosts.get(org.pk, {}).get("total", 0),
                "unhealthy_hosts": hosts.get(org.pk, {}).get("unhealthy", 0),
                "low_pools": low_pools.get(org.pk, 0),
                "pending": pending.get(org.pk, 0),
            }
        )
    rows.sort(key=lambda r: (-r["flagged"], r["org"].name))
    totals = {
        k: sum(r[k] for r in rows)
        for k in ("total", "flagged", "expired", "at_risk", "unlicensed", "unhealthy_hosts")
    }
    matching = rows
    if q:
        named = set(Organisation.objects.named(q).values_list("pk", flat=True))
        matching = [r for r in rows if r["org"].pk in named]
    return render(
        request,
        "licensing/global.html",
        {
            "rows": matching[:GLOBAL_ROWS],
            "matching": len(matching),
            "organisations": len(rows),
            "q": q,
            "totals": totals,
            "as_of": as_of,
            "amber_days": settings.MAK_POOL_AMBER_DAYS,
        },
    )


# --- audit log ----------------------------------------------------------------------------------


@login_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.VIEW_AUDIT)
    filterset = AuditEventFilterSet(
        request.GET or None,
        queryset=audit.visible_to_organisation(org),
        action_names=audit.known_actions(),
    )
    errors = filter_errors(filterset)
    queryset = filterset.queryset.none() if errors else filterset.qs
    page = audit_paginator.paginate(request, queryset.select_related("actor"))
    for entry in page.rows:
        entry.summary = audit.change_summary(entry)
    context = {
        "org": org,
        "filterset": filterset,
        "filter_errors": errors,
        "page": page,
        "export_url": f"{reverse('licensing:audit_export')}?{page.query_without_cursor}",
    }
    return render_page_or_partial(request, "licensing/audit_list.html", context, partial="results")


@login_required
@require_GET
def audit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One entry, with its changes field by field. An organisation's entry is found through
    get_scoped_or_404 (404 for other organisations, 403 for a role without the audit log); a
    sign-in entry (no organisation) through the log of the organisation being looked at, so it
    opens exactly when it is listed there."""
    if AuditEvent.objects.filter(pk=pk, organisation__isnull=False).exists():
        entry = get_scoped_or_404(
            request,
            AuditEvent.objects.select_related("actor", "organisation"),
            policy.Action.VIEW_AUDIT,
            pk=pk,
        )
        org = entry.organisation
    else:
        org = resolve_organisation(request, policy.Action.VIEW_AUDIT)
        entry = (
            audit.visible_to_organisation(org)
            .filter(organisation__isnull=True, pk=pk)
            .select_related("actor")
            .first()
        )
        if entry is None:
            raise Http404("Not found.")
    context = {
        "org": org,
        "entry": entry,
        "rows": audit.change_rows(entry),
        "pairs": audit.stores_before_after(entry.action),
        "object_url": audit.object_url(entry),
        "history_url": audit.history_url(org, entry.object_type, entry.object_id)
        if entry.object_type and entry.object_id
        else None,
    }
    return render(request, "licensing/audit_detail.html", context)


@token_aware
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.VIEW_AUDIT)
    policy.require(request.user, policy.Action.EXPORT, org)
    filterset = AuditEventFilterSet(
        request.GET or None, queryset=audit.visible_to_organisation(org)
    )
    if (refused := invalid_filter_response(filterset)) is not None:
        return refused
    return export_response(
        request,
        name="audit-log",
        queryset=filterset.qs.order_by("-at", "-id"),
        columns=AUDIT_EXPORT_COLUMNS,
        organisation=org,
    )


# --- reports ------------------------------------------------------------------------------------


def _reverse_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except Exception:
        return None


@login_required
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    if _no_organisation(request):
        return render(request, "licensing/no_organisation.html", status=200)
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
        url = _reverse_or_none(name)
        if url:
            ready.append((title, text, f"{url}?{o}"))
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


EDITION_EXPORT_COLUMNS = [
    ExportColumn("name", "name"),
    ExportColumn("version", "version"),
    ExportColumn("product", "product"),
    ExportColumn("gvlk", "gvlk"),  # Microsoft's public KMS client keys, not secrets
    ExportColumn("sku_id", "sku_id"),
    ExportColumn("kms_product_group", "kms_product_group"),
    ExportColumn("builtin", "is_builtin"),
]


@token_aware
def edition_export(request: HttpRequest) -> HttpResponse:
    """The edition catalogue (the same for every organisation; CSV)."""
    org = resolve_organisation(request, policy.Action.EXPORT)
    qs = Edition.objects.order_by("version", "name")
    return export_response(
        request, name="editions", queryset=qs, columns=EDITION_EXPORT_COLUMNS, organisation=org
    )
