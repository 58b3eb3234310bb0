"""Fleet browser at 1,000,000 clients: client list pages (first and deep, filtered and not), a
prefix search, a MAK pool's activation ledger, the dashboard, and full CSV exports, each beside
raw SQL doing the same work.

Pages are timed as server time through Django's test client (middleware, session, filtering,
pagination, template rendering; no network). Exports run in a subprocess that streams the
response to nowhere and reports its wall time and peak RSS; the baseline is psql running the
very same `COPY (SELECT ...) TO STDOUT` to /dev/null.

Leaves the shared database as found: every write (sessions, audit entries, counters) happens in
a transaction that is rolled back.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/run.py --only fleet
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.test import Client as HttpClient

from bench.run import Context, Result, timed, timed_pair

ROOT = Path(__file__).resolve().parent.parent
HOST = {"HTTP_HOST": "127.0.0.1"}

FLEET_SQL = (
    "SELECT c.*, e.*, k.* FROM licensing_client c "
    "LEFT JOIN licensing_edition e ON e.id = c.edition_id "
    "LEFT JOIN licensing_kmshost k ON k.id = c.kms_host_id "
)


class _Rollback(Exception):
    pass


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.fetchall()


def _python_json(code: str) -> dict:
    """Run `code` in a fresh Python process (this environment); the JSON its last line prints."""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy()
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _export_in_subprocess(username: str, url: str) -> dict:
    """Run one export in a fresh process: wall time of GET + streaming, bytes, peak RSS."""
    code = f"""
