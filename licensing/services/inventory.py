"""Client inventory ingest: the bulk API, posted ospp/slmgr text, CSV files and KMS event 12290
exports all end in one set-based upsert.

Every path validates records in Python (`inventory_records.clean`), COPYs the clean ones into a
temporary staging table and runs ONE statement that merges them with the stored clients by
(organisation, lower-case hostname), computes flag, reason, deadline and recheck time with the
compliance rules, inserts or updates only rows where something changed, and writes the flag
history. Nothing is read into Python row by row; a failure rolls everything back.

Merge semantics (documented in the README):
- a value not given (empty cell, missing key, null) keeps what is stored;
- the newest report wins: a record older than the client's `last_seen_at` does not override its
  state (status, grace, method, host, edition, CMID), and dates never go backwards
  (`last_activation_at`, `last_renewal_at`, `last_seen_at` take the later value);
- a newer `last_renewal_at` without a status means the client renewed, i.e. is licensed;
- a record that changes nothing is "unchanged" and not written; `last_seen_at` alone moves only
  when it advances by an hour or more, so a re-sent batch changes nothing.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from licensing import policy
from licensing.models import (
    Edition,
    ImportRun,
    ImportSource,
    ImportStatus,
    KmsHost,
    Organisation,
)
from licensing.services import audit, compliance
from licensing.services.errors import DomainError
from licensing.services.inventory_records import (
    FIELDS,
    STAGE_COLUMNS,
    Lookups,
    RecordError,
    canonical,
    canonical_key,
    clean,
)

log = logging.getLogger(__name__)

SEEN_GRANULARITY = timedelta(hours=1)


def api_max_records() -> int:
    return getattr(settings, "INVENTORY_API_MAX_RECORDS", 5000)


def csv_max_rows() -> int:
    return getattr(settings, "INVENTORY_CSV_MAX_ROWS", 1_000_000)


def csv_upload_max_rows() -> int:
    # A browser upload is imported while the request waits; bigger files: `import_inventory`.
    return getattr(settings, "INVENTORY_UPLOAD_MAX_ROWS", 200_000)


def csv_max_bytes() -> int:
    return getattr(settings, "INVENTORY_CSV_MAX_BYTES", 256 * 1024 * 1024)


class ImportRefused(DomainError):
    """The whole input was refused; nothing was written."""

    code = "import_refused"


@dataclass(slots=True)
class RecordResult:
    index: int
    hostname: str
    result: str  # created | updated | unchanged | error
    message: str = ""
    flag: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"index": self.index, "hostname": self.hostname, "result": self.result}
        if self.message:
            d["message"] = self.message
        if self.flag:
            d["flag"] = self.flag
        return d


@dataclass
class IngestResult:
    """The run and one outcome per record, by index: (hostname, "error", message) or
    (hostname, "created" | "updated" | "unchanged", flag). A batch of thousands is answered
    from these tuples directly (`result_dicts`); `results` gives them as objects."""

    run: ImportRun
    outcomes: list[tuple[str, str, str | None]] = field(default_factory=list)

    @property
    def results(self) -> list[RecordResult]:
        return [
            RecordResult(i, host, res, detail or "", None)
            if res == "error"
            else RecordResult(i, host, res, "", detail)
            for i, (host, res, detail) in enumerate(self.outcomes)
        ]

    def result_dicts(self) -> list[dict[str, Any]]:
        """The per-record answer of the API: index, hostname, result and the flag or message."""
        return [
            {"index": i, "hostname": host, "result": res, "message": detail}
            if res == "error"
            else {"index": i, "hostname": host, "result": res, "flag": detail}
            if detail
            else {"index": i, "hostname": host, "result": res}
            for i, (host, res, detail) in enumerate(self.outcomes)
        ]

    def summary(self) -> dict[str, int]:
        r = self.run
        return {
            "received": r.received,
            "created": r.created,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "rejected": r.rejected,
        }


# --- lookups and staging -----------------------------------------------------------------------


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


def _create_stage(cursor: Any) -> None:
    cursor.execute(
        """
        DROP TABLE IF EXISTS pg_temp.inventory_stage;
        CREATE TEMP TABLE inventory_stage (
            idx integer NOT NULL, hostname text NOT NULL, fqdn text, cmid uuid, edition_id bigint,
            activation_method text, kms_host_id bigint, license_status smallint,
            grace_minutes integer, installed_at timestamptz, last_activation_at timestamptz,
            last_renewal_at timestamptz, reactivation_required boolean, seen_at timestamptz
        ) ON COMMIT DROP
        """
    )


COPY_STAGE = f"COPY inventory_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN"

_MERGED = compliance.Columns(
    method="m.activation_method",
    status="m.license_status",
    installed_at="m.installed_at",
    activated_at="m.last_activation_at",
    renewed_at="m.last_renewal_at",
    reactivation_required="m.reactivation_required",
    grace_minutes="m.grace_minutes",
    seen_at="m.last_seen_at",
    at_risk_days="%(at_risk_days)s::int",
)
_RULES = compliance.rule_sql(_MERGED, now="%(now)s::timestamptz")

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
    SELECT s.*, COALESCE(s.seen_at, %(now)s) AS seen,
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
    FROM s LEFT JOIN licensing_client c
      ON c.organisation_id = %(org)s AND c.hostname = s.hostname
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
           CASE WHEN mth.method = 'kms' THEN
               CASE WHEN fresh THEN COALESCE(j.kms_host_id, j.o_kms_host_id) ELSE j.o_kms_host_id END
           END AS kms_host_id,
           CASE WHEN mth.method = 'mak' THEN j.o_mak_key_id END AS mak_key_id,
           CASE WHEN fresh THEN COALESCE(
                   j.license_status,
                   CASE WHEN j.last_renewal_at > COALESCE(j.o_renewed, '-infinity') THEN 1 END,
                   j.o_status,
                   CASE WHEN COALESCE(j.last_activation_at, j.last_renewal_at) IS NOT NULL THEN 1 ELSE 2 END)
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
        SELECT CASE WHEN j.fresh THEN COALESCE(j.activation_method, j.o_method, 'kms')
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
           CASE WHEN r.old_id IS NULL THEN CASE WHEN r.flag <> 'ok' THEN %(now)s::timestamptz END
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
    UPDATE licensing_client AS c SET
        {", ".join(f"{col} = {value}" for col, value in _WRITTEN.items())}
    FROM w WHERE w.changed AND w.old_id IS NOT NULL AND c.id = w.old_id
    RETURNING c.id, w.hostname
), gone AS (
    -- Known clients the update did not find: another transaction deleted them after the join.
    -- The report brings them back, as it would a new client (an anti-join, not an OR: the
    -- planner must not fall back to scanning `upd` once per record).
    SELECT w.* FROM w
    WHERE w.changed AND w.old_id IS NOT NULL
      AND NOT EXISTS (SELECT FROM upd WHERE upd.id = w.old_id)
), ins AS (
    -- New clients (and the gone ones). ON CONFLICT covers a client that another ingest created
    -- since the join above.
    INSERT INTO licensing_client AS c (
        organisation_id, hostname, {", ".join(_WRITTEN)}, created_at)
    SELECT %(org)s, w.hostname, {", ".join(_WRITTEN.values())}, %(now)s
    FROM (SELECT * FROM w WHERE w.changed AND w.old_id IS NULL UNION ALL SELECT * FROM gone) w
    ON CONFLICT (organisation_id, hostname) DO UPDATE SET
        {", ".join(f"{col} = EXCLUDED.{col}" for col in _WRITTEN)}
    RETURNING c.id, c.hostname
), up AS (
    SELECT id, hostname FROM upd UNION ALL SELECT id, hostname FROM ins
), hist AS (
    INSERT INTO licensing_clientflagchange
        (client_id, organisation_id, from_flag, to_flag, reason, changed_at, changed_by)
    SELECT up.id, %(org)s, COALESCE(w.o_flag, ''), w.flag, w.reason, %(now)s, %(by)s
    FROM up JOIN w ON w.hostname = up.hostname
    WHERE (w.old_id IS NULL AND w.flag <> 'ok') OR w.o_flag <> w.flag
)
"""

