"""An organisation's own settings, edited by its admins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from licensing import policy
from licensing.models import Client, Organisation
from licensing.models.organisation import STALE_AFTER_DAYS_RANGE_MESSAGE
from licensing.services import audit, outbox
from licensing.services.errors import InvalidInput
from licensing.services.inventory.sweep import SweepResult, sweep


@dataclass(frozen=True)
class SettingsChange:
    organisation: Organisation
    changed: bool
    # The re-flag done in the request (small organisations), or None when it was queued.
    sweep: SweepResult | None = None
    queued: bool = False


def update_organisation_settings(
    *,
    actor: Any,
    organisation: Organisation,
    at_risk_days: int,
    stale_after_days: int | None = None,
    language: str | None = None,
    ip_address: str | None = None,
) -> SettingsChange:
    """Change the organisation's at-risk days (how long before a KMS client's 180-day validity
    ends it is flagged "at risk"), audit the change and re-flag the organisation's clients at
    once. Up to ORGANISATION_INLINE_RESWEEP_MAX_CLIENTS clients that happens in the same
    transaction, so the page that answers already shows the new flags; a larger organisation's
    full re-flag (minutes at 600,000 clients, holding the sweep lock that ingests wait for) is
    queued through the outbox in the same transaction and runs on a worker right away."""
    policy.require(actor, policy.Action.MANAGE_ORGANISATION, organisation)
    with transaction.atomic():
        # NO KEY UPDATE: ingests keep inserting rows that refer to the organisation meanwhile.
        org = Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
        old = org.at_risk_days
        old_stale = org.stale_after_days
        org.at_risk_days = at_risk_days
        old_language = org.language
        if stale_after_days is not None:
            org.stale_after_days = stale_after_days
        if language is not None:
            org.language = language
        edited = ("at_risk_days", "stale_after_days", "language")
        try:
            # The model's own field and range constraint are the one definition of the rule.
            org.clean_fields(exclude=[f.name for f in org._meta.fields if f.name not in edited])
            org.validate_constraints()
        except ValidationError as exc:
            errors: dict[str, list[str]] = {}
            for name, msgs in exc.message_dict.items():
                stale = str(STALE_AFTER_DAYS_RANGE_MESSAGE) in msgs
                field = "stale_after_days" if stale else name
                field = field if field in edited else "at_risk_days"
                errors.setdefault(field, []).extend(msgs)
            raise InvalidInput(field_errors=errors) from None
        changes = {
            name: [before, getattr(org, name)]
            for name, before in (
                ("at_risk_days", old),
                ("stale_after_days", old_stale),
                ("language", old_language),
            )
            if getattr(org, name) != before
        }
        if not changes:
            return SettingsChange(organisation=org, changed=False)
        org.save(update_fields=list(changes))
        audit.record(
            action="organisation.settings_changed",
            actor=actor,
            organisation=org,
            obj=org,
            changes=changes,
            ip_address=ip_address,
        )
        organisation.stale_after_days = org.stale_after_days
        organisation.language = org.language
        if at_risk_days == old:
            # Staleness is read at query time: nothing to re-flag.
            return SettingsChange(organisation=org, changed=True)
        # Every KMS client's at-risk threshold and recheck time move: recompute all of this
        # organisation's clients (set-based), waiting for ingests that hold the sweep lock.
        limit = settings.ORGANISATION_INLINE_RESWEEP_MAX_CLIENTS
        if Client.objects.filter(organisation=org)[: limit + 1].count() > limit:
            outbox.enqueue("licensing.inventory.resweep_organisation", org.pk)
            change = SettingsChange(organisation=org, changed=True, queued=True)
        else:
            result = sweep(
                organisation_id=org.pk,
                full=True,
                wait=True,
                changed_by=f"user:{audit.actor_label(actor)}"[:150],
            )
            change = SettingsChange(organisation=org, changed=True, sweep=result)
    organisation.at_risk_days = org.at_risk_days
    return change
