"""`{% load kms_tags %}`: the KMS host state badge."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

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
