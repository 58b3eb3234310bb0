"""Extra-activation requests: an admin asks, a manager of the same organisation decides.

Lifecycle: pending -> approved | rejected (by a manager other than the requester) or
cancelled (by the requester). Decisions are claimed with a conditional UPDATE on
`status = 'pending'`, so a request is decided exactly once however many managers click.

Approving adds the quantity to the chosen key's activation limit at once: the manager's
approval is the organisation's decision to use them, and the pool pages and forecasts must show
it. Microsoft grants increases by exception through its own web form, so an admin then files the
request there and records Microsoft's reference (`record_microsoft_grant`); until then the
request shows "awaiting Microsoft". If Microsoft refuses, the admin enters Microsoft's remaining
count on the key and the pool page shows the disagreement.
"""

from __future__ import annotations

from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from licensing import policy
from licensing.keyformat import redact
from licensing.models import (
    MAX_REQUESTED_ACTIVATIONS,
    ActivationRequest,
    MakKey,
    MakKeyStatus,
    MakPool,
    RequestStatus,
)
from licensing.services import audit, outbox
from licensing.services.errors import ConflictError, DomainError
from licensing.services.mak.alerts import update_low_water_state

# A decision that came too late, per the status the request already has (shown to the manager).
ALREADY_DECIDED = {
    RequestStatus.PENDING: gettext_noop("This request is still pending; nothing was changed."),
    RequestStatus.APPROVED: gettext_noop("This request was already approved; nothing was changed."),
    RequestStatus.REJECTED: gettext_noop("This request was already rejected; nothing was changed."),
    RequestStatus.CANCELLED: gettext_noop(
        "This request was already cancelled; nothing was changed."
    ),
}