# One row per distinct hostname of the batch (the duplicates were answered in Python):
# idx, 0 unchanged / 1 created / 2 updated, and the flag.
FINAL_PER_RECORD = """
SELECT idx, CASE WHEN NOT changed THEN 0 WHEN old_id IS NULL THEN 1 ELSE 2 END, flag FROM w
"""

FINAL_COUNTS = """
SELECT count(*) FILTER (WHERE changed AND old_id IS NULL),
       count(*) FILTER (WHERE changed AND old_id IS NOT NULL),
       count(*)
FROM w
"""

DUPLICATES_SQL = """
SELECT idx, hostname, winner FROM (
    SELECT idx, hostname, max(idx) OVER (PARTITION BY hostname) AS winner FROM inventory_stage
) x WHERE idx <> winner ORDER BY idx
"""


def _upsert_params(organisation: Organisation, now: datetime, by: str) -> dict[str, Any]:
    return {
        "org": organisation.pk,
        "now": now,
        "by": by,
        "at_risk_days": organisation.at_risk_days,
        "seen_granularity": SEEN_GRANULARITY,
    }


def _lock_shared(cursor: Any) -> None:
    # Shared with other ingests, exclusive against a running sweep (see compliance.SWEEP_LOCK_KEY).
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [compliance.SWEEP_LOCK_KEY])
    # JIT compiling the rule expressions costs seconds and saves nothing for an upsert; the
    # merge sorts and hashes the whole batch, which should stay in memory.
    cursor.execute("SET LOCAL jit = off")
    cursor.execute("SET LOCAL work_mem = '128MB'")


