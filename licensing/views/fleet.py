"""Client pages: the list (filters, keyset pages, saved views, bulk actions), its CSV export, and
one client's detail. Views only scope, filter, paginate and render; counting and exporting live
in `licensing.services` and `licensing.exports`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Case, CharField, F, QuerySet, Value, When
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
from licensing.filters import ClientFilterSet, clients_matching
from licensing.models import (
    ActivationMethod,
    Client,
    ClientFlagChange,
    ComplianceFlag,
    LicenseStatus,
    MakActivation,
    Organisation,
    SavedView,
)
from licensing.pagination import PAGE_SIZES, KeysetPaginator, SortKey
from licensing.scoping import get_scoped_or_404, resolve_organisation
from licensing.services import audit
from licensing.services.errors import DomainError
from licensing.services.filter_bar import FilterBarCache
from licensing.services.inventory import bulk
from licensing.services.inventory.reasons import translated as translated_reason
from licensing.services.inventory.remedies import remedy_for
from licensing.services.saved_views import clean_query, delete_view, save_view
from licensing.views.exports import export_response, token_aware
from licensing.views.htmx import render_page_or_partial

# --- client list --------------------------------------------------------------------------------

CLIENT_SORTS = {
    "hostname": SortKey("hostname", label=gettext_lazy("Hostname")),
    "last_renewal": SortKey("last_renewal_at", nullable=True, label=gettext_lazy("Last renewal")),
    "deadline": SortKey("renewal_deadline", nullable=True, label=gettext_lazy("Renewal deadline")),
    # Indexed as (organisation, column, id): migration 1310.
    "flag": SortKey("compliance_flag", label=gettext_lazy("Flag")),
    "state": SortKey("license_status", label=gettext_lazy("Licence state")),
    # Edition names live in the small edition table: a join, no index range (docs/daily-work.md).
    "edition": SortKey("edition__name", nullable=True, label=gettext_lazy("Edition")),
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
