"""MAK pool pages: pools, the key vault, the activation ledger, requests and the approvals
queue. Views scope, validate, call one service and pick a response."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from licensing import policy
from licensing.exports import ExportColumn, filter_errors, invalid_filter_response
from licensing.filters import ActivationRequestFilterSet, MakActivationFilterSet
from licensing.forms.mak import (
    ActivationRequestForm,
    BlockForm,
    DecisionForm,
    GrantForm,
    KeyAddForm,
    KeyImportForm,
    MicrosoftRemainingForm,
    PoolForm,
    PoolSettingsForm,
    RecordActivationForm,
)
from licensing.models import (
    ActivationRequest,
    Client,
    MakActivation,
    MakKey,
    MakPool,
    RequestStatus,
)
from licensing.pagination import KeysetPaginator, SortKey
from licensing.scoping import get_scoped_or_404, resolve_organisation, scoped_list
from licensing.services import audit, reauth
from licensing.services.errors import DomainError
from licensing.services.mak import allocation, vault
from licensing.services.mak import requests as mak_requests
from licensing.services.mak.forecast import PoolForecast, forecast_pools
from licensing.views import signin
from licensing.views.exports import export_response, token_aware
from licensing.views.htmx import render_page_or_partial, vary_on_htmx, wants_fragment

REAUTH_SESSION_KEY = reauth.SESSION_KEY  # kept for callers that name it here

POOL_SORTS = {
    "edition": SortKey("edition__name", label=gettext_lazy("Edition")),
    "created": SortKey("created_at", label=gettext_lazy("Added")),
}
KEY_SORTS = {
    "added": SortKey("id", label=gettext_lazy("Added")),
    "last5": SortKey("last5", label=gettext_lazy("Key")),
}
ACTIVATION_SORTS = {
    "activated": SortKey("activated_at", label=gettext_lazy("Activated")),
}
REQUEST_SORTS = {"requested": SortKey("requested_at", label=gettext_lazy("Requested"))}

pool_paginator = KeysetPaginator(POOL_SORTS, default="edition", salt="mak_pool_list")
key_paginator = KeysetPaginator(KEY_SORTS, default="added", salt="mak_key_list")
activation_paginator = KeysetPaginator(
    ACTIVATION_SORTS, default="-activated", salt="mak_activation_list"
)
request_paginator = KeysetPaginator(REQUEST_SORTS, default="-requested", salt="mak_request_list")


def _ip(request: HttpRequest) -> str | None:
    return audit.client_ip(request)


def _forecast_for(pools: list[MakPool] | Any) -> dict[int, PoolForecast]:
    ids = [p.pk for p in pools]
    return {f.pool.pk: f for f in forecast_pools(MakPool.objects.filter(pk__in=ids))}


def _pool_or_404(request: HttpRequest, pk: int, action: policy.Action | None = None) -> MakPool:
    return get_scoped_or_404(
        request,
        MakPool.objects.select_related("edition", "organisation"),
        action or policy.Action.VIEW,
        pk=pk,
    )


def _key_or_404(request: HttpRequest, pk: int, action: policy.Action) -> MakKey:
    return get_scoped_or_404(
        request, MakKey.objects.select_related("pool__edition", "pool__organisation"), action, pk=pk
    )


def _request_or_404(
    request: HttpRequest, pk: int, action: policy.Action = policy.Action.VIEW
) -> ActivationRequest:
    return get_scoped_or_404(
        request,
        ActivationRequest.objects.select_related(
            "pool__edition", "pool__organisation", "key", "requested_by", "decided_by"
        ),
        action,
        pk=pk,
    )


def _no_store(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)  # includes Cache-Control: no-store
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    response["Pragma"] = "no-cache"
    return response


# --- pools -----------------------------------------------------------------------------------


@login_required
def pool_list(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    pools = scoped_list(request, MakPool.objects.select_related("edition"))
    urgency = request.GET.get("urgency", "")
    if urgency in ("red", "amber"):
        # The dashboard's "Needs attention" link: the pools of that colour (one forecast query
        # over the organisation's pools, a few dozen at most).
        pools = pools.filter(
            pk__in=[f.pool.pk for f in forecast_pools(pools) if f.urgency == urgency]
        )
    page = pool_paginator.paginate(request, pools)
    forecasts = _forecast_for(page.rows)
    rows = [forecasts[p.pk] for p in page.rows]
    can_manage = policy.allowed(request.user, policy.Action.MANAGE_KEYS, org)
    form = PoolForm(request.POST or None, organisation=org) if can_manage else None
    if request.method == "POST":
        policy.require(request.user, policy.Action.MANAGE_KEYS, org)
        if form is not None and form.is_valid():
            try:
                pool = vault.create_pool(
                    actor=request.user,
                    organisation=org,
                    edition=form.cleaned_data["edition"],
                    agreement_number=form.cleaned_data["agreement_number"],
                    low_water_mark=form.cleaned_data["low_water_mark"],
                    ip_address=_ip(request),
                )
            except DomainError as exc:
                exc.apply_to_form(form)
            else:
                messages.success(
                    request,
                    _("%(edition)s MAK pool created. Add its keys next.")
                    % {"edition": pool.edition},
                )
                return redirect("licensing:pool_detail", pk=pool.pk)
    context = {"page": page, "rows": rows, "form": form, "urgency": urgency}
    return render_page_or_partial(
        request, "licensing/mak/pool_list.html", context, partial="results"
    )


def _newest_activations(pool: MakPool, limit: int) -> QuerySet[MakActivation]:
    """The pool's newest activations, read from its (pool, activated_at, id) index: only the
    columns the pool page shows."""
    return (
        MakActivation.objects.filter(pool=pool)
        .select_related("client", "key")
        .only("activated_at", "reason", "client__hostname", "key__last5")
        .order_by("-activated_at", "-id")[:limit]
    )


@login_required
def pool_detail(request: HttpRequest, pk: int) -> HttpResponse:
    pool = _pool_or_404(request, pk)
    forecast = forecast_pools(MakPool.objects.filter(pk=pool.pk))[0]
    keys = key_paginator.paginate(request, pool.keys.all())
    org = pool.organisation
    can = policy.actions_for(request.user, org)
    recent = _newest_activations(pool, 10)
    requests_ = (
        ActivationRequest.objects.filter(pool=pool)
        .select_related("requested_by", "decided_by")
        .order_by("-requested_at", "-id")[:10]
    )
    disagreements = sum(1 for k in keys.rows if vault.ledger_disagrees(k))
    context = {
        "pool": pool,
        "f": forecast,
        "page": keys,
        "keys": keys.rows,
        "recent": recent,
        "requests": requests_,
        "disagreements": disagreements,
        "settings_form": PoolSettingsForm(
            initial={
                "agreement_number": pool.agreement_number,
                "low_water_mark": pool.low_water_mark,
            }
        )
        if can.get("manage_keys")
        else None,
        "activation_form": RecordActivationForm() if can.get("manage_keys") else None,
    }
    return render_page_or_partial(
        request, "licensing/mak/pool_detail.html", context, partial="keys"
    )


@login_required
@require_POST
def pool_settings(request: HttpRequest, pk: int) -> HttpResponse:
    pool = _pool_or_404(request, pk, policy.Action.MANAGE_KEYS)
    form = PoolSettingsForm(request.POST)
    if form.is_valid():
        try:
            vault.update_pool(
                actor=request.user, pool=pool, ip_address=_ip(request), **form.cleaned_data
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Pool settings saved."))
    else:
        messages.error(request, _("Check the low-water mark: a whole number of 0 or more."))
    return redirect("licensing:pool_detail", pk=pool.pk)


@login_required
def pool_activations(request: HttpRequest, pk: int) -> HttpResponse:
    pool = _pool_or_404(request, pk)
    page = activation_paginator.paginate(
        request,
        MakActivation.objects.filter(pool=pool).select_related("client", "key", "recorded_by"),
    )
    return render_page_or_partial(
        request,
        "licensing/mak/activation_list.html",
        {"pool": pool, "page": page},
        partial="results",
    )


@login_required
def activation_record(request: HttpRequest, pk: int) -> HttpResponse:
    pool = _pool_or_404(request, pk, policy.Action.MANAGE_KEYS)
    form = RecordActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        hostname = form.cleaned_data["hostname"].strip().lower()
        client = (
            Client.objects.for_organisation(pool.organisation).filter(hostname=hostname).first()
        )
        if client is None:
            form.add_error(
                "hostname",
                _("No client called %(hostname)s in %(organisation)s.")
                % {"hostname": hostname, "organisation": pool.organisation},
            )
        elif client.edition_id != pool.edition_id:
            form.add_error(
                "hostname",
                _("%(hostname)s runs %(edition)s, not %(pool_edition)s.")
                % {
                    "hostname": hostname,
                    "edition": client.edition or _("no known edition"),
                    "pool_edition": pool.edition,
                },
            )
        else:
            try:
                activation = allocation.record_activation(
                    actor=request.user,
                    client=client,
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                    ip_address=_ip(request),
                )
            except DomainError as exc:
                exc.apply_to_form(form)
            else:
                messages.success(
                    request,
                    _("Recorded the activation of %(hostname)s with key …%(last5)s.")
                    % {"hostname": client.hostname, "last5": activation.key.last5},
                )
                return redirect("licensing:pool_detail", pk=pool.pk)
    return render(request, "licensing/mak/activation_form.html", {"pool": pool, "form": form})


# --- keys ------------------------------------------------------------------------------------


@login_required
def key_add(request: HttpRequest, pk: int) -> HttpResponse:
    pool = _pool_or_404(request, pk, policy.Action.MANAGE_KEYS)
    form = KeyAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key = vault.add_key(
                actor=request.user,
                pool=pool,
                key=form.cleaned_data["key"],
                activation_limit=form.cleaned_data["activation_limit"],
                activations_used=form.cleaned_data["activations_used"] or 0,
                label=form.cleaned_data["label"],
                ip_address=_ip(request),
            )
        except DomainError as exc:
            form.add_error(
                "key" if exc.code in ("invalid_key", "duplicate_key") else None, str(exc)
            )
        else:
            messages.success(request, _("Key %(key)s stored encrypted.") % {"key": key.masked})
            return redirect("licensing:pool_detail", pk=pool.pk)
    # The template never echoes a typed key back to the browser, valid or not.
    return _no_store(render(request, "licensing/mak/key_add.html", {"pool": pool, "form": form}))


@login_required
def key_import(request: HttpRequest, pk: int) -> HttpResponse:
    pool = _pool_or_404(request, pk, policy.Action.MANAGE_KEYS)
    form = KeyImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = vault.import_keys(
            actor=request.user,
            pool=pool,
            csv_text=form.cleaned_data["file"],
            ip_address=_ip(request),
        )
        if report.ok:
            messages.success(
                request,
                ngettext(
                    "Imported %(count)s key into the %(edition)s MAK pool.",
                    "Imported %(count)s keys into the %(edition)s MAK pool.",
                    len(report.created),
                )
                % {"count": len(report.created), "edition": pool.edition},
            )
            return redirect("licensing:pool_detail", pk=pool.pk)
    return _no_store(
        render(
            request, "licensing/mak/key_import.html", {"pool": pool, "form": form, "report": report}
        )
    )


@login_required
@require_POST
def key_block(request: HttpRequest, pk: int) -> HttpResponse:
    key = _key_or_404(request, pk, policy.Action.MANAGE_KEYS)
    form = BlockForm(request.POST)
    try:
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        vault.block_key(actor=request.user, key=key, reason=reason, ip_address=_ip(request))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Key %(key)s blocked: it is never allocated again.") % {"key": key.masked},
        )
    return redirect("licensing:pool_detail", pk=key.pool_id)


@login_required
@require_POST
def key_unblock(request: HttpRequest, pk: int) -> HttpResponse:
    key = _key_or_404(request, pk, policy.Action.MANAGE_KEYS)
    try:
        vault.unblock_key(actor=request.user, key=key, ip_address=_ip(request))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Key %(key)s unblocked.") % {"key": key.masked})
    return redirect("licensing:pool_detail", pk=key.pool_id)


@login_required
@require_POST
def key_microsoft_remaining(request: HttpRequest, pk: int) -> HttpResponse:
    key = _key_or_404(request, pk, policy.Action.MANAGE_KEYS)
    form = MicrosoftRemainingForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Enter Microsoft's remaining count as a whole number of 0 or more.")
        )
    else:
        try:
            key = vault.set_microsoft_remaining(
                actor=request.user,
                key=key,
                remaining=form.cleaned_data["remaining"],
                ip_address=_ip(request),
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            if vault.ledger_disagrees(key):
                messages.warning(
                    request,
                    _(
                        "Microsoft says %(microsoft)s left on %(key)s; the portal's ledger says "
                        "%(ledger)s. Check activations made outside the portal."
                    )
                    % {
                        "microsoft": key.microsoft_remaining,
                        "key": key.masked,
                        "ledger": key.activations_left,
                    },
                )
            else:
                messages.success(
                    request,
                    _("Microsoft's figure for %(key)s matches the ledger.") % {"key": key.masked},
                )
    return redirect("licensing:pool_detail", pk=key.pool_id)


# --- reveal ----------------------------------------------------------------------------------


@login_required
def key_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    key = _key_or_404(request, pk, policy.Action.REVEAL_SECRET)
    if refused := signin.refuse_without_second_factor(request):
        return refused
    confirmed_at = reauth.confirmed_at(request)
    if not reauth.is_fresh(confirmed_at):
        return redirect(f"{reverse('licensing:password_confirm')}?next={request.path}")
    context: dict[str, Any] = {"key": key, "pool": key.pool}
    if request.method == "POST":
        try:
            context["revealed"] = vault.reveal_key(
                actor=request.user,
                key=key,
                password_confirmed_at=confirmed_at,
                ip_address=_ip(request),
            )
        except DomainError:
            return redirect(f"{reverse('licensing:password_confirm')}?next={request.path}")
    return _no_store(render(request, "licensing/mak/key_reveal.html", context))


# --- requests --------------------------------------------------------------------------------


@login_required
def request_create(request: HttpRequest, pk: int) -> HttpResponse:
    pool = _pool_or_404(request, pk, policy.Action.REQUEST_ACTIVATIONS)
    form = ActivationRequestForm(
        request.POST or None,
        pool=pool,
        initial={"agreement_number": pool.agreement_number, "product_name": str(pool.edition)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            req = mak_requests.request_activations(
                actor=request.user,
                pool=pool,
                key=form.cleaned_data["key"],
                quantity=form.cleaned_data["quantity"],
                justification=form.cleaned_data["justification"],
                agreement_number=form.cleaned_data["agreement_number"],
                product_name=form.cleaned_data["product_name"],
                ip_address=_ip(request),
            )
        except DomainError as exc:
            exc.apply_to_form(form)
        else:
            messages.success(
                request,
                _(
                    "Request #%(number)s for %(quantity)s activations sent to the managers for "
                    "approval."
                )
                % {"number": req.pk, "quantity": req.quantity},
            )
            return redirect("licensing:pool_detail", pk=pool.pk)
    forecast = forecast_pools(MakPool.objects.filter(pk=pool.pk))[0]
    return render(
        request, "licensing/mak/request_form.html", {"pool": pool, "form": form, "f": forecast}
    )


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    qs = scoped_list(
        request,
        ActivationRequest.objects.select_related(
            "pool__edition", "requested_by", "decided_by", "key"
        ),
    )
    filterset = ActivationRequestFilterSet(request.GET, queryset=qs, request=request)
    errors = filter_errors(filterset)
    status = "" if errors else filterset.form.cleaned_data.get("status") or ""
    page = request_paginator.paginate(request, qs.none() if errors else filterset.qs)
    context = {
        "page": page,
        "status": status,
        "filter_form": filterset.form,
        "filter_errors": errors,
    }
    return render_page_or_partial(
        request, "licensing/mak/request_list.html", context, partial="results"
    )


def _card(req: ActivationRequest, forecast: PoolForecast) -> dict[str, Any]:
    """One approval card: the request, its pool's forecast, and how long the pool would last
    with the request approved (None when nothing is being used)."""
    return {"req": req, "f": forecast, "lasts": forecast.days_lasting(req.quantity)}


def _queue_context(request: HttpRequest, req: ActivationRequest) -> dict[str, Any]:
    return _card(req, forecast_pools(MakPool.objects.filter(pk=req.pool_id))[0])


@login_required
def approval_queue(request: HttpRequest) -> HttpResponse:
    org = resolve_organisation(request)
    policy.require(request.user, policy.Action.DECIDE_REQUESTS, org)
    pending = list(
        ActivationRequest.objects.for_organisation(org)
        .filter(status=RequestStatus.PENDING)
        .select_related("pool__edition", "key", "requested_by")
        .order_by("requested_at", "id")
    )
    forecasts = _forecast_for({r.pool for r in pending})
    items = [_card(r, forecasts[r.pool_id]) for r in pending]
    decided = (
        ActivationRequest.objects.for_organisation(org)
        .exclude(status=RequestStatus.PENDING)
        .select_related("pool__edition", "requested_by", "decided_by")
        .order_by("-decided_at", "-id")[:15]
    )
    return render(
        request, "licensing/mak/approval_queue.html", {"items": items, "decided": decided}
    )


def _decide(request: HttpRequest, pk: int, verdict: str) -> HttpResponse:
    req = _request_or_404(request, pk, policy.Action.DECIDE_REQUESTS)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    error = ""
    try:
        service = (
            mak_requests.approve_request if verdict == "approve" else mak_requests.reject_request
        )
        service(actor=request.user, request=req, note=note, ip_address=_ip(request))
    except DomainError as exc:
        error = str(exc)
    req = _request_or_404(request, pk)  # fresh: the decision and the key's new limit
    if wants_fragment(request):
        context = _queue_context(request, req) | {"error": error}
        return vary_on_htmx(
            render(request, "licensing/mak/approval_queue.html#request_card", context)
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            (
                _("Request #%(number)s approved: %(quantity)s activations for %(product)s.")
                if req.status == RequestStatus.APPROVED
                else _("Request #%(number)s rejected: %(quantity)s activations for %(product)s.")
            )
            % {"number": req.pk, "quantity": req.quantity, "product": req.product_name},
        )
    return vary_on_htmx(redirect("licensing:approval_queue"))


@login_required
@require_POST
def request_approve(request: HttpRequest, pk: int) -> HttpResponse:
    _request_or_404(request, pk, policy.Action.DECIDE_REQUESTS)
    if refused := signin.refuse_without_second_factor(request):
        return refused
    return _decide(request, pk, "approve")


@login_required
@require_POST
def request_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "reject")


@login_required
@require_POST
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    req = _request_or_404(request, pk, policy.Action.REQUEST_ACTIVATIONS)
    try:
        mak_requests.cancel_request(actor=request.user, request=req, ip_address=_ip(request))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Request #%(number)s cancelled.") % {"number": req.pk})
    return redirect("licensing:request_list")


@login_required
@require_POST
def request_grant(request: HttpRequest, pk: int) -> HttpResponse:
    req = _request_or_404(request, pk, policy.Action.REQUEST_ACTIVATIONS)
    form = GrantForm(request.POST)
    try:
        mak_requests.record_microsoft_grant(
            actor=request.user,
            request=req,
            reference=form.cleaned_data["reference"] if form.is_valid() else "",
            ip_address=_ip(request),
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Recorded Microsoft's confirmation of request #%(number)s.") % {"number": req.pk},
        )
    return redirect("licensing:request_list")


# --- exports ---------------------------------------------------------------------------------

_usable = ~Q(keys__status="blocked")

POOL_EXPORT_COLUMNS = [
    ExportColumn("pool_id", "id"),
    ExportColumn("edition", "edition__name"),
    ExportColumn("agreement_number", "agreement_number"),
    ExportColumn("keys", Count("keys")),
    ExportColumn("blocked_keys", Count("keys", filter=Q(keys__status="blocked"))),
    ExportColumn("activation_limit", Sum("keys__activation_limit", filter=_usable)),
    ExportColumn("activations_used", Sum("keys__activations_used", filter=_usable)),
    ExportColumn(
        "activations_remaining",
        Sum(F("keys__activation_limit") - F("keys__activations_used"), filter=_usable),
    ),
    ExportColumn("low_water_mark", "low_water_mark"),
    ExportColumn("low_water_alerted_at", "low_water_alerted_at"),
    ExportColumn("microsoft_remaining", Sum("keys__microsoft_remaining", filter=_usable)),
    ExportColumn("created_at", "created_at"),
]

KEY_EXPORT_COLUMNS = [
    ExportColumn("key_id", "id"),
    ExportColumn("pool_id", "pool_id"),
    ExportColumn("edition", "pool__edition__name"),
    # Never the key: its last five characters only (what Microsoft's tools show too).
    ExportColumn("key_last5", "last5"),
    ExportColumn("label", "label"),
    ExportColumn("status", "status"),
    ExportColumn("activation_limit", "activation_limit"),
    ExportColumn("activations_used", "activations_used"),
    ExportColumn("activations_remaining", F("activation_limit") - F("activations_used")),
    ExportColumn("microsoft_remaining", "microsoft_remaining"),
    ExportColumn("microsoft_remaining_at", "microsoft_remaining_at"),
    ExportColumn("blocked_reason", "blocked_reason"),
    ExportColumn("created_at", "created_at"),
]

REQUEST_EXPORT_COLUMNS = [
    ExportColumn("request_id", "id"),
    ExportColumn("status", "status"),
    ExportColumn("pool_id", "pool_id"),
    ExportColumn("agreement_number", "agreement_number"),
    ExportColumn("product_name", "product_name"),
    ExportColumn("key_last5", "key_last5"),
    ExportColumn("quantity", "quantity"),
    ExportColumn("justification", "justification"),
    ExportColumn("requested_by", "requested_by__username"),
    ExportColumn("requested_at", "requested_at"),
    ExportColumn("decided_by", "decided_by__username"),
    ExportColumn("decided_at", "decided_at"),
    ExportColumn("decision_note", "decision_note"),
    ExportColumn("granted_at", "granted_at"),
    ExportColumn("microsoft_reference", "microsoft_reference"),
]


@token_aware
def pool_export(request: HttpRequest) -> HttpResponse:
    """MAK usage per pool (CSV)."""
    org = resolve_organisation(request, policy.Action.EXPORT)
    qs = MakPool.objects.for_organisation(org).order_by("edition__name", "id")
    return export_response(
        request, name="mak-usage", queryset=qs, columns=POOL_EXPORT_COLUMNS, organisation=org
    )


@token_aware
def key_export(request: HttpRequest) -> HttpResponse:
    """Every key of the organisation, masked (last five characters only)."""
    org = resolve_organisation(request, policy.Action.EXPORT)
    qs = MakKey.objects.for_organisation(org).order_by("pool_id", "id")
    return export_response(
        request, name="mak-keys", queryset=qs, columns=KEY_EXPORT_COLUMNS, organisation=org
    )


@token_aware
def request_export(request: HttpRequest) -> HttpResponse:
    """Extra-activation requests with their decisions (CSV)."""
    org = resolve_organisation(request, policy.Action.EXPORT)
    filterset = ActivationRequestFilterSet(
        request.GET,
        queryset=ActivationRequest.objects.for_organisation(org).order_by("-requested_at", "-id"),
        request=request,
    )
    if (refused := invalid_filter_response(filterset)) is not None:
        return refused
    return export_response(
        request,
        name="activation-requests",
        queryset=filterset.qs,
        columns=REQUEST_EXPORT_COLUMNS,
        organisation=org,
    )


ACTIVATION_EXPORT_COLUMNS = [
    ExportColumn("activation_id", "id"),
    ExportColumn("pool_id", "pool_id"),
    ExportColumn("edition", "pool__edition__name"),
    ExportColumn("mak_key_last5", "key__last5"),
    ExportColumn("client", "client__hostname"),
    ExportColumn("reason", "reason"),
    ExportColumn("activated_at", "activated_at"),
    ExportColumn("recorded_by", "recorded_by__username"),
    ExportColumn("note", "note"),
]


@token_aware
def activation_export(request: HttpRequest) -> HttpResponse:
    """The activation ledger (CSV), with the API's filters (`pool`, `key`, `client`, `reason`)."""
    org = resolve_organisation(request, policy.Action.EXPORT)
    filterset = MakActivationFilterSet(
        request.GET,
        queryset=MakActivation.objects.for_organisation(org).order_by("-activated_at", "-id"),
        request=request,
    )
    if (invalid := invalid_filter_response(filterset)) is not None:
        return invalid
    return export_response(
        request,
        name="mak-activations",
        queryset=filterset.qs,
        columns=ACTIVATION_EXPORT_COLUMNS,
        organisation=org,
    )
