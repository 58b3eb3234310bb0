"""Template helpers for keyset lists: `{% load lists %}`, then `{% sort_th page "name" "Label" %}`
for a sortable column header (see templates/licensing/partials/_pager.html for the pager), and
`{% jinja2_include "name.html" rows=rows %}` for a table body drawn by the "jinja2" engine
(licensing/templating.py) with only the values given."""

from __future__ import annotations

from typing import Any

from django import template
from django.template import engines
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.inclusion_tag("licensing/partials/_sort_th.html")
def sort_th(page: Any, key: str, label: str, target: str = "#results") -> dict[str, Any]:
    return {
        "page": page,
        "url": page.sort_urls.get(key, ""),
        "label": label,
        "active": page.sort_name == key,
        "target": target,
    }


@register.simple_tag(takes_context=True)
def jinja2_include(context: template.Context, template_name: str, **values: Any) -> SafeString:
    """The rows of a big table: a Jinja2 template under templates/jinja2/ sees `values` and the
    request (Jinja2 escapes what it prints, as Django templates do)."""
    found = engines["jinja2"].get_template(template_name)
    return mark_safe(found.render(values, request=context.get("request")))  # noqa: S308
