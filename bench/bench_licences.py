"""The licence position of the largest organisation at 1,000,000 clients, beside the raw
GROUP BY that only counts its installs per edition (`--only licences`).

Timed: the position query (the view `licensing_licence_position` filtered to the organisation:
the GROUP BY over its clients, the entitlements, the allocation by window functions), the
summary behind the dashboard card, and the position page through Django's test client. Every
write (an agreement and its licence lines, sessions) happens in a transaction rolled back.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/run.py --only licences
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Count
from django.test import Client as HttpClient
from django.utils import timezone

from bench.run import Context, Result, timed

HOST = {"HTTP_HOST": "127.0.0.1"}
RAW_GROUP_BY = (
    "SELECT edition_id, count(*) FROM licensing_client "
    "WHERE organisation_id = %s AND edition_id IS NOT NULL GROUP BY edition_id"
)


class _Rollback(Exception):
    pass


def run(ctx: Context) -> list[Result]:
    from licensing.models import Agreement, Client, Edition, Entitlement, Organisation, Role
    from licensing.services.licences.position import cached_summary, position_rows, summarise

    org = Organisation.objects.annotate(n=Count("clients")).order_by("-n").first()  # the largest
    assert org is not None
    admin = (
        org.memberships.filter(role=Role.ADMIN).select_related("user").first()
        or org.memberships.select_related("user").first()
    ).user
    installs = dict(
        Client.objects.filter(organisation=org, edition__isnull=False)
        .values_list("edition_id")
        .annotate(n=Count("id"))
    )
    results: list[Result] = []

    def raw() -> None:
        with connection.cursor() as cursor:
            cursor.execute(RAW_GROUP_BY, [org.pk])
            cursor.fetchall()

    try:
        with transaction.atomic():
            # Licences for 90% of each edition's installs, bought as the newest version of its
            # line where there is one (so downgrade rights carry most of them down).
            agreement = Agreement.objects.create(
                organisation=org, programme="ea", number="BENCH-1", starts_on=dt.date(2025, 1, 1)
            )
            editions = {e.pk: e for e in Edition.objects.all()}
            newest: dict[str, Edition] = {}
            for e in editions.values():
                if e.product not in newest or e.version > newest[e.product].version:
                    newest[e.product] = e
            Entitlement.objects.bulk_create(
                Entitlement(
                    organisation=org,
                    agreement=agreement,
                    edition=newest[editions[edition_id].product],
                    quantity=max(1, n * 9 // 10),
                    acquired_on=dt.date(2025, 1, 1),
                )
                for edition_id, n in installs.items()
            )
            rows = list(position_rows(org))
            summary = summarise(org)
            assert summary.installed == sum(installs.values()), (summary, sum(installs.values()))
            http = HttpClient()
            http.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")

            def page() -> None:
                response = http.get(f"/licences/?organisation={org.slug}", **HOST)
                assert response.status_code == 200, response.status_code

            baseline = round(timed(raw, 5), 2)
            as_of = timezone.now()
            note = (
                f"{org.slug}: {summary.installed:,} installs, {len(rows)} editions, "
                f"{summary.licences:,} licences, {summary.shortfall:,} short"
            )
            results += [
                Result(
                    "licence_position_query",
                    round(timed(lambda: list(position_rows(org)), 5), 2),
                    "ms",
                    baseline,
                    f"{note}; the view vs the raw GROUP BY of installs per edition",
                ),
                Result(
                    "licence_position_summary",
                    round(timed(lambda: summarise(org), 5), 2),
                    "ms",
                    baseline,
                    "the dashboard card's totals vs the raw GROUP BY",
                ),
                Result(
                    "licence_position_card_cached",
                    round(timed(lambda: cached_summary(org, as_of), 5), 2),
                    "ms",
                    baseline,
                    "the dashboard card with precomputed counters (cache hit + one small query)",
                ),
                Result(
                    "licence_position_page",
                    round(timed(page, 5), 2),
                    "ms",
                    baseline,
                    "GET /licences/ (rows and totals from one query, server time) vs the raw GROUP BY",
                ),
            ]
            raise _Rollback
    except _Rollback:
        pass
    return results
