"""`{% load inventory_tags %}`: a client's stored flag reason in the page's language."""

from __future__ import annotations

from django import template

from licensing.services.inventory.reasons import translated

register = template.Library()


@register.filter
def flag_reason(reason: str) -> str:
    """`{{ client.flag_reason|flag_reason }}` (licensing.services.inventory.reasons)."""
    return translated(reason or "")
