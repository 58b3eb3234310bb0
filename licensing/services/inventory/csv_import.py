"""CSV inventory files (the upload page and `manage.py import_inventory`): read and check every
row, COPY the good ones to the staging table and merge them; bad rows go to the rejection report,
a bad file is refused whole.

The file is merged in chunks of `CHUNK_ROWS` staged rows, all in one transaction: a reader thread
reads and checks the next chunk while PostgreSQL merges the one before (the database work
releases the interpreter lock), so checking a million rows costs little more than merging them.
The last line of a hostname is the one used; when a hostname repeats a line of a chunk already
merged (rare: an export that lists a machine twice, far apart), the chunks are undone and the
file is read again and merged as one chunk, so the result never depends on where a chunk ends.

Chunks lock their clients in file order, every other ingest in hostname order: an agent's batch
and a chunk can wait for each other. PostgreSQL then fails one of the two merge attempts, and
`upsert.merge` runs it again (tests/inventory/test_upsert_concurrency.py)."""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from licensing.models import ImportRun, ImportSource, Organisation
from licensing.services import outbox
from licensing.services.inventory import upsert
from licensing.services.inventory.records import (
    FIELDS,
    Lookups,
    RecordError,
    canonical_key,
    clean,
)
from licensing.services.inventory.runs import (
    finish_run,
    new_run,
    refuse,
    require_ingest,
    write_rejections,
)

log = logging.getLogger(__name__)

# Staged rows per merge. Smaller chunks start merging sooner; each chunk costs a few statements.
CHUNK_ROWS = 100_000
# COPY text is handed over in blocks of about this size; the reader runs at most BLOCKS_AHEAD
# blocks ahead of the merges (the memory an import holds).
BLOCK_CHARS = 1 << 20
BLOCKS_AHEAD = 64


