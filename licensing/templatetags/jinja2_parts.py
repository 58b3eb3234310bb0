"""`{% load jinja2_parts %}`, then `{% jinja2_include "name.html" rows=rows %}`: a part of a page
drawn by the "jinja2" engine (licensing/templating.py) with only the values given. Used where
Django's template engine is too slow for what is drawn: the header of every page
(`_header.html`) and the client list's rows (`_client_rows.html`)."""

from __future__ import annotations

from typing import Any

from django import template
from django.template import engines
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def jinja2_include(context: template.Context, template_name: str, **values: Any) -> SafeString:
    """A Jinja2 template under templates/jinja2/ sees `values`, the request and the CSRF input
    (Jinja2 escapes what it prints, as Django templates do)."""
    found = engines["jinja2"].get_template(template_name)
    return mark_safe(found.render(values, request=context.get("request")))  # noqa: S308