def _write_rejections(cursor: Any, run: ImportRun, rejections: Iterable[tuple]) -> None:
    with cursor.copy(
        "COPY licensing_importrejection (run_id, position, hostname, reason, raw) FROM STDIN"
    ) as copy:
        for position, hostname, reason, raw in rejections:
            # PostgreSQL text cannot hold NUL; a rejected row may contain anything.
            copy.write_row(
                (
                    run.pk,
                    position,
                    hostname[:253].replace("\x00", "\\0"),
                    reason[:500].replace("\x00", "\\0"),
                    (raw or "")[:1000].replace("\x00", "\\0"),
                )
            )


def _after_commit_sweep(organisation_id: int) -> None:
    """Queue the organisation's sweep + snapshot refresh once the ingest has committed. A broker
    outage must not fail an ingest that is already stored: the beat sweep catches up."""

    def enqueue() -> None:
        from licensing.tasks import sweep_after_ingest

        try:
            sweep_after_ingest.delay(organisation_id)
        except Exception:  # broker down: logged, the periodic sweep covers it
            log.warning("could not queue the sweep after an ingest", exc_info=True)

    transaction.on_commit(enqueue)


def _new_run(
    *,
    organisation: Organisation,
    actor: Any,
    source: str,
    filename: str,
    started_at: datetime,
    status: str = ImportStatus.DONE,
) -> ImportRun:
    user = actor if getattr(actor, "pk", None) and not isinstance(actor, str) else None
    return ImportRun.objects.create(
        organisation=organisation,
        source=source,
        status=status,
        actor=user,
        actor_label=audit.actor_label(actor)[:150],
        filename=filename[:255],
        started_at=started_at,
    )


def _finish_run(
    run: ImportRun, *, ip_address: str | None, action: str = "inventory.import"
) -> None:
    run.finished_at = timezone.now()
    run.save()
    audit.record(
        action=action,
        actor=run.actor or run.actor_label,
        label=run.actor_label,
        organisation=run.organisation_id,
        obj=run,
        changes={
            "source": run.source,
            "status": run.status,
            "filename": run.filename,
            "received": run.received,
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "rejected": run.rejected,
            **({"message": run.message[:300]} if run.message else {}),
        },
        ip_address=ip_address,
    )


