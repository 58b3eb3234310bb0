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

from django.db import transaction
from django.db.models import F
from django.utils import timezone

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


def _quantity(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise DomainError(
            "The number of activations must be a whole number.", code="invalid"
        ) from None
    if number < 1:
        raise DomainError("Ask for at least one activation.", code="invalid")
    if number > MAX_REQUESTED_ACTIVATIONS:
        raise DomainError(
            f"Ask for at most {MAX_REQUESTED_ACTIVATIONS:,} activations in one request.",
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
            "Give the business justification Microsoft asks for (why the extra activations are needed).",
            code="invalid",
        )
    if key is None:
        key = pool.keys.exclude(status=MakKeyStatus.BLOCKED).order_by("id").first()
        if key is None:
            raise DomainError(
                "The pool has no unblocked key: add the key Microsoft should extend first.",
                code="invalid",
            )
    if key.pool_id != pool.pk:
        raise DomainError("The key belongs to another pool.", code="invalid")
    if key.status == MakKeyStatus.BLOCKED:
        raise DomainError(
            "Microsoft will not extend a blocked key; pick another key.", code="invalid"
        )
    agreement = (agreement_number if agreement_number is not None else pool.agreement_number) or ""
    agreement = agreement.strip()[:60]
    if not agreement:
        raise DomainError(
            "Give the agreement/enrollment number or licence id; Microsoft's form needs it.",
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
            f"Request #{twin.pk} for {twin.quantity} activations on the key ending "
            f"{key.last5} is already waiting for approval (asked by "
            f"{audit.actor_label(twin.requested_by)} at {twin.requested_at:%Y-%m-%d %H:%M} UTC). "
            "Wait for its decision, or cancel it first."
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
            "You asked for these activations yourself: another manager has to decide (four eyes).",
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
            f"This request was already {current or 'removed'}; nothing was changed.",
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
        raise DomainError("The key of this request was deleted; reject it instead.", code="invalid")
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
            f"The key …{req.key_last5} was blocked after the request was made; reject the request.",
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
            "Say why the request is rejected; the requester reads it.", code="invalid"
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
        raise DomainError("Only the requester can cancel a request.", code="not_requester")
    changed = ActivationRequest.objects.filter(
        pk=request.pk, status=RequestStatus.PENDING, requested_by_id=actor.pk
    ).update(status=RequestStatus.CANCELLED, decided_by=actor, decided_at=timezone.now())
    if changed != 1:
        raise ConflictError("Only a pending request can be cancelled.", code="already_decided")
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
        raise DomainError("Enter Microsoft's reference (case or ticket number).", code="invalid")
    changed = ActivationRequest.objects.filter(
        pk=request.pk, status=RequestStatus.APPROVED, granted_at__isnull=True
    ).update(granted_at=timezone.now(), microsoft_reference=reference[:120])
    if changed != 1:
        raise ConflictError(
            "Only an approved request that is not yet confirmed can be marked as granted.",
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
