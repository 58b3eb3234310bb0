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
input (ingest, an organisation's at-risk days) recomputes the row, or runs a full sweep
(`inventory.sweep.sweep(full=True)`).

The SQL names licence states, methods and flags through the model choices (`LicenseStatus`,
`ActivationMethod`, `ComplianceFlag`), never as bare numbers or words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Choices
from django.utils import timezone

from licensing.models import ActivationMethod, ComplianceFlag, LicenseStatus

KMS_VALIDITY_DAYS = 180
OOT_GRACE_DAYS = 30
INSTALL_GRACE_DAYS = 30
INSTALL_WARNING_DAY = 25
GRACE_WARNING_DAYS = INSTALL_GRACE_DAYS - INSTALL_WARNING_DAY
RENEWAL_INTERVAL_DAYS = 7


def sql_literal(choice: Choices) -> str:
    """A model choice as an SQL literal: its number, or its quoted text (choice values are fixed
    identifiers, never user input)."""
    value = choice.value
    return str(int(value)) if isinstance(value, int) else f"'{value}'"


def sql_list(*choices: Choices) -> str:
    """`(a, b, ...)` for an SQL IN."""
    return f"({', '.join(sql_literal(c) for c in choices)})"


_S = LicenseStatus
_KMS = sql_literal(ActivationMethod.KMS)
_MAK = sql_literal(ActivationMethod.MAK)
# States the client reports that no date can override.
_UNLICENSED_STATES = sql_list(_S.UNLICENSED, _S.NON_GENUINE_GRACE, _S.NOTIFICATION)
_GRACE_STATES = sql_list(_S.OOB_GRACE, _S.EXTENDED_GRACE)
_NO_RECHECK_STATES = sql_list(_S.UNLICENSED, _S.OOT_GRACE, _S.NON_GENUINE_GRACE, _S.NOTIFICATION)
_F = {flag: sql_literal(flag) for flag in ComplianceFlag}


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
    s = cols.status
    grace_end = (
        f"(CASE WHEN {cols.grace_minutes} IS NOT NULL AND {cols.seen_at} IS NOT NULL "
        f"THEN {reported_grace_end} "
        f"WHEN {s} = {sql_literal(_S.OOB_GRACE)} "
        f"THEN {cols.installed_at} + interval '{INSTALL_GRACE_DAYS} days' END)"
    )
    grace_warn_from = f"({grace_end} - interval '{GRACE_WARNING_DAYS} days')"
    # Branch conditions, in order (the CASEs below must list them in the same order).
    b_unlicensed = f"{s} IN {_UNLICENSED_STATES}"
    b_oot_mak = f"{s} = {sql_literal(_S.OOT_GRACE)} AND {cols.method} = {_MAK}"
    b_oot_kms = f"{s} = {sql_literal(_S.OOT_GRACE)}"
    b_hw = f"{cols.method} = {_MAK} AND {cols.reactivation_required}"
    b_grace = f"{s} IN {_GRACE_STATES}"
    b_kms = f"{cols.method} = {_KMS} AND {anchor} IS NOT NULL"
    installed_known = f"{cols.grace_minutes} IS NULL OR {cols.seen_at} IS NULL"
    F = ComplianceFlag

    flag = f"""(CASE
  WHEN {b_unlicensed} THEN {_F[F.UNLICENSED]}
  WHEN {b_oot_mak} THEN {_F[F.REACTIVATION_NEEDED]}
  WHEN {b_oot_kms} THEN {_F[F.EXPIRED]}
  WHEN {b_hw} THEN {_F[F.REACTIVATION_NEEDED]}
  WHEN {b_grace} THEN CASE
      WHEN {grace_end} IS NULL THEN {_F[F.GRACE_EXPIRING]}
      WHEN {now} >= {grace_end} THEN {_F[F.UNLICENSED]}
      WHEN {now} >= {grace_warn_from} THEN {_F[F.GRACE_EXPIRING]}
      ELSE {_F[F.OK]} END
  WHEN {b_kms} THEN CASE
      WHEN {now} >= {lapsed_from} THEN {_F[F.UNLICENSED]}
      WHEN {now} >= {kms_deadline} THEN {_F[F.EXPIRED]}
      WHEN {now} >= {at_risk_from} THEN {_F[F.AT_RISK]}
      ELSE {_F[F.OK]} END
  ELSE {_F[F.OK]}
END)"""

    reason = f"""(CASE
  WHEN {s} = {sql_literal(_S.UNLICENSED)} THEN 'Client reports Unlicensed'
  WHEN {s} = {sql_literal(_S.NOTIFICATION)} THEN 'Client reports the Notification state (red title bar): it is not activated'
  WHEN {s} = {sql_literal(_S.NON_GENUINE_GRACE)} THEN 'Client reports non-genuine grace'
  WHEN {b_oot_mak} THEN 'Client reports out-of-tolerance grace (hardware change): activate the MAK again'
  WHEN {b_oot_kms} THEN 'Client reports out-of-tolerance grace: no KMS renewal within {KMS_VALIDITY_DAYS} days'
  WHEN {b_hw} THEN 'Hardware change or reinstall reported: needs a new MAK activation'
  WHEN {b_grace} THEN CASE
      WHEN {grace_end} IS NULL THEN 'Client reports ' || CASE WHEN {s} = {sql_literal(_S.EXTENDED_GRACE)} THEN 'extended' ELSE 'initial' END || ' grace: not activated, and when its grace ends is unknown'
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
  WHEN {cols.method} = {_KMS} THEN 'Client reports Licensed; no activation date known yet'
  ELSE ''
END)"""

    deadline = f"""(CASE
  WHEN {b_unlicensed} OR {b_oot_mak} OR {b_hw} THEN NULL
  WHEN {b_grace} THEN {grace_end}
  WHEN {cols.method} = {_KMS} THEN {kms_deadline}
END)"""

    recheck = f"""(CASE
  WHEN {s} IN {_NO_RECHECK_STATES} OR {b_hw} THEN NULL
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
