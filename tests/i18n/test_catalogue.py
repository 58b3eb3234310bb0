"""The Norwegian catalogue is complete, current and valid, and no template text escapes it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

from tests.i18n import check

# Every language but English (the language of the code) has a catalogue to keep complete.
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def catalogue(code: str) -> Path:
    return check.LOCALE / code / "LC_MESSAGES" / "django.po"


def test_every_template_text_is_marked_for_translation():
    findings = check.untranslated_template_text()
    assert not findings, "\n".join(map(str, findings))


def test_the_scanner_sees_unmarked_text_and_accepts_marked_text(tmp_path):
    (tmp_path / "page.html").write_text(
        '{% load i18n %}<h1>Clients</h1><p title="Sort by flag">{% translate "Saved" %}</p>'
        "{% blocktranslate %}{{ n }} clients{% endblocktranslate %}<code>slmgr /dlv</code>"
        '<button aria-label="{% translate "Close" %}">KMS</button>{# Note #}'
    )
    (tmp_path / "button.html").write_text(
        "{% block main_class %}container py-4{% endblock %}"
        '<{% if href %}a href="{{ href }}"{% else %}button{% endif %} class="btn">'
        "{% slot %}{% endslot %}</{% if href %}a{% else %}button{% endif %}>"
    )
    (tmp_path / "subject.txt").write_text("{% load i18n %}Pool {{ name }} is low")
    found = {(Path(f.path).name, f.text) for f in check.untranslated_template_text(tmp_path)}
    assert found == {
        ("page.html", "Clients"),
        ("page.html", "Sort by flag"),
        ("subject.txt", "…Pool … is low"),
    }


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_catalogue_has_every_marked_message_translated(code, tmp_path):
    """makemessages over the tree (as `make messages` runs it) adds nothing untranslated, and no
    message is fuzzy. The catalogue is restored afterwards, byte for byte."""
    kept = tmp_path / "django.po"
    shutil.copyfile(catalogue(code), kept)
    try:
        call_command(
            "makemessages",
            locale=[code],
            no_obsolete=True,
            ignore_patterns=check.IGNORED_BY_MESSAGES,
            verbosity=0,
        )
        problems = check.catalogue_problems(code)
        current = {e.msgid for e in polib.pofile(str(catalogue(code)))}
    finally:
        shutil.copyfile(kept, catalogue(code))
    assert not problems, "\n".join(problems)
    committed = {e.msgid for e in polib.pofile(str(kept))}
    assert current - committed == set(), "run `make messages` and translate the new messages"


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_catalogue_compiles_with_gettexts_checks(code, tmp_path):
    """msgfmt --check: placeholders match between English and Norwegian, plural forms, header."""
    result = subprocess.run(
        [
            "msgfmt",
            "--check",
            "--check-format",
            "-o",
            str(tmp_path / "django.mo"),
            str(catalogue(code)),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "django.mo").stat().st_size > 0
