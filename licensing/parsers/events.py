"""Parse exports of KMS host event 12290 ("An activation request has been processed").

The event's info string has nine comma-separated fields (shared DOMAIN.md section 5):

    0xC004F06C,5,<client fqdn>,<CMID>,2010/9/29 21:46,0,2,41520,<activation id>

    1 HRESULT  2 minimum count  3 client FQDN  4 CMID  5 client time (UTC)  6 is VM (0/1)
    7 licence state 0..6  8 minutes to state expiry  9 activation (SKU) id

Accepted input, detected from the text:
- a bare file of info strings, one per line (blank lines and `#` comments skipped), or lines
  holding one inside other text (`Info: 0x0,25,...`);
- a CSV export (Event Viewer "Save All Events As... CSV", or `Get-WinEvent | Export-Csv`,
  with or without its `#TYPE` line): the info string is looked for in a column named
  Info / Information / Message / Description / Details (else the last column), possibly inside
  surrounding text ("An activation request has been processed. Info: 0x0,..."), and the row is
  skipped when an Id / Event ID column says it is another event;
- Event Viewer's text view ("Event ID: 12290 ... Info: ..."): info strings of other events
  (e.g. 12288, whose fields differ) are skipped.

`parse_12290_export` yields one `EventRow` or `EventError` per record, with the 1-based line
number where the record starts, so a caller can import the good rows and report the bad ones.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from licensing.parsers.model import STATUS_BY_CODE
from licensing.parsers.text import clean_text, parse_guid_strict, safe_excerpt

EVENT_ID = 12290
FIELD_COUNT = 9

_INFO_COLUMNS = ("info", "information", "message", "description", "details", "infostring")
_ID_COLUMNS = ("id", "event id", "eventid", "event_id", "instanceid")
# Where an info string starts inside surrounding text: an HRESULT followed by a comma.
_INFO_START = re.compile(r"(?<![0-9A-Za-z])0x[0-9A-Fa-f]{1,8}[ \t]*,[^\r\n]*")
_HOSTNAME = re.compile(r"[^\W_][\w.-]{0,254}")
_SIMPLE_TIME = re.compile(
    r"(\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"|(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?",
    re.ASCII,
)


@dataclass(frozen=True)
class EventRow:
    """One parsed 12290 info string. `client_time` is timezone-aware UTC."""

    line: int
    hresult: int
    min_count: int
    client_fqdn: str
    cmid: str
    client_time: datetime
    is_vm: bool
    license_state: int
    minutes_to_expiry: int
    sku_id: str

    @property
    def hresult_hex(self) -> str:
        return f"0x{self.hresult:08X}"

    @property
    def succeeded(self) -> bool:
        """The host processed the request without error (HRESULT 0x0)."""
        return self.hresult == 0

    @property
    def status(self) -> str:
        """The licence state as a status word (see licensing.parsers.STATUS_WORDS)."""
        return STATUS_BY_CODE[self.license_state]

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "hresult": self.hresult_hex,
            "min_count": self.min_count,
            "client_fqdn": self.client_fqdn,
            "cmid": self.cmid,
            "client_time": self.client_time.isoformat(),
            "is_vm": self.is_vm,
            "license_state": self.license_state,
            "minutes_to_expiry": self.minutes_to_expiry,
            "sku_id": self.sku_id,
        }


@dataclass(frozen=True)
class EventError:
    """A record that could not be read: `reason` says why, `excerpt` shows the start of it."""

    line: int
    reason: str
    excerpt: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason, "excerpt": self.excerpt}


class _FieldError(ValueError):
    pass


def parse_12290_info(info: str, line: int = 1) -> EventRow:
    """Parse one info string strictly; raises ValueError with a clear reason."""
    fields = [part.strip() for part in info.strip().strip('"').split(",")]
    if len(fields) != FIELD_COUNT:
        raise _FieldError(
            f"expected {FIELD_COUNT} comma-separated fields in the 12290 info string, "
            f"found {len(fields)}"
        )
    hresult_text, count_text, fqdn, cmid_text, time_text, vm_text, state_text, mins_text, sku = (
        fields
    )
    if not re.fullmatch(r"0x[0-9A-Fa-f]{1,8}", hresult_text):
        raise _FieldError(
            f"field 1 (HRESULT) must be hexadecimal like 0x0, not {safe_excerpt(hresult_text, 20)!r}"
        )
    min_count = _integer(count_text, 2, "minimum count", 0, 1000)
    if not _HOSTNAME.fullmatch(fqdn):
        raise _FieldError(f"field 3 (client name) is not a host name: {safe_excerpt(fqdn, 40)!r}")
    cmid = parse_guid_strict(cmid_text)
    if cmid is None:
        raise _FieldError(f"field 4 (CMID) is not a GUID: {safe_excerpt(cmid_text, 40)!r}")
    client_time = parse_client_time(time_text)
    if client_time is None:
        raise _FieldError(
            f"field 5 (client time) is not a date like 2010/9/29 21:46: "
            f"{safe_excerpt(time_text, 30)!r}"
        )
    if vm_text not in ("0", "1"):
        raise _FieldError(f"field 6 (is VM) must be 0 or 1, not {safe_excerpt(vm_text, 20)!r}")
    state = _integer(state_text, 7, "licence state", 0, 6)
    minutes = _integer(mins_text, 8, "minutes to expiry", 0, 2**32 - 1)
    sku_id = parse_guid_strict(sku)
    if sku_id is None:
        raise _FieldError(f"field 9 (activation ID) is not a GUID: {safe_excerpt(sku, 40)!r}")
    return EventRow(
        line=line,
        hresult=int(hresult_text, 16),
        min_count=min_count,
        client_fqdn=fqdn.lower(),
        cmid=cmid,
        client_time=client_time,
        is_vm=vm_text == "1",
        license_state=state,
        minutes_to_expiry=minutes,
        sku_id=sku_id,
    )


def _integer(text: str, position: int, label: str, low: int, high: int) -> int:
    if not re.fullmatch(r"\d{1,10}", text, re.ASCII):
        raise _FieldError(
            f"field {position} ({label}) must be a whole number, not {safe_excerpt(text, 20)!r}"
        )
    value = int(text)
    if not low <= value <= high:
        raise _FieldError(f"field {position} ({label}) must be {low}..{high}, not {value}")
    return value


def parse_client_time(text: str) -> datetime | None:
    """`2010/9/29 21:46` (the event's own format), with seconds, or ISO 8601; naive times are
    UTC (the client clock in UTC, DOMAIN.md section 5). Returns an aware UTC datetime."""
    text = text.strip()
    if not text or len(text) > 40:
        return None
    simple = _SIMPLE_TIME.fullmatch(text)
    if simple:
        # The event's own format (and naive ISO) without strptime, which is slow per row.
        try:
            return datetime(*(int(part) for part in simple.groups() if part), tzinfo=UTC)
        except ValueError:
            return None
    iso = re.fullmatch(
        r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|[+-]\d{2}:?\d{2})?",
        text,
        re.ASCII | re.IGNORECASE,
    )
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso.group(1).replace(" ", "T"))
    except ValueError:
        return None
    offset = iso.group(2)
    if offset is None or offset.upper() == "Z":
        return moment.replace(tzinfo=UTC)
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        return None
    zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return moment.replace(tzinfo=zone).astimezone(UTC)


def parse_12290_export(text: str) -> Iterator[EventRow | EventError]:
    """Yield an EventRow or EventError per record of a 12290 export (see the module doc)."""
    cleaned = clean_text(text)
    lines = cleaned.split("\n")
    first = next(
        (
            (index, line)
            for index, line in enumerate(lines)
            if line.strip() and not line.lstrip().startswith("#")
        ),
        None,
    )
    if first is None:
        return
    index, first_line = first
    if _INFO_START.search(first_line) or re.match(r'\s*"?\s*\d+\s*,', first_line):
        yield from _lines(lines)
    elif any(re.match(r"\s*Event ID\s*:", line, re.IGNORECASE) for line in lines):
        yield from _event_text(lines)
    else:
        yield from _csv(cleaned, index)


def _row_or_error(info: str, line: int) -> EventRow | EventError:
    try:
        return parse_12290_info(info, line)
    except _FieldError as exc:
        return EventError(line=line, reason=str(exc), excerpt=safe_excerpt(info))


def _lines(lines: list[str]) -> Iterator[EventRow | EventError]:
    """One record per line: a bare info string, or a line with one inside other text."""
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        found = _INFO_START.search(stripped)
        info = found.group(0) if found else stripped
        yield _row_or_error(info.rstrip(",;").strip().strip('"'), number)


def _event_text(lines: list[str]) -> Iterator[EventRow | EventError]:
    """Event Viewer's text/details view: take info strings inside 12290 events only."""
    event_id: int | None = None
    for number, line in enumerate(lines, start=1):
        header = re.match(r"\s*Event ID\s*:\s*(\d+)", line, re.IGNORECASE)
        if header:
            event_id = int(header.group(1)) if len(header.group(1)) <= 6 else None
            continue
        if re.match(r"\s*Log Name\s*:", line, re.IGNORECASE):
            event_id = None
            continue
        if event_id != EVENT_ID:
            continue
        found = _INFO_START.search(line)
        if found:
            yield _row_or_error(found.group(0), number)


def _csv(cleaned: str, header_index: int) -> Iterator[EventRow | EventError]:
    body = "\n".join(cleaned.split("\n")[header_index:])
    reader = csv.reader(io.StringIO(body, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return
    names = [name.strip().strip('"').strip().lower() for name in header]
    info_col = next((names.index(n) for n in _INFO_COLUMNS if n in names), len(names) - 1)
    id_col = next((names.index(n) for n in _ID_COLUMNS if n in names), None)
    consumed = reader.line_num
    while True:
        start = header_index + consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield EventError(line=start, reason=f"malformed CSV: {exc}")
            return
        consumed = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if id_col is not None and id_col < len(row):
            event_id = row[id_col].strip()
            if re.fullmatch(r"\d{1,6}", event_id) and int(event_id) != EVENT_ID:
                continue
        cell = row[info_col] if info_col < len(row) else ""
        found = _INFO_START.search(cell)
        if found:
            info = found.group(0)
        else:
            # An unquoted info string is split into columns by the CSV reader (and Event
            # Viewer's CSV has an unnamed message column): look across the whole row.
            found = _INFO_START.search(",".join(row))
            if found is None:
                yield EventError(
                    line=start,
                    reason="no 12290 info string (0x..., nine comma-separated fields) in this row",
                    excerpt=safe_excerpt(",".join(row)),
                )
                continue
            info = ",".join(found.group(0).split(",")[:FIELD_COUNT])
        yield _row_or_error(info.strip().strip('"'), start)
