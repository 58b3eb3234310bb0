"""The one set-based upsert every inventory input ends in: the bulk API, posted ospp/slmgr text,
CSV files and KMS event 12290 exports.

Every path validates records in Python (`records.clean`), COPYs the clean ones into a
temporary staging table and runs ONE statement that merges them with the stored clients by
(organisation, lower-case hostname), computes flag, reason, deadline and recheck time with the
compliance rules, inserts or updates only rows where something changed, and writes the flag
history. Nothing is read into Python row by row; a failure rolls everything back.

Concurrency: before the merge, the batch's stored clients are locked (FOR NO KEY UPDATE, in
hostname order, so two ingests never deadlock) and copied as they are under the lock; the merge
reads those copies, i.e. the latest committed state of every client it
updates. New clients are inserted in hostname order with ON CONFLICT DO NOTHING: when another
ingest created one of them meanwhile, nothing stale is written; the attempt is rolled back to its
savepoint and run again, and finds that client among the stored ones. So dates never go
backwards, each real change writes exactly one history row, and the answer tells the truth. A CSV
file merged in chunks locks in file order, so a chunk and an agent's batch can deadlock; the
attempt PostgreSQL fails is run again the same way.

Merge semantics (documented in the README):
- a value not given (empty cell, missing key, null) keeps what is stored;
- the newest report wins: a record older than the client's `last_seen_at` does not override its
  state (status, grace, method, host, edition, CMID), and dates never go backwards
  (`last_activation_at`, `last_renewal_at`, `last_seen_at` take the later value);
- a newer `last_renewal_at` without a status means the client renewed, i.e. is licensed;
- a record that changes nothing is "unchanged" and not written; `last_seen_at` alone moves only
  when it advances by an hour or more, and a record without its own `last_seen_at` that comes
  within the hour after the stored one is taken as seen at the stored time (so its reported grace
  minutes give the same grace end): a re-sent batch changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from psycopg.errors import DeadlockDetected

from licensing.models import (
    ActivationMethod,
    ComplianceFlag,
    Edition,
    KmsHost,
    LicenseStatus,
    Organisation,
)
from licensing.services.errors import ConflictError
from licensing.services.inventory import rules
from licensing.services.inventory.records import STAGE_COLUMNS, Lookups
from licensing.services.inventory.rules import sql_literal
from licensing.services.inventory.sweep import SWEEP_LOCK_KEY

log = logging.getLogger(__name__)

SEEN_GRANULARITY = timedelta(hours=1)

_KMS = sql_literal(ActivationMethod.KMS)
_MAK = sql_literal(ActivationMethod.MAK)
_LICENSED = sql_literal(LicenseStatus.LICENSED)
_OOB_GRACE = sql_literal(LicenseStatus.OOB_GRACE)
_OK = sql_literal(ComplianceFlag.OK)


def load_lookups(organisation: Organisation, now: datetime) -> Lookups:
    editions: dict[str, int] = {}
    for pk, name, sku in Edition.objects.values_list("id", "name", "sku_id"):
        editions[name.lower()] = pk
        if sku:
            editions[str(sku).lower()] = pk
    hosts: dict[str, int] = {}
    for pk, fqdn in KmsHost.objects.for_organisation(organisation).values_list("id", "fqdn"):
        fqdn = fqdn.lower().rstrip(".")
        hosts.setdefault(fqdn.split(".", 1)[0], pk)
        hosts[fqdn] = pk
    return Lookups(editions=editions, kms_hosts=hosts, now=now)


def create_stage(cursor: Any) -> None:
    cursor.execute(
        """
        DROP TABLE IF EXISTS pg_temp.inventory_stage;
        CREATE TEMP TABLE inventory_stage (
            idx integer NOT NULL, hostname text NOT NULL, fqdn text, cmid uuid, edition_id bigint,
            activation_method text, kms_host_id bigint, license_status smallint,
            grace_minutes integer, installed_at timestamptz, last_activation_at timestamptz,
            last_renewal_at timestamptz, reactivation_required boolean, seen_at timestamptz
        ) ON COMMIT DROP;
        DROP TABLE IF EXISTS pg_temp.inventory_locked;
        -- The batch's stored clients as they are while this transaction holds their locks.
        CREATE TEMP TABLE inventory_locked (LIKE licensing_client) ON COMMIT DROP
        """
    )


COPY_STAGE = f"COPY inventory_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN"

_MERGED = rules.Columns(
    method="m.activation_method",
    status="m.license_status",
    installed_at="m.installed_at",
    activated_at="m.last_activation_at",
    renewed_at="m.last_renewal_at",
    reactivation_required="m.reactivation_required",
    grace_minutes="m.grace_minutes",
    seen_at="m.last_seen_at",
    # Read in the statement, not from the caller's Organisation object: a change of the at-risk
    # days committed while this ingest waited for the sweep lock is already in force.
    at_risk_days="(SELECT o.at_risk_days FROM licensing_organisation o WHERE o.id = %(org)s)",
)
_RULES = rules.rule_sql(_MERGED, now="%(now)s::timestamptz")

# Each written column of licensing_client and its value: a column of `w` (the rule outputs are
# named after what they compute) or the time of the ingest.
_WRITTEN = {
    "fqdn": "w.fqdn",
    "cmid": "w.cmid",
    "edition_id": "w.edition_id",
    "activation_method": "w.activation_method",
    "kms_host_id": "w.kms_host_id",
    "mak_key_id": "w.mak_key_id",
    "license_status": "w.license_status",
    "grace_minutes": "w.grace_minutes",
    "installed_at": "w.installed_at",
    "last_activation_at": "w.last_activation_at",
    "last_renewal_at": "w.last_renewal_at",
    "reactivation_required": "w.reactivation_required",
    "last_seen_at": "w.last_seen_at",
    "compliance_flag": "w.flag",
    "flag_reason": "w.reason",
    "renewal_deadline": "w.deadline",
    "flag_recheck_at": "w.recheck",
    "flag_changed_at": "w.flag_changed_at",
    "updated_at": "%(now)s",
}

UPSERT_SQL = f"""
WITH s AS (
    SELECT DISTINCT ON (hostname) * FROM inventory_stage ORDER BY hostname, idx DESC
), j AS (
    -- A record without its own time is seen now; but within the hour after the stored
    -- last_seen_at it keeps that time, so a re-sent record (e.g. its remaining grace minutes)
    -- does not move its grace end and changes nothing.
    SELECT s.*, COALESCE(s.seen_at,
               CASE WHEN %(now)s::timestamptz < c.last_seen_at + %(seen_granularity)s
                    THEN c.last_seen_at ELSE %(now)s END) AS seen,
           c.id AS old_id, c.fqdn AS o_fqdn, c.cmid AS o_cmid, c.edition_id AS o_edition_id,
           c.activation_method AS o_method, c.kms_host_id AS o_kms_host_id,
           c.mak_key_id AS o_mak_key_id, c.license_status AS o_status, c.grace_minutes AS o_grace,
           c.installed_at AS o_installed, c.last_activation_at AS o_activated,
           c.last_renewal_at AS o_renewed, c.reactivation_required AS o_hw,
           c.last_seen_at AS o_seen, c.compliance_flag AS o_flag, c.flag_reason AS o_reason,
           c.renewal_deadline AS o_deadline, c.flag_recheck_at AS o_recheck,
           c.flag_changed_at AS o_flag_changed_at,
           (c.id IS NULL OR c.last_seen_at IS NULL
            OR COALESCE(s.seen_at, %(now)s) >= c.last_seen_at) AS fresh
    -- Only the clients LOCK_SQL locked: their rows are the latest committed ones. A client that
    -- appeared since is taken as new, and its insert below finds the conflict.
    FROM s LEFT JOIN inventory_locked c ON c.hostname = s.hostname
), m AS MATERIALIZED (
    -- Materialised: the rules below refer to each merged value many times; inlined, every
    -- reference would repeat its CASE (slower to plan and to run).
    SELECT j.idx, j.hostname, j.old_id, j.o_flag, j.o_flag_changed_at,
           j.o_fqdn, j.o_cmid, j.o_edition_id, j.o_method, j.o_kms_host_id, j.o_mak_key_id,
           j.o_status, j.o_grace, j.o_installed, j.o_activated, j.o_renewed, j.o_hw, j.o_seen,
           j.o_reason, j.o_deadline, j.o_recheck,
           CASE WHEN fresh THEN COALESCE(j.fqdn, j.o_fqdn, '') ELSE j.o_fqdn END AS fqdn,
           CASE WHEN fresh THEN COALESCE(j.cmid, j.o_cmid) ELSE j.o_cmid END AS cmid,
           CASE WHEN fresh THEN COALESCE(j.edition_id, j.o_edition_id) ELSE j.o_edition_id END AS edition_id,
           mth.method AS activation_method,
           CASE WHEN mth.method = {_KMS} THEN
               CASE WHEN fresh THEN COALESCE(j.kms_host_id, j.o_kms_host_id) ELSE j.o_kms_host_id END
           END AS kms_host_id,
           CASE WHEN mth.method = {_MAK} THEN j.o_mak_key_id END AS mak_key_id,
           CASE WHEN fresh THEN COALESCE(
                   j.license_status,
                   CASE WHEN j.last_renewal_at > COALESCE(j.o_renewed, '-infinity') THEN {_LICENSED} END,
                   j.o_status,
                   CASE WHEN COALESCE(j.last_activation_at, j.last_renewal_at) IS NOT NULL
                        THEN {_LICENSED} ELSE {_OOB_GRACE} END)
                ELSE j.o_status END AS license_status,
           CASE WHEN fresh THEN COALESCE(j.grace_minutes, CASE WHEN j.license_status IS NULL THEN j.o_grace END)
                ELSE j.o_grace END AS grace_minutes,
           COALESCE(CASE WHEN fresh THEN j.installed_at END, j.o_installed) AS installed_at,
           GREATEST(j.last_activation_at, j.o_activated) AS last_activation_at,
           GREATEST(j.last_renewal_at, j.o_renewed) AS last_renewal_at,
           CASE WHEN fresh THEN COALESCE(j.reactivation_required, j.o_hw, false) ELSE j.o_hw END
               AS reactivation_required,
           GREATEST(j.seen, j.o_seen) AS last_seen_at
    FROM j CROSS JOIN LATERAL (
        SELECT CASE WHEN j.fresh THEN COALESCE(j.activation_method, j.o_method, {_KMS})
                    ELSE j.o_method END AS method
    ) mth
), r AS MATERIALIZED (
    -- Materialised too: `w` reads each computed value several times.
    SELECT m.*, {_RULES.flag} AS flag, {_RULES.reason} AS reason,
           {_RULES.deadline} AS deadline, {_RULES.recheck} AS recheck
    FROM m
), w AS (
    -- Every distinct record once, materialised: the upsert writes the changed ones, the history
    -- and the per-record answer read the same rows (no second pass over the batch).
    SELECT r.idx, r.hostname, r.old_id, r.o_flag, r.fqdn, r.cmid, r.edition_id,
           r.activation_method, r.kms_host_id, r.mak_key_id, r.license_status, r.grace_minutes,
           r.installed_at, r.last_activation_at, r.last_renewal_at, r.reactivation_required,
           r.last_seen_at, r.flag, r.reason, r.deadline, r.recheck,
           CASE WHEN r.old_id IS NULL THEN CASE WHEN r.flag <> {_OK} THEN %(now)s::timestamptz END
                WHEN r.o_flag <> r.flag THEN %(now)s::timestamptz
                ELSE r.o_flag_changed_at END AS flag_changed_at,
           (r.old_id IS NULL
            OR (r.fqdn, r.cmid, r.edition_id, r.activation_method, r.kms_host_id, r.mak_key_id,
                r.license_status, r.grace_minutes, r.installed_at, r.last_activation_at,
                r.last_renewal_at, r.reactivation_required, r.flag, r.reason, r.deadline, r.recheck)
               IS DISTINCT FROM
               (r.o_fqdn, r.o_cmid, r.o_edition_id, r.o_method, r.o_kms_host_id, r.o_mak_key_id,
                r.o_status, r.o_grace, r.o_installed, r.o_activated,
                r.o_renewed, r.o_hw, r.o_flag, r.o_reason, r.o_deadline, r.o_recheck)
            OR r.o_seen IS NULL
            OR r.last_seen_at >= r.o_seen + %(seen_granularity)s) AS changed
    FROM r
), upd AS (
    -- Known clients by primary key: cheaper than a speculative insert that finds a conflict.
    -- The id list makes it one probe of the key per changed client: after a CSV chunk's ANALYZE,
    -- PostgreSQL would otherwise hash-join the chunk with every client of every organisation.
    UPDATE licensing_client AS c SET
        {", ".join(f"{col} = {value}" for col, value in _WRITTEN.items())}
    FROM w WHERE w.changed AND w.old_id IS NOT NULL AND c.id = w.old_id
        AND c.id = ANY (ARRAY(SELECT old_id FROM w WHERE changed AND old_id IS NOT NULL))
    RETURNING c.id, w.hostname
), ins AS (
    -- New clients, in hostname order (two ingests inserting the same new clients wait for each
    -- other in the same order: no deadlock). A conflict means another transaction created the
    -- client since the lock: nothing is written for it and `merge` runs the batch again.
    INSERT INTO licensing_client AS c (
        organisation_id, hostname, {", ".join(_WRITTEN)}, created_at)
    SELECT %(org)s, w.hostname, {", ".join(_WRITTEN.values())}, %(now)s
    FROM w WHERE w.changed AND w.old_id IS NULL
    ORDER BY w.hostname
    ON CONFLICT (organisation_id, hostname) DO NOTHING
    RETURNING c.id, c.hostname
), up AS (
    SELECT id, hostname FROM upd UNION ALL SELECT id, hostname FROM ins
), hist AS (
    INSERT INTO licensing_clientflagchange
        (client_id, organisation_id, from_flag, to_flag, reason, changed_at, changed_by)
    SELECT up.id, %(org)s, COALESCE(w.o_flag, ''), w.flag, w.reason, %(now)s, %(by)s
    FROM up JOIN w ON w.hostname = up.hostname
    WHERE (w.old_id IS NULL AND w.flag <> {_OK}) OR w.o_flag <> w.flag
)
"""

# One row per distinct hostname of the batch (the duplicates were answered in Python):
# idx, 0 unchanged / 1 created / 2 updated, the flag, and how many new clients were inserted.
FINAL_PER_RECORD = """
SELECT idx, CASE WHEN NOT changed THEN 0 WHEN old_id IS NULL THEN 1 ELSE 2 END, flag,
       (SELECT count(*) FROM ins)
