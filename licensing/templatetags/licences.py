"""`{% load licences %}{% licence_summary org breakdown.as_of as licence_summary %}`: the totals
of the licence position for the dashboard card (templates/licensing/licences/_position_card.html),
so the dashboard needs one include line and no change to its view. `as_of`: when the dashboard's
counters are precomputed (a large organisation), the totals are cached alongside them."""

from __future__ import annotations

from typing import Any

from django import template

from licensing.services.licences.position import PositionSummary, cached_summary

register = template.Library()


@register.simple_tag
def licence_summary(organisation: Any, as_of: Any = None) -> PositionSummary | None:
    return cached_summary(organisation, as_of or None) if organisation is not None else None