class _Refuse(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _LateDuplicate(Exception):
    """A hostname repeats a line of a chunk that was already merged."""

    def __str__(self) -> str:
        return f"{self.args[0]} repeats a line of a chunk already merged"


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


def _start_of(stream: IO[bytes]) -> int | None:
    """Where the file starts, if it can be read again (uploads and files can; a pipe cannot)."""
    try:
        return stream.tell() if stream.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


@dataclass
class _Outcome:
    received: int = 0
    created: int = 0
    updated: int = 0
    distinct: int = 0
    rejections: list[tuple[int, str, str, str]] = field(default_factory=list)


def import_csv(
    *,
    actor: Any,
    organisation: Organisation,
    stream: IO[bytes],
    filename: str = "",
    ip_address: str | None = None,
    max_rows: int | None = None,
    max_bytes: int | None = None,
    now: datetime | None = None,
) -> ImportRun:
    """Import a CSV inventory file (see README for the columns). Every row is checked; good rows
    are upserted set-based (COPY into a staging table, one upsert per chunk), bad rows go
    to the run's rejection report. A bad file (empty, not UTF-8, wrong columns, too large) is
    refused as a whole and nothing but the refused run is written."""
    require_ingest(actor, organisation)
    now = now or timezone.now()
    max_rows = max_rows or settings.INVENTORY_CSV_MAX_ROWS
    max_bytes = max_bytes or settings.INVENTORY_CSV_MAX_BYTES
    size = _size_of(stream)
    kw = {
        "actor": actor,
        "organisation": organisation,
        "source": ImportSource.CSV,
        "filename": filename,
        "started_at": now,
        "ip_address": ip_address,
    }
    if size is not None and size > max_bytes:
        return refuse(
            **kw,
            reason=f"The file is {size / 1048576:.0f} MB; the limit is {max_bytes / 1048576:.0f} MB. Split it.",
        )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            run = new_run(
                organisation=organisation,
                actor=actor,
                source=ImportSource.CSV,
                filename=filename,
                started_at=now,
            )
            upsert.begin(cursor)
            lookups = upsert.load_lookups(organisation, now)
            params = upsert.upsert_params(organisation, now, "ingest:csv")
            start = _start_of(stream)
            try:
                with transaction.atomic():
                    chunk_rows = CHUNK_ROWS if start is not None else None
                    outcome = _import_rows(cursor, stream, lookups, params, max_rows, chunk_rows)
            except _LateDuplicate as exc:
                # Undone (the savepoint above): read the file again and merge it as one chunk.
                log.info("CSV import: %s; merging the file again as one chunk", exc)
                stream.seek(start or 0)
                outcome = _import_rows(cursor, stream, lookups, params, max_rows, None)
            rejections = outcome.rejections
            if outcome.received == 0:
                raise _Refuse("The file has a header but no rows.")
            if outcome.distinct == 0:
                # Not one row could be read: not an inventory file (or the wrong one).
                line, _host, reason, _raw = min(rejections)
                raise _Refuse(
                    f"None of the {outcome.received:,} rows could be imported (line {line}: {reason}). "
                    "Nothing was imported."
                )
            upsert.end(cursor)
            rejections.sort()
            run.received = outcome.received
            run.created, run.updated = outcome.created, outcome.updated
            run.unchanged = outcome.distinct - outcome.created - outcome.updated
            run.rejected = len(rejections)
            if rejections:
                write_rejections(cursor, run, rejections)
            finish_run(run, ip_address=ip_address)
            if outcome.created or outcome.updated:
                outbox.enqueue("licensing.inventory.sweep_after_ingest", organisation.pk)
            return run
    except _Refuse as exc:
        return refuse(**kw, reason=exc.reason)


def _import_rows(
    cursor: Any,
    stream: IO[bytes],
    lookups: Lookups,
    params: dict[str, Any],
    max_rows: int,
    chunk_rows: int | None,
) -> _Outcome:
    """Stage and merge the file chunk by chunk (one chunk when `chunk_rows` is None) while the
    reader checks the rows ahead."""
    outcome = _Outcome()
    with _Reader(stream, lookups, max_rows, chunk_rows, outcome) as reader:
        while reader.next_chunk():
            with cursor.copy(upsert.COPY_STAGE) as copy:
                for block in reader.blocks():
                    copy.write(block)
            cursor.execute("ANALYZE inventory_stage")
            [(created, updated, distinct, _inserted)] = upsert.merge(
                cursor, params, upsert.FINAL_COUNTS
            )
            outcome.created += created
            outcome.updated += updated
            outcome.distinct += distinct
            cursor.execute(upsert.DUPLICATES_SQL)
            for line, hostname, winner in cursor.fetchall():
                outcome.rejections.append(
                    (line, hostname, f"hostname repeated on line {winner}, which was used", "")
                )
            cursor.execute("TRUNCATE inventory_stage, inventory_locked")
    return outcome


# What the reader thread hands over besides blocks of COPY text.
_CHUNK_END = object()
_FILE_END = object()


class _Reader:
    """Reads and checks the rows in a thread of its own and hands over COPY text: blocks, each
    chunk closed by _CHUNK_END, the file by _FILE_END; a failure (a refused file, a late
    duplicate) is handed over in their place and raised in the caller's thread."""

    def __init__(
        self,
        stream: IO[bytes],
        lookups: Lookups,
        max_rows: int,
        chunk_rows: int | None,
        outcome: _Outcome,
    ) -> None:
        self._stream = stream
        self._lookups = lookups
        self._max_rows = max_rows
        self._chunk_rows = chunk_rows
        self._outcome = outcome
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=BLOCKS_AHEAD)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="csv-import-reader", daemon=True)
        self._ahead: Any = None

    def __enter__(self) -> _Reader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()  # the caller failed or is done: the reader stops at its next block
        self._thread.join()

    def _take(self) -> Any:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def next_chunk(self) -> bool:
        """Whether another chunk follows (the file has not ended)."""
        self._ahead = self._take()
        return self._ahead is not _FILE_END

    def blocks(self) -> Iterator[str]:
        item = self._ahead
        while item is not _CHUNK_END:
            yield item
            item = self._take()

    def _hand_over(self, item: Any) -> None:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def _run(self) -> None:
        try:
            self._read()
            item: Any = _FILE_END
        except _Stopped:
            return
        except BaseException as exc:  # handed to the caller's thread, which raises it
            item = exc
        with contextlib.suppress(_Stopped):
            self._hand_over(item)

    def _read(self) -> None:
        outcome = self._outcome
        rejections = outcome.rejections
        text = io.TextIOWrapper(self._stream, encoding="utf-8-sig", errors="strict", newline="")
        reader = csv.reader(text)
        try:
            columns = _columns(reader)
            width = len(columns)
            lookups, max_rows, chunk_rows = self._lookups, self._max_rows, self._chunk_rows
            # Which chunk each hostname went to: a repeat in a later chunk is a late duplicate
            # (about 100 bytes a hostname: some 100 MB for a million-row file, freed at its end).
            chunk_of: dict[str, int] | None = {} if chunk_rows else None
            chunk, staged = 0, 0
            buffer: list[str] = []
            buffered = 0
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                outcome.received += 1
                if outcome.received > max_rows:
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
                    host, line = clean(record, line_no, lookups)
                except RecordError as exc:
                    rejections.append(
                        (line_no, record.get("hostname", ""), str(exc), ",".join(row))
                    )
                    continue
                if chunk_of is not None and chunk_of.setdefault(host, chunk) != chunk:
                    raise _LateDuplicate(host)
                buffer.append(line)
                buffered += len(line)
                staged += 1
                if buffered > BLOCK_CHARS:
                    self._hand_over("".join(buffer))
                    buffer.clear()
                    buffered = 0
                if staged == chunk_rows:
                    self._end_chunk(buffer)
                    buffered = staged = 0
                    chunk += 1
            if staged:
                self._end_chunk(buffer)
        except UnicodeDecodeError as exc:
            raise _Refuse(
                f"The file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} cannot be read). "
                "Save it as 'CSV UTF-8' and try again."
            ) from None
        except csv.Error as exc:
            raise _Refuse(
                f"The file is not a readable CSV (line {reader.line_num}): {exc}."
            ) from None
        finally:
            text.detach()  # the caller's stream stays open (it is read again after a late duplicate)

    def _end_chunk(self, buffer: list[str]) -> None:
        if buffer:
            self._hand_over("".join(buffer))
            buffer.clear()
        self._hand_over(_CHUNK_END)


class _Stopped(Exception):
    """The caller stopped taking blocks."""


def _columns(reader: Any) -> list[str]:
    """The header's canonical column names, or _Refuse saying what is wrong with it."""
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
    return columns
