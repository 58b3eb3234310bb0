"""`{% load kms_tags %}`: the KMS host state badge."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from licensing.models import HostState

register = template.Library()

BADGE_CLASSES = {
    HostState.PENDING: "text-bg-secondary",
    HostState.HEALTHY: "text-bg-success",
    HostState.BELOW_THRESHOLD: "text-bg-warning",
    HostState.UNREACHABLE: "text-bg-danger",
    HostState.NOT_PUBLISHED: "text-bg-warning",
    HostState.REPORT_OVERDUE: "text-bg-info",
    HostState.RETIRED: "text-bg-light border",
}


@register.simple_tag
def state_badge(state: str) -> str:
    label = HostState(state).label if state in HostState.values else state
    return format_html(
        '<span class="badge {}" data-state="{}">{}</span>',
        BADGE_CLASSES.get(state, "text-bg-secondary"),
        state,
        label,
    )


@register.filter
def get_item(mapping: dict, key: str) -> object:
    return mapping.get(key) if mapping else None


@register.filter
def status_label(word: str | None) -> str:
    """A licence status word of a report ("oob_grace") in the portal's words ("Initial (OOB)
    grace"); an unknown word as it came, None as a dash."""
    from licensing.models import LicenseStatus
    from licensing.parsers.model import STATUS_CODES

    if not word:
        return "—"
    code = STATUS_CODES.get(word)
    return LicenseStatus(code).label if code is not None else word


@register.filter
def every(minutes: int | None) -> str:
    """A poll interval in words: "every 15 minutes", "every 6 hours", "every day"."""
    if not minutes:
        return "—"
    if minutes % 1440 == 0:
        days = minutes // 1440
        if days == 1:
            return _("every day")
        return ngettext("every %(count)s day", "every %(count)s days", days) % {"count": days}
    if minutes % 60 == 0:
        hours = minutes // 60
        if hours == 1:
            return _("every hour")
        return ngettext("every %(count)s hour", "every %(count)s hours", hours) % {"count": hours}
    return ngettext("every %(count)s minute", "every %(count)s minutes", minutes) % {
        "count": minutes
    }
