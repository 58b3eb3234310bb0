"""Parse `slmgr.vbs /dlv` (and `/dli`) and `ospp.vbs /dstatus` output into a StatusDocument.

Written for the grammar the tools print (shared DOMAIN.md sections 3, 4 and 6, and the string
tables of slmgr.vbs / ospp.vbs), not for one sample: labels are matched case-insensitively on
lines whose whitespace is collapsed, indentation and banners are ignored, lines wrapped by a
console are joined back, and licences are split on the fields that start each one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from licensing.parsers.model import (
    KmsClientInfo,
    KmsHostInfo,
    LicenseRecord,
    RequestCounts,
    StatusDocument,
    UnreadableStatusText,
)
from licensing.parsers.text import (
    MAX_STATUS_CHARS,
    clean_text,
    normalise_line,
    parse_guid,
    parse_host_port,
    safe_excerpt,
)

UINT32_MINUS_ONE = 4294967295
_NUM = r"(-1|\d{1,10})"

# --- line grammar -----------------------------------------------------------------------------
# (kind, pattern) pairs, tried in order with fullmatch on the normalised line, ignoring case.
# Lines that match none of them but look like "Label: value" are known-but-ignored labels
# (URLs, Extended PID, Trusted time, ...); anything else is a banner, a wrapped continuation,
# or noise.

_KMS_CLIENT_LINES: list[tuple[str, str]] = [
    ("kms_client_header", r"key management service client information"),
    ("cmid", r"client machine id \(cmid\) ?: ?(.*)"),
    ("kms_registered", r"registered kms machine name ?: ?(.*)"),
    ("kms_override", r"kms machine registry override defined ?: ?(.*)"),
    ("kms_from_dns", r"kms machine name from dns ?: ?(.*)"),
    ("kms_dns_unavailable", r"dns auto-discovery ?: ?kms name not available\.?"),
    ("kms_client_other", r"kms machine (?:ip address|extended pid) ?: ?.*"),
    ("kms_client_other", r"registered kms srv record lookup domain ?: ?.*"),
    ("activation_interval", r"activation interval ?: ?(\d{1,10}) ?minutes?\.?"),
    ("renewal_interval", r"renewal interval ?: ?(\d{1,10}) ?minutes?\.?"),
    ("kms_client_other", r"kms host caching(?: is)? ?:? ?(?:enabled|disabled)\.?"),
]

_KMS_HOST_LINES: list[tuple[str, str]] = [
    ("kms_host_header", r"key management service is enabled on this machine\.?"),
    ("kms_host_header", r"key management service cumulative requests received from clients"),
    ("current_count", rf"current count ?: ?{_NUM}"),
    ("listening_port", r"listening on port ?: ?(\d{1,10})"),
    ("dns_publishing", r"dns publishing (enabled|disabled)\.?"),
    ("kms_priority", r"kms priority ?: ?(normal|low)\.?"),
    ("total_requests", rf"total requests received ?: ?{_NUM}"),
    ("failed_requests", rf"failed requests received ?: ?{_NUM}"),
    ("requests_with_status", rf"requests with license status (.{{1,120}}?) ?: ?{_NUM}"),
]

_SLMGR_LINES: list[tuple[str, str]] = [
    ("name", r"name ?: ?(.*)"),
    ("description", r"description ?: ?(.*)"),
    ("activation_id", r"activation id ?: ?(.*)"),
    ("partial_key", r"partial product key ?: ?([a-z0-9]{5})(?:\W.*)?"),
    ("status", r"license status ?: ?(.*)"),
    ("error_code", r"notification reason ?: ?(?:0x)?([0-9a-f]{1,8})(?:\W.*)?"),
    (
        "grace_minutes",
        r"(?:volume activation expiration|timebased activation expiration|"
        r"automatic vm activation expiration|time remaining) ?: ?(\d{1,10}) ?minute.*",
    ),
    ("not_in_use", r"this license is not in use\.?"),
    *_KMS_CLIENT_LINES,
    *_KMS_HOST_LINES,
]

_OSPP_LINES: list[tuple[str, str]] = [
    ("separator", r"-{3,}(?:(?:processing|exiting)-*)?"),
    ("no_keys", r"<no installed product keys detected>"),
    ("product_id", r"product id ?: ?(.*)"),
    ("sku_id", r"sku id ?: ?(.*)"),
    ("name", r"license name ?: ?(.*)"),
    ("description", r"license description ?: ?(.*)"),
    ("status", r"license status ?: ?(.*)"),
    ("error_code", r"error code ?: ?(?:0x)?([0-9a-f]{1,8})(?:\W.*)?"),
    ("grace", r"remaining grace ?: ?(\d{1,10}) ?days? ?\( ?(\d{1,10}) ?minute.*"),
    ("grace_days_only", r"remaining grace ?: ?(\d{1,10}) ?days?\.?"),
    ("last5", r"last 5 characters of installed product key ?: ?([a-z0-9]{5})(?:\W.*)?"),
    *_KMS_CLIENT_LINES,
]

_GENERIC_LABEL = re.compile(r"[^\W\d_][\w ()/'.,&-]{0,80}?:(?: .*)?")
_IGNORED_MARKERS = re.compile(r"<.*>|\(.*\)")


def _compile(table: list[tuple[str, str]]) -> list[tuple[str, re.Pattern[str]]]:
    return [(kind, re.compile(pattern, re.IGNORECASE | re.ASCII)) for kind, pattern in table]


_SLMGR = _compile(_SLMGR_LINES)
_OSPP = _compile(_OSPP_LINES)

# Fields that open a licence, in the order the tool prints them: a field arriving when the
# current licence already holds it or a later one starts the next licence (this also splits
# flat copies whose separator lines were lost).
_SLMGR_OPENERS = {"name": 0, "description": 1, "activation_id": 2, "partial_key": 3, "status": 4}
_OSPP_OPENERS = {"product_id": 0, "sku_id": 1, "name": 2, "description": 3, "status": 4}

# ospp.vbs labels, as printed (upper case is distinctive): used to detect the format and to
# split copies that lost their line breaks ("...1601/1/1LICENSE STATUS:  ---LICENSED---...").
_OSPP_LABELS = (
    "PRODUCT ID:",
    "SKU ID:",
    "LICENSE NAME:",
    "LICENSE DESCRIPTION:",
    "BETA EXPIRATION:",
    "LICENSE STATUS:",
    "ERROR CODE:",
    "ERROR DESCRIPTION:",
    "REMAINING GRACE:",
    "Last 5 characters of installed product key:",
    "Activation Type Configuration:",
    "DNS auto-discovery:",
    "KMS machine name from DNS:",
    "KMS machine registry override defined:",
    "KMS machine extended PID:",
    "Activation Interval:",
    "Renewal Interval:",
    "KMS host caching:",
    "<No installed product keys detected>",
    "---Processing",
)


def _label_pattern(label: str) -> str:
    # Copies double or collapse the spaces inside labels too.
    return r"[ \t]+".join(re.escape(word) for word in label.split(" "))


_OSPP_SPLIT = re.compile(
    r"(?<=\S)[ \t]*(?="
    + "|".join(_label_pattern(label) for label in _OSPP_LABELS)
    + r")|(?<=[^\s-])[ \t]*(?=-{5,})"
)
_OSPP_SIGNAL = re.compile(
    "|".join(
        _label_pattern(label)
        for label in (
            "LICENSE STATUS:",
            "LICENSE NAME:",
            "SKU ID:",
            "---Processing",
            "<No installed product keys detected>",
            "Last 5 characters of installed product key",
        )
    )
)
_SLMGR_SIGNAL = re.compile(
    r"(?im)^[ \t]*(?:license[ \t]+status|partial[ \t]+product[ \t]+key|activation[ \t]+id"
    r"|current[ \t]+count|key[ \t]+management[ \t]+service|client[ \t]+machine[ \t]+id)"
)

# ospp /dstatus status tokens (DOMAIN.md section 4.1), compared with spaces/underscores unified.
# Web copies sometimes turn the dashes into en or em dashes ("—LICENSED—"); accept those too.
_TOKEN_RE = re.compile(
    r"\s*(?:-{3}|[-\u2013\u2014]{1,2})([A-Za-z_ ]+?)\s*(?:-{3}|[-\u2013\u2014]{1,2})"
)
_TOKEN_STATUS: dict[str, str | None] = {
    "UNLICENSED": "unlicensed",
    "LICENSED": "licensed",
    "OOB_GRACE": "oob_grace",
    "OOT_GRACE": "oot_grace",
    "NON_GENUINE_GRACE": "non_genuine_grace",
    "NOTIFICATIONS": "notification",
    "NOTIFICATION": "notification",
    "EXTENDED_GRACE": "extended_grace",
    "UNKNOWN": None,
}
# slmgr wording (and the request-counter labels), matched on the start of the value; the
# order matters ("unlicensed" before "licensed").
_WORDING_STATUS: list[tuple[re.Pattern[str], str | None]] = [
    (re.compile(r"unlicen[sc]ed\b"), "unlicensed"),
    (re.compile(r"licen[sc]ed\b"), "licensed"),
    (re.compile(r"(?:initial grace|out[- ]of[- ]box|oob[ _]grace)"), "oob_grace"),
    (
        re.compile(
            r"(?:additional grace|out[- ]of[- ]tolerance|oot[ _]grace|"
            r"license expired|hardware out of tolerance)"
        ),
        "oot_grace",
    ),
    (re.compile(r"non[- _]?genuine"), "non_genuine_grace"),
    (re.compile(r"notifications?\b"), "notification"),
    (re.compile(r"extended[ _]grace"), "extended_grace"),
    (re.compile(r"unknown\b"), None),
]
_UNRECOGNISED = object()


# --- public API -------------------------------------------------------------------------------


def parse_status(text: str) -> StatusDocument:
    """Detect the tool (slmgr.vbs or ospp.vbs) and parse its output.

    Raises UnreadableStatusText with a human reason when the text cannot be read.
    """
    cleaned = _precheck(text)
    fmt = _detect(cleaned)
    if fmt == "ospp_dstatus":
        return _parse_ospp(cleaned)
    return _parse_slmgr(cleaned)


def parse_slmgr_dlv(text: str) -> StatusDocument:
    """Parse `slmgr.vbs /dlv` or `/dli` output (Windows or Office KMS host, or a KMS client)."""
    return _parse_slmgr(_precheck(text))


def parse_ospp_dstatus(text: str) -> StatusDocument:
    """Parse `ospp.vbs /dstatus` (or `/dstatusall`) output of an Office client."""
    return _parse_ospp(_precheck(text))


# --- detection --------------------------------------------------------------------------------


def _precheck(text: Any) -> str:
    if not isinstance(text, str):
        raise UnreadableStatusText("status text must be a string (decode the upload first)")
    if len(text) > MAX_STATUS_CHARS:
        raise UnreadableStatusText(
            f"text is too large ({len(text):,} characters; a status output is a few kilobytes)"
        )
    cleaned = clean_text(text)
    if not cleaned.strip():
        raise UnreadableStatusText("text is empty")
    head = cleaned.lstrip()[:200].lower()
    if head.startswith(("<!doctype html", "<html", "<?xml", "<head", "<body")):
        raise UnreadableStatusText(
            "this is an HTML or XML document, not slmgr.vbs /dlv or ospp.vbs /dstatus output"
        )
    return cleaned


def _detect(cleaned: str) -> str:
    if _OSPP_SIGNAL.search(cleaned):
        return "ospp_dstatus"
    if _SLMGR_SIGNAL.search(cleaned):
        return "slmgr_dlv"
    raise UnreadableStatusText("not slmgr.vbs /dlv or ospp.vbs /dstatus output")


# --- line preparation -------------------------------------------------------------------------


@dataclass
class _Line:
    raw: str
    text: str


def _classify(
    table: list[tuple[str, re.Pattern[str]]], text: str
) -> tuple[str, re.Match[str]] | None:
    for kind, pattern in table:
        match = pattern.fullmatch(text)
        if match:
            return kind, match
    return None


def _prepare(cleaned: str, table: list[tuple[str, re.Pattern[str]]]) -> list[_Line]:
    """Normalise lines and join lines a console wrapped inside a label or a number.

    Two adjacent lines are joined when neither is a known line on its own (or the first ends
    at its label's colon) but together they are (e.g. "Requests with License Status License expired or Hardware out of tol" +
    "erance: 0", or "Volume activation expiration: 2437" + "20 minute(s) (169 day(s))").
    """
    lines: list[_Line] = []
    for raw in cleaned.split("\n"):
        text = normalise_line(raw)
        if lines and text and lines[-1].text:
            prev = lines[-1]
            prev_open = prev.text.endswith(":") or _classify(table, prev.text) is None
            if prev_open and _classify(table, text) is None:
                merged = _merge(table, prev.text, text)
                if merged is not None:
                    lines[-1] = _Line(prev.raw + raw, merged)
                    continue
        lines.append(_Line(raw, text))
    return lines


def _merge(table: list[tuple[str, re.Pattern[str]]], first: str, second: str) -> str | None:
    for joiner in ("", " "):
        merged = first + joiner + second
        if _classify(table, merged) is not None:
            return merged
    return None


def _is_continuation(table: list[tuple[str, re.Pattern[str]]], line: _Line) -> bool:
    """A line that only makes sense as the wrapped tail of the line before it."""
    text = line.text
    if not text or _classify(table, text) is not None:
        return False
    return not (_GENERIC_LABEL.fullmatch(text) or _IGNORED_MARKERS.fullmatch(text))


def _joiner(prev: _Line) -> str:
    # A console hard-wraps at its width (80 columns by default) in the middle of a word;
    # a shorter line was wrapped at a space that the copy dropped.
    width = max(len(prev.raw.rstrip().expandtabs()), len(prev.text))
    return "" if width >= 79 else " "


# --- licence builder --------------------------------------------------------------------------


@dataclass
class _Builder:
    fields: dict[str, Any] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    client: dict[str, Any] | None = None
    host: dict[str, Any] | None = None
    requests: dict[str, int] = field(default_factory=dict)
    has_status: bool = False

    def is_empty(self) -> bool:
        return not self.seen and self.client is None and self.host is None

    def client_info(self) -> dict[str, Any]:
        if self.client is None:
            self.client = {}
        return self.client

    def host_info(self) -> dict[str, Any]:
        if self.host is None:
            self.host = {}
        return self.host

    def build(self) -> LicenseRecord:
        client = None
        if self.client is not None:
            registered = self.client.get("registered")
            chosen = registered if registered and registered[0] else self.client.get("dns")
            host, port = chosen if chosen else (None, None)
            client = KmsClientInfo(
                cmid=self.client.get("cmid"),
                kms_host=host,
                kms_port=port,
                activation_interval_minutes=self.client.get("activation_interval"),
                renewal_interval_minutes=self.client.get("renewal_interval"),
            )
        host_info = None
        if self.host is not None:
            host_info = KmsHostInfo(
                current_count=self.host.get("current_count"),
                port=self.host.get("port"),
                dns_publishing=self.host.get("dns_publishing"),
                priority=self.host.get("priority"),
                total_requests=self.host.get("total_requests"),
                failed_requests=self.host.get("failed_requests"),
                requests_by_status=RequestCounts(**self.requests),
            )
        f = self.fields
        return LicenseRecord(
            name=f.get("name") or None,
            description=f.get("description") or None,
            sku_id=f.get("sku_id"),
            status=f.get("status"),
            error_code=f.get("error_code"),
            grace_minutes=f.get("grace_minutes"),
            last5=f.get("last5"),
            kms_client=client,
            kms_host=host_info,
        )


def _count(value: str) -> int:
    number = int(value)
    return -1 if number in (-1, UINT32_MINUS_ONE) else number


def _port(value: str) -> int | None:
    number = int(value)
    return number if 0 < number <= 65535 else None


def _error_code(value: str) -> str:
    return f"0x{int(value, 16):08X}"


def _status_from_value(value: str) -> Any:
    """Status word, None for an explicit "unknown", or _UNRECOGNISED."""
    token = _TOKEN_RE.match(value)
    if token:
        key = re.sub(r"[\s_]+", "_", token.group(1).strip().upper())
        return _TOKEN_STATUS.get(key, _UNRECOGNISED)
    wording = value.strip().lower()
    for pattern, word in _WORDING_STATUS:
        if pattern.match(wording):
            return word
    return _UNRECOGNISED


def _apply_kms_line(builder: _Builder, kind: str, match: re.Match[str]) -> bool:
    """Apply a KMS client or host line; False when `kind` is not one of them."""
    if kind in ("kms_client_header", "kms_client_other", "kms_dns_unavailable"):
        builder.client_info()
    elif kind == "cmid":
        builder.client_info()["cmid"] = parse_guid(match.group(1))
    elif kind in ("kms_registered", "kms_override"):
        builder.client_info()["registered"] = parse_host_port(match.group(1))
    elif kind == "kms_from_dns":
        builder.client_info()["dns"] = parse_host_port(match.group(1))
    elif kind == "activation_interval":
        builder.client_info()["activation_interval"] = int(match.group(1))
    elif kind == "renewal_interval":
        builder.client_info()["renewal_interval"] = int(match.group(1))
    elif kind == "kms_host_header":
        builder.host_info()
    elif kind == "current_count":
        builder.host_info()["current_count"] = _count(match.group(1))
    elif kind == "listening_port":
        builder.host_info()["port"] = _port(match.group(1))
    elif kind == "dns_publishing":
        builder.host_info()["dns_publishing"] = match.group(1).lower() == "enabled"
    elif kind == "kms_priority":
        builder.host_info()["priority"] = match.group(1).lower()
    elif kind == "total_requests":
        builder.host_info()["total_requests"] = _count(match.group(1))
    elif kind == "failed_requests":
        builder.host_info()["failed_requests"] = _count(match.group(1))
    elif kind == "requests_with_status":
        builder.host_info()
        word = _status_from_value(match.group(1))
        if isinstance(word, str):
            builder.requests[word] = _count(match.group(2))
    else:
        return False
    return True


# --- the two formats --------------------------------------------------------------------------


def _run(
    lines: Iterable[_Line],
    table: list[tuple[str, re.Pattern[str]]],
    openers: dict[str, int],
    apply: Callable[[_Builder, str, re.Match[str]], None],
) -> tuple[list[_Builder], set[str]]:
    """Walk the lines, splitting licences on opener fields and separators; returns the
    licences and the set of line kinds seen."""
    done: list[_Builder] = []
    current = _Builder()
    kinds: set[str] = set()
    text_field: str | None = None  # name/description that a wrapped line may continue
    prev: _Line | None = None
    for line in lines:
        if not line.text:
            text_field, prev = None, line
            continue
        if text_field and prev is not None and _is_continuation(table, line):
            current.fields[text_field] += _joiner(prev) + line.text
            prev = line
            continue
        text_field, prev = None, line
        classified = _classify(table, line.text)
        if classified is None:
            continue
        kind, match = classified
        kinds.add(kind)
        if kind == "separator":
            if not current.is_empty():
                done.append(current)
                current = _Builder()
            continue
        order = openers.get(kind)
        if order is not None:
            if any(openers[seen] >= order for seen in current.seen if seen in openers):
                done.append(current)
                current = _Builder()
            current.seen.add(kind)
        if kind in ("name", "description"):
            current.fields[kind] = match.group(1).strip()
            text_field = kind
            continue
        apply(current, kind, match)
    if not current.is_empty():
        done.append(current)
    return done, kinds


def _set_status(builder: _Builder, value: str) -> None:
    word = _status_from_value(value)
    if word is _UNRECOGNISED:
        raise UnreadableStatusText(f"unrecognised licence status {safe_excerpt(value, 50)!r}")
    builder.fields["status"] = word
    builder.has_status = True


def _apply_slmgr(builder: _Builder, kind: str, match: re.Match[str]) -> None:
    if kind == "activation_id":
        builder.fields["sku_id"] = parse_guid(match.group(1))
    elif kind == "partial_key":
        builder.fields["last5"] = match.group(1).upper()
    elif kind == "status":
        _set_status(builder, match.group(1))
    elif kind == "error_code":
        builder.fields["error_code"] = _error_code(match.group(1))
    elif kind == "grace_minutes":
        builder.fields["grace_minutes"] = int(match.group(1))
    else:
        _apply_kms_line(builder, kind, match)


def _apply_ospp(builder: _Builder, kind: str, match: re.Match[str]) -> None:
    if kind == "sku_id":
        builder.fields["sku_id"] = parse_guid(match.group(1))
    elif kind == "status":
        _set_status(builder, match.group(1))
    elif kind == "error_code":
        builder.fields["error_code"] = _error_code(match.group(1))
    elif kind == "grace":
        builder.fields["grace_minutes"] = int(match.group(2))
    elif kind == "last5":
        builder.fields["last5"] = match.group(1).upper()
    else:
        _apply_kms_line(builder, kind, match)


def _parse_slmgr(cleaned: str) -> StatusDocument:
    lines = _prepare(cleaned, _SLMGR)
    builders, _kinds = _run(lines, _SLMGR, _SLMGR_OPENERS, _apply_slmgr)
    licences = tuple(b.build() for b in builders if b.has_status)
    if not licences:
        raise UnreadableStatusText(
            "no 'License Status' line found: not slmgr.vbs /dlv or /dli output"
        )
    return StatusDocument(format="slmgr_dlv", licenses=licences)


def _parse_ospp(cleaned: str) -> StatusDocument:
    # Copies that lost their line breaks keep the labels; put each back on its own line.
    split = "\n".join(_OSPP_SPLIT.sub("\n", raw) for raw in cleaned.split("\n"))
    lines = _prepare(split, _OSPP)
    builders, kinds = _run(lines, _OSPP, _OSPP_OPENERS, _apply_ospp)
    # Blocks without a LICENSE STATUS line come from other ospp.vbs commands (/act, /unpkey,
    # /dinstid) pasted alongside, not from /dstatus.
    licences = tuple(b.build() for b in builders if b.has_status)
    if not licences and "no_keys" not in kinds:
        raise UnreadableStatusText(
            "no 'License Status' line found: not ospp.vbs /dstatus output"
            + (" (this looks like ospp.vbs /act output)" if "sku_id" in kinds else "")
        )
    return StatusDocument(format="ospp_dstatus", licenses=licences)
