"""The compliance sweep: re-flag clients set-based with the rules of `rules.py`, write the flag
history and the day's snapshot counts; and the one function that queues an organisation's sweep
after an ingest commits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from licensing.models import ComplianceFlag
from licensing.services.inventory.rules import SWEEP_RULES

log = logging.getLogger(__name__)

# One advisory-lock key for "the flags of the fleet": sweeps take it exclusively (try-lock: an
# overlapping run skips), ingests take it shared, so a sweep never computes from rows an ingest
# is rewriting, while ingests still run side by side.
SWEEP_LOCK_KEY = 0x56_4C_50_53  # "VLPS"


@dataclass(frozen=True)
class SweepResult:
    changed: int  # rows written (flag, reason, deadline or recheck time differed)
    flagged: int  # of which the flag itself changed (one history row each)
    at: datetime
    skipped: bool = False  # another sweep held the lock
    by_flag: dict[str, int] = field(default_factory=dict)  # new flags of the flag changes


def _sweep_sql(scope: str) -> str:
    """One statement: UPDATE the rows in `scope` whose flag, reason, deadline or recheck time
    differ from the rules' answer, write a history row for each flag change, and return the
    number of rows written plus the flag changes counted by (organisation, new flag).

    The rows are visited once, in a plain scan of the table (no self-join): the rules are
    evaluated in the WHERE (only differing rows are written, so a second run writes nothing) and
    in the SET. The flag a row had before comes from the statement's own snapshot, which does
    not see this UPDATE: it is looked up only for rows whose `flag_changed_at` now equals
    `now`, i.e. those whose flag may just have changed."""
    r = SWEEP_RULES
    return f"""
    WITH changed AS (
        UPDATE licensing_client c
        SET compliance_flag = {r.flag},
            flag_reason = {r.reason},
            renewal_deadline = {r.deadline},
            flag_recheck_at = {r.recheck},
            flag_changed_at = CASE WHEN c.compliance_flag <> {r.flag} THEN %(now)s
                                   ELSE c.flag_changed_at END
        FROM licensing_organisation o
        WHERE o.id = c.organisation_id AND {scope}
          AND (c.compliance_flag::text, c.flag_reason::text, c.renewal_deadline, c.flag_recheck_at)
              IS DISTINCT FROM ({r.flag}, {r.reason}, {r.deadline}, {r.recheck})
        RETURNING c.organisation_id, c.compliance_flag AS to_flag,
            CASE WHEN c.flag_changed_at = %(now)s THEN c.id END AS flip_id,
            CASE WHEN c.flag_changed_at = %(now)s THEN c.flag_reason END AS reason,
            CASE WHEN c.flag_changed_at = %(now)s THEN
                (SELECT before.compliance_flag FROM licensing_client before
                 WHERE before.id = c.id) END AS from_flag
    ), history AS (
        INSERT INTO licensing_clientflagchange
            (client_id, organisation_id, from_flag, to_flag, reason, changed_at, changed_by)
        SELECT flip_id, organisation_id, from_flag, to_flag, reason, %(now)s, %(by)s
        FROM changed WHERE from_flag <> to_flag
        RETURNING organisation_id, to_flag
    )
    SELECT NULL::bigint, NULL::text, (SELECT count(*) FROM changed)
    UNION ALL
    SELECT organisation_id, to_flag, count(*) FROM history GROUP BY 1, 2
    """


def sweep(
    *,
    organisation_id: int | None = None,
    now: datetime | None = None,
    changed_by: str = "sweep",
    full: bool = False,
    wait: bool = False,
) -> SweepResult:
    """Re-flag clients set-based and record every flag change in the history.

    By default only rows whose `flag_recheck_at` has come are visited (the transitions-only
    sweep); `full=True` recomputes every client (after an organisation changes its at-risk days,
    or as the nightly safety net). Only rows whose flag, reason, deadline or recheck time really
    change are written, so a second run writes nothing. Overlapping sweeps do not queue up: the
    second one returns `skipped` unless `wait=True`. Today's `ComplianceSnapshot` counts are
    upserted for every organisation whose flags changed (and for all of them on the first sweep
    of a day). A transitions-only sweep with nothing due answers from one indexed probe, without
    the lock or the rules (`_anything_due`)."""
    now = now or timezone.now()
    conditions = ["TRUE"] if full else ["c.flag_recheck_at <= %(now)s"]
    if organisation_id is not None:
        conditions.append("c.organisation_id = %(org)s")
    params = {"now": now, "org": organisation_id, "by": changed_by}
    if not full and not _anything_due(now=now, organisation_id=organisation_id):
        return SweepResult(changed=0, flagged=0, at=now)
    with transaction.atomic(), connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SWEEP_LOCK_KEY])
        else:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SWEEP_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return SweepResult(changed=0, flagged=0, at=now, skipped=True)
        cursor.execute(_sweep_sql(" AND ".join(conditions)), params)
        rows = cursor.fetchall()
        changed = next(r[2] for r in rows if r[0] is None)
        by_flag: dict[str, int] = {}
        touched: set[int] = set()
        for org_id, flag, n in rows:
            if org_id is not None:
                by_flag[flag] = by_flag.get(flag, 0) + n
                touched.add(org_id)
        refresh_snapshots(organisation_ids=touched, day=now.date(), include_missing=True)
    return SweepResult(changed=changed, flagged=sum(by_flag.values()), at=now, by_flag=by_flag)


def _anything_due(*, now: datetime, organisation_id: int | None) -> bool:
    """The transitions-only sweep's first question, one indexed probe before any lock or
    transaction: has some row's recheck time come (through the partial index on
    `flag_recheck_at`), or has some organisation no snapshot for today yet? When neither, the
    sweep has nothing to write and returns at once."""
    org = "AND c.organisation_id = %(org)s" if organisation_id is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT EXISTS (SELECT 1 FROM licensing_client c
                           WHERE c.flag_recheck_at <= %(now)s {org})
                OR EXISTS (SELECT 1 FROM licensing_organisation o WHERE NOT EXISTS (
                           SELECT 1 FROM licensing_compliancesnapshot s
                           WHERE s.organisation_id = o.id AND s.day = %(day)s))
            """,
            {"now": now, "org": organisation_id, "day": now.date()},
        )
        return bool(cursor.fetchone()[0])


