"""Agreements and their licence lines (entitlements), entered by hand: create, edit, delete.

Every change checks the policy (`Action.MANAGE_LICENCES`), is audited in the same transaction,
and queues a shortfall check of the organisation (`licensing.licences.check_shortfall`) so a
licence line removed or reduced alerts once when it opens a shortfall.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db import IntegrityError, transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from licensing import policy
from licensing.models import (
    MAX_LICENCE_QUANTITY,
    Agreement,
    Edition,
    Entitlement,
    Organisation,
    Programme,
)
from licensing.services import audit, outbox
from licensing.services.errors import InvalidInput

AGREEMENT_FIELDS = (
    "programme",
    "number",
    "starts_on",
    "ends_on",
    "sa_ends_on",
    "reseller",
    "notes",
    "last_true_up_on",
)
ENTITLEMENT_FIELDS = ("edition", "quantity", "acquired_on", "downgrade_rights", "note")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Edition):
        return value.name
    return value


def queue_shortfall_check(organisation_id: int) -> None:
    outbox.enqueue("licensing.licences.check_shortfall", organisation_id)


def clean_agreement(data: dict[str, Any]) -> dict[str, Any]:
    """Normalise and check agreement fields (rules a form cannot know); InvalidInput names the
    fields."""
    errors: dict[str, str] = {}
    cleaned = dict(data)
    if "programme" in cleaned and cleaned["programme"] not in Programme.values:
        errors["programme"] = _("Choose a programme from the list.")
    if "number" in cleaned:
        cleaned["number"] = " ".join(str(cleaned["number"] or "").split())[:60]
        if not cleaned["number"]:
            errors["number"] = _("Give the agreement or enrolment number.")
    for name in ("reseller", "notes"):
        if name in cleaned:
            cleaned[name] = str(cleaned[name] or "").strip()
    starts = cleaned.get("starts_on")
    for name, message in (
        ("ends_on", _("The end is before the start (%(start)s).")),
        ("sa_ends_on", _("The Software Assurance end is before the start (%(start)s).")),
    ):
        end = cleaned.get(name)
        if starts is not None and end is not None and end < starts:
            errors[name] = message % {"start": date_format(starts, "SHORT_DATE_FORMAT")}
    if errors:
        raise InvalidInput(field_errors=errors)
    return cleaned


@transaction.atomic
def create_agreement(
    *, actor: Any, organisation: Organisation, ip_address: str | None = None, **data: Any
) -> Agreement:
    policy.require(actor, policy.Action.MANAGE_LICENCES, organisation)
    cleaned = clean_agreement({k: data.get(k) for k in AGREEMENT_FIELDS if k in data})
    if Agreement.objects.filter(organisation=organisation, number=cleaned["number"]).exists():
        raise InvalidInput(
            field_errors={"number": _("Agreement %(number)s is recorded already.") % cleaned}
        )
    agreement = Agreement(
        organisation=organisation,
        created_by=actor if getattr(actor, "pk", None) else None,
        **cleaned,
    )
    try:
        with transaction.atomic():
            agreement.save()
    except IntegrityError:
        raise InvalidInput(
            field_errors={"number": _("Agreement %(number)s is recorded already.") % cleaned}
        ) from None
    audit.record(
        action="agreement.create",
        actor=actor,
        organisation=organisation,
        obj=agreement,
        changes={k: _jsonable(v) for k, v in cleaned.items()},
        ip_address=ip_address,
    )
    return agreement


@transaction.atomic
def update_agreement(
    *, actor: Any, agreement: Agreement, ip_address: str | None = None, **data: Any
) -> Agreement:
    policy.require(actor, policy.Action.MANAGE_LICENCES, agreement.organisation_id)
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)
    merged = {k: getattr(agreement, k) for k in AGREEMENT_FIELDS}
    merged.update({k: data[k] for k in AGREEMENT_FIELDS if k in data})
    cleaned = clean_agreement(merged)
    if (
        Agreement.objects.filter(
            organisation_id=agreement.organisation_id, number=cleaned["number"]
        )
        .exclude(pk=agreement.pk)
        .exists()
    ):
        raise InvalidInput(
            field_errors={"number": _("Agreement %(number)s is recorded already.") % cleaned}
        )
    changes = {
        k: [_jsonable(getattr(agreement, k)), _jsonable(v)]
        for k, v in cleaned.items()
        if getattr(agreement, k) != v
    }
    if not changes:
        return agreement
    # A new end date re-arms its alerts (90 and 30 days ahead of the new date).
    if "ends_on" in changes:
        agreement.end_alerted_days = None
    if "sa_ends_on" in changes:
        agreement.sa_end_alerted_days = None
    for k, v in cleaned.items():
        setattr(agreement, k, v)
    agreement.save()
    audit.record(
        action="agreement.update",
        actor=actor,
        organisation=agreement.organisation_id,
        obj=agreement,
        changes=changes,
        ip_address=ip_address,
    )
    return agreement


@transaction.atomic
def delete_agreement(*, actor: Any, agreement: Agreement, ip_address: str | None = None) -> None:
    policy.require(actor, policy.Action.MANAGE_LICENCES, agreement.organisation_id)
    lines = list(
        agreement.entitlements.values_list("edition__name", "quantity").order_by("edition__name")
    )
    audit.record(
        action="agreement.delete",
        actor=actor,
        organisation=agreement.organisation_id,
        obj=agreement,
        changes={"number": agreement.number, "entitlements": [list(x) for x in lines]},
        ip_address=ip_address,
    )
    org_id = agreement.organisation_id
    agreement.delete()
    queue_shortfall_check(org_id)


# --- entitlements ------------------------------------------------------------------------------


def clean_entitlement(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned = dict(data)
    if "edition" in cleaned and not isinstance(cleaned["edition"], Edition):
        errors["edition"] = _("Choose an edition from the catalogue.")
    if "quantity" in cleaned:
        try:
            quantity = int(cleaned["quantity"])
        except (TypeError, ValueError):
            quantity = 0
            errors["quantity"] = _("The quantity must be a whole number.")
        if "quantity" not in errors and not 1 <= quantity <= MAX_LICENCE_QUANTITY:
            errors["quantity"] = _("The quantity must be between 1 and %(maximum)s.") % {
                "maximum": intcomma(MAX_LICENCE_QUANTITY)
            }
        cleaned["quantity"] = quantity
    if "acquired_on" in cleaned and not isinstance(cleaned["acquired_on"], dt.date):
        errors["acquired_on"] = _("Give the date the licences were acquired (YYYY-MM-DD).")
    if "downgrade_rights" in cleaned:
        cleaned["downgrade_rights"] = bool(cleaned["downgrade_rights"])
    if "note" in cleaned:
        cleaned["note"] = str(cleaned["note"] or "").strip()[:200]
    if errors:
        raise InvalidInput(field_errors=errors)
    return cleaned


@transaction.atomic
def add_entitlement(
    *, actor: Any, agreement: Agreement, ip_address: str | None = None, **data: Any
) -> Entitlement:
    policy.require(actor, policy.Action.MANAGE_LICENCES, agreement.organisation_id)
    data.setdefault("downgrade_rights", True)
    data.setdefault("acquired_on", agreement.starts_on)
    cleaned = clean_entitlement({k: data.get(k) for k in ENTITLEMENT_FIELDS if k in data})
    entitlement = Entitlement.objects.create(
        organisation_id=agreement.organisation_id, agreement=agreement, **cleaned
    )
    audit.record(
        action="entitlement.create",
        actor=actor,
        organisation=agreement.organisation_id,
        obj=entitlement,
        changes={"agreement": agreement.number, **{k: _jsonable(v) for k, v in cleaned.items()}},
        ip_address=ip_address,
    )
    queue_shortfall_check(agreement.organisation_id)
    return entitlement


@transaction.atomic
def update_entitlement(
    *, actor: Any, entitlement: Entitlement, ip_address: str | None = None, **data: Any
) -> Entitlement:
    policy.require(actor, policy.Action.MANAGE_LICENCES, entitlement.organisation_id)
    entitlement = (
        Entitlement.objects.select_for_update(of=("self",))
        .select_related("agreement", "edition")
        .get(pk=entitlement.pk)
    )
    cleaned = clean_entitlement({k: data[k] for k in ENTITLEMENT_FIELDS if k in data})
    changes = {
        k: [_jsonable(getattr(entitlement, k)), _jsonable(v)]
        for k, v in cleaned.items()
        if getattr(entitlement, k) != v
    }
    if not changes:
        return entitlement
    for k, v in cleaned.items():
        setattr(entitlement, k, v)
    entitlement.save()
    audit.record(
        action="entitlement.update",
        actor=actor,
        organisation=entitlement.organisation_id,
        obj=entitlement,
        changes={"agreement": entitlement.agreement.number, **changes},
        ip_address=ip_address,
    )
    queue_shortfall_check(entitlement.organisation_id)
    return entitlement


@transaction.atomic
def delete_entitlement(
    *, actor: Any, entitlement: Entitlement, ip_address: str | None = None
) -> None:
    policy.require(actor, policy.Action.MANAGE_LICENCES, entitlement.organisation_id)
    audit.record(
        action="entitlement.delete",
        actor=actor,
        organisation=entitlement.organisation_id,
        obj=entitlement,
        changes={
            "agreement": entitlement.agreement.number,
            "edition": entitlement.edition.name,
            "quantity": entitlement.quantity,
        },
        ip_address=ip_address,
    )
    org_id = entitlement.organisation_id
    entitlement.delete()
    queue_shortfall_check(org_id)
