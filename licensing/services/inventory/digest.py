"""The daily digest: each organisation's admins get one e-mail a day listing what was newly
flagged since the previous digest (counts by flag and a link to the client list)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from licensing.models import ComplianceDigest, ComplianceFlag, Organisation, Role
from licensing.querysets import member_emails
from licensing.services import audit, notify

LABELS = dict(ComplianceFlag.choices)


def _link(organisation: Organisation) -> str:
    try:
        path = reverse("licensing:client_list")
    except NoReverseMatch:  # the fleet pages are another area's; fall back to the dashboard
        path = reverse("licensing:home")
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}?organisation={organisation.slug}"


def newly_flagged(organisation_id: int, since: datetime, until: datetime) -> dict[str, int]:
    """Clients newly flagged in the window, by flag: each client once, under the flag of its
    latest change in the window, and only if that flag is not OK (history rows, index-backed).
    A client that changed twice, or whose change was recorded twice, is one client."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT to_flag, count(*) FROM (
                SELECT DISTINCT ON (client_id) to_flag FROM licensing_clientflagchange
                WHERE organisation_id = %s AND changed_at > %s AND changed_at <= %s
                ORDER BY client_id, changed_at DESC, id DESC
            ) latest
            WHERE to_flag <> %s
            GROUP BY to_flag
            """,
            [organisation_id, since, until, ComplianceFlag.OK.value],
        )
        return dict(cursor.fetchall())


def send_daily_digests(*, now: datetime | None = None) -> dict[str, int]:
    """Send today's digest to every organisation that has something new. Each (organisation,
    day) is claimed by inserting its ComplianceDigest row in the same transaction as the send, so
    a second run the same day (or an overlapping one) sends nothing twice."""
    now = now or timezone.now()
    day = now.date()
    sent = skipped = 0
    for org in Organisation.objects.order_by("id"):
        if ComplianceDigest.objects.filter(organisation=org, day=day).exists():
            skipped += 1
            continue
        previous = ComplianceDigest.objects.filter(organisation=org).order_by("-day").first()
        since = previous.sent_at if previous else now - timedelta(days=1)
        counts = newly_flagged(org.pk, since, now)
        if not counts:
            continue
        recipients = member_emails(org.pk, Role.ADMIN)
        try:
            with transaction.atomic():
                digest = ComplianceDigest.objects.create(
                    organisation=org,
                    day=day,
                    sent_at=now,
                    counts=counts,
                    recipients=len(recipients),
                )
                total = sum(counts.values())
                # Labels stay lazy and numbers plain: each recipient's language renders them.
                lines = [
                    (LABELS.get(flag, flag), n)
                    for flag, n in sorted(counts.items(), key=lambda kv: -kv[1])
                ]
                # The day's claim above is the once-guarantee; the key only names the message.
                notify.notify(
                    "inventory.digest",
                    once_key=f"inventory.digest:{org.pk}:{day.isoformat()}",
                    organisation_id=org.pk,
                    recipients=recipients,
                    context={
                        "organisation": org,
                        "total": total,
                        "lines": lines,
                        "since": since,
                        "url": _link(org),
                    },
                )
                audit.record(
                    action="compliance.digest_sent",
                    actor="celery",
                    organisation=org,
                    obj=digest,
                    changes={"counts": counts, "recipients": len(recipients)},
                )
        except IntegrityError:  # another run claimed the day first
            skipped += 1
            continue
        sent += 1
    return {"sent": sent, "skipped": skipped}
