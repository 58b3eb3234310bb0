"""Text helpers shared by the parsers: decoding uploads, line normalisation, small value checks."""

from __future__ import annotations

import codecs
import re

# A text posted as a status report is a few kilobytes; anything far larger is not one and is
# refused before any regex runs over it.
MAX_STATUS_CHARS = 1_000_000

_GUID_RE = re.compile(
    r"\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?"
)
_PRODUCT_KEY_RE = re.compile(r"(?i)\b(?:[A-Z0-9]{5}-){4}([A-Z0-9]{5})\b")
_HOST_RE = re.compile(r"[\w][\w.-]{0,252}")


def decode_upload(data: bytes) -> str:
    """Decode an uploaded file: UTF-8 (with or without BOM), UTF-16/32 with BOM, UTF-16 without
    BOM (detected by its NUL bytes), else cp1252. Never raises for bytes input."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    # UTF-32 LE's BOM starts with UTF-16 LE's, so test it first.
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    sniffed = _sniff_utf16(data)
    if sniffed:
        return data.decode(sniffed, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; they become U+FFFD rather than an error.
        return data.decode("cp1252", errors="replace")


def _sniff_utf16(data: bytes) -> str | None:
    """UTF-16 without BOM (some tools strip it): mostly-ASCII text has NULs in every other byte."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    odd_nuls = sample[1::2].count(0)
    even_nuls = sample[0::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def clean_text(text: str) -> str:
    """Drop BOMs and NULs and turn CRLF / CR into LF."""
    text = text.replace("\ufeff", "").replace("\x00", "")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def normalise_line(raw: str) -> str:
    """Collapse runs of whitespace (tabs, doubled spaces, NBSP) and the odd `_ ` gap of pasted
    output (`OOB_ GRACE` -> `OOB_GRACE`), and strip the ends."""
    line = re.sub(r"\s+", " ", raw).strip()
    return re.sub(r"_ ", "_", line)


def parse_guid(value: str) -> str | None:
    """The GUID at the start of `value`, lower case without braces, or None."""
    match = _GUID_RE.match(value.strip())
    return match.group(1).lower() if match else None


def parse_guid_strict(value: str) -> str | None:
    """`value` is exactly a GUID (braces allowed): lower case without braces, else None."""
    match = _GUID_RE.fullmatch(value.strip())
    return match.group(1).lower() if match else None


def parse_host_port(value: str) -> tuple[str | None, int | None]:
    """`host:port`, `host`, `[v6]:port` or `v6` -> (host, port); (None, None) when the value
    is not a host name (e.g. "KMS name not available")."""
    value = value.strip()
    if not value or " " in value:
        return None, None
    host, port = value, None
    bracketed = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?", value)
    if bracketed:
        port_text = bracketed.group(2)
        port = int(port_text) if port_text else None
        return bracketed.group(1).lower(), port if port and port <= 65535 else None
    if value.count(":") == 1:
        host, port_text = value.split(":")
        if not re.fullmatch(r"\d{1,5}", port_text):
            return None, None
        port = int(port_text)
    elif value.count(":") > 1:
        # A bare IPv6 address: no port can be told apart from it.
        if not re.fullmatch(r"[0-9A-Fa-f:.]+", value):
            return None, None
        return value.lower(), None
    if port is not None and not 0 < port <= 65535:
        port = None
    if not _HOST_RE.fullmatch(host):
        return None, None
    return host.lower(), port


def safe_excerpt(value: str, limit: int = 60) -> str:
    """A short excerpt of input for an error reason: product keys masked, length capped."""
    value = _PRODUCT_KEY_RE.sub(lambda m: "XXXXX-XXXXX-XXXXX-XXXXX-" + m.group(1), value)
    value = re.sub(r"\s+", " ", value).strip()
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value