import os, resource, sys, time, json
sys.path.insert(0, {str(ROOT)!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
import django; django.setup()
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
user = get_user_model().objects.get(username={username!r})
http = Client()
out = {{}}
try:
    with transaction.atomic():
        http.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        start = time.perf_counter()
        response = http.get({url!r}, HTTP_HOST="127.0.0.1")
        assert response.status_code == 200, response.status_code
        n = 0
        for chunk in response.streaming_content:
            n += len(chunk)
        out["seconds"] = time.perf_counter() - start
        out["bytes"] = n
        raise RuntimeError("rollback")
except RuntimeError:
    pass
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""
    return _python_json(code)


def _first_requests_in_subprocess(username: str, url: str) -> dict:
    """A fresh web process as gunicorn starts one (`import portal.wsgi`): how long the import
    takes, then its first request and its second (ms)."""
    code = f"""
import os, sys, time, json
sys.path.insert(0, {str(ROOT)!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
start = time.perf_counter()
import portal.wsgi
out = {{"start_ms": (time.perf_counter() - start) * 1000}}
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
user = get_user_model().objects.get(username={username!r})
http = Client()
try:
    with transaction.atomic():
        http.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        for n in ("first_ms", "second_ms"):
            start = time.perf_counter()
            response = http.get({url!r}, HTTP_HOST="127.0.0.1")
            assert response.status_code == 200, response.status_code
            out[n] = (time.perf_counter() - start) * 1000
        raise RuntimeError("rollback")
except RuntimeError:
    pass
print(json.dumps(out))
"""
    return _python_json(code)


def _psql_copy_seconds(ctx: Context, statement: str) -> float:
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        subprocess.run(
            ["psql", "-X", "-q", ctx.database_url, "-c", statement],
            stdout=devnull,
            check=True,
        )
    return time.perf_counter() - start


def _literal_copy(queryset, columns) -> str:  # type: ignore[no-untyped-def]
    import psycopg

    from licensing.exports import copy_sql

    statement, params = copy_sql(queryset, columns)
    connection.ensure_connection()
    return psycopg.ClientCursor(connection.connection).mogrify(statement, params)


def _median3(fn) -> float:  # type: ignore[no-untyped-def]
    samples = sorted(fn() for _ in range(3))
    return samples[1]


def run(ctx: Context) -> list[Result]:
    from django.contrib.auth import get_user_model

    from licensing.models import Client, Organisation
    from licensing.pagination import _Position
    from licensing.views.fleet import CLIENT_EXPORT_COLUMNS, client_paginator

    results: list[Result] = []
    org = Organisation.objects.get(slug="contoso")
    users = get_user_model().objects
    admin = users.filter(memberships__organisation=org, memberships__role="admin").first()
    root = users.filter(is_superuser=True).first()
    assert admin is not None and root is not None, "seed_demo users missing"

    def cursor_at(offset: int, where: str = "") -> tuple[str, list]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT hostname, id FROM licensing_client WHERE organisation_id = %s "
                f"{where} ORDER BY hostname, id OFFSET %s LIMIT 1",
                [org.pk, offset],
            )
            hostname, pk = cursor.fetchone()
        token = client_paginator.make_cursor("hostname", "n", _Position(0, hostname, pk))
        return token, [hostname, pk]

    try:
        with transaction.atomic():
            http = HttpClient()
            http.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
            base = f"/clients/?organisation={org.slug}"
            deep_cursor, deep_pos = cursor_at(500_000)
            f_deep_cursor, f_deep_pos = cursor_at(20_000, "AND compliance_flag = 'expired'")

            def page(url: str, as_user: HttpClient = http):  # type: ignore[no-untyped-def]
                def go() -> None:
                    response = as_user.get(url, **HOST)
                    assert response.status_code == 200, response.status_code

                return go

            # The page lists live clients only: the same `retired_at IS NULL` as its queries.
            count_sql = (
                "SELECT count(*) FROM (SELECT c.id FROM licensing_client c "
                "WHERE c.organisation_id = %s AND c.retired_at IS NULL {where} LIMIT 10001) t"
            )

            # A search first looks up the few clients whose FQDN names another host (their own
            # partial index, `ClientQuerySet.name_match`); the raw search does the same.
            other_names_sql = (
                "SELECT id FROM licensing_client WHERE organisation_id = %s "
                "AND NOT (fqdn = '') AND NOT (hostname = (split_part(fqdn, '.', 1) COLLATE \"C\")) "
                "AND UPPER(fqdn::text) LIKE UPPER(%s) LIMIT 1001"
            )

            def raw_page(  # type: ignore[no-untyped-def]
                where: str,
                params: list,
                after: list | None,
                search: str | None = None,
                order: str = "c.hostname, c.id",
                rows_where: str = "",
            ):
                keyset = " AND (c.hostname, c.id) > (%s, %s)" if after else ""

                def go() -> None:
                    if search is not None:
                        _raw(other_names_sql, [org.pk, f"{search}%"])
                    _raw(
                        FLEET_SQL + f"WHERE c.organisation_id = %s AND c.retired_at IS NULL "
                        f"{where}{rows_where}{keyset} "
                        f"ORDER BY {order} LIMIT 51",
                        [org.pk, *params, *(after or [])],
                    )
                    _raw(count_sql.format(where=where), [org.pk, *params])

                return go

            expired = "AND c.compliance_flag = %s"
            # The sizes the notes name (600k and 24k at 1M clients), counted off the clock.
            live = Client.objects.filter(organisation=org, retired_at__isnull=True)
            org_rows = f"{round(live.count() / 1000):,}k"
            expired_rows = f"{round(live.filter(compliance_flag='expired').count() / 1000):,}k"
            cases = [
                (
                    "fleet_list_first_page",
                    base,
                    raw_page("", [], None),
                    f"{org_rows} org, unfiltered",
                ),
                (
                    "fleet_list_deep_page",
                    f"{base}&cursor={deep_cursor}",
                    raw_page("", [], deep_pos),
                    f"row 500,000 of {org_rows}, keyset",
                ),
                (
                    "fleet_list_filtered_first_page",
                    f"{base}&compliance_flag=expired",
                    raw_page(expired, ["expired"], None),
                    "flag=expired",
                ),
                (
                    "fleet_list_filtered_deep_page",
                    f"{base}&compliance_flag=expired&cursor={f_deep_cursor}",
                    raw_page(expired, ["expired"], f_deep_pos),
                    f"flag=expired ({expired_rows} rows), row 20,000",
                ),
                (
                    "fleet_list_search",
                    f"{base}&q=pc-4a1",
                    raw_page("AND c.hostname::text LIKE %s", ["pc-4a1%"], None, "pc-4a1"),
                    "hostname/FQDN prefix search",
                ),
                (
                    # Flags follow the dates: before migration 2020 this walked the organisation's
                    # deadline index from the far end (0.9 s at 1M).
                    "fleet_list_filtered_reverse_deadline",
                    f"{base}&compliance_flag=at_risk&sort=-deadline",
                    raw_page(
                        "AND c.compliance_flag = %s",
                        ["at_risk"],
                        None,
                        # The page lists clients with a deadline first (NULLS LAST), as its
                        # keyset does: that segment is this query.
                        order="c.renewal_deadline DESC, c.id DESC",
                        rows_where=" AND c.renewal_deadline IS NOT NULL",
                    ),
                    "flag=at_risk sorted by renewal deadline, latest first",
                ),
                (
                    # A broad prefix deep in hostname order: before migration 2010 PostgreSQL
                    # walked the organisation up to it (1.5 s at 1M).
                    "fleet_list_search_deep_prefix",
                    f"{base}&q=pc-f",
                    raw_page("AND c.hostname::text LIKE %s", ["pc-f%"], None, "pc-f"),
                    "hostname/FQDN prefix search 'pc-f' (1/16 of the organisation, last in order)",
                ),
            ]
            # A page takes ~20 ms: the median of 25 (not 5) keeps one slow request (a garbage
            # collection, another process) from moving the figure.
            for name, url, raw, note in cases:
                page_ms, raw_ms = timed_pair(page(url), raw, 25)
                results.append(
                    Result(
                        name,
                        round(page_ms, 2),
                        "ms",
                        round(raw_ms, 2),
                        f"{note}; Django page vs raw keyset + capped count, in turns",
                    )
                )
            # What every signed-in page pays before its own work (session, user, the member's
            # organisations, middleware, layout and header): the list pages above include it.
            results.append(
                Result(
                    "fleet_page_floor",
                    round(timed(page("/organisation/choose/"), 25), 2),
                    "ms",
                    None,
                    "the lightest signed-in page: the organisation chooser of an administrator "
                    "of one organisation (one small query of its own); the list pages include this",
                )
            )

            # A filter whose clients sit at the far end of the sort's index: the clients past
            # their renewal deadline, latest renewal first. PostgreSQL's own plan walks the
            # index from the newest renewal (the note gives its time); the page gives that walk
            # LIST_WALK_BUDGET_MS, then reads the rows filter-first (licensing/pagination.py).
            # The baseline is raw SQL reading them filter-first too: the best plan there is.
            past_deadline = "AND c.renewal_deadline < now()"
            renewal_rows = " AND c.last_renewal_at IS NOT NULL"
            walk_ms = timed(
                raw_page(
                    past_deadline,
                    [],
                    None,
                    order="c.last_renewal_at DESC, c.id DESC",
                    rows_where=renewal_rows,
                ),
                3,
            )
            results.append(
                Result(
                    "fleet_list_walk_over_budget",
                    round(timed(page(f"{base}&past_deadline=true&sort=-last_renewal"), 9), 2),
                    "ms",
                    round(
                        timed(
                            raw_page(
                                past_deadline,
                                [],
                                None,
                                order="COALESCE(c.last_renewal_at) DESC, COALESCE(c.id) DESC",
                                rows_where=renewal_rows,
                            ),
                            9,
                        ),
                        2,
                    ),
                    "past the renewal deadline, latest renewal first: Django page (walk budget "
                    f"{settings.LIST_WALK_BUDGET_MS} ms, then filter-first) vs raw SQL reading "
                    f"filter-first + capped count; PostgreSQL's own plan of the raw query: "
                    f"{walk_ms:.0f} ms",
                )
            )

            # A MAK pool's activation ledger, newest first (the biggest of Contoso's pools).
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT a.pool_id, count(*) FROM licensing_makactivation a JOIN "
                    "licensing_makpool p ON p.id = a.pool_id WHERE p.organisation_id = %s "
                    "GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
                    [org.pk],
                )
                ledger_pool, ledger_rows = cursor.fetchone()

            def raw_ledger() -> None:
                _raw(
                    "SELECT a.*, c.hostname, k.last5, u.username FROM licensing_makactivation a "
                    "JOIN licensing_client c ON c.id = a.client_id "
                    "JOIN licensing_makkey k ON k.id = a.key_id "
                    "LEFT JOIN auth_user u ON u.id = a.recorded_by_id WHERE a.pool_id = %s "
                    "ORDER BY a.activated_at DESC, a.id DESC LIMIT 51",
                    [ledger_pool],
                )
                _raw(
                    "SELECT count(*) FROM (SELECT id FROM licensing_makactivation "
                    "WHERE pool_id = %s LIMIT 10001) t",
                    [ledger_pool],
                )

            ledger_ms, raw_ledger_ms = timed_pair(
                page(f"/pools/{ledger_pool}/activations/"), raw_ledger, 25
            )
            results.append(
                Result(
                    "mak_pool_ledger_page",
                    round(ledger_ms, 2),
                    "ms",
                    round(raw_ledger_ms, 2),
                    f"a pool of {ledger_rows:,} activations, newest first; Django page vs raw "
                    "keyset + capped count",
                )
            )

            # Dashboard: counters precomputed (as the 5-minute beat task keeps them).
            from licensing.services.fleet_summary import refresh_client_counts

            refresh_ms = timed(lambda: refresh_client_counts(), 1)
            live_group_by = timed(
                lambda: _raw(
                    "SELECT compliance_flag, edition_id, activation_method, count(*) "
                    "FROM licensing_client WHERE organisation_id = %s GROUP BY 1, 2, 3",
                    [org.pk],
                ),
                3,
            )

            def raw_dashboard() -> None:
                _raw(
                    "SELECT compliance_flag, edition_id, activation_method, count, computed_at "
                    "FROM licensing_clientcount WHERE organisation_id = %s",
                    [org.pk],
                )
                _raw("SELECT id, name FROM licensing_edition", [])
                _raw(
                    "SELECT p.id, sum(k.activation_limit), sum(k.activations_used) "
                    "FROM licensing_makpool p LEFT JOIN licensing_makkey k ON k.pool_id = p.id "
                    "AND k.status <> 'blocked' WHERE p.organisation_id = %s GROUP BY p.id",
                    [org.pk],
                )
                _raw(
                    "SELECT a.pool_id, count(*) FROM licensing_makactivation a JOIN "
                    "licensing_makpool p ON p.id = a.pool_id WHERE p.organisation_id = %s "
                    "AND a.activated_at >= now() - interval '30 days' GROUP BY 1",
                    [org.pk],
                )
                _raw(
                    "SELECT * FROM licensing_kmshost WHERE organisation_id = %s AND "
                    "retired_at IS NULL ORDER BY fqdn LIMIT 50",
                    [org.pk],
                )
                _raw(
                    "SELECT c.*, e.* FROM licensing_client c LEFT JOIN licensing_edition e "
                    "ON e.id = c.edition_id WHERE c.organisation_id = %s AND "
                    "c.compliance_flag <> 'ok' ORDER BY c.flag_changed_at DESC NULLS LAST, "
                    "c.id DESC LIMIT 8",
                    [org.pk],
                )
                _raw(
                    "SELECT day, sum(count) FROM licensing_compliancesnapshot WHERE "
                    "organisation_id = %s AND day >= current_date - 89 AND flag <> 'ok' "
                    "GROUP BY day",
                    [org.pk],
                )

            results.append(
                Result(
                    "fleet_dashboard",
                    round(timed(page(f"/?organisation={org.slug}"), 5), 2),
                    "ms",
                    round(timed(raw_dashboard, 5), 2),
                    f"{org_rows} org, precomputed counts; a live GROUP BY would cost "
                    f"{live_group_by:.0f} ms; refreshing all orgs' counts {refresh_ms:.0f} ms",
                )
            )
            # The first dashboard view after the beat's counter refresh: the refresh task also
            # fills what the dashboard caches under the new counters' time
            # (licensing/services/dashboard_warmup.py); without that, the view computes them.
            from licensing.services.dashboard_warmup import warm_dashboards

            def first_view_after_refresh(warm: bool) -> tuple[float, float]:
                """Median of 3: (the first view's ms, the warm-up's ms), each after a refresh of
                the counters (the steps of licensing.tasks.refresh_client_counts)."""
                views, warmups = [], []
                for _ in range(3):
                    refresh_client_counts()  # new counters' time: new cache keys
                    start = time.perf_counter()
                    if warm:
                        warm_dashboards()
                    warmups.append((time.perf_counter() - start) * 1000)
                    start = time.perf_counter()
                    page(f"/?organisation={org.slug}")()
                    views.append((time.perf_counter() - start) * 1000)
                return sorted(views)[1], sorted(warmups)[1]

            unwarmed_ms, _ = first_view_after_refresh(warm=False)
            warmed_ms, warm_ms = first_view_after_refresh(warm=True)
            results.append(
                Result(
                    "fleet_dashboard_after_refresh",
                    round(warmed_ms, 2),
                    "ms",
                    None,
                    "first view after the beat's counter refresh, whose task also fills the "
                    f"dashboard caches (warming every large organisation: {warm_ms:.0f} ms); "
                    f"without the warm-up that view takes {unwarmed_ms:.0f} ms",
                )
            )
            root_http = HttpClient()
            root_http.force_login(root, backend="django.contrib.auth.backends.ModelBackend")
            global_ms = timed(page("/global/", root_http), 5)
            results.append(
                Result(
                    "fleet_global_view",
                    round(global_ms, 2),
                    "ms",
                    None,
                    "superuser, 100 organisations, precomputed counts",
                )
            )
            # Users in many organisations (a consultant, a superuser): the header's organisation
            # switcher and the header search must not grow with them. 900 more (empty)
            # organisations, then the superuser's pages beside the same pages for Contoso's
            # administrator (one organisation).
            Organisation.objects.bulk_create(
                Organisation(name=f"Bench organisation {i:04d}", slug=f"bench-org-{i:04d}")
                for i in range(900)
            )
            many = Organisation.objects.count()
            for name, url in (
                ("fleet_list_first_page_many_organisations", base),
                ("fleet_header_search_many_organisations", "/search/?q=pc-f"),
            ):
                root_ms, admin_ms = timed_pair(page(url, root_http), page(url), 25)
                results.append(
                    Result(
                        name,
                        round(root_ms, 2),
                        "ms",
                        round(admin_ms, 2),
                        f"superuser over {many:,} organisations vs Contoso's administrator "
                        "(one organisation), the same page",
                    )
                )
            many_global_ms = timed(page("/global/", root_http), 5)
            kilobytes = len(root_http.get("/global/", **HOST).content) / 1024
            results.append(
                Result(
                    "fleet_global_view_many_organisations",
                    round(many_global_ms, 2),
                    "ms",
                    round(global_ms, 2),
                    f"superuser over {many:,} organisations ({kilobytes:.0f} KB: totals over all, "
                    "the 50 with the most flagged clients listed) vs the same page over 100",
                )
            )
            raise _Rollback
    except _Rollback:
        pass

    # A web worker's first requests after it starts (portal/wsgi.py imports every view first).
    started = sorted(
        (_first_requests_in_subprocess(admin.get_username(), base) for _ in range(3)),
        key=lambda run: run["first_ms"],
    )[1]
    results.append(
        Result(
            "fleet_first_request_after_start",
            round(started["first_ms"], 2),
            "ms",
            round(started["second_ms"], 2),
            f"a fresh web process (`import portal.wsgi`: {started['start_ms']:.0f} ms), its "
            "first client list page vs its second (median of 3 processes)",
        )
    )

    # Exports: a subprocess each (its own RSS), beside psql running the same COPY.
    for label, username, url, queryset in (
        (
            "fleet_export_contoso",
            admin.get_username(),
            f"/clients/export.csv?organisation={org.slug}",
            Client.objects.for_organisation(org),
        ),
        (
            "fleet_export_all_orgs",
            root.get_username(),
            "/clients/export.csv?organisation=all",
            Client.objects.all(),
        ),
    ):
        statement = _literal_copy(queryset.order_by(), CLIENT_EXPORT_COLUMNS)
        runs = [_export_in_subprocess(username, url) for _ in range(3)]
        runs.sort(key=lambda r: r["seconds"])
        median = runs[1]
        raw = _median3(lambda statement=statement: _psql_copy_seconds(ctx, statement))
        results.append(
            Result(
                label,
                round(median["seconds"], 2),
                "s",
                round(raw, 2),
                f"{median['bytes'] / 1e6:.0f} MB CSV; peak RSS "
                f"{max(r['rss_mb'] for r in runs):.0f} MB; baseline psql COPY to /dev/null",
                extra={"peak_rss_mb": round(max(r["rss_mb"] for r in runs), 1)},
            )
        )

    return results
