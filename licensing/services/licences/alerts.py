"""Alerts of the licences area, all through `licensing.services.notify`:

- an agreement's end and its Software Assurance end, 90 and then 30 days ahead: one
  notification each. The beat task claims due alerts with one conditional UPDATE per kind
  (`end_alerted_days` above the threshold or NULL), so a second run, a second worker or a retry
  claims nothing; editing the date re-arms them (`agreements.update_agreement`).
- a shortfall that appears or grows: the organisation's shortfall per edition is compared with
  the last one it was told about (`ShortfallState`); a change that adds or increases a shortfall
  is alerted once (keyed by the time of the change). A shortfall that shrinks or closes updates
  the state silently.

Claims and messages are queued through the outbox in the claiming transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from licensing.models import Agreement, LicencePosition, Organisation, Role, ShortfallState
from licensing.querysets import member_emails
from licensing.services import audit, notify, outbox
from licensing.services.licences.position import position_rows, shortfalls

ALERT_DAYS = (90, 30)
KINDS = {"end": ("ends_on", "end_alerted_days"), "sa_end": ("sa_ends_on", "sa_end_alerted_days")}

_CLAIM_SQL = """
UPDATE licensing_agreement a
SET {flag} = %(days)s
WHERE a.{date} IS NOT NULL
  AND a.{date} >= %(today)s
  AND a.{date} <= %(today)s + %(days)s
  AND (a.{flag} IS NULL OR a.{flag} > %(days)s)
RETURNING a.id, a.organisation_id
"""


@dataclass(frozen=True)
class Claimed:
    agreement_id: int
    kind: str
    days: int


def claim_end_alerts(*, today: dt.date | None = None) -> list[Claimed]:
    """Claim every end alert that is due today and queue one message each."""
    today = today or timezone.localdate()
    claimed: list[Claimed] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for kind, (date_field, flag) in KINDS.items():
            # Largest threshold first: an agreement 20 days from its end that was never alerted
            # gets the 30-day alert only.
            for days in sorted(ALERT_DAYS, reverse=True):
                threshold_sql = _CLAIM_SQL.format(flag=flag, date=date_field)
                cursor.execute(threshold_sql, {"days": days, "today": today})
                rows = cursor.fetchall()
                # A 90-day claim of an agreement already inside 30 days is superseded below.
                claimed = [
                    c
                    for c in claimed
                    if (c.agreement_id, c.kind) not in {(r[0], kind) for r in rows}
                ]
                claimed.extend(Claimed(r[0], kind, days) for r in rows)
        for c in claimed:
            audit.record(
                action=f"agreement.{c.kind}_alert",
                actor="system",
                organisation=Agreement.objects.filter(pk=c.agreement_id)
                .values_list("organisation_id", flat=True)
                .first(),
                changes={"agreement_id": c.agreement_id, "days": c.days},
            )
        outbox.enqueue_many(
            "licensing.licences.send_agreement_end_alert",
            ([c.agreement_id, c.kind, c.days] for c in claimed),
        )
    return claimed


def notify_agreement_end(*, agreement_id: int, kind: str, days: int) -> int:
    """E-mail the organisation's admins and managers; once per agreement, kind, threshold and
    date. Nothing when the alert has been re-armed meanwhile (the date changed)."""
    date_field, flag = KINDS[kind]
    agreement = (
        Agreement.objects.select_related("organisation")
        .filter(pk=agreement_id, **{flag: days})
        .first()
    )
    if agreement is None or getattr(agreement, date_field) is None:
        return 0
    ends_on = getattr(agreement, date_field)
    recipients = sorted(
        set(member_emails(agreement.organisation_id, Role.ADMIN))
        | set(member_emails(agreement.organisation_id, Role.MANAGER))
    )
    return notify.notify(
        f"licences.{kind}",
        once_key=f"licences.{kind}:{agreement.pk}:{days}:{ends_on.isoformat()}",
        organisation_id=agreement.organisation_id,
        recipients=recipients,
        context={
            "agreement": agreement,
            "ends_on": ends_on,
            "days": days,
            "days_left": (ends_on - timezone.localdate()).days,
            "url": notify.portal_url("licensing:agreement_detail", agreement.pk),
        },
    )


# --- shortfalls --------------------------------------------------------------------------------


def check_shortfall(*, organisation_id: int) -> bool:
    """Compare the organisation's shortfall with the last one recorded; record a change, and
    queue one alert when a shortfall appeared or grew. Returns whether an alert was queued."""
    current = shortfalls(organisation_id)
    now = timezone.now()
    with transaction.atomic():
        state = (
            ShortfallState.objects.select_for_update()
            .filter(organisation_id=organisation_id)
            .first()
        )
        before = state.signature if state is not None else {}
        if current == before:
            return False
        grew = any(n > before.get(edition, 0) for edition, n in current.items())
        if state is None:
            state = ShortfallState(organisation_id=organisation_id)
        state.signature = current
        state.changed_at = now
        state.save()
        if grew:
            audit.record(
                action="licences.shortfall",
                actor="system",
                organisation=organisation_id,
                changes={"before": before, "now": current},
            )
            outbox.enqueue("licensing.licences.send_shortfall_alert", organisation_id)
        return grew


def check_all_shortfalls() -> int:
    """Beat: the shortfall check of every organisation with licences or a state (installs
    change through ingest, which does not call the check itself). Returns alerts queued."""
    ids = set(
        LicencePosition.objects.filter(licences__gt=0).values_list("organisation_id", flat=True)
    )
    ids |= set(ShortfallState.objects.values_list("organisation_id", flat=True))
    return sum(check_shortfall(organisation_id=i) for i in sorted(ids))


def notify_shortfall(*, organisation_id: int) -> int:
    state = ShortfallState.objects.filter(organisation_id=organisation_id).first()
    if state is None or not state.signature:
        return 0
    org = Organisation.objects.get(pk=organisation_id)
    rows = [r for r in position_rows(org) if r.shortfall > 0]
    if not rows:
        return 0
    return notify.notify(
        "licences.shortfall",
        once_key=f"licences.shortfall:{organisation_id}:{state.changed_at.isoformat()}",
        organisation_id=organisation_id,
        recipients=sorted(
            set(member_emails(organisation_id, Role.ADMIN))
            | set(member_emails(organisation_id, Role.MANAGER))
        ),
        context={
            "organisation": org,
            "rows": rows,
            "total": int(sum(r.shortfall for r in rows)),  # a count (plural forms need an int)
            "url": notify.portal_url(
                "licensing:licence_position", query=f"organisation={org.slug}"
            ),
        },
    )
