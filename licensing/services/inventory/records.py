"""Validation of one inventory record (an API JSON object or a CSV row), fast enough for a
million rows: hand-written checks, no serializer per record.

A clean record becomes one line of PostgreSQL COPY text for the staging table (`STAGE_COLUMNS`);
every value is either validated to a shape that needs no escaping or written as `\\N` (not given:
keep what is stored). A bad record gives one message saying which field and why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from licensing.parsers import STATUS_CODES

# Columns a record may carry (the CSV header and the JSON keys). `hostname` is required.
FIELDS = (
    "hostname",
    "fqdn",
    "cmid",
    "edition",
    "activation_method",
    "license_status",
    "grace_minutes",
    "installed_at",
    "last_activation_at",
    "last_renewal_at",
    "last_seen_at",
    "kms_host",
    "reactivation_required",
)
# Accepted aliases in CSV headers / JSON keys (VAMT-style names).
ALIASES = {
    "computer": "hostname",
    "computer_name": "hostname",
    "name": "hostname",
    "status": "license_status",
    "licence_status": "license_status",
    "method": "activation_method",
    "client_machine_id": "cmid",
    "seen_at": "last_seen_at",
    "hardware_changed": "reactivation_required",
}

STAGE_COLUMNS = (
    "idx",
    "hostname",
    "fqdn",
    "cmid",
    "edition_id",
    "activation_method",
    "kms_host_id",
    "license_status",
    "grace_minutes",
    "installed_at",
    "last_activation_at",
    "last_renewal_at",
    "reactivation_required",
    "seen_at",
)

# The shared parser's status words (DOMAIN.md section 6) plus the spellings seen in exports:
# SCCM/MECM and Lansweeper reports, spreadsheets in English, Norwegian and German. Keys are
# lower case with spaces as "_" (how `clean` normalises a value); digits 0..6 are the codes.
STATUS_WORDS = {
    **STATUS_CODES,
    "initial_grace": 2,
    "notifications": 5,
    # licensed
    "activated": 1,
    "active": 1,
    "permanently_activated": 1,
    "lisensiert": 1,
    "aktivert": 1,
    "lizenziert": 1,
    "aktiviert": 1,
    # unlicensed
    "not_licensed": 0,
    "unlicenced": 0,
    "not_activated": 0,
    "ikke_lisensiert": 0,
    "ulisensiert": 0,
    "ikke_aktivert": 0,
    "nicht_lizenziert": 0,
    "nicht_aktiviert": 0,
    # grace periods and notification
    "oob_grace_period": 2,
    "initial_grace_period": 2,
    "grace": 2,
    "grace_period": 2,
    "oot_grace_period": 3,
    "non_genuine": 4,
    "non_genuine_grace_period": 4,
    "notification_mode": 5,
    "varsling": 5,
    "benachrichtigung": 5,
    "extended_grace_period": 6,
}
TRUE_WORDS = {"1", "true", "yes", "y", "t", "ja", "j"}
FALSE_WORDS = {"0", "false", "no", "n", "f", "nei", "nein"}
MAX_GRACE_MINUTES = 10_000_000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# Clocks differ; a report up to a day ahead of ours is taken, later ones are refused.
FUTURE_TOLERANCE = timedelta(days=1)

_HOSTNAME = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_FQDN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$"
)
_UUID = re.compile(r"^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$")


class RecordError(ValueError):
    """One record is unusable; the message names the field."""


@dataclass(frozen=True)
class Lookups:
    """Per-organisation lookups, loaded once per import."""

    editions: Mapping[str, int]  # lower-case name or SKU id -> edition id
    kms_hosts: Mapping[str, int]  # lower-case FQDN (and its first label) -> host id
    now: datetime


@lru_cache(maxsize=4096)
def canonical_key(key: str) -> str:
    k = key.strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(k, k)


FIELD_SET = frozenset(FIELDS)


def canonical(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with canonical keys; raises RecordError naming unknown keys. A JSON object
    whose keys are already canonical (the usual agent payload) is returned as it is."""
    if type(record) is dict and record.keys() <= FIELD_SET:
        return record
    canon = {canonical_key(str(k)): v for k, v in record.items()}
    unknown = sorted(k for k in canon if k not in FIELD_SET)
    if unknown:
        raise RecordError(f"unknown field(s): {', '.join(unknown)[:200]}")
    return canon


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | int | float):
        return str(value)
    raise RecordError("a value is not text")


_fromisoformat = datetime.fromisoformat
_iso_plain = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?"
).fullmatch


