"""Product key shape, importable without Django (logging filters load before apps): the key
alphabet, the one NFKC rule for key characters, and the one redaction of key-shaped text that
every stored or shown free-text field and every log record goes through (`redact`)."""

from __future__ import annotations

import re
import unicodedata

# Microsoft's product key alphabet (24 characters) plus the single data-carrying N of
# pkey2009 keys; see shared DOMAIN.md section 7.
KEY_ALPHABET = "BCDFGHJKMNPQRTVWXY2346789"
PRODUCT_KEY_REGEX = rf"^([{KEY_ALPHABET}]{{5}}-){{4}}[{KEY_ALPHABET}]{{5}}$"


def key_characters(raw: str) -> str:
    """The typed key as ASCII upper case, character by character after NFKC: a full-width `B` (U+FF22)
    is `B`, but a character that normalises or upper-cases to more than one character (the
    `ﬀ` ligature, `ß`) is kept as it is, so the key check refuses it instead of counting it
    as two key characters."""
    out = []
    for char in raw:
        folded = unicodedata.normalize("NFKC", char)
        if len(folded) == 1:
            upper = folded.upper()
            out.append(upper if len(upper) == 1 else char)
        else:
            out.append(char)
    return "".join(out)


# Key-shaped text in free text: five groups of five key characters in any case, the groups
# joined by nothing or by one separator (hyphen, space, underscore, dot, en/em dash), found
# anywhere, also glued to other letters or after `_` (no word boundary is asked for: the
# alphabet has no vowels, so ordinary words do not hold 25 of its characters in a row).
_K = f"[{KEY_ALPHABET}]"
_SEP = r"[-\s_.\u2010-\u2015\u2212]"
KEY_SHAPE = re.compile(rf"(?i){_K}{{5}}(?:{_SEP}?{_K}{{5}}){{4}}")


def _marker(match: re.Match[str]) -> str:
    return "[REDACTED KEY …" + re.sub(r"[^0-9A-Za-z]", "", match.group(0))[-5:] + "]"


def redact(text: str) -> str:
    """`text` with every key-shaped run replaced by `[REDACTED KEY …last5]`; a key written in
    compatibility characters (full-width, ligatures) is found in the NFKC form of the text,
    which is then what is returned. Idempotent; safe on any str."""
    if not text:
        return text
    out = KEY_SHAPE.sub(_marker, text)
    if not out.isascii():
        normalised = unicodedata.normalize("NFKC", out)
        if normalised != out and KEY_SHAPE.search(normalised):
            out = KEY_SHAPE.sub(_marker, normalised)
    return out