def _quantity(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise DomainError(
            _("The number of activations must be a whole number."), code="invalid"
        ) from None
    if number < 1:
        raise DomainError(_("Ask for at least one activation."), code="invalid")
    if number > MAX_REQUESTED_ACTIVATIONS:
        raise DomainError(
            _("Ask for at most %(maximum)s activations in one request.")
            % {"maximum": intcomma(MAX_REQUESTED_ACTIVATIONS)},
            code="invalid",
        )
    return number


def _summary(req: ActivationRequest) -> dict[str, Any]:
    return {
        "pool_id": req.pool_id,
        "product_name": req.product_name,
        "key": f"…{req.key_last5}",
        "quantity": req.quantity,
        "status": req.status,
    }


@transaction.atomic
def request_activations(
    *,
    actor: Any,
    pool: MakPool,
    quantity: Any,
    justification: str,
    key: MakKey | None = None,
    agreement_number: str | None = None,
    product_name: str | None = None,
    ip_address: str | None = None,
) -> ActivationRequest:
    """Ask for extra activations, with the fields Microsoft's request form wants: agreement
    or licence number, product name, last five characters of the key, quantity and a
    business justification."""
    policy.require(actor, policy.Action.REQUEST_ACTIVATIONS, pool.organisation_id)
    number = _quantity(quantity)
    justification = redact((justification or "").strip())
    if not justification:
        raise DomainError(
            _(
                "Give the business justification Microsoft asks for (why the extra activations "
                "are needed)."
            ),
            code="invalid",
        )
    if key is None:
        key = pool.keys.exclude(status=MakKeyStatus.BLOCKED).order_by("id").first()
        if key is None:
            raise DomainError(
                _("The pool has no unblocked key: add the key Microsoft should extend first."),
                code="invalid",
            )
    if key.pool_id != pool.pk:
        raise DomainError(_("The key belongs to another pool."), code="invalid")
    if key.status == MakKeyStatus.BLOCKED:
        raise DomainError(
            _("Microsoft will not extend a blocked key; pick another key."), code="invalid"
        )
    agreement = (agreement_number if agreement_number is not None else pool.agreement_number) or ""
    agreement = agreement.strip()[:60]
    if not agreement:
        raise DomainError(
            _("Give the agreement/enrollment number or licence id; Microsoft's form needs it."),
            code="invalid",
        )
    # The same request twice (a double click, a reload, two managers a minute apart) is refused
    # while the first still waits: the pool row lock makes two at once queue, so the second sees
    # the first.
    MakPool.objects.select_for_update(no_key=True).filter(pk=pool.pk).first()
    twin = (
        ActivationRequest.objects.filter(
            pool=pool, key=key, quantity=number, status=RequestStatus.PENDING
        )
        .order_by("id")
        .first()
    )
    if twin is not None:
        raise ConflictError(
            _(
                "Request #%(number)s for %(quantity)s activations on the key ending %(last5)s is "
                "already waiting for approval (asked by %(person)s at %(when)s UTC). Wait for its "
                "decision, or cancel it first."
            )
            % {
                "number": twin.pk,
                "quantity": twin.quantity,
                "last5": key.last5,
                "person": audit.actor_label(twin.requested_by),
                "when": f"{twin.requested_at:%Y-%m-%d %H:%M}",
            }
        )
    req = ActivationRequest.objects.create(
        pool=pool,
        key=key,
        key_last5=key.last5,
        agreement_number=agreement,
        product_name=((product_name or "").strip() or str(pool.edition))[:120],
        quantity=number,
        justification=justification,
        requested_by=actor,
    )
    audit.record(
        action="activation_request.create",
        actor=actor,
        organisation=pool.organisation_id,
        obj=req,
        changes=_summary(req) | {"justification": justification[:500]},
        ip_address=ip_address,
    )
    outbox.enqueue("licensing.mak.send_request_created", req.pk)
    return req


def _claim_decision(
    req: ActivationRequest, *, actor: Any, status: str, note: str
) -> ActivationRequest:
    policy.require(actor, policy.Action.DECIDE_REQUESTS, req.pool.organisation_id)
    if req.requested_by_id == getattr(actor, "pk", None):
        raise DomainError(
            _(
                "You asked for these activations yourself: another manager has to decide "
                "(four eyes)."
            ),
            code="four_eyes",
        )
    now = timezone.now()
    # Exactly once: only the UPDATE that still finds the request pending changes a row.
    changed = (
        ActivationRequest.objects.filter(pk=req.pk, status=RequestStatus.PENDING)
        .exclude(requested_by_id=actor.pk)
        .update(status=status, decided_by=actor, decided_at=now, decision_note=redact(note or ""))
    )
    if changed != 1:
        current = (
            ActivationRequest.objects.filter(pk=req.pk).values_list("status", flat=True).first()
        )
        raise ConflictError(
            _(ALREADY_DECIDED[current])
            if current in ALREADY_DECIDED
            else _("This request was already removed; nothing was changed."),
            code="already_decided",
        )
    return ActivationRequest.objects.select_related("pool__edition", "key", "requested_by").get(
        pk=req.pk
    )


@transaction.atomic
def approve_request(
    *, actor: Any, request: ActivationRequest, note: str = "", ip_address: str | None = None
) -> ActivationRequest:
    """Approve and add the quantity to the key's limit (an exhausted key becomes active)."""
    req = _claim_decision(
        request, actor=actor, status=RequestStatus.APPROVED, note=(note or "").strip()
    )
    if req.key_id is None:
        raise DomainError(
            _("The key of this request was deleted; reject it instead."), code="invalid"
        )
    extended = (
        MakKey.objects.filter(pk=req.key_id)
        .exclude(status=MakKeyStatus.BLOCKED)
        .update(
            activation_limit=F("activation_limit") + req.quantity,
            status=MakKeyStatus.ACTIVE,
        )
    )
    if extended != 1:
        # Raising rolls back the decision too: the request stays pending.
        raise DomainError(
            _("The key …%(last5)s was blocked after the request was made; reject the request.")
            % {"last5": req.key_last5},
            code="key_blocked",
        )
    limit = MakKey.objects.filter(pk=req.key_id).values_list("activation_limit", flat=True).get()
    audit.record(
        action="activation_request.approve",
        actor=actor,
        organisation=req.pool.organisation_id,
        obj=req,
        changes=_summary(req) | {"note": req.decision_note, "new_key_limit": limit},
        ip_address=ip_address,
    )
    update_low_water_state(pool_ids=[req.pool_id])
    outbox.enqueue("licensing.mak.send_request_decided", req.pk)
    return req


@transaction.atomic
def reject_request(
    *, actor: Any, request: ActivationRequest, note: str, ip_address: str | None = None
) -> ActivationRequest:
    note = (note or "").strip()
    if not note:
        raise DomainError(
            _("Say why the request is rejected; the requester reads it."), code="invalid"
        )
    req = _claim_decision(request, actor=actor, status=RequestStatus.REJECTED, note=note)
    audit.record(
        action="activation_request.reject",
        actor=actor,
        organisation=req.pool.organisation_id,
        obj=req,
        changes=_summary(req) | {"note": note},
        ip_address=ip_address,
    )
    outbox.enqueue("licensing.mak.send_request_decided", req.pk)
    return req


@transaction.atomic
def cancel_request(
    *, actor: Any, request: ActivationRequest, ip_address: str | None = None
) -> ActivationRequest:
    """The requester withdraws their own pending request."""
    policy.require(actor, policy.Action.REQUEST_ACTIVATIONS, request.pool.organisation_id)
    if request.requested_by_id != getattr(actor, "pk", None):
        raise DomainError(_("Only the requester can cancel a request."), code="not_requester")
    changed = ActivationRequest.objects.filter(
        pk=request.pk, status=RequestStatus.PENDING, requested_by_id=actor.pk
    ).update(status=RequestStatus.CANCELLED, decided_by=actor, decided_at=timezone.now())
    if changed != 1:
        raise ConflictError(_("Only a pending request can be cancelled."), code="already_decided")
    req = ActivationRequest.objects.select_related("pool").get(pk=request.pk)
    audit.record(
        action="activation_request.cancel",
        actor=actor,
        organisation=req.pool.organisation_id,
        obj=req,
        changes=_summary(req),
        ip_address=ip_address,
    )
    return req


@transaction.atomic
def record_microsoft_grant(
    *,
    actor: Any,
    request: ActivationRequest,
    reference: str,
    ip_address: str | None = None,
) -> ActivationRequest:
    """Record that Microsoft confirmed an approved increase, with its reference."""
    policy.require(actor, policy.Action.REQUEST_ACTIVATIONS, request.pool.organisation_id)
    reference = redact((reference or "").strip())
    if not reference:
        raise DomainError(_("Enter Microsoft's reference (case or ticket number)."), code="invalid")
    changed = ActivationRequest.objects.filter(
        pk=request.pk, status=RequestStatus.APPROVED, granted_at__isnull=True
    ).update(granted_at=timezone.now(), microsoft_reference=reference[:120])
    if changed != 1:
        raise ConflictError(
            _("Only an approved request that is not yet confirmed can be marked as granted."),
            code="conflict",
        )
    req = ActivationRequest.objects.select_related("pool").get(pk=request.pk)
    audit.record(
        action="activation_request.grant",
        actor=actor,
        organisation=req.pool.organisation_id,
        obj=req,
        changes=_summary(req) | {"microsoft_reference": req.microsoft_reference},
        ip_address=ip_address,
    )
    return req
