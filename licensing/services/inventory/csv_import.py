"""CSV inventory files (the upload page and `manage.py import_inventory`): read and check every
row, COPY the good ones to the staging table, one upsert; bad rows go to the rejection report,
a bad file is refused whole."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from licensing.models import ImportRun, ImportSource, Organisation
from licensing.services import outbox
from licensing.services.inventory import upsert
from licensing.services.inventory.records import FIELDS, RecordError, canonical_key, clean
from licensing.services.inventory.runs import (
    finish_run,
    new_run,
    refuse,
    require_ingest,
    write_rejections,
)


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
    max_bytes: int | None = None,
    now: datetime | None = None,
) -> ImportRun:
    """Import a CSV inventory file (see README for the columns). Every row is checked; good rows
    are upserted set-based (COPY into a staging table, one upsert), bad rows go
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
            rejections: list[tuple[int, str, str, str]] = []
            received = _stage_csv(cursor, stream, organisation, now, max_rows, rejections)
            if received == 0:
                raise _Refuse("The file has a header but no rows.")
            cursor.execute("ANALYZE inventory_stage")
            params = upsert.upsert_params(organisation, now, "ingest:csv")
            [(created, updated, distinct, _inserted)] = upsert.merge(
                cursor, params, upsert.FINAL_COUNTS
            )
            if distinct == 0:
                # Not one row could be read: not an inventory file (or the wrong one).
                line, _host, reason, _raw = min(rejections)
                raise _Refuse(
                    f"None of the {received:,} rows could be imported (line {line}: {reason}). "
                    "Nothing was imported."
                )
            cursor.execute(upsert.DUPLICATES_SQL)
            for line, hostname, winner in cursor.fetchall():
                rejections.append(
                    (line, hostname, f"hostname repeated on line {winner}, which was used", "")
                )
            upsert.end(cursor)
            rejections.sort()
            run.received = received
            run.created, run.updated = created, updated
            run.unchanged = distinct - created - updated
            run.rejected = len(rejections)
            if rejections:
                write_rejections(cursor, run, rejections)
            finish_run(run, ip_address=ip_address)
            if created or updated:
                outbox.enqueue("licensing.inventory.sweep_after_ingest", organisation.pk)
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
    lookups = upsert.load_lookups(organisation, now)
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
        with cursor.copy(upsert.COPY_STAGE) as copy:
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
