"""Compliance rules for Office volume clients, in one place (shared DOMAIN.md sections 2 and 10).

The rules are written once, as SQL expressions built by `rule_sql()`, so the sweep re-flags a
million clients set-based, ingest computes the same answer inside its upsert, seed_demo computes
it inside its INSERT, and `evaluate()` answers for one client (tests, previews). Every path calls
`rule_sql()` with its own column expressions; nothing else in the project decides a flag.

Rules, first match wins ("day N" = N x 24 hours after the timestamp; a threshold belongs to the
later state, i.e. the flag changes AT the threshold):

1. The state the client itself reports wins over dates, and the reason says so:
   0 Unlicensed, 5 Notification, 4 Non-genuine grace -> unlicensed;
   3 OOT grace -> reactivation_needed for MAK (hardware change), expired for KMS.
2. A MAK client whose inventory reported a hardware change or reinstall
   (`reactivation_required`) -> reactivation_needed.
3. A client in a grace state (2 initial/OOB grace, 6 extended grace) is not activated. Its grace
   ends at `last_seen_at + grace_minutes` when the client reported its remaining grace, else (state
   2 only) 30 days after install. From 5 days before the end (day 25 after install) ->
   grace_expiring; from the end (day 30) -> unlicensed; before that -> ok. Grace end unknown ->
   grace_expiring ("not activated, grace end unknown").
4. A licensed KMS client: validity ends 180 days after its last renewal (or activation).
   deadline - at_risk_days <= now -> at_risk (day 150 with 30 at-risk days);
   deadline <= now -> expired (day 180, out-of-tolerance grace);
   deadline + 30 days <= now -> unlicensed (day 210, notification state).
   A licensed KMS client with no activation date at all -> ok (its report says licensed).
5. A licensed MAK client stays ok: MAK activation does not expire.

`renewal_deadline` is the date the client falls out of activation (KMS: last renewal + 180 days;
grace: the end of the grace), shown beside the flag. `flag_recheck_at` is the next moment the flag
can change by time alone (the next threshold above, or NULL when only a new report can change it):
the periodic sweep only visits rows whose recheck time has come, through a partial index, so a
sweep with nothing to do costs milliseconds at a million clients. Anything that changes a rule
input (ingest, an organisation's at-risk days) recomputes the row, or runs `sweep(full=True)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from licensing.models import ComplianceFlag

KMS_VALIDITY_DAYS = 180
OOT_GRACE_DAYS = 30
INSTALL_GRACE_DAYS = 30
INSTALL_WARNING_DAY = 25
GRACE_WARNING_DAYS = INSTALL_GRACE_DAYS - INSTALL_WARNING_DAY
RENEWAL_INTERVAL_DAYS = 7

# One advisory-lock key for "the flags of the fleet": sweeps take it exclusively (try-lock: an
# overlapping run skips), ingests take it shared, so a sweep never computes from rows an ingest
# is rewriting, while ingests still run side by side.
SWEEP_LOCK_KEY = 0x56_4C_50_53  # "VLPS"


@dataclass(frozen=True)
class Columns:
    """SQL expressions for every rule input. The sweep passes `c.<column>`, ingest passes its
    merged staging columns, seed_demo its generated ones."""

    method: str = "c.activation_method"
    status: str = "c.license_status"
    installed_at: str = "c.installed_at"
    activated_at: str = "c.last_activation_at"
    renewed_at: str = "c.last_renewal_at"
    reactivation_required: str = "c.reactivation_required"
    grace_minutes: str = "c.grace_minutes"
    seen_at: str = "c.last_seen_at"
    at_risk_days: str = "o.at_risk_days"


@dataclass(frozen=True)
class RuleSql:
    flag: str
    reason: str
    deadline: str
    recheck: str


def rule_sql(cols: Columns = Columns(), now: str = "%(now)s") -> RuleSql:
    """The four computed columns as SQL expressions over `cols`, evaluated at `now`."""
    anchor = f"COALESCE({cols.renewed_at}, {cols.activated_at})"
    kms_deadline = f"({anchor} + interval '{KMS_VALIDITY_DAYS} days')"
    at_risk_from = f"({kms_deadline} - make_interval(days => {cols.at_risk_days}::int))"
    lapsed_from = f"({kms_deadline} + interval '{OOT_GRACE_DAYS} days')"
    reported_grace_end = f"({cols.seen_at} + make_interval(mins => {cols.grace_minutes}::int))"
    grace_end = (
        f"(CASE WHEN {cols.grace_minutes} IS NOT NULL AND {cols.seen_at} IS NOT NULL "
        f"THEN {reported_grace_end} "
        f"WHEN {cols.status} = 2 THEN {cols.installed_at} + interval '{INSTALL_GRACE_DAYS} days' END)"
    )
    grace_warn_from = f"({grace_end} - interval '{GRACE_WARNING_DAYS} days')"
    # Branch conditions, in order (the CASEs below must list them in the same order).
    b_unlicensed = f"{cols.status} IN (0, 4, 5)"
    b_oot_mak = f"{cols.status} = 3 AND {cols.method} = 'mak'"
    b_oot_kms = f"{cols.status} = 3"
    b_hw = f"{cols.method} = 'mak' AND {cols.reactivation_required}"
    b_grace = f"{cols.status} IN (2, 6)"
    b_kms = f"{cols.method} = 'kms' AND {anchor} IS NOT NULL"
    installed_known = f"{cols.grace_minutes} IS NULL OR {cols.seen_at} IS NULL"

    flag = f"""(CASE
  WHEN {b_unlicensed} THEN 'unlicensed'
  WHEN {b_oot_mak} THEN 'reactivation_needed'
  WHEN {b_oot_kms} THEN 'expired'
  WHEN {b_hw} THEN 'reactivation_needed'
  WHEN {b_grace} THEN CASE
      WHEN {grace_end} IS NULL THEN 'grace_expiring'
      WHEN {now} >= {grace_end} THEN 'unlicensed'
      WHEN {now} >= {grace_warn_from} THEN 'grace_expiring'
      ELSE 'ok' END
  WHEN {b_kms} THEN CASE
      WHEN {now} >= {lapsed_from} THEN 'unlicensed'
      WHEN {now} >= {kms_deadline} THEN 'expired'
      WHEN {now} >= {at_risk_from} THEN 'at_risk'
      ELSE 'ok' END
  ELSE 'ok'
END)"""

    reason = f"""(CASE
  WHEN {cols.status} = 0 THEN 'Client reports Unlicensed'
  WHEN {cols.status} = 5 THEN 'Client reports the Notification state (red title bar): it is not activated'
  WHEN {cols.status} = 4 THEN 'Client reports non-genuine grace'
  WHEN {b_oot_mak} THEN 'Client reports out-of-tolerance grace (hardware change): activate the MAK again'
  WHEN {b_oot_kms} THEN 'Client reports out-of-tolerance grace: no KMS renewal within {KMS_VALIDITY_DAYS} days'
  WHEN {b_hw} THEN 'Hardware change or reinstall reported: needs a new MAK activation'
  WHEN {b_grace} THEN CASE
      WHEN {grace_end} IS NULL THEN 'Client reports ' || CASE WHEN {cols.status} = 6 THEN 'extended' ELSE 'initial' END || ' grace: not activated, and when its grace ends is unknown'
      WHEN {now} >= {grace_end} THEN CASE WHEN {installed_known}
          THEN 'Never activated: the {INSTALL_GRACE_DAYS}-day grace after install has ended'
          ELSE 'Not activated: the grace period the client reported has ended' END
      WHEN {now} >= {grace_warn_from} THEN CASE WHEN {installed_known}
          THEN 'Never activated: Office warns from day {INSTALL_WARNING_DAY} after install, the grace ends on day {INSTALL_GRACE_DAYS}'
          ELSE 'Not activated: fewer than {GRACE_WARNING_DAYS} days of grace left' END
      ELSE 'Not activated yet: within its grace period' END
  WHEN {b_kms} THEN CASE
      WHEN {now} >= {lapsed_from} THEN 'No KMS renewal for {KMS_VALIDITY_DAYS + OOT_GRACE_DAYS} days or more: the out-of-tolerance grace has ended'
      WHEN {now} >= {kms_deadline} THEN 'No KMS renewal for {KMS_VALIDITY_DAYS} days or more: activation lapsed, Office shows notifications'
      WHEN {now} >= {at_risk_from} THEN 'Fewer than ' || {cols.at_risk_days} || ' days of KMS activation left: no renewal for ' || ({KMS_VALIDITY_DAYS} - {cols.at_risk_days}) || ' days or more'
      ELSE '' END
  WHEN {cols.method} = 'kms' THEN 'Client reports Licensed; no activation date known yet'
  ELSE ''
END)"""

    deadline = f"""(CASE
  WHEN {cols.status} IN (0, 4, 5) OR {b_oot_mak} OR {b_hw} THEN NULL
  WHEN {b_grace} THEN {grace_end}
  WHEN {cols.method} = 'kms' THEN {kms_deadline}
END)"""

    recheck = f"""(CASE
  WHEN {cols.status} IN (0, 3, 4, 5) OR {b_hw} THEN NULL
  WHEN {b_grace} THEN CASE
      WHEN {now} < {grace_warn_from} THEN {grace_warn_from}
      WHEN {now} < {grace_end} THEN {grace_end} END
  WHEN {b_kms} THEN CASE
      WHEN {now} < {at_risk_from} THEN {at_risk_from}
      WHEN {now} < {kms_deadline} THEN {kms_deadline}
      WHEN {now} < {lapsed_from} THEN {lapsed_from} END
END)"""
    return RuleSql(flag=flag, reason=reason, deadline=deadline, recheck=recheck)


SWEEP_RULES = rule_sql()


# --- one client -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    flag: str
    reason: str
    deadline: datetime | None
    recheck_at: datetime | None


def evaluate(
    *,
    activation_method: str,
    license_status: int,
    installed_at: datetime | None = None,
    last_activation_at: datetime | None = None,
    last_renewal_at: datetime | None = None,
    reactivation_required: bool = False,
    grace_minutes: int | None = None,
    last_seen_at: datetime | None = None,
    at_risk_days: int = 30,
    now: datetime | None = None,
) -> Evaluation:
    """The rules for one client, through the very same SQL (one round trip, no table)."""
    cols = Columns(
        method="%(method)s::text",
        status="%(status)s::int",
        installed_at="%(installed_at)s::timestamptz",
        activated_at="%(activated_at)s::timestamptz",
        renewed_at="%(renewed_at)s::timestamptz",
        reactivation_required="%(hw)s::boolean",
        grace_minutes="%(grace)s::int",
        seen_at="%(seen_at)s::timestamptz",
        at_risk_days="%(at_risk_days)s::int",
    )
    r = rule_sql(cols, now="%(now)s::timestamptz")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {r.flag}, {r.reason}, {r.deadline}, {r.recheck}",
            {
                "method": activation_method,
                "status": license_status,
                "installed_at": installed_at,
                "activated_at": last_activation_at,
                "renewed_at": last_renewal_at,
                "hw": reactivation_required,
                "grace": grace_minutes,
                "seen_at": last_seen_at,
                "at_risk_days": at_risk_days,
                "now": now or timezone.now(),
            },
        )
        flag, reason, deadline, recheck = cursor.fetchone()
    return Evaluation(flag=flag, reason=reason, deadline=deadline, recheck_at=recheck)


# --- the sweep --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    changed: int  # rows written (flag, reason, deadline or recheck time differed)
    flagged: int  # of which the flag itself changed (one history row each)
    at: datetime
    skipped: bool = False  # another sweep held the lock
    by_flag: dict[str, int] = field(default_factory=dict)  # new flags of the flag changes


def _sweep_sql(scope: str) -> str:
    r = SWEEP_RULES
    return f"""
    WITH due AS (
        SELECT * FROM (
            SELECT c.id, c.organisation_id, c.compliance_flag AS from_flag,
                   c.flag_reason AS old_reason, c.renewal_deadline AS old_deadline,
                   c.flag_recheck_at AS old_recheck,
                   {r.flag} AS flag, {r.reason} AS reason, {r.deadline} AS deadline,
                   {r.recheck} AS recheck
            FROM licensing_client c JOIN licensing_organisation o ON o.id = c.organisation_id
            WHERE {scope}
        ) x
        WHERE x.from_flag <> x.flag OR x.old_reason IS DISTINCT FROM x.reason
           OR x.old_deadline IS DISTINCT FROM x.deadline OR x.old_recheck IS DISTINCT FROM x.recheck
    ), changed AS (
        UPDATE licensing_client c
        SET compliance_flag = d.flag,
            flag_reason = d.reason,
            renewal_deadline = d.deadline,
            flag_recheck_at = d.recheck,
            flag_changed_at = CASE WHEN c.compliance_flag <> d.flag THEN %(now)s ELSE c.flag_changed_at END
        FROM due d
        WHERE c.id = d.id
        RETURNING c.id, c.organisation_id, d.from_flag, d.flag, d.reason
    ), history AS (
        INSERT INTO licensing_clientflagchange
            (client_id, organisation_id, from_flag, to_flag, reason, changed_at, changed_by)
        SELECT id, organisation_id, from_flag, flag, reason, %(now)s, %(by)s
        FROM changed WHERE from_flag <> flag
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
    of a day)."""
    now = now or timezone.now()
    conditions = ["TRUE"] if full else ["c.flag_recheck_at <= %(now)s"]
    if organisation_id is not None:
        conditions.append("c.organisation_id = %(org)s")
    params = {"now": now, "org": organisation_id, "by": changed_by}
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
                FROM licensing_client c WHERE c.organisation_id IN (SELECT id FROM orgs)
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
