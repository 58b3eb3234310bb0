"""`{% load audit_tags %}`, then `{% history_link obj %}` on an object page: a link to the audit
log filtered to that object, shown to roles that may read the audit log."""

from __future__ import annotations

from typing import Any

from django import template

from licensing import policy
from licensing.scoping import organisation_of
from licensing.services import audit

register = template.Library()


@register.inclusion_tag("licensing/partials/_history_link.html", takes_context=True)
def history_link(
    context: Any, obj: Any, small: bool = False, organisation: Any = None
) -> dict[str, Any]:
    """`organisation` saves a query per row in lists (else found from the object)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    org = organisation if organisation is not None else organisation_of(obj)
    readable = user is not None and policy.allowed(user, policy.Action.VIEW_AUDIT, org)
    return {
        "url": audit.history_url(org, obj._meta.model_name, obj.pk) if readable else "",
        "small": small,
        # The object's name in the page's language where it has one (`title`), else its name.
        "label": getattr(obj, "title", None) or str(obj),
    }
