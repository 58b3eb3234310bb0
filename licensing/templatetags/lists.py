"""Template helpers for keyset lists: `{% load lists %}`, then `{% sort_th page "name" "Label" %}`
for a sortable column header (see templates/licensing/partials/_pager.html for the pager). A
table body drawn by the "jinja2" engine: `{% jinja2_include %}` (templatetags/jinja2_parts.py)."""

from __future__ import annotations

from typing import Any

from django import template

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
