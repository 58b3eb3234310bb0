"""`{% load webhook_tags %}`: the webhook deliveries table's words in the page language."""

from __future__ import annotations

from django import template

from licensing.services import webhooks

register = template.Library()


@register.filter
def delivery_error(text: str | None) -> str:
    """A delivery's stored (English) error in the page's language ("HTTP 500" stays as it is)."""
    return webhooks.delivery_error(text) if text else ""