def reflag_clients(*, client_ids: list[int], changed_by: str, now: datetime | None = None) -> int:
    """Recompute the flag of a few clients right after a service changed their inputs (e.g. a
    MAK activation), with the sweep's very rules and history. Runs in the caller's transaction
    and takes no sweep lock: the rows are already locked by the caller's UPDATE."""
    if not client_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            _sweep_sql("c.id = ANY(%(ids)s)"),
            {"now": now or timezone.now(), "ids": list(client_ids), "by": changed_by[:150]},
        )
        return next(r[2] for r in cursor.fetchall() if r[0] is None)


def refresh_snapshots(
    *, organisation_ids: set[int] | list[int], day: date, include_missing: bool = False
) -> None:
    """Upsert the day's flag counts (every flag, zeros included) of the given organisations,
    plus, with `include_missing`, of every organisation that has no row for that day yet."""
    ids = sorted(organisation_ids)
    missing = "OR NOT EXISTS (SELECT 1 FROM licensing_compliancesnapshot s WHERE s.organisation_id = o.id AND s.day = %(day)s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH orgs AS (
                SELECT o.id FROM licensing_organisation o
                WHERE o.id = ANY(%(ids)s) {missing if include_missing else ""}
            ), counts AS (
                SELECT c.organisation_id, c.compliance_flag, count(*) AS n
                FROM licensing_client c
                WHERE c.organisation_id IN (SELECT id FROM orgs) AND c.retired_at IS NULL
                GROUP BY 1, 2
            )
            INSERT INTO licensing_compliancesnapshot (organisation_id, day, flag, count)
            SELECT orgs.id, %(day)s, f.flag, COALESCE(counts.n, 0)
            FROM orgs CROSS JOIN unnest(%(flags)s::text[]) AS f(flag)
            LEFT JOIN counts ON counts.organisation_id = orgs.id AND counts.compliance_flag = f.flag
            ON CONFLICT (organisation_id, day, flag) DO UPDATE SET count = EXCLUDED.count
            WHERE licensing_compliancesnapshot.count <> EXCLUDED.count
            """,
            {"ids": ids, "day": day, "flags": list(ComplianceFlag.values)},
        )


def summary(result: SweepResult) -> dict[str, Any]:
    return {
        "changed": result.changed,
        "flagged": result.flagged,
        "skipped": result.skipped,
        "by_flag": result.by_flag,
        "at": result.at.isoformat(),
    }