FROM w
"""

# created, updated, distinct records, inserted.
FINAL_COUNTS = """
SELECT count(*) FILTER (WHERE changed AND old_id IS NULL),
       count(*) FILTER (WHERE changed AND old_id IS NOT NULL),
       count(*),
       (SELECT count(*) FROM ins)
FROM w
"""

DUPLICATES_SQL = """
SELECT idx, hostname, winner FROM (
    SELECT idx, hostname, max(idx) OVER (PARTITION BY hostname) AS winner FROM inventory_stage
) x WHERE idx <> winner ORDER BY idx
"""

# The batch's stored clients, locked in hostname order before the merge reads them (all in one
# organisation, so this is the order of the (organisation, hostname) key). NO KEY UPDATE is what
# the UPDATE below takes anyway; it leaves foreign-key checks of other tables unblocked.
LOCK_SQL = """
INSERT INTO inventory_locked
SELECT c.* FROM licensing_client c
WHERE c.organisation_id = %(org)s AND c.hostname IN (SELECT hostname FROM inventory_stage)
ORDER BY c.hostname
FOR NO KEY UPDATE OF c
"""
# LOCK_SQL finds the stored clients by their (organisation, hostname) key, one probe per staged
# hostname: its cost follows the batch, not the organisation. After the CSV import's ANALYZE of
# a 100,000-row chunk PostgreSQL would rather hash-join every client of the organisation (at 1M,
# 600,000 rows read to find none: 240-320 ms a chunk, against 110 ms by the key, and growing with
# the organisation). The lock order (the sort by hostname) stays the same.
LOCK_BY_KEY = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"
LOCK_BY_KEY_END = "RESET enable_hashjoin; RESET enable_mergejoin"

# How often a batch is merged again because concurrent ingests kept creating its new clients
# first (each retry finds them stored; more than two is already unlikely).
MAX_ATTEMPTS = 5


class _LostRace(Exception):
    """Another transaction created some of the batch's new clients since the lock."""


