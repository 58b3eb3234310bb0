"""Import pages: upload a CSV inventory or a KMS event 12290 export, and the import history
with each run's rejected-rows report."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from licensing import policy
from licensing.exports import ExportColumn
from licensing.forms.inventory import (
    CilImportForm,
    CsvImportForm,
    CsvMappingForm,
    EventsImportForm,
)
from licensing.models import CsvUpload, ImportRun, ImportSource, ImportStatus
from licensing.scoping import get_scoped_or_404, resolve_organisation
from licensing.services import audit
from licensing.services.errors import DomainError
from licensing.services.inventory import csv_mapping, runs
from licensing.services.inventory.csv_import import import_csv
from licensing.services.inventory.events import import_kms_events
from licensing.services.inventory.records import FIELDS
from licensing.services.inventory.vamt import import_cil
from licensing.views.exports import export_response, token_aware
from licensing.views.htmx import render_page_or_partial

PAGE_SIZE = 50

# The rejected-rows report of an import run: where each rejected row was and why.


def _history(request: HttpRequest, org) -> tuple[list[ImportRun], int | None]:  # type: ignore[no-untyped-def]
    runs = ImportRun.objects.for_organisation(org).order_by("-id")
    before = request.GET.get("before", "")
    if before.isascii() and before.isdigit():
        runs = runs.filter(id__lt=int(before))
    page = list(runs[: PAGE_SIZE + 1])
    older = page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None
    return page[:PAGE_SIZE], older


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    policy.require(request.user, policy.Action.VIEW, org)
    runs, older = _history(request, org)
    context = {
        "runs": runs,
        "older": older,
        "csv_form": CsvImportForm(),
        "events_form": EventsImportForm(organisation=org),
        "cil_form": CilImportForm(),
        "cil_max_bytes": settings.VAMT_CIL_MAX_BYTES,
        "fields": FIELDS,
        "max_rows": settings.INVENTORY_UPLOAD_MAX_ROWS,
    }
    # "Older imports" swaps in the next page of the history only.
    return render_page_or_partial(
        request,
        "licensing/inventory/import_list.html",
        context,
        partial="history" if request.GET.get("before") else None,
    )


def _uploaded_runs_message(request: HttpRequest, run: ImportRun) -> None:
    if run.status == ImportStatus.REFUSED:
        messages.error(request, _("Nothing was imported: %(reason)s") % {"reason": run.message})
    else:
        messages.success(
            request,
            _(
                "Imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
                "%(rejected)s rejected."
            )
            % {
                "created": intcomma(run.created),
                "updated": intcomma(run.updated),
                "unchanged": intcomma(run.unchanged),
                "rejected": intcomma(run.rejected),
            },
        )


@login_required
@require_POST
def import_csv_upload(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    policy.require(request.user, policy.Action.MANAGE_CLIENTS, org)
    form = CsvImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a CSV file to import."))
        return redirect("licensing:import_list")
    upload = form.cleaned_data["file"]
    if upload.size <= settings.INVENTORY_UPLOAD_MAX_BYTES:
        # A file with its own column names (or asked for) goes to the preview and mapping step.
        data = upload.read()
        try:
            header, _rows = csv_mapping.read_preview(data, rows=0)
        except csv_mapping.UnreadableUpload:
            header = []  # the import refuses it with the reason
        if header and (form.cleaned_data["preview"] or not csv_mapping.headers_are_portal(header)):
            staged = csv_mapping.stage(
                actor=request.user, organisation=org, data=data, filename=upload.name
            )
            return redirect("licensing:import_csv_map", token=csv_mapping.token_for(staged))
        upload.seek(0)
    run = import_csv(
        actor=request.user,
        organisation=org,
        stream=upload,
        filename=upload.name,
        ip_address=audit.client_ip(request),
        max_rows=settings.INVENTORY_UPLOAD_MAX_ROWS,
        max_bytes=settings.INVENTORY_UPLOAD_MAX_BYTES,
    )
    _uploaded_runs_message(request, run)
    return redirect("licensing:import_detail", pk=run.pk)


def _staged_upload(request: HttpRequest, token: str) -> CsvUpload:
    pk = csv_mapping.upload_id(token, request.user)
    if pk is None:
        raise Http404(_("This upload has expired or is not yours; upload the file again."))
    return get_scoped_or_404(
        request,
        CsvUpload.objects.select_related("organisation"),
        policy.Action.MANAGE_CLIENTS,
        pk=pk,
        actor=request.user,
    )


@login_required
def import_csv_map(request: HttpRequest, token: str) -> HttpResponse:
    """The preview of an uploaded CSV (first rows) with one select per column; POST imports it
    with that mapping, which the organisation keeps for next time."""
    staged = _staged_upload(request, token)
    org = staged.organisation
    try:
        header, rows = csv_mapping.read_preview(bytes(staged.data))
    except csv_mapping.UnreadableUpload:
        staged.delete()
        messages.error(request, _("The file cannot be read as CSV; upload it again."))
        return redirect("licensing:import_list")
    status = 200
    if request.method == "POST":
        form = CsvMappingForm(request.POST, header=header)
        if form.is_valid():
            try:
                run = csv_mapping.import_mapped(
                    actor=request.user,
                    upload=staged,
                    mapping=form.mapping(),
                    ip_address=audit.client_ip(request),
                )
            except DomainError as exc:
                exc.apply_to_form(form)
            else:
                _uploaded_runs_message(request, run)
                return redirect("licensing:import_detail", pk=run.pk)
        status = 400
    else:
        form = CsvMappingForm(header=header, suggested=csv_mapping.suggestions(org, header))
    width = len(header)
    context = {
        "upload": staged,
        "form": form,
        "columns": form.columns(),
        "rows": [(row + [""] * width)[:width] for row in rows],
        "preview_rows": csv_mapping.PREVIEW_ROWS,
    }
    return render(request, "licensing/inventory/import_map.html", context, status=status)


@login_required
@require_POST
def import_events_upload(request: HttpRequest) -> HttpResponse:
    from licensing.parsers import decode_upload

    org = resolve_organisation(request)
    policy.require(request.user, policy.Action.MANAGE_CLIENTS, org)
    form = EventsImportForm(request.POST, request.FILES, organisation=org)
    if not form.is_valid():
        messages.error(request, _("Choose an event 12290 export to import."))
        return redirect("licensing:import_list")
    upload = form.cleaned_data["file"]
    limit = settings.INVENTORY_UPLOAD_MAX_BYTES
    if upload.size > limit:
        run = runs.refuse(
            actor=request.user,
            organisation=org,
            source=ImportSource.EVENTS_12290,
            filename=upload.name,
            reason=f"The file is {upload.size / 1048576:.1f} MB; the limit is "
            f"{limit / 1048576:.0f} MB. Split it.",
            ip_address=audit.client_ip(request),
        )
    else:
        run = import_kms_events(
            actor=request.user,
            organisation=org,
            text=decode_upload(upload.read()),
            filename=upload.name,
            kms_host=form.cleaned_data["kms_host"],
            ip_address=audit.client_ip(request),
            max_rows=settings.INVENTORY_UPLOAD_MAX_ROWS,
        )
    _uploaded_runs_message(request, run)
    return redirect("licensing:import_detail", pk=run.pk)


def run_cil_upload(request: HttpRequest, form: Any, org: Any) -> ImportRun | None:
    """Import the CIL/CILX file of a valid upload form (the Import page's and the offline
    queue's): the run, with its summary as a message, or None with the refusal as a message."""
    upload = form.cleaned_data["file"]
    # The size is checked before the file is read into memory.
    data = upload.read() if upload.size <= settings.VAMT_CIL_MAX_BYTES else b""
    try:
        run = import_cil(
            actor=request.user,
            organisation=org,
            data=data,
            size=upload.size,
            filename=upload.name,
            ip_address=audit.client_ip(request),
        )
    except DomainError as exc:
        messages.error(request, _("Nothing was imported: %(reason)s") % {"reason": exc})
        return None
    messages.success(request, run.message)
    return run


@login_required
@require_POST
def import_cil_upload(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    policy.require(request.user, policy.Action.MANAGE_CLIENTS, org)
    form = CilImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a VAMT CIL or CILX file to import."))
        return redirect("licensing:import_list")
    run = run_cil_upload(request, form, org)
    if run is None:
        return redirect("licensing:import_list")
    return redirect("licensing:import_detail", pk=run.pk)


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_scoped_or_404(request, ImportRun.objects.all(), policy.Action.VIEW, pk=pk)
    rejections = list(run.rejections.order_by("position", "id")[:100])
    return render(
        request,
        "licensing/inventory/import_detail.html",
        {"run": run, "rejections": rejections},
    )


@login_required
def import_rejections_csv(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_scoped_or_404(
        request, ImportRun.objects.select_related("organisation"), policy.Action.EXPORT, pk=pk
    )
    return export_response(
        request,
        name="import-rejections",
        queryset=runs.rejections_of(run),
        columns=runs.REJECTION_COLUMNS,
        organisation=run.organisation,
        obj=run,
    )


IMPORT_EXPORT_COLUMNS = [
    ExportColumn("import_id", "id"),
    ExportColumn("source", "source"),
    ExportColumn("status", "status"),
    ExportColumn("actor", "actor_label"),
    ExportColumn("filename", "filename"),
    ExportColumn("started_at", "started_at"),
    ExportColumn("finished_at", "finished_at"),
    ExportColumn("received", "received"),
    ExportColumn("created", "created"),
    ExportColumn("updated", "updated"),
    ExportColumn("unchanged", "unchanged"),
    ExportColumn("rejected", "rejected"),
    ExportColumn("message", "message"),
]


@token_aware
def import_export(request: HttpRequest) -> HttpResponse:
    """The import history of the organisation (CSV), newest first."""
    org = resolve_organisation(request, policy.Action.EXPORT)
    qs = ImportRun.objects.for_organisation(org).order_by("-started_at", "-id")
    return export_response(
        request, name="imports", queryset=qs, columns=IMPORT_EXPORT_COLUMNS, organisation=org
    )
