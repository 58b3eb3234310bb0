"""Inventory benchmarks at 1,000,000 clients, each beside raw SQL doing the same work.

Everything that writes runs inside a transaction that is rolled back, so the shared benchmark
database keeps its data (a VACUUM at the end clears the dead rows the rollbacks leave).

- first sweep (flags reset to 'ok' first, inside the transaction) vs one hand-written UPDATE
  computing the same four columns and history rows;
- the second sweep (transitions only, nothing to do) and a full no-op sweep;
- bulk ingest through the API (Django test client, in-process, 5,000 records per request, after
  one small warm-up request) for new clients and then for the same clients checking in, vs raw
  COPY of the same number of rows into licensing_client, in the same run;
- CSV import of 1,000,000 rows (`inventory.import_csv`) vs raw COPY of the same rows.
Deferred foreign-key checks are forced inside the timed sections (SET CONSTRAINTS ALL
IMMEDIATE), since a rolled-back transaction would otherwise never run them.

BENCH_INVENTORY_PARTS=api (or sweep, csv; comma-separated) runs only those parts while iterating;
BENCH_INVENTORY_CSV_ROWS sets the CSV size.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from datetime import timedelta

from django.db import connection, transaction
from django.test import Client as HttpClient
from django.utils import timezone

from bench.run import Context, Result

RESET = """
UPDATE licensing_client SET compliance_flag = 'ok', flag_reason = '', renewal_deadline = NULL,
       flag_recheck_at = NULL, flag_changed_at = NULL
"""

# The same rules written by hand, the way one would without the compliance module: one UPDATE.
HAND_WRITTEN = """
WITH x AS (
  SELECT c.id, c.organisation_id, c.compliance_flag AS old_flag, v.*
  FROM licensing_client c JOIN licensing_organisation o ON o.id = c.organisation_id
  CROSS JOIN LATERAL (
    SELECT COALESCE(c.last_renewal_at, c.last_activation_at) + interval '180 days' AS kd,
           CASE WHEN c.grace_minutes IS NOT NULL AND c.last_seen_at IS NOT NULL
                THEN c.last_seen_at + make_interval(mins => c.grace_minutes)
                WHEN c.license_status = 2 THEN c.installed_at + interval '30 days' END AS ge,
           o.at_risk_days AS ard
  ) d
  CROSS JOIN LATERAL (
    SELECT
      CASE WHEN c.license_status IN (0,4,5) THEN 'unlicensed'
           WHEN c.license_status = 3 THEN CASE WHEN c.activation_method = 'mak' THEN 'reactivation_needed' ELSE 'expired' END
           WHEN c.activation_method = 'mak' AND c.reactivation_required THEN 'reactivation_needed'
           WHEN c.license_status IN (2,6) THEN CASE WHEN d.ge IS NULL THEN 'grace_expiring'
                WHEN %(now)s >= d.ge THEN 'unlicensed' WHEN %(now)s >= d.ge - interval '5 days' THEN 'grace_expiring' ELSE 'ok' END
           WHEN c.activation_method = 'kms' AND d.kd IS NOT NULL THEN CASE
                WHEN %(now)s >= d.kd + interval '30 days' THEN 'unlicensed' WHEN %(now)s >= d.kd THEN 'expired'
                WHEN %(now)s >= d.kd - make_interval(days => d.ard) THEN 'at_risk' ELSE 'ok' END
           ELSE 'ok' END AS flag,
      CASE WHEN c.license_status IN (0,4,5) THEN 'Client reports ' || c.license_status
           WHEN c.license_status = 3 THEN 'Client reports out-of-tolerance grace'
           WHEN c.activation_method = 'mak' AND c.reactivation_required THEN 'Hardware change'
           WHEN c.license_status IN (2,6) THEN 'Grace'
           WHEN c.activation_method = 'kms' AND d.kd IS NOT NULL AND %(now)s >= d.kd - make_interval(days => d.ard)
                THEN 'Fewer than ' || d.ard || ' days left'
           ELSE '' END AS reason,
      CASE WHEN c.license_status IN (0,4,5) OR (c.license_status = 3 AND c.activation_method = 'mak')
                OR (c.activation_method = 'mak' AND c.reactivation_required) THEN NULL
           WHEN c.license_status IN (2,6) THEN d.ge WHEN c.activation_method = 'kms' THEN d.kd END AS deadline,
      CASE WHEN c.license_status IN (0,3,4,5) OR (c.activation_method = 'mak' AND c.reactivation_required) THEN NULL
           WHEN c.license_status IN (2,6) THEN CASE WHEN %(now)s < d.ge - interval '5 days' THEN d.ge - interval '5 days'
                WHEN %(now)s < d.ge THEN d.ge END
           WHEN c.activation_method = 'kms' AND d.kd IS NOT NULL THEN CASE
                WHEN %(now)s < d.kd - make_interval(days => d.ard) THEN d.kd - make_interval(days => d.ard)
                WHEN %(now)s < d.kd THEN d.kd WHEN %(now)s < d.kd + interval '30 days' THEN d.kd + interval '30 days' END
      END AS recheck
  ) v
), changed AS (
  UPDATE licensing_client c SET compliance_flag = x.flag, flag_reason = x.reason,
         renewal_deadline = x.deadline, flag_recheck_at = x.recheck,
         flag_changed_at = CASE WHEN c.compliance_flag <> x.flag THEN %(now)s ELSE c.flag_changed_at END
  FROM x WHERE c.id = x.id
    AND (c.compliance_flag <> x.flag OR c.flag_reason IS DISTINCT FROM x.reason
         OR c.renewal_deadline IS DISTINCT FROM x.deadline OR c.flag_recheck_at IS DISTINCT FROM x.recheck)
  RETURNING c.id, c.organisation_id, x.old_flag, x.flag, x.reason
)
INSERT INTO licensing_clientflagchange (client_id, organisation_id, from_flag, to_flag, reason, changed_at, changed_by)
SELECT id, organisation_id, old_flag, flag, reason, %(now)s, 'bench' FROM changed WHERE old_flag <> flag
"""

FLAG_ONLY = """
UPDATE licensing_client c SET compliance_flag = CASE
    WHEN last_renewal_at < %(now)s - interval '180 days' THEN 'expired'
    WHEN last_renewal_at < %(now)s - interval '150 days' THEN 'at_risk' ELSE 'ok' END
