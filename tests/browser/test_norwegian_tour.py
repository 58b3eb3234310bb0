"""The whole tour in Norwegian: every page of tests/browser/test_every_page.py, in Chromium, as
an administrator whose browser asks for Norwegian and as a manager who chose Norwegian in the
profile while the browser asks for English. No English text may be left on any page, except
product names, key names and the people's own data.

"English" is measured against the catalogue itself: a word that occurs in the English messages
and in none of their Norwegian translations is English. Common English words are added, so
that a string nobody marked for translation is caught too."""

from __future__ import annotations

import io
import re

import polib
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from licensing.management.commands.seed_demo import DEMO_PASSWORD
from licensing.models import Profile
from tests.browser.test_every_page import _addresses
from tests.i18n import check

WORD = re.compile(r"[^\W\d_]{2,}")
# Hostnames, e-mail addresses, paths, identifiers (a CMID's hex holds "add", "bad", "fee"):
# people's data and machine names.
MACHINE_TOKEN = re.compile(r"\S*[.@/_:=\\]\S*[^\W_]\S*|\S*\d\S*")
COMMON_ENGLISH = {
    "the",
    "and",
    "of",
    "to",
    "with",
    "from",
    "this",
    "that",
    "your",
    "you",
    "are",
    "not",
    "has",
    "have",
    "was",
    "were",
    "will",
    "be",
    "been",
    "all",
    "any",
    "none",
    "never",
    "yes",
    "save",
    "cancel",
    "edit",
    "delete",
    "remove",
    "add",
    "new",
    "back",
    "next",
    "previous",
    "show",
    "hide",
    "search",
    "settings",
    "sign",
    "out",
    "in",
    "clients",
    "client",
    "host",
    "hosts",
    "machine",
    "machines",
    "request",
    "requests",
    "approve",
    "approved",
    "reject",
    "rejected",
    "pending",
    "activation",
    "activations",
    "activated",
    "licence",
    "licences",
    "licensed",
    "unlicensed",
    "expired",
    "grace",
    "days",
    "day",
    "ago",
    "today",
    "export",
    "download",
    "upload",
    "page",
    "key",
    "keys",
    "state",
    "flag",
    "flags",
    "reason",
    "when",
    "who",
    "what",
    "where",
    "how",
    "why",
    "which",
    "there",
    "here",
    "more",
    "less",
    "than",
    "per",
}


def _english_only_words() -> set[str]:
    catalogue = polib.pofile(str(check.LOCALE / "nb" / "LC_MESSAGES" / "django.po"))
    english: set[str] = set(COMMON_ENGLISH)
    norwegian: set[str] = set()
    for entry in catalogue:
        for text in (entry.msgid, entry.msgid_plural):
            english.update(w.lower() for w in WORD.findall(text or ""))
        for text in (entry.msgstr, *entry.msgstr_plural.values()):
            norwegian.update(w.lower() for w in WORD.findall(text or ""))
    kept = {w.lower() for w in check.KEPT_WORDS}
    return english - norwegian - kept


# What people typed (the demo's key labels, justifications, notes, names) is their data, in
# whatever language they wrote it: its words are not the portal's English.
PEOPLE_TEXT = {
    "MakKey": ("label", "blocked_reason"),
    "ActivationRequest": ("justification", "decision_note", "product_name"),
    "Agreement": ("number", "reseller", "notes"),
    "Entitlement": ("note",),
    "OfflineActivation": ("product_name",),
    "Organisation": ("name",),
}


def _people_words() -> set[str]:
    from django.apps import apps

    words = {
        w.lower()
        for u in get_user_model().objects.values_list("username", flat=True)
        for w in WORD.findall(u)
    }
    for model, fields in PEOPLE_TEXT.items():
        for row in apps.get_model("licensing", model).objects.values_list(*fields):
            words.update(w.lower() for value in row for w in WORD.findall(value or ""))
    return words


def _english_left(text: str, english: set[str]) -> list[str]:
    text = MACHINE_TOKEN.sub(" ", text)
    return sorted({w for w in WORD.findall(text) if w.lower() in english})


# Commands, field names and values in <code>/<pre>/<kbd>/<samp> are machine text, as in the
# template scan (tests/i18n/check.py).
def _where(text: str, word: str) -> str:
    """The words around `word`'s first place in `text`, to find it in the templates."""
    match = re.search(rf"\b{re.escape(word)}\b", text)
    return " ".join(text[max(0, match.start() - 40) : match.end() + 40].split()) if match else ""


_PAGE_TEXT = """() => {
    const code = [...document.querySelectorAll('code, pre, kbd, samp')];
    const shown = code.map((e) => e.getAttribute('style'));
    code.forEach((e) => e.style.setProperty('display', 'none', 'important'));
    const text = document.body.innerText;
    code.forEach((e, i) => (shown[i] === null ? e.removeAttribute('style') : e.setAttribute('style', shown[i])));
    return [document.title, text,
    ...[...document.querySelectorAll('[placeholder],[aria-label],[title]')].map(
        (e) => [e.getAttribute('placeholder'), e.getAttribute('aria-label'),
                e.getAttribute('title')].filter(Boolean).join(' '))].join('\\n');
}"""


@pytest.mark.timeout(900)
def test_the_whole_tour_in_norwegian(live_server, browser, login, transactional_db):
    call_command("seed_demo", clients=400, stdout=io.StringIO())
    addresses = _addresses()
    english = _english_only_words() - _people_words()
    # The manager chose Norwegian in the profile; the browser asks for English.
    Profile.objects.update_or_create(
        user=get_user_model().objects.get(username="contoso-manager"), defaults={"language": "nb"}
    )
    problems: list[str] = []
    pages = 0
    for persona, browser_locale in (("contoso-admin", "nb-NO"), ("contoso-manager", "en-GB")):
        context = browser.new_context(
            locale=browser_locale, viewport={"width": 1440, "height": 900}
        )
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        if browser_locale == "nb-NO":
            left = _english_left(page.evaluate(_PAGE_TEXT), english)
            if left:
                problems.append(f"sign-in page: {left}")
        login(page, get_user_model().objects.get(username=persona), DEMO_PASSWORD)
        for address in addresses:
            response = page.goto(f"{live_server.url}{address}")
            pages += 1
            assert response is not None and response.headers.get("content-language") == "nb", (
                f"{persona} {address} is not in Norwegian"
            )
            text = page.evaluate(_PAGE_TEXT)
            left = _english_left(text, english)
            if left:
                problems.append(f"{persona} {address}: {left} in {_where(text, left[0])!r}")
        context.close()
    assert pages == 2 * len(addresses)
    assert not problems, "\n".join(problems)


def test_the_detector_finds_english_and_passes_norwegian_and_data():
    english = {"clients", "approve", "the"}
    assert _english_left("Approve the request", english) == ["Approve", "the"]
    assert _english_left("Godkjenn forespørselen for pc-0001.contoso.example", english) == []
    assert _english_left("clients@contoso.example /clients/ ok", english) == []
