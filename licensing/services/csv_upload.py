"""Reading an uploaded CSV for an all-or-nothing import (MAK keys, licence lines): the report
every import returns, the size and header checks, and rows that end with an error in the report
(never an exception) when the csv module cannot read on."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImportReport:
    """Outcome of a CSV import. `errors` are (row number, message); when there is any error,
    nothing was stored."""

    created: list[Any] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def open_csv(
    csv_text: str,
    report: ImportReport,
    *,
    max_bytes: int,
    required: tuple[str, ...],
    columns: str,
) -> csv.DictReader | None:
    """A reader with lower-cased header names, or None with the reason in `report` (too large,
    unreadable, a required column missing; `columns` names them all for the message)."""
    if len(csv_text.encode()) > max_bytes:
        report.errors.append((0, f"The file is larger than {max_bytes // 1000} kB."))
        return None
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    try:
        header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        report.errors.append((1, f"The file is not a readable CSV: {exc}."))
        return None
    if not set(required) <= set(header):
        report.errors.append((1, f"The first row must name the columns: {columns}."))
        return None
    reader.fieldnames = header
    return reader


def rows(reader: csv.DictReader, report: ImportReport) -> Iterator[dict[str, Any]]:
    """The reader's rows; a row the csv module cannot read (an unclosed quote, a field over
    its size limit) ends the file with an error in the report instead of an exception."""
    try:
        yield from reader
    except csv.Error as exc:
        report.errors.append((reader.line_num, f"The file is not a readable CSV: {exc}."))