def refuse(
    *,
    actor: Any,
    organisation: Organisation,
    source: str,
    filename: str,
    reason: str,
    started_at: datetime | None = None,
    ip_address: str | None = None,
    raw: str = "",
) -> ImportRun:
    """Record a refused input in the history (nothing else is written)."""
    with transaction.atomic():
        run = _new_run(
            organisation=organisation,
            actor=actor,
            source=source,
            filename=filename,
            started_at=started_at or timezone.now(),
            status=ImportStatus.REFUSED,
        )
        run.message = reason
        if raw:
            run.rejected = 1
            with connection.cursor() as cursor:
                _write_rejections(cursor, run, [(1, "", reason, raw)])
        _finish_run(run, ip_address=ip_address, action="inventory.import_refused")
    return run


def require_ingest(actor: Any, organisation: Organisation) -> None:
    """Agent tokens may post inventory for their own organisation; people need MANAGE_CLIENTS;
    a string actor ("cli") is the server itself (management commands)."""
    if isinstance(actor, str):
        return
    token = getattr(actor, "token", None)
    if token is not None:
        if token.scope == "agent" and token.organisation_id == organisation.pk:
            return
        raise policy.PermissionDenied("This token may not post inventory.")
    policy.require(actor, policy.Action.MANAGE_CLIENTS, organisation)


# --- records (API, status text, 12290) ----------------------------------------------------------


def ingest_records(
    *,
    actor: Any,
    organisation: Organisation,
    records: list[Any],
    source: str = ImportSource.API,
    filename: str = "",
    ip_address: str | None = None,
    now: datetime | None = None,
    extra_rejections: Iterable[tuple[int, str, str, str]] = (),
    message: str = "",
) -> IngestResult:
    """Validate each record, upsert the good ones set-based, and answer per record."""
    require_ingest(actor, organisation)
    if len(records) > api_max_records() and source == ImportSource.API:
        raise ImportRefused(
            f"A batch holds at most {api_max_records():,} records; this one has {len(records):,}. Split it."
        )
    now = now or timezone.now()
    lookups = load_lookups(organisation, now)
    # One pass over the records: check each, keep the last record of each hostname (an earlier
    # one is answered as repeated), collect the COPY lines of the winners.
    outcomes: list[Any] = [None] * len(records)  # index -> (hostname, result, message | flag)
    winners: dict[str, tuple[int, str]] = {}  # hostname -> (index, COPY line)
    rejections: list[tuple[int, str, str, str]] = list(extra_rejections)
    repeated: list[int] = []
    for idx, record in enumerate(records):
        try:
            if not isinstance(record, Mapping):
                raise RecordError("a record must be a JSON object")
            hostname, line = clean(canonical(record), idx, lookups)
        except RecordError as exc:
            hostname = _raw_hostname(record)
            outcomes[idx] = (hostname.lower(), "error", str(exc))
            rejections.append((idx, hostname, str(exc), ""))
            continue
        earlier = winners.get(hostname)
        if earlier is not None:
            repeated.append(earlier[0])
        winners[hostname] = (idx, line)
        outcomes[idx] = hostname  # completed below with the upsert's answer
    for idx in sorted(repeated):
        hostname = outcomes[idx]
        msg = f"hostname repeated later in the batch (index {winners[hostname][0]} was used)"
        outcomes[idx] = (hostname, "error", msg)
        rejections.append((idx, hostname, msg, ""))

    by = f"ingest:{source}"
    counts = [0, 0, 0]  # unchanged, created, updated
    with transaction.atomic(), connection.cursor() as cursor:
        run = _new_run(
            organisation=organisation,
            actor=actor,
            source=source,
            filename=filename,
            started_at=now,
        )
        if winners:
            _lock_shared(cursor)
            _create_stage(cursor)
            with cursor.copy(COPY_STAGE) as copy:
                copy.write("".join([line for _, line in winners.values()]))
            cursor.execute(UPSERT_SQL + FINAL_PER_RECORD, _upsert_params(organisation, now, by))
            for idx, outcome, flag in cursor.fetchall():
                counts[outcome] += 1
                outcomes[idx] = (outcomes[idx], _OUTCOMES[outcome], flag)
            cursor.execute("DROP TABLE inventory_stage")
        run.received = len(records)
        run.unchanged, run.created, run.updated = counts
        run.rejected = len(rejections)
        run.message = message
        if rejections:
            _write_rejections(cursor, run, rejections)
        _finish_run(run, ip_address=ip_address)
        if run.created or run.updated:
            _after_commit_sweep(organisation.pk)
    return IngestResult(run=run, outcomes=outcomes)


