"""Pages of the licences area: the licence position (page and CSV), agreements and their
licence lines (admins record them by hand or from a CSV), the true-up report of an Enterprise
Agreement, and the edition catalogue (admins add non-built-in editions)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from licensing import policy
from licensing.exports import ExportColumn, filter_errors, invalid_filter_response
from licensing.filters import AgreementFilterSet, LicencePositionFilterSet
from licensing.forms.licences import (
    AgreementForm,
    EditionForm,
    EntitlementForm,
    EntitlementImportForm,
    TrueUpForm,
)
from licensing.models import Agreement, Edition, Entitlement, Programme
from licensing.scoping import get_scoped_or_404, resolve_organisation
from licensing.services import audit
from licensing.services.errors import DomainError
from licensing.services.licences import agreements, editions, entitlements, true_up
from licensing.services.licences.position import position_rows, summarise_rows
from licensing.views.exports import export_response, token_aware

POSITION_COLUMNS = [
    ExportColumn("edition", "edition__name"),
    ExportColumn("product", "edition__product"),
    ExportColumn("version", "version"),
    ExportColumn("installed", "installed"),
    ExportColumn("licences", "licences"),
    ExportColumn("covered", "covered"),
    ExportColumn("covered_by_newer_version", "covered_by_newer"),
    ExportColumn("surplus", "surplus"),
    ExportColumn("shortfall", "shortfall"),
]
TRUE_UP_COLUMNS = [
    ExportColumn("edition", "edition__name"),
    ExportColumn("version", "version"),
    ExportColumn("installs_added_since", "added"),
    ExportColumn("installed_now", "installed"),
    ExportColumn("licences", "licences"),
    ExportColumn("covered", "covered"),
    ExportColumn("shortfall", "shortfall"),
]


def _agreement_or_404(request: HttpRequest, pk: int, action: policy.Action) -> Agreement:
    return get_scoped_or_404(
        request, Agreement.objects.select_related("organisation"), action, pk=pk
    )


def _entitlement_or_404(request: HttpRequest, pk: int, action: policy.Action) -> Entitlement:
    return get_scoped_or_404(
        request,
        Entitlement.objects.select_related("agreement", "edition", "organisation"),
        action,
        pk=pk,
    )


# --- the position ------------------------------------------------------------------------------


@login_required
def licence_position(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.VIEW)
    everything = list(position_rows(org))
    filterset = LicencePositionFilterSet(request.GET or None, queryset=position_rows(org))
    errors = filter_errors(filterset)
    filtered = any(request.GET.get(name) for name in filterset.filters)
    # Unfiltered, the rows read for the totals are the page's rows: one query.
    rows = [] if errors else list(filterset.qs) if filtered else everything
    context = {
        "org": org,
        "rows": rows,
        "summary": summarise_rows(everything),
        "filter_form": filterset.form,
        "filter_errors": errors,
        "agreement_count": Agreement.objects.for_organisation(org).count(),
        "query": request.GET.urlencode(),
    }
    return render(request, "licensing/licences/position.html", context)


@require_GET
@token_aware
def licence_position_export(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.EXPORT)
    filterset = LicencePositionFilterSet(request.GET, queryset=position_rows(org))
    invalid = invalid_filter_response(filterset)
    if invalid is not None:
        return invalid
    return export_response(
        request,
        name="licence-position",
        queryset=filterset.qs,
        columns=POSITION_COLUMNS,
        organisation=org,
    )


# --- agreements --------------------------------------------------------------------------------


@login_required
def agreement_list(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.VIEW)
    qs = Agreement.objects.for_organisation(org).annotate(
        lines=Count("entitlements"), licences=Sum("entitlements__quantity")
    )
    filterset = AgreementFilterSet(request.GET or None, queryset=qs)
    errors = filter_errors(filterset)
    context = {
        "org": org,
        "agreements": [] if errors else list(filterset.qs),
        "filter_form": filterset.form,
        "filter_errors": errors,
    }
    return render(request, "licensing/licences/agreement_list.html", context)


@login_required
def agreement_create(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.MANAGE_LICENCES)
    form = AgreementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            agreement = agreements.create_agreement(
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
                _("%(agreement)s recorded. Add its licences next.")
                % {"agreement": agreement.title},
            )
            return redirect("licensing:agreement_detail", pk=agreement.pk)
    return render(request, "licensing/licences/agreement_form.html", {"form": form})


@login_required
def agreement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _agreement_or_404(request, pk, policy.Action.VIEW)
    can_manage = policy.allowed(request.user, policy.Action.MANAGE_LICENCES, agreement.organisation)
    form = EntitlementForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        policy.require(request.user, policy.Action.MANAGE_LICENCES, agreement.organisation)
        assert form is not None
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if v is not None}
            try:
                line = agreements.add_entitlement(
                    actor=request.user,
                    agreement=agreement,
                    ip_address=audit.client_ip(request),
                    **data,
                )
            except DomainError as exc:
                exc.apply_to_form(form)
            else:
                messages.success(
                    request,
                    _("Added %(quantity)s licences of %(edition)s.")
                    % {"quantity": intcomma(line.quantity), "edition": line.edition},
                )
                return redirect("licensing:agreement_detail", pk=agreement.pk)
    lines = agreement.entitlements.select_related("edition").order_by("edition__name", "id")
    context = {
        "agreement": agreement,
        "lines": lines,
        "total": sum(x.quantity for x in lines),
        "form": form,
        "is_ea": agreement.programme == Programme.ENTERPRISE_AGREEMENT,
        "true_up_since": true_up.since(agreement),
        "true_up_form": TrueUpForm() if can_manage else None,
    }
    return render(request, "licensing/licences/agreement_detail.html", context)


@login_required
def agreement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _agreement_or_404(request, pk, policy.Action.MANAGE_LICENCES)
    initial = {f: getattr(agreement, f) for f in AgreementForm.base_fields}
    form = AgreementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            agreements.update_agreement(
                actor=request.user,
                agreement=agreement,
                ip_address=audit.client_ip(request),
                **form.cleaned_data,
            )
        except DomainError as exc:
            exc.apply_to_form(form)
        else:
            messages.success(request, _("%(agreement)s saved.") % {"agreement": agreement.title})
            return redirect("licensing:agreement_detail", pk=agreement.pk)
    return render(
        request, "licensing/licences/agreement_form.html", {"form": form, "agreement": agreement}
    )


@login_required
@require_POST
def agreement_delete(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _agreement_or_404(request, pk, policy.Action.MANAGE_LICENCES)
    agreements.delete_agreement(
        actor=request.user, agreement=agreement, ip_address=audit.client_ip(request)
    )
    messages.success(
        request, _("%(agreement)s and its licences deleted.") % {"agreement": agreement.title}
    )
    return redirect("licensing:agreement_list")


@login_required
def entitlement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    line = _entitlement_or_404(request, pk, policy.Action.MANAGE_LICENCES)
    initial = {f: getattr(line, f) for f in EntitlementForm.base_fields}
    form = EntitlementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v is not None}
        try:
            agreements.update_entitlement(
                actor=request.user, entitlement=line, ip_address=audit.client_ip(request), **data
            )
        except DomainError as exc:
            exc.apply_to_form(form)
        else:
            messages.success(request, _("Licence line saved."))
            return redirect("licensing:agreement_detail", pk=line.agreement_id)
    return render(request, "licensing/licences/entitlement_form.html", {"form": form, "line": line})


@login_required
@require_POST
def entitlement_delete(request: HttpRequest, pk: int) -> HttpResponse:
    line = _entitlement_or_404(request, pk, policy.Action.MANAGE_LICENCES)
    agreements.delete_entitlement(
        actor=request.user, entitlement=line, ip_address=audit.client_ip(request)
    )
    messages.success(
        request,
        _("Removed %(quantity)s licences of %(edition)s.")
        % {"quantity": intcomma(line.quantity), "edition": line.edition},
    )
    return redirect("licensing:agreement_detail", pk=line.agreement_id)


@login_required
def entitlement_import(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _agreement_or_404(request, pk, policy.Action.MANAGE_LICENCES)
    form = EntitlementImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = entitlements.import_entitlements(
            actor=request.user,
            agreement=agreement,
            csv_text=form.cleaned_data["file"],
            ip_address=audit.client_ip(request),
        )
        if report.ok:
            n = len(report.created)
            messages.success(
                request,
                ngettext(
                    "Imported %(count)s licence line (%(licences)s licences) into %(agreement)s.",
                    "Imported %(count)s licence lines (%(licences)s licences) into %(agreement)s.",
                    n,
                )
                % {
                    "count": n,
                    "licences": intcomma(sum(e.quantity for e in report.created)),
                    "agreement": agreement.title,
                },
            )
            return redirect("licensing:agreement_detail", pk=agreement.pk)
    context = {"agreement": agreement, "form": form, "report": report}
    return render(request, "licensing/licences/entitlement_import.html", context)


# --- true-up -----------------------------------------------------------------------------------


@require_GET
@token_aware
def true_up_export(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _agreement_or_404(request, pk, policy.Action.EXPORT)
    try:
        rows = true_up.added_since_rows(agreement)
    except DomainError as exc:
        return HttpResponse(f"{exc}\n", status=409, content_type="text/plain; charset=utf-8")
    return export_response(
        request,
        name="true-up",
        queryset=rows,
        columns=TRUE_UP_COLUMNS,
        organisation=agreement.organisation,
        filters={"since": true_up.since(agreement).isoformat()},
        obj=agreement,
    )


@login_required
@require_POST
def true_up_record(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _agreement_or_404(request, pk, policy.Action.MANAGE_LICENCES)
    form = TrueUpForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the true-up date as YYYY-MM-DD."))
    else:
        try:
            true_up.record_true_up(
                actor=request.user,
                agreement=agreement,
                on=form.cleaned_data["on"],
                ip_address=audit.client_ip(request),
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, _("True-up of %(agreement)s recorded.") % {"agreement": agreement.title}
            )
    return redirect("licensing:agreement_detail", pk=agreement.pk)


# --- editions ----------------------------------------------------------------------------------


@login_required
def edition_list(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.VIEW)
    can_manage = policy.allowed(request.user, policy.Action.MANAGE_EDITIONS, org)
    form = EditionForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        policy.require(request.user, policy.Action.MANAGE_EDITIONS, org)
        assert form is not None
        if form.is_valid():
            try:
                edition = editions.add_edition(
                    actor=request.user,
                    organisation=org,
                    ip_address=audit.client_ip(request),
                    **form.cleaned_data,
                )
            except DomainError as exc:
                exc.apply_to_form(form)
            else:
                messages.success(
                    request, _("%(edition)s added to the catalogue.") % {"edition": edition}
                )
                return redirect("licensing:edition_list")
    context: dict[str, Any] = {
        "editions": Edition.objects.order_by("-is_builtin", "product", "application", "-version"),
        "form": form,
    }
    return render(request, "licensing/licences/edition_list.html", context)


@login_required
@require_POST
def edition_delete(request: HttpRequest, pk: int) -> HttpResponse:
    org = resolve_organisation(request, policy.Action.MANAGE_EDITIONS)
    edition = get_object_or_404(Edition, pk=pk)  # the catalogue is shared by organisations
    try:
        editions.delete_edition(
            actor=request.user,
            organisation=org,
            edition=edition,
            ip_address=audit.client_ip(request),
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("%(edition)s removed from the catalogue.") % {"edition": edition}
        )
    return redirect("licensing:edition_list")


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
