"""An organisation's own settings, edited by its admins."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from licensing import policy
from licensing.models import Organisation
from licensing.services import audit
from licensing.services.errors import InvalidInput
from licensing.services.inventory.sweep import SweepResult, sweep


def update_organisation_settings(
    *,
    actor: Any,
    organisation: Organisation,
    at_risk_days: int,
    ip_address: str | None = None,
) -> tuple[Organisation, SweepResult | None]:
    """Change the organisation's at-risk days (how long before a KMS client's 180-day validity
    ends it is flagged "at risk"), audit the change and re-flag the organisation's clients at
    once, in the same transaction: the page that answers already shows the new flags. Returns
    the organisation and the sweep's result (None when nothing changed)."""
    policy.require(actor, policy.Action.MANAGE_ORGANISATION, organisation)
    with transaction.atomic():
        # NO KEY UPDATE: ingests keep inserting rows that refer to the organisation meanwhile.
        org = Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
        old = org.at_risk_days
        org.at_risk_days = at_risk_days
        try:
            # The model's own field and range constraint are the one definition of the rule.
            org.clean_fields(exclude=[f.name for f in org._meta.fields if f.name != "at_risk_days"])
            org.validate_constraints()
        except ValidationError as exc:
            messages = [m for msgs in exc.message_dict.values() for m in msgs]
            raise InvalidInput(field_errors={"at_risk_days": messages}) from None
        if at_risk_days == old:
            return org, None
        org.save(update_fields=["at_risk_days"])
        audit.record(
            action="organisation.settings_changed",
            actor=actor,
            organisation=org,
            obj=org,
            changes={"at_risk_days": [old, at_risk_days]},
            ip_address=ip_address,
        )
        # Every KMS client's at-risk threshold and recheck time move: recompute all of this
        # organisation's clients (set-based), waiting for ingests that hold the sweep lock.
        result = sweep(
            organisation_id=org.pk,
            full=True,
            wait=True,
            changed_by=f"user:{audit.actor_label(actor)}"[:150],
        )
    organisation.at_risk_days = org.at_risk_days
    return org, result