def _when(field: str, value: Any, now: datetime, latest: datetime | None = None) -> str:
    raw = value.strip() if type(value) is str else _text(value)
    if not raw:
        return "\\N"
    try:
        parsed = _fromisoformat(raw)
    except ValueError:
        raise RecordError(
            f"{field}: '{raw[:40]}' is not an ISO 8601 date/time (e.g. 2026-11-25T08:30:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # naive times are UTC, like the 12290 client time
    if parsed < EARLIEST:
        raise RecordError(f"{field}: {raw[:40]} is before the year 2000")
    if parsed > (latest or now + FUTURE_TOLERANCE):
        raise RecordError(f"{field}: {raw[:40]} is in the future")
    # The usual shape (2026-11-25T08:30:00Z, ...+01:00, naive = UTC) means the same to PostgreSQL
    # as to Python and needs no escaping in COPY: pass it on instead of formatting it again.
    plain = _iso_plain(raw)
    if plain is not None:
        return raw if plain.group(1) else raw + "+00:00"
    return parsed.isoformat()


_host_match = _HOSTNAME.match
_fqdn_match = _FQDN.match
_uuid_match = _UUID.match


def clean(record: Mapping[str, Any], idx: int, lookups: Lookups) -> tuple[str, str]:
    """Return (hostname, COPY line) or raise RecordError. `record` keys are canonical.

    A value that is absent, null or blank keeps what is stored (`\\N` in the line). The checks
    run in a fixed order, so a record with several problems always reports the same one."""
    get = record.get
    raw = get("hostname")
    raw_host = (raw.strip() if type(raw) is str else _text(raw)).lower()
    if not raw_host:
        raise RecordError("hostname: missing")
    raw = get("fqdn")
    fqdn = "" if raw is None else _text(raw).lower().rstrip(".")
    if "." in raw_host:  # an FQDN in the hostname column: the first label is the hostname
        if not _fqdn_match(raw_host):
            raise RecordError(f"hostname: '{raw_host[:60]}' is not a valid host name")
        fqdn = fqdn or raw_host.rstrip(".")
        raw_host = raw_host.split(".", 1)[0]
    if not _host_match(raw_host):
        raise RecordError(
            f"hostname: '{raw_host[:60]}' is not a valid host name (letters, digits, '-' and '_', up to 63)"
        )
    if fqdn and not _fqdn_match(fqdn):
        raise RecordError(f"fqdn: '{fqdn[:60]}' is not a valid DNS name")

    raw = get("cmid")
    cmid = "\\N"
    if raw is not None:
        text = _text(raw).lower()
        if text:
            m = _uuid_match(text)
            if not m:
                raise RecordError(f"cmid: '{text[:40]}' is not a GUID")
            cmid = m.group(1)

    edition_id = "\\N"
    raw = get("edition")
    if raw is not None:
        edition = _text(raw)
        if edition:
            found = lookups.editions.get(edition.lower())
            if found is None:
                raise RecordError(
                    f"edition: unknown edition '{edition[:80]}' (use its name or SKU id)"
                )
            edition_id = str(found)

    raw = get("activation_method")
    method = "" if raw is None else _text(raw).lower()
    if method and method != "kms" and method != "mak":
        raise RecordError(f"activation_method: '{method[:20]}' is not kms or mak")

    kms_host_id = "\\N"
    raw = get("kms_host")
    if raw is not None:
        host = _text(raw).lower().rstrip(".")
        if host:
            host = host.rsplit(":", 1)[0] if ":" in host else host  # "kms01.contoso.com:1688"
            found = lookups.kms_hosts.get(host)
            if found is None:
                raise RecordError(
                    f"kms_host: '{host[:80]}' is not a KMS host of this organisation (add it first)"
                )
            if method == "mak":
                raise RecordError("kms_host: a MAK client has no KMS host")
            kms_host_id = str(found)
            method = method or "kms"

    status = "\\N"
    raw_status = get("license_status")
    if raw_status is not None and raw_status != "":
        if type(raw_status) is int:
            code = raw_status
        elif isinstance(raw_status, bool):
            raise RecordError("license_status: give 0..6 or a status word")
        elif isinstance(raw_status, int):
            code = int(raw_status)
        else:
            word = _text(raw_status).lower().strip("-").strip().replace(" ", "_").replace("-", "_")
            if word.isdigit():
                code = int(word)
            elif word in STATUS_WORDS:
                code = STATUS_WORDS[word]
            else:
                raise RecordError(
                    f"license_status: '{_text(raw_status)[:30]}' is not 0..6 or a status word (licensed, oob_grace, ...)"
                )
        if not 0 <= code <= 6:
            raise RecordError(f"license_status: {code} is not between 0 and 6")
        status = _CODES[code]

    grace = "\\N"
    raw_grace = get("grace_minutes")
    if raw_grace is not None and raw_grace != "":
        try:
            minutes = int(raw_grace) if not isinstance(raw_grace, bool) else None
        except (TypeError, ValueError):
            minutes = None
        if minutes is None or not 0 <= minutes <= MAX_GRACE_MINUTES:
            raise RecordError(
                f"grace_minutes: '{_text(raw_grace)[:20]}' is not a whole number of minutes (0..{MAX_GRACE_MINUTES})"
            )
        grace = str(minutes)

    hw = "\\N"
    raw_hw = get("reactivation_required")
    if raw_hw is not None and raw_hw != "":
        if raw_hw is True:
            hw = "t"
        elif raw_hw is False:
            hw = "f"
        else:
            word = _text(raw_hw).lower()
            if word in TRUE_WORDS:
                hw = "t"
            elif word in FALSE_WORDS:
                hw = "f"
            else:
                raise RecordError(f"reactivation_required: '{word[:20]}' is not true or false")

    now = lookups.now
    latest = now + FUTURE_TOLERANCE
    raw = get("installed_at")
    installed = "\\N" if raw is None else _when("installed_at", raw, now, latest)
    raw = get("last_activation_at")
    activated = "\\N" if raw is None else _when("last_activation_at", raw, now, latest)
    raw = get("last_renewal_at")
    renewed = "\\N" if raw is None else _when("last_renewal_at", raw, now, latest)
    raw = get("last_seen_at")
    seen = "\\N" if raw is None else _when("last_seen_at", raw, now, latest)
    return raw_host, (
        f"{idx}\t{raw_host}\t{fqdn or '\\N'}\t{cmid}\t{edition_id}\t{method or '\\N'}\t"
        f"{kms_host_id}\t{status}\t{grace}\t{installed}\t{activated}\t{renewed}\t{hw}\t{seen}\n"
    )


_CODES = tuple(str(code) for code in range(7))