_OUTCOMES = ("unchanged", "created", "updated")


def _raw_hostname(record: Any) -> str:
    """The hostname a rejected record gave, as given (for the answer and the report)."""
    if not isinstance(record, Mapping):
        return ""
    hostname: Any = ""
    for key, value in record.items():
        if canonical_key(str(key)) == "hostname":
            hostname = value
    return str(hostname or "")[:253]


# --- CSV ------------------------------------------------------------------------------------------


class _Refuse(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _size_of(stream: IO[bytes]) -> int | None:
    size = getattr(stream, "size", None)
    if size is not None:
        return int(size)
    try:
        pos = stream.tell()
        stream.seek(0, io.SEEK_END)
        end = stream.tell()
        stream.seek(pos)
        return end - pos
    except (AttributeError, OSError, ValueError):
        return None


def import_csv(
    *,
    actor: Any,
    organisation: Organisation,
    stream: IO[bytes],
    filename: str = "",
    ip_address: str | None = None,
    max_rows: int | None = None,
    now: datetime | None = None,
) -> ImportRun:
    """Import a CSV inventory file (see README for the columns). Every row is checked; good rows
    are upserted set-based (COPY into a staging table, one INSERT ... ON CONFLICT), bad rows go
    to the run's rejection report. A bad file (empty, not UTF-8, wrong columns, too large) is
    refused as a whole and nothing but the refused run is written."""
    require_ingest(actor, organisation)
    now = now or timezone.now()
    max_rows = max_rows or csv_max_rows()
    size = _size_of(stream)
    kw = {
        "actor": actor,
        "organisation": organisation,
        "source": ImportSource.CSV,
        "filename": filename,
        "started_at": now,
        "ip_address": ip_address,
    }
    if size is not None and size > csv_max_bytes():
        return refuse(
            **kw,
            reason=f"The file is {size / 1048576:.0f} MB; the limit is {csv_max_bytes() / 1048576:.0f} MB. Split it.",
        )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            run = _new_run(
                organisation=organisation,
                actor=actor,
                source=ImportSource.CSV,
                filename=filename,
                started_at=now,
            )
            _lock_shared(cursor)
            _create_stage(cursor)
            rejections: list[tuple[int, str, str, str]] = []
            received = _stage_csv(cursor, stream, organisation, now, max_rows, rejections)
            if received == 0:
                raise _Refuse("The file has a header but no rows.")
            cursor.execute("ANALYZE inventory_stage")
            cursor.execute(
                UPSERT_SQL + FINAL_COUNTS,
                _upsert_params(organisation, now, "ingest:csv"),
            )
            created, updated, distinct = cursor.fetchone()
            cursor.execute(DUPLICATES_SQL)
            for line, hostname, winner in cursor.fetchall():
                rejections.append(
                    (line, hostname, f"hostname repeated on line {winner}, which was used", "")
                )
            cursor.execute("DROP TABLE inventory_stage")
            rejections.sort()
            run.received = received
            run.created, run.updated = created, updated
            run.unchanged = distinct - created - updated
            run.rejected = len(rejections)
            if rejections:
                _write_rejections(cursor, run, rejections)
            _finish_run(run, ip_address=ip_address)
            if created or updated:
                _after_commit_sweep(organisation.pk)
            return run
    except _Refuse as exc:
        return refuse(**kw, reason=exc.reason)


def _stage_csv(
    cursor: Any,
    stream: IO[bytes],
    organisation: Organisation,
    now: datetime,
    max_rows: int,
    rejections: list[tuple[int, str, str, str]],
) -> int:
    """Read, check and COPY the rows; return how many data rows the file has."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text)
    lookups = load_lookups(organisation, now)
    received = 0
    try:
        try:
            header = next(reader)
        except StopIteration:
            raise _Refuse("The file is empty.") from None
        columns = [canonical_key(h) for h in header]
        if not any(columns):
            raise _Refuse("The first line must be a header naming the columns.")
        unknown = [h for h, c in zip(header, columns, strict=True) if c not in FIELDS]
        if unknown:
            raise _Refuse(
                f"Unknown column(s): {', '.join(repr(u[:40]) for u in unknown[:10])}. "
                f"Allowed columns: {', '.join(FIELDS)}."
            )
        if len(set(columns)) != len(columns):
            raise _Refuse("A column appears twice in the header.")
        if "hostname" not in columns:
            raise _Refuse("The header has no 'hostname' column.")
        width = len(columns)
        buffer: list[str] = []
        buffered = 0
        with cursor.copy(COPY_STAGE) as copy:
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                received += 1
                if received > max_rows:
                    raise _Refuse(
                        f"The file has more than {max_rows:,} rows. Split it into smaller files."
                    )
                line_no = reader.line_num
                if len(row) != width:
                    rejections.append(
                        (line_no, "", f"expected {width} fields, found {len(row)}", ",".join(row))
                    )
                    continue
                record = dict(zip(columns, row, strict=True))
                try:
                    _host, line = clean(record, line_no, lookups)
                except RecordError as exc:
                    rejections.append(
                        (line_no, record.get("hostname", ""), str(exc), ",".join(row))
                    )
                    continue
                buffer.append(line)
                buffered += len(line)
                if buffered > 1 << 20:
                    copy.write("".join(buffer))
                    buffer.clear()
                    buffered = 0
            if buffer:
                copy.write("".join(buffer))
    except UnicodeDecodeError as exc:
        raise _Refuse(
            f"The file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} cannot be read). "
            "Save it as 'CSV UTF-8' and try again."
        ) from None
    except csv.Error as exc:
        raise _Refuse(f"The file is not a readable CSV (line {reader.line_num}): {exc}.") from None
    finally:
        text.detach()
    return received


# --- KMS host event 12290 exports ----------------------------------------------------------------


def import_kms_events(
    *,
    actor: Any,
    organisation: Organisation,
    text: str,
    filename: str = "",
    kms_host: KmsHost | None = None,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> ImportRun:
    """Import an export of event 12290 (a KMS host's "activation request processed" log): each
    client's newest request sets its licence state; successful requests set `last_renewal_at`
    (and `last_activation_at` when the client was not licensed yet). Clients are matched by
    hostname (the FQDN's first label), else by a CMID that identifies exactly one client."""
    from licensing.parsers import EventError, parse_12290_export

    require_ingest(actor, organisation)
    if kms_host is not None and kms_host.organisation_id != organisation.pk:
        raise DomainError("That KMS host belongs to another organisation.")
    now = now or timezone.now()
    rejections: list[tuple[int, str, str, str]] = []
    latest: dict[str, Any] = {}
    last_success: dict[str, datetime] = {}
    first_activation: dict[str, datetime] = {}
    lines_seen = 0
    names_by_cmid: dict[str, set[str]] = {}
    for item in parse_12290_export(text):
        lines_seen += 1
        if isinstance(item, EventError):
            rejections.append((item.line, "", item.reason, ""))
            continue
        host = (item.client_fqdn or "").strip().lower().rstrip(".")
        if not host:
            rejections.append((item.line, "", "the event has no client name", ""))
            continue
        name = host.split(".", 1)[0]
        if item.cmid:
            names_by_cmid.setdefault(str(item.cmid).lower(), set()).add(name)
        when = item.client_time
        if when is not None and when > now + timedelta(days=1):
            rejections.append((item.line, name, "the client time is in the future", ""))
            continue
        current = latest.get(name)
        if current is None or (when is not None and (current.client_time or when) <= when):
            latest[name] = item
        if item.succeeded and when is not None:
            if name not in last_success or last_success[name] < when:
                last_success[name] = when
            if item.license_state != 1 and (
                name not in first_activation or first_activation[name] < when
            ):
                first_activation[name] = when
    if lines_seen == 0:
        return refuse(
            actor=actor,
            organisation=organisation,
            source=ImportSource.EVENTS_12290,
            filename=filename,
            reason="No 12290 events found in the file.",
            ip_address=ip_address,
        )
    # Match unknown names by a CMID that belongs to exactly one client of the organisation.
    from licensing.models import Client

    names = list(latest)
    known = set(
        Client.objects.for_organisation(organisation)
        .filter(hostname__in=names)
        .values_list("hostname", flat=True)
    )
    unknown_cmids = {
        str(latest[n].cmid).lower(): n for n in names if n not in known and latest[n].cmid
    }
    renamed: dict[str, str] = {}
    if unknown_cmids:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT cmid::text, min(hostname) FROM licensing_client
                WHERE organisation_id = %s AND cmid = ANY(%s::uuid[])
                GROUP BY cmid HAVING count(*) = 1
                """,
                [organisation.pk, list(unknown_cmids)],
            )
            for cmid, hostname in cursor.fetchall():
                renamed[unknown_cmids[cmid]] = hostname
    records = []
    for name, item in latest.items():
        record: dict[str, Any] = {
            "hostname": renamed.get(name, name),
            "activation_method": "kms",
            "last_seen_at": item.client_time.isoformat() if item.client_time else None,
        }
        fqdn = (item.client_fqdn or "").strip().lower().rstrip(".")
        if "." in fqdn and name not in renamed:
            record["fqdn"] = fqdn
        if item.cmid:
            record["cmid"] = str(item.cmid)
        if kms_host is not None:
            record["kms_host"] = kms_host.fqdn
        if item.succeeded:
            record["license_status"] = 1
        else:
            record["license_status"] = item.license_state
            record["grace_minutes"] = item.minutes_to_expiry
        if name in last_success:
            record["last_renewal_at"] = last_success[name].isoformat()
        if name in first_activation:
            record["last_activation_at"] = first_activation[name].isoformat()
        records.append(record)
    shared = sum(1 for hosts in names_by_cmid.values() if len(hosts) > 1)
    notes = [f"{lines_seen:,} events, {len(latest):,} clients"]
    if renamed:
        notes.append(f"{len(renamed)} matched by CMID")
    if shared:
        notes.append(
            f"{shared} CMID(s) shared by several machines (images not generalised with sysprep: "
            "the KMS host counts them once)"
        )
    result = ingest_records(
        actor=actor,
        organisation=organisation,
        records=records,
        source=ImportSource.EVENTS_12290,
        filename=filename,
        ip_address=ip_address,
        now=now,
        extra_rejections=rejections,
        message="; ".join(notes) + ".",
    )
    run = result.run
    if run.received != lines_seen:
        ImportRun.objects.filter(pk=run.pk).update(received=lines_seen)
        run.received = lines_seen
    return run


# --- ospp.vbs /dstatus and slmgr.vbs /dlv text ---------------------------------------------------

_SEVERITY = {1: 0, 2: 1, 6: 1, 3: 2, 4: 3, 0: 4, 5: 4}


def status_text_record(
    *, hostname: str, text: str, now: datetime, kms_hosts: Mapping[str, int]
) -> tuple[dict[str, Any], list[str]]:
    """Turn posted tool output into one inventory record (raises UnreadableStatusText).

    The machine's record follows its worst volume licence (KMS client or MAK), else its worst
    licence of any kind. A licensed KMS client's remaining grace is the time left of its 180-day
    validity, so its last renewal was `now + remaining - 180 days`."""
    from licensing.parsers import parse_status

    doc = parse_status(text)
    notes: list[str] = []
    licences = [lic for lic in doc.licenses if lic.state_code is not None]
    if not licences:
        from licensing.parsers import UnreadableStatusText

        raise UnreadableStatusText("no licence with a status in the text")

    def is_volume(lic: Any) -> bool:
        words = f"{lic.name or ''} {lic.description or ''}".upper()
        return (
            lic.kms_client is not None or "KMSCLIENT" in words or "MAK" in words or "VL_" in words
        )

    volume = [lic for lic in licences if is_volume(lic)] or licences
    lic = max(volume, key=lambda x: _SEVERITY.get(x.state_code, 0))
    words = f"{lic.name or ''} {lic.description or ''}".upper()
    method = "kms" if (lic.kms_client is not None or "KMS" in words) else None
    if method is None and "MAK" in words:
        method = "mak"
    record: dict[str, Any] = {
        "hostname": hostname,
        "license_status": lic.state_code,
        "last_seen_at": now.isoformat(),
    }
    if method:
        record["activation_method"] = method
    if lic.sku_id:
        record["edition_sku"] = str(lic.sku_id)
    if lic.grace_minutes is not None:
        record["grace_minutes"] = lic.grace_minutes
        if lic.state_code == 1 and method == "kms":
            renewed = (
                now
                + timedelta(minutes=lic.grace_minutes)
                - timedelta(days=compliance.KMS_VALIDITY_DAYS)
            )
            record["last_renewal_at"] = min(renewed, now).isoformat()
    if lic.kms_client is not None:
        if lic.kms_client.cmid:
            record["cmid"] = str(lic.kms_client.cmid)
        host = (lic.kms_client.kms_host or "").lower().rstrip(".")
        if host:
            if host in kms_hosts or host.split(".", 1)[0] in kms_hosts:
                record["kms_host"] = host
            else:
                notes.append(f"KMS host {host} is not registered in the portal: not linked")
    return record, notes


def ingest_status_text(
    *,
    actor: Any,
    organisation: Organisation,
    hostname: str,
    text: str,
    extra: Mapping[str, Any] | None = None,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Parse `ospp.vbs /dstatus` or `slmgr.vbs /dlv` output of one client and upsert it.
    Unreadable text raises ImportRefused (400) and is kept in a refused run for inspection."""
    from licensing.parsers import UnreadableStatusText

    require_ingest(actor, organisation)
    now = now or timezone.now()
    lookups = load_lookups(organisation, now)
    try:
        record, notes = status_text_record(
            hostname=hostname, text=text, now=now, kms_hosts=lookups.kms_hosts
        )
    except UnreadableStatusText as exc:
        reason = f"Unreadable status text: {exc.reason}"
        refuse(
            actor=actor,
            organisation=organisation,
            source=ImportSource.STATUS_TEXT,
            filename=hostname[:255],
            reason=reason,
            ip_address=ip_address,
            raw=text[:1000],
        )
        raise ImportRefused(reason) from None
    sku = record.pop("edition_sku", None)
    if sku and sku.lower() in lookups.editions:
        record["edition"] = sku
    for key, value in (extra or {}).items():
        record.setdefault(key, value)
    return ingest_records(
        actor=actor,
        organisation=organisation,
        records=[record],
        source=ImportSource.STATUS_TEXT,
        filename=hostname[:255],
        ip_address=ip_address,
        now=now,
        message="; ".join(notes),
    )


def rejected_rows_csv(run: ImportRun) -> Iterable[bytes]:
    """The run's rejection report as CSV, streamed from PostgreSQL with COPY."""
    with (
        connection.cursor() as cursor,
        # The raw psycopg cursor: Django's debug wrapper (DEBUG=1) has a narrower copy().
        cursor.cursor.copy(
            """
            COPY (SELECT position AS line_or_index,
                         -- a leading = + - @ would run as a formula in a spreadsheet
                         CASE WHEN hostname ~ '^[=+@\t\r-]' THEN '''' || hostname ELSE hostname END,
                         CASE WHEN reason ~ '^[=+@\t\r-]' THEN '''' || reason ELSE reason END,
                         CASE WHEN raw ~ '^[=+@\t\r-]' THEN '''' || raw ELSE raw END AS raw
                  FROM licensing_importrejection WHERE run_id = %s ORDER BY position, id)
            TO STDOUT WITH (FORMAT csv, HEADER)
            """,
            [run.pk],
        ) as copy,
    ):
        for chunk in copy:
            yield bytes(chunk)