WHERE compliance_flag IS DISTINCT FROM CASE
    WHEN last_renewal_at < %(now)s - interval '180 days' THEN 'expired'
    WHEN last_renewal_at < %(now)s - interval '150 days' THEN 'at_risk' ELSE 'ok' END
"""


class _Rollback(Exception):
    pass


def _in_rollback(fn):  # type: ignore[no-untyped-def]
    """Run fn inside a transaction that is always rolled back; return its result."""
    box = {}
    try:
        with transaction.atomic():
            box["value"] = fn()
            raise _Rollback
    except _Rollback:
        pass
    return box["value"]


def _seconds(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _execute(sql: str, params: dict | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.rowcount


def _force_fk_checks() -> None:
    _execute("SET CONSTRAINTS ALL IMMEDIATE")


def bench_sweep(results: list[Result]) -> None:
    from licensing.services import compliance

    now = timezone.now()
    print("  sweep: reset + first sweep ...", flush=True)

    def ours():  # type: ignore[no-untyped-def]
        _execute(RESET)
        first = {}
        first["s"] = _seconds(
            lambda: first.update(r=compliance.sweep(full=True, now=now, wait=True))
        )
        second = _seconds(lambda: first.update(r2=compliance.sweep(now=now, wait=True)))
        full_noop = _seconds(
            lambda: first.update(r3=compliance.sweep(full=True, now=now, wait=True))
        )
        later = now + timedelta(days=1)
        next_day = _seconds(lambda: first.update(r4=compliance.sweep(now=later, wait=True)))
        return first, second, full_noop, next_day

    first, second, full_noop, next_day = _in_rollback(ours)
    print("  sweep: reset + hand-written UPDATE ...", flush=True)

    def baseline():  # type: ignore[no-untyped-def]
        _execute(RESET)
        box = {}
        t = _seconds(lambda: box.update(n=_execute(HAND_WRITTEN, {"now": now})))
        return t

    hand = _in_rollback(baseline)

    def flag_only():  # type: ignore[no-untyped-def]
        _execute(RESET)
        return _seconds(lambda: _execute(FLAG_ONLY, {"now": now}))

    simple = _in_rollback(flag_only)
    r = first["r"]
    results += [
        Result(
            "inventory_first_sweep_1m",
            round(first["s"], 2),
            "s",
            round(hand, 2),
            f"{r.changed:,} rows, {r.flagged:,} flag changes + history; baseline: hand-written UPDATE, same columns + history (flag-only UPDATE: {simple:.2f} s)",
        ),
        Result(
            "inventory_second_sweep_noop",
            round(second * 1000, 2),
            "ms",
            round(full_noop * 1000, 2),
            f"transitions-only, changed {first['r2'].changed}; baseline: full-scan sweep, changed {first['r3'].changed}",
        ),
        Result(
            "inventory_next_day_sweep",
            round(next_day * 1000, 1),
            "ms",
            None,
            f"transitions-only at now + 1 day: {first['r4'].changed:,} rows changed",
        ),
    ]


def _records(n: int, prefix: str) -> list[dict]:
    return [
        {
            "hostname": f"{prefix}-{i:07d}",
            "activation_method": "kms",
            "license_status": 1,
            "last_renewal_at": f"2026-{1 + i % 9:02d}-{1 + i % 28:02d}T08:00:00Z",
            "installed_at": "2025-01-15T00:00:00Z",
            "cmid": f"{i:08x}-0000-4000-8000-{i:012x}",
        }
        for i in range(n)
    ]


def _raw_copy(org_id: int, rows: list[tuple]) -> None:
    now = timezone.now()
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY licensing_client (organisation_id, hostname, fqdn, cmid, activation_method, license_status,"
            " last_renewal_at, installed_at, reactivation_required, compliance_flag, flag_reason,"
            " created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        buf = io.StringIO()
        for hostname, cmid, renewed, installed in rows:
            buf.write(
                f"{org_id}\t{hostname}\t\t{cmid}\tkms\t1\t{renewed}\t{installed}\tf\tok\t\t{now.isoformat()}\t{now.isoformat()}\n"
            )
        copy.write(buf.getvalue())


def _bodies(records: list[dict], per_request: int) -> list[str]:
    return [
        json.dumps({"clients": records[i : i + per_request]})
        for i in range(0, len(records), per_request)
    ]


def bench_api(results: list[Result], org, user) -> None:  # type: ignore[no-untyped-def]
    from licensing.models import Membership, Role, TokenScope
    from licensing.services.tokens import create_api_token

    batches = 20
    per_request = 5000
    n = batches * per_request
    # The request bodies are built up front and the record dicts dropped: a server does not hold
    # its clients' data, and a heap of 100,000 dicts would only slow this process's GC.
    records = _records(n, "bench-api")
    new_bodies = _bodies(records, per_request)
    # The same records again, each a check-in with a newer renewal: all updates.
    for rec in records:
        rec["last_renewal_at"] = "2026-11-20T08:00:00Z"
        rec["last_seen_at"] = "2026-11-21T08:00:00Z"
    checkin_bodies = _bodies(records, per_request)
    del records
    warm_up = json.dumps({"clients": _records(1, "bench-api-warm-up")})

    def ours():  # type: ignore[no-untyped-def]
        Membership.objects.create(user=user, organisation=org, role=Role.ADMIN)
        _, token = create_api_token(
            actor=user, organisation=org, name="bench", scope=TokenScope.AGENT
        )
        http = HttpClient()

        def post(body: str, expect: str) -> None:
            r = http.post(
                "/api/v1/inventory/clients/",
                data=body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
                HTTP_HOST="127.0.0.1",
            )
            assert r.status_code == 200, r.content[:300]
            summary = r.json()["summary"]
            assert summary[expect] == summary["received"], summary

        # One small request first (not timed): a running server has its code loaded and warm.
        post(warm_up, "created")
        _force_fk_checks()
        # Deferred foreign-key checks (what COMMIT would run) are inside the timings.
        start = time.perf_counter()
        for body in new_bodies:
            post(body, "created")
        _force_fk_checks()
        inserts = time.perf_counter() - start
        start = time.perf_counter()
        for body in checkin_bodies:
            post(body, "updated")
        _force_fk_checks()
        updates = time.perf_counter() - start
        return inserts, updates

    print(f"  api: {n:,} records in {batches} requests, new then check-ins ...", flush=True)
    inserts, updates = _in_rollback(ours)
    rows = [
        (r["hostname"], r["cmid"], r["last_renewal_at"], r["installed_at"])
        for r in _records(n, "bench-raw")
    ]

    def raw():  # type: ignore[no-untyped-def]
        return _seconds(lambda: (_raw_copy(org.pk, rows), _force_fk_checks()))

    print("  api: raw COPY of the same number of rows ...", flush=True)
    raw_s = _in_rollback(raw)
    results += [
        Result(
            "inventory_api_ingest_new_clients",
            round(n / inserts),
            "rec/s",
            round(n / raw_s),
            f"{n:,} new clients via POST /api/v1/inventory/clients/ ({per_request:,} per request, "
            "flags + history, FK checks) vs raw COPY into licensing_client (rec/s; higher is better)",
        ),
        Result(
            "inventory_api_ingest_checkins",
            round(n / updates),
            "rec/s",
            round(n / raw_s),
            f"the same {n:,} clients reporting a newer renewal (updates + history) vs raw COPY of new rows",
        ),
    ]


def bench_csv(results: list[Result], org, n: int) -> None:  # type: ignore[no-untyped-def]
    from licensing.services import inventory

    print(f"  csv: writing {n:,} rows ...", flush=True)
    fd, path = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    try:
        with open(path, "w") as f:
            f.write("hostname,activation_method,license_status,last_renewal_at,installed_at,cmid\n")
            for i in range(n):
                f.write(
                    f"bench-csv-{i:07d},kms,1,2026-{1 + i % 9:02d}-{1 + i % 28:02d}T08:00:00Z,"
                    f"2025-01-15T00:00:00Z,{i:08x}-0000-4000-8000-{i:012x}\n"
                )

        def ours():  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            with open(path, "rb") as stream:
                run = inventory.import_csv(
                    actor="bench", organisation=org, stream=stream, filename="bench.csv", max_rows=n
                )
            _force_fk_checks()
            return time.perf_counter() - start, run

        print("  csv: import_csv ...", flush=True)
        seconds, run = _in_rollback(ours)
        assert run.status == "done" and run.created == n, (run.status, run.message, run.created)
        rows = [
            (
                f"bench-raw-{i:07d}",
                f"{i:08x}-0000-4000-8000-{i:012x}",
                f"2026-{1 + i % 9:02d}-{1 + i % 28:02d}T08:00:00Z",
                "2025-01-15T00:00:00Z",
            )
            for i in range(n)
        ]
        print("  csv: raw COPY ...", flush=True)
        raw_s = _in_rollback(
            lambda: _seconds(lambda: (_raw_copy(org.pk, rows), _force_fk_checks()))
        )
    finally:
        os.unlink(path)
    results.append(
        Result(
            "inventory_csv_import_1m",
            round(seconds, 2),
            "s",
            round(raw_s, 2),
            f"{n:,} rows: read + check every row, COPY to staging, one upsert with flags + history vs raw COPY into licensing_client",
        )
    )


def run(ctx: Context) -> list[Result]:
    from licensing.models import Organisation
    from tests.factories import UserFactory

    results: list[Result] = []
    org = Organisation.objects.get(slug="contoso")
    user = UserFactory(username="bench-inventory")
    parts = os.environ.get("BENCH_INVENTORY_PARTS", "sweep,api,csv").split(",")
    try:
        if "sweep" in parts:
            bench_sweep(results)
        if "api" in parts:
            bench_api(results, org, user)
        if "csv" in parts:
            bench_csv(results, org, int(os.environ.get("BENCH_INVENTORY_CSV_ROWS", "1000000")))
    finally:
        user.delete()
        print("  vacuum ...", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) licensing_client")
    for r in results:
        print(f"  {r.name}: {r.value} {r.unit} (baseline {r.baseline}) {r.note}", flush=True)
    return results
