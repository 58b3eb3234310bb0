"""The Jinja2 environment (settings.TEMPLATES, engine "jinja2") for the parts of pages drawn many
times per request or on every page: form fields and widgets (licensing/forms/rendering.py), the
rows of the client list and the header (`{% jinja2_include %}` in
licensing/templatetags/jinja2_parts.py). Pages stay Django templates; these parts render several
times faster in Jinja2.

Text is translated with Django's catalogues: `{{ _("...") }}` in a Jinja2 template is the same
call as `{% translate "..." %}`, and `make messages` collects it like any template string (only
when `_("...")` is all the `{{ }}` holds). `url("licensing:home")` is Django's `reverse` of a
name without arguments.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
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
    env.globals["url"] = url
    return env


def url(name: str) -> str:
    """The path of a view without arguments. The header asks for twenty on every page; each is
    worked out once per URL configuration and script prefix."""
    return _reversed(name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


@lru_cache(maxsize=256)
def _reversed(name: str, urlconf: Any, prefix: str) -> str:
    return reverse(name, urlconf=urlconf)
