"""`{% load licences %}{% licence_summary org as licence_summary %}`: the totals of the licence
position for the dashboard card (templates/licensing/licences/_position_card.html), so the
dashboard needs one include line and no change to its view."""

from __future__ import annotations

from typing import Any

from django import template

from licensing.services.licences.position import PositionSummary, summarise

register = template.Library()


@register.simple_tag
def licence_summary(organisation: Any) -> PositionSummary | None:
    return summarise(organisation) if organisation is not None else None
