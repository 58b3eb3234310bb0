"""Checks that every word people read is translatable and translated (issue 15).

`untranslated_template_text()` scans the templates with Django's own template lexer: text outside
`{% translate %}`/`{% blocktranslate %}` and the attributes people read (title, aria-label,
placeholder, alt, data-confirm) must hold no words except the names that stay as they are
(product names, protocol and key names). `catalogue_problems()` lists the messages of a
catalogue that are untranslated or fuzzy. Run `python -m tests.i18n.check [folder]` to list the template texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import polib
from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
LOCALE = ROOT / "locale"

# Words that are the same in every language: product, protocol, file and key names.
KEPT_WORDS = {
    "API",
    "CIL",
    "CILX",
    "CSV",
    "CSVLK",
    "DNS",
    "GVLK",
    "HMAC",
    "HTTP",
    "HTTPS",
    "ID",
    "IDs",
    "JSON",
    "KMS",
    "LDAP",
    "LTSC",
    "MAK",
    "MFA",
    "Microsoft",
    "OIDC",
    "OK",
    "Office",
    "Project",
    "SKU",
    "SRV",
    "SSO",
    "Slack",
    "TCP",
    "TOTP",
    "Teams",
    "UTC",
    "VAMT",
    "Visio",
    "Volume",
    "Licensing",
    "Portal",
    "WMI",
    "PowerShell",
    "ospp",
    "vbs",
    "slmgr",
    "vlmcs",
    "tcp",
    "cscript",
    "Windows",
    "Prometheus",
    "Professional",
    "Plus",
    "Standard",
    "Contoso",
    "GitHub",
    "Bokmål",
    "Norsk",
    "bokmål",
    "English",
    "SCCM",
    "Lansweeper",
    "IPv4",
    "IPv6",
    "UUID",
    "URL",
    "Webhook",
    "webhook",
    "webhooks",
    "FQDN",
    "CMID",
}
# The folders `make messages` and `make test` leave out (Makefile's I18N_IGNORE): not the
# portal's own strings.
IGNORED_BY_MESSAGES = [".venv", ".tools", ".run", "tests", "bench", "docs", "deploy", "scripts"]
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "data-confirm", "aria-description"}
SKIPPED_ELEMENTS = {"script", "style", "code", "pre", "kbd", "samp"}
PLACEHOLDER = "\x00"
WORD = re.compile(r"[^\W\d_]{2,}")
_CHOSEN_TAG = re.compile("<(/?)" + PLACEHOLDER + "[^<>]*>")
# Block tags whose whole content is translated, or not shown.
TRANSLATED_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans"}
HIDDEN_BLOCKS = {"comment": "endcomment", "verbatim": "endverbatim"}


@dataclass(frozen=True)
class Finding:
    path: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}: {self.text!r}"


def words_left(text: str) -> list[str]:
    text = text.replace(PLACEHOLDER, " ")
    return [w for w in WORD.findall(text) if w not in KEPT_WORDS]


def _flatten(source: str) -> str:
    """The template with every tag and variable replaced by PLACEHOLDER, and translated or
    hidden blocks removed, so only literal text is left."""
    out: list[str] = []
    closing: str | None = None
    for token in Lexer(source).tokenize():
        if closing is not None:
            if token.token_type == TokenType.BLOCK and token.contents.split()[:1] == [closing]:
                closing = None
                out.append(PLACEHOLDER)
            continue
        if token.token_type == TokenType.TEXT:
            out.append(token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            words = token.contents.split()
            name = words[0] if words else ""
            closing = TRANSLATED_BLOCKS.get(name) or HIDDEN_BLOCKS.get(name)
            if name == "block" and len(words) > 1 and words[1].endswith("_class"):
                closing = "endblock"  # a block of CSS class names
        out.append(PLACEHOLDER)
    # A tag whose name a template tag chooses (`<{% if href %}a{% else %}button{% endif %} …>`).
    return _CHOSEN_TAG.sub(r"<\1span>", "".join(out))


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_ELEMENTS:
            self._skipping.append(tag)
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.texts.append(value)
            if name == "value" and value and dict(attrs).get("type") in ("submit", "button"):
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.texts.append(data)


def untranslated_in(path: Path) -> list[Finding]:
    flat = _flatten(path.read_text(encoding="utf-8"))
    if path.suffix == ".html":
        collector = _TextCollector()
        collector.feed(flat)
        collector.close()
        texts = collector.texts
    else:
        texts = [flat]
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    return [
        Finding(rel, " ".join(t.replace(PLACEHOLDER, "…").split())) for t in texts if words_left(t)
    ]


def untranslated_template_text(root: Path = TEMPLATES) -> list[Finding]:
    findings: list[Finding] = []
    for path in sorted(root.rglob("*")):
        if path.suffix in (".html", ".txt") and path.is_file():
            findings.extend(untranslated_in(path))
    return findings


def catalogue_problems(language: str) -> list[str]:
    """Untranslated and fuzzy messages of `language`'s catalogue, one line each."""
    path = LOCALE / language / "LC_MESSAGES" / "django.po"
    if not path.exists():
        return [f"{path.relative_to(ROOT)} is missing"]
    catalogue = polib.pofile(str(path))
    problems = [f"untranslated: {e.msgid!r}" for e in catalogue.untranslated_entries()]
    problems += [f"fuzzy: {e.msgid!r}" for e in catalogue.fuzzy_entries()]
    return problems


if __name__ == "__main__":
    import django

    django.setup()
    import sys

    found = untranslated_template_text(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATES)
    for finding in found:
        print(finding)
    print(f"{len(found)} untranslated template texts")
