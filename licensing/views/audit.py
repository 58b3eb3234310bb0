"""The audit log: entries of the organisation being looked at, one entry's changes, the CSV."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from licensing import policy
from licensing.exports import ExportColumn, filter_errors, invalid_filter_response
from licensing.filters import AuditEventFilterSet
from licensing.models import AuditEvent
from licensing.pagination import KeysetPaginator, SortKey
from licensing.scoping import get_scoped_or_404, resolve_organisation
from licensing.services import audit
from licensing.views.exports import export_response, token_aware
from licensing.views.htmx import render_page_or_partial

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
