"""The Jinja2 environment (settings.TEMPLATES, engine "jinja2") for the parts of pages drawn many
times per request: form fields and widgets (licensing/forms/rendering.py) and the rows of the
client list (`{% jinja2_include %}` in licensing/templatetags/lists.py). Pages stay Django
templates; these parts render several times faster in Jinja2.

Text is translated with Django's catalogues: `{{ _("...") }}` in a Jinja2 template is the same
call as `{% translate "..." %}`, and `make messages` collects it like any template string.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from jinja2 import Environment


def environment(**options: Any) -> Environment:
    # Always escaped, as Django templates are (Django's backend asks for it too; never turned off).
    options.pop("autoescape", None)
    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"], **options)
    # Looked up at render time, so the page language of each request applies.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        translation.gettext, translation.ngettext, newstyle=True
    )
    return env
