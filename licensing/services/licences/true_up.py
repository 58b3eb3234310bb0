"""The annual true-up of an Enterprise Agreement: per edition, the installs added since the last
true-up (the agreement's start when there was none), beside today's installs and the position.

An install counts as added when the portal first saw the client (`Client.created_at`), or
when it reported its installation date, whichever is later known (`installed_at` when set).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from licensing import policy
from licensing.models import Agreement, Client, LicencePosition, Programme
from licensing.services import audit
from licensing.services.errors import ConflictError, InvalidInput
from licensing.services.licences.position_sql import ACTIVE_CLIENT


def since(agreement: Agreement) -> dt.date:
    """The last true-up date (installs after it count), else the agreement's start (installs
    from it count)."""
    return agreement.last_true_up_on or agreement.starts_on


def added_since_rows(agreement: Agreement) -> QuerySet[LicencePosition]:
    """The organisation's position rows, each annotated with `added`: installs of that edition
    first seen after the last true-up date."""
    if agreement.programme != Programme.ENTERPRISE_AGREEMENT:
        raise ConflictError(_("A true-up applies to Enterprise Agreements only."))
    # Installs of the true-up day itself were counted by that true-up; from the agreement's
    # start, its first day counts.
    first_day = since(agreement) + dt.timedelta(days=1 if agreement.last_true_up_on else 0)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=dt.UTC)
    added = (
        Client.objects.filter(
            ACTIVE_CLIENT,
            organisation_id=agreement.organisation_id,
            edition_id=OuterRef("edition_id"),
        )
        .filter(
            Q(installed_at__isnull=False, installed_at__gte=start)
            | Q(installed_at__isnull=True, created_at__gte=start)
        )
        .order_by()
        .values("edition_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        LicencePosition.objects.for_organisation(agreement.organisation_id)
        .filter(installed__gt=0)
        .select_related("edition")
        .annotate(added=Coalesce(Subquery(added, output_field=IntegerField()), 0))
        .order_by("line", "-version")
    )


@transaction.atomic
def record_true_up(
    *, actor: Any, agreement: Agreement, on: dt.date | None = None, ip_address: str | None = None
) -> Agreement:
    """Mark the true-up as done on `on` (today): the next report counts from then."""
    policy.require(actor, policy.Action.MANAGE_LICENCES, agreement.organisation_id)
    if agreement.programme != Programme.ENTERPRISE_AGREEMENT:
        raise ConflictError(_("A true-up applies to Enterprise Agreements only."))
    on = on or timezone.localdate()
    if on < agreement.starts_on:
        raise InvalidInput(
            field_errors={"on": _("The true-up date is before the agreement's start.")}
        )
    before = agreement.last_true_up_on
    agreement.last_true_up_on = on
    agreement.save(update_fields=["last_true_up_on", "updated_at"])
    audit.record(
        action="agreement.true_up",
        actor=actor,
        organisation=agreement.organisation_id,
        obj=agreement,
        changes={"last_true_up_on": [before.isoformat() if before else None, on.isoformat()]},
        ip_address=ip_address,
    )
    return agreement