def upsert_params(organisation: Organisation, now: datetime, by: str) -> dict[str, Any]:
    return {
        "org": organisation.pk,
        "now": now,
        "by": by,
        "seen_granularity": SEEN_GRANULARITY,
    }


def begin(cursor: Any) -> None:
    """Prepare the ingest transaction: the sweep lock (shared with other ingests, exclusive
    against a running sweep) and the staging tables."""
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [SWEEP_LOCK_KEY])
    # JIT compiling the rule expressions costs seconds and saves nothing for an upsert; the
    # merge sorts and hashes the whole batch, which should stay in memory.
    cursor.execute("SET LOCAL jit = off")
    cursor.execute("SET LOCAL work_mem = '128MB'")
    if not settings.INVENTORY_SYNCHRONOUS_COMMIT:
        # This transaction only (docs/guide/inventory.md, "Durability"): its commit does not
        # wait for the WAL flush. A server crash can lose the last fraction of a second of
        # acknowledged batches, each whole (clients, history, run and audit entry together),
        # never part of one; the database stays consistent and agents report again.
        cursor.execute("SET LOCAL synchronous_commit = off")
    create_stage(cursor)


def lock_batch(cursor: Any, params: dict[str, Any]) -> None:
    """Lock and copy the staged batch's stored clients (LOCK_SQL), each found by its key. A
    failure leaves nothing to undo here: the caller's savepoint takes the settings back too."""
    cursor.execute(LOCK_BY_KEY)
    cursor.execute(LOCK_SQL, params)
    cursor.execute(LOCK_BY_KEY_END)


