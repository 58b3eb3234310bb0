"""Compliance rules for Office volume clients, in one place (shared DOMAIN.md sections 2 and 10).

The rules are written once, as SQL expressions, so the sweep re-flags a million clients in one
set-based UPDATE and ingest paths compute the same answer for the rows they touch.

Rules, first match wins:
1. The state the client itself reports wins when it is not "licensed" or "initial grace":
   Notification / Unlicensed / Non-genuine grace -> unlicensed; OOT grace -> expired for KMS
   (180 days without renewal) or reactivation needed for MAK (hardware change).
2. A MAK client whose inventory reported a hardware change or reinstall -> reactivation needed.
3. A KMS client that has activated: its validity ends 180 days after the last renewal.
   Past the end plus the 30-day out-of-tolerance grace -> unlicensed; past the end -> expired;
   within the organisation's at-risk days of the end -> at risk; otherwise OK.
4. A client never activated: grace ends 30 days after install; from day 25 Office warns ->
   grace expiring; from day 30 -> unlicensed.
5. An activated MAK client stays OK (no renewal needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

KMS_VALIDITY_DAYS = 180
OOT_GRACE_DAYS = 30
INSTALL_GRACE_DAYS = 30
INSTALL_WARNING_DAY = 25
RENEWAL_INTERVAL_DAYS = 7

# SQL expressions over `c` (licensing_client) and `o` (licensing_organisation); %(now)s is
# the sweep's clock. Kept as text so the sweep, ingest and the benchmark baseline share them.
DEADLINE_SQL = f"""
CASE
  WHEN c.activation_method = 'kms' AND COALESCE(c.last_renewal_at, c.last_activation_at) IS NOT NULL
    THEN COALESCE(c.last_renewal_at, c.last_activation_at) + interval '{KMS_VALIDITY_DAYS} days'
  WHEN c.last_activation_at IS NULL AND c.last_renewal_at IS NULL AND c.installed_at IS NOT NULL
    THEN c.installed_at + interval '{INSTALL_GRACE_DAYS} days'
END"""

FLAG_SQL = f"""
CASE
  WHEN c.license_status IN (0, 4, 5) THEN 'unlicensed'
  WHEN c.license_status = 3 AND c.activation_method = 'mak' THEN 'reactivation_needed'
  WHEN c.license_status = 3 THEN 'expired'
  WHEN c.activation_method = 'mak' AND c.reactivation_required THEN 'reactivation_needed'
  WHEN c.activation_method = 'kms' AND COALESCE(c.last_renewal_at, c.last_activation_at) IS NOT NULL THEN
    CASE
      WHEN %(now)s >= ({DEADLINE_SQL}) + interval '{OOT_GRACE_DAYS} days' THEN 'unlicensed'
      WHEN %(now)s >= ({DEADLINE_SQL}) THEN 'expired'
      WHEN %(now)s >= ({DEADLINE_SQL}) - make_interval(days => o.at_risk_days) THEN 'at_risk'
      ELSE 'ok'
    END
  WHEN c.last_activation_at IS NULL AND c.last_renewal_at IS NULL AND c.installed_at IS NOT NULL THEN
    CASE
      WHEN %(now)s >= c.installed_at + interval '{INSTALL_GRACE_DAYS} days' THEN 'unlicensed'
      WHEN %(now)s >= c.installed_at + interval '{INSTALL_WARNING_DAY} days' THEN 'grace_expiring'
      ELSE 'ok'
    END
  ELSE 'ok'
END"""

REASON_SQL = f"""
CASE
  WHEN c.license_status = 5 THEN 'Client reports the Notification state (red title bar)'
  WHEN c.license_status = 0 THEN 'Client reports Unlicensed'
  WHEN c.license_status = 4 THEN 'Client reports non-genuine grace'
  WHEN c.license_status = 3 AND c.activation_method = 'mak' THEN 'Client reports out-of-tolerance grace: hardware change, activate the MAK again'
  WHEN c.license_status = 3 THEN 'Client reports out-of-tolerance grace: not renewed within 180 days'
  WHEN c.activation_method = 'mak' AND c.reactivation_required THEN 'Hardware change or reinstall reported: needs a new MAK activation'
  WHEN c.activation_method = 'kms' AND COALESCE(c.last_renewal_at, c.last_activation_at) IS NOT NULL THEN
    CASE
      WHEN %(now)s >= ({DEADLINE_SQL}) + interval '{OOT_GRACE_DAYS} days' THEN 'No KMS renewal for over {KMS_VALIDITY_DAYS + OOT_GRACE_DAYS} days: out-of-tolerance grace has ended'
      WHEN %(now)s >= ({DEADLINE_SQL}) THEN 'No KMS renewal for {KMS_VALIDITY_DAYS} days: activation has lapsed'
      WHEN %(now)s >= ({DEADLINE_SQL}) - make_interval(days => o.at_risk_days) THEN 'Fewer than ' || o.at_risk_days || ' days of KMS activation left'
      ELSE ''
    END
  WHEN c.last_activation_at IS NULL AND c.last_renewal_at IS NULL AND c.installed_at IS NOT NULL THEN
    CASE
      WHEN %(now)s >= c.installed_at + interval '{INSTALL_GRACE_DAYS} days' THEN 'Never activated: the {INSTALL_GRACE_DAYS}-day grace after install has ended'
      WHEN %(now)s >= c.installed_at + interval '{INSTALL_WARNING_DAY} days' THEN 'Never activated: Office warns from day {INSTALL_WARNING_DAY}, grace ends on day {INSTALL_GRACE_DAYS}'
      ELSE ''
    END
  ELSE ''
END"""


@dataclass(frozen=True)
class SweepResult:
    changed: int
    at: datetime


def sweep(
    *, organisation_id: int | None = None, now: datetime | None = None, changed_by: str = "sweep"
) -> SweepResult:
    """Re-flag clients set-based. Writes only rows whose flag, reason or deadline really
    changes, and records each flag change in the history in the same statement."""
    now = now or timezone.now()
    org_filter = "AND c.organisation_id = %(org)s" if organisation_id is not None else ""
    sql = f"""
    WITH computed AS (
        SELECT c.id, c.organisation_id, c.compliance_flag AS old_flag,
               ({FLAG_SQL}) AS new_flag, ({REASON_SQL}) AS new_reason, ({DEADLINE_SQL}) AS new_deadline
        FROM licensing_client c JOIN licensing_organisation o ON o.id = c.organisation_id
        WHERE TRUE {org_filter}
    ), changed AS (
        UPDATE licensing_client c
        SET compliance_flag = x.new_flag,
            flag_reason = x.new_reason,
            renewal_deadline = x.new_deadline,
            flag_changed_at = CASE WHEN c.compliance_flag <> x.new_flag THEN %(now)s ELSE c.flag_changed_at END
        FROM computed x
        WHERE c.id = x.id
          AND (c.compliance_flag <> x.new_flag
               OR c.flag_reason IS DISTINCT FROM x.new_reason
               OR c.renewal_deadline IS DISTINCT FROM x.new_deadline)
        RETURNING c.id, c.organisation_id, x.old_flag, x.new_flag, x.new_reason
    ), history AS (
        INSERT INTO licensing_clientflagchange (client_id, organisation_id, from_flag, to_flag, reason, changed_at, changed_by)
        SELECT id, organisation_id, old_flag, new_flag, new_reason, %(now)s, %(by)s
        FROM changed WHERE old_flag <> new_flag
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM changed)
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "org": organisation_id, "by": changed_by})
        (changed,) = cursor.fetchone()
    return SweepResult(changed=changed, at=now)
