"""Import pages: upload a CSV inventory or a KMS event 12290 export, and the import history
with each run's rejected-rows report."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from licensing import policy
from licensing.models import ImportRun, ImportStatus, KmsHost
from licensing.scoping import current_organisation, get_scoped_or_404
from licensing.services import audit
from licensing.services.inventory.csv_import import import_csv
from licensing.services.inventory.events import import_kms_events
from licensing.services.inventory.records import FIELDS
from licensing.services.inventory.runs import rejected_rows_csv

PAGE_SIZE = 50


class CsvImportForm(forms.Form):
    file = forms.FileField(help_text="UTF-8 CSV with a header line; see the columns below.")


class EventsImportForm(forms.Form):
    file = forms.FileField(help_text="CSV or text export of event 12290 from the KMS host.")
    kms_host = forms.ModelChoiceField(
        queryset=KmsHost.objects.none(),
        required=False,
        empty_label="(not recorded)",
        help_text="The host the export comes from: its clients are linked to it.",
    )

    def __init__(self, *args, organisation=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["kms_host"].queryset = KmsHost.objects.for_organisation(organisation).filter(
            retired_at__isnull=True
        )


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
    org = current_organisation(request)
    policy.require(request.user, policy.Action.VIEW, org)
    runs, older = _history(request, org)
    context = {
        "runs": runs,
        "older": older,
        "csv_form": CsvImportForm(),
        "events_form": EventsImportForm(organisation=org),
        "fields": FIELDS,
        "max_rows": settings.INVENTORY_UPLOAD_MAX_ROWS,
    }
    if request.htmx and request.GET.get("before"):
        return render(request, "licensing/inventory/import_list.html#history", context)
    return render(request, "licensing/inventory/import_list.html", context)


def _uploaded_runs_message(request: HttpRequest, run: ImportRun) -> None:
    if run.status == ImportStatus.REFUSED:
        messages.error(request, f"Nothing was imported: {run.message}")
    else:
        messages.success(
            request,
            f"Imported: {run.created:,} created, {run.updated:,} updated, {run.unchanged:,} unchanged, "
            f"{run.rejected:,} rejected.",
        )


@login_required
@require_POST
def import_csv_upload(request: HttpRequest) -> HttpResponse:
    org = current_organisation(request)
    policy.require(request.user, policy.Action.MANAGE_CLIENTS, org)
    form = CsvImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a CSV file to import.")
        return redirect("licensing:import_list")
    upload = form.cleaned_data["file"]
    run = import_csv(
        actor=request.user,
        organisation=org,
        stream=upload,
        filename=upload.name,
        ip_address=audit.client_ip(request),
        max_rows=settings.INVENTORY_UPLOAD_MAX_ROWS,
    )
    _uploaded_runs_message(request, run)
    return redirect("licensing:import_detail", pk=run.pk)


@login_required
@require_POST
def import_events_upload(request: HttpRequest) -> HttpResponse:
    from licensing.parsers import decode_upload

    org = current_organisation(request)
    policy.require(request.user, policy.Action.MANAGE_CLIENTS, org)
    form = EventsImportForm(request.POST, request.FILES, organisation=org)
    if not form.is_valid():
        messages.error(request, "Choose an event 12290 export to import.")
        return redirect("licensing:import_list")
    upload = form.cleaned_data["file"]
    if upload.size > settings.INVENTORY_CSV_MAX_BYTES:
        messages.error(request, "The file is too large.")
        return redirect("licensing:import_list")
    run = import_kms_events(
        actor=request.user,
        organisation=org,
        text=decode_upload(upload.read()),
        filename=upload.name,
        kms_host=form.cleaned_data["kms_host"],
        ip_address=audit.client_ip(request),
    )
    _uploaded_runs_message(request, run)
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
    run = get_scoped_or_404(request, ImportRun.objects.all(), policy.Action.EXPORT, pk=pk)
    audit.record(
        action="export.import-rejections",
        actor=request.user,
        organisation=run.organisation_id,
        obj=run,
        ip_address=audit.client_ip(request),
    )
    response = StreamingHttpResponse(rejected_rows_csv(run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-rejected.csv"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