def merge(cursor: Any, params: dict[str, Any], final: str) -> list[tuple[Any, ...]]:
    """Lock, merge and write the staged batch; return the rows of `final` (FINAL_PER_RECORD or
    FINAL_COUNTS, whose last column is the number of clients inserted). Each attempt runs in a
    savepoint: an attempt that lost the race for a new client is undone and run again."""
    for _attempt in range(MAX_ATTEMPTS):
        try:
            with transaction.atomic():
                lock_batch(cursor, params)
                cursor.execute(UPSERT_SQL + final, params)
                rows = cursor.fetchall()
                if rows and _inserted(rows, final) != rows[0][-1]:
                    raise _LostRace
                return rows
        except _LostRace:
            log.info("an ingest lost the race for a new client; merging its batch again")
        except OperationalError as exc:
            # PostgreSQL broke a deadlock by failing this attempt (its locks went with the
            # savepoint): the other transaction goes on, this one merges its batch again.
            if not isinstance(exc.__cause__, DeadlockDetected):
                raise
            log.info("an ingest was stopped to break a deadlock; merging its batch again")
    raise ConflictError(
        "Other imports kept writing the same clients at the same time; send the batch again."
    )


def _inserted(rows: list[tuple[Any, ...]], final: str) -> int:
    """How many inserts the answer counts as created."""
    if final is FINAL_COUNTS:
        return rows[0][0]
    return sum(1 for row in rows if row[1] == 1)


def end(cursor: Any) -> None:
    """Drop the staging tables (they would go at commit; a long transaction frees them now)."""
    cursor.execute("DROP TABLE inventory_stage, inventory_locked")
