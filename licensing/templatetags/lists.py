"""Template helpers for keyset lists: `{% load lists %}`, then `{% sort_th page "name" "Label" %}`
for a sortable column header and `{% sort_menu page %}` for the same sorts as a menu on a phone,
where some of those columns are hidden; the pager is templates/licensing/partials/_pager.html. A
table body drawn by the "jinja2" engine: `{% jinja2_include %}` (templatetags/jinja2_parts.py)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("licensing/partials/_sort_th.html")
def sort_th(
    page: Any, key: str, label: str, target: str = "#results", css_class: str = ""
) -> dict[str, Any]:
    """`css_class`: e.g. the breakpoint from which the column shows (`d-none d-md-table-cell`)."""
    return {
        "page": page,
        "url": page.sort_urls.get(key, ""),
        "label": label,
        "active": page.sort_name == key,
        "target": target,
        "css_class": css_class,
    }


@register.inclusion_tag("licensing/partials/_sort_menu.html")
def sort_menu(page: Any, target: str = "#results") -> dict[str, Any]:
    """Every labelled sort of the list, both directions, below the `md` width: the columns a
    phone hides take their sort headers with them."""
    current = next((c for c in page.sort_choices if c.active), None)
    return {"choices": page.sort_choices, "current": current, "target": target}
