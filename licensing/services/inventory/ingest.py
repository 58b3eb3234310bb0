"""A batch of inventory records (the bulk API, one posted status text, a 12290 export): check
each record, upsert the good ones in one statement, answer per record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from licensing.models import ImportRun, ImportSource, Organisation
from licensing.services import outbox
from licensing.services.inventory import upsert
from licensing.services.inventory.records import RecordError, canonical, canonical_key, clean
from licensing.services.inventory.runs import (
    ImportRefused,
    finish_run,
    new_run,
    require_ingest,
    write_rejections,
)


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
    limit = settings.INVENTORY_API_MAX_RECORDS
    if len(records) > limit and source == ImportSource.API:
        raise ImportRefused(
            f"A batch holds at most {limit:,} records; this one has {len(records):,}. Split it."
        )
    now = now or timezone.now()
    lookups = upsert.load_lookups(organisation, now)
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
        run = new_run(
            organisation=organisation,
            actor=actor,
            source=source,
            filename=filename,
            started_at=now,
        )
        if winners:
            upsert.begin(cursor)
            with cursor.copy(upsert.COPY_STAGE) as copy:
                copy.write("".join([line for _, line in winners.values()]))
            params = upsert.upsert_params(organisation, now, by)
            for idx, outcome, flag, _inserted in upsert.merge(
                cursor, params, upsert.FINAL_PER_RECORD
            ):
                counts[outcome] += 1
                outcomes[idx] = (outcomes[idx], _OUTCOMES[outcome], flag)
            upsert.end(cursor)
        run.received = len(records)
        run.unchanged, run.created, run.updated = counts
        run.rejected = len(rejections)
        run.message = message
        if rejections:
            write_rejections(cursor, run, rejections)
        finish_run(run, ip_address=ip_address)
        if run.created or run.updated:
            outbox.enqueue("licensing.inventory.sweep_after_ingest", organisation.pk)
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
