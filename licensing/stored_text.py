"""Texts the portal stores in English and shows in the reader's language.

Some sentences are written into rows when something happens (a KMS host's state reason, the
error of an unreadable status report): the rows, the API, the CSV exports and the audit log keep
them in English. A module that writes such a sentence declares its template once, marked with
`gettext_noop` and with named placeholders (`"Current count %(count)s ..."`), and stores
`template % values`. `translate(text, templates)` finds the template a stored text was made
from, takes the values back out of it and fills them into the translation of the template; a
text made from no template (or cut short) is shown as it was stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from django.utils.translation import gettext

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@lru_cache(maxsize=256)
def _pattern(template: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(template)
    regex = "".join(
        re.escape(part.replace("%%", "%")) if i % 2 == 0 else f"(?P<{part}>.+?)"
        for i, part in enumerate(parts)
    )
    return re.compile(regex + r"\Z", re.DOTALL)


def translate(text: str, templates: Iterable[str]) -> str:
    """`text` in the active language when it was made from one of `templates`."""
    for template in templates:
        match = _pattern(template).match(text)
        if match:
            return gettext(template) % match.groupdict()
    return text


def translate_lines(text: str, templates: Iterable[str]) -> str:
    """The same for a text of several stored sentences, one a line."""
    templates = tuple(templates)
    return "\n".join(translate(line, templates) for line in text.split("\n"))
