"""The client list writes its ~100 dates a page with `_ShortDates` (the zone and the format read
once, strftime where it spells the format exactly): the same text as Django's `date_format` in
every language and time zone, and Django's own formatter for any other format."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.utils import timezone, translation
from django.utils.formats import date_format

from licensing.views.fleet import _ShortDates, _strftime_pattern

MOMENTS = [
    datetime(2026, 1, 1, 0, 30, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # the night Europe's clocks go forward
    datetime(2026, 12, 31, 23, 30, tzinfo=UTC),  # the next day (and year) east of UTC
    datetime(2009, 7, 4, 12, 0, tzinfo=UTC),
]


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Oslo", "America/Los_Angeles", "Asia/Kolkata"])
def test_same_text_as_date_format(language: str, zone: str) -> None:
    with translation.override(language), timezone.override(zone):
        short = _ShortDates()
        assert short.pattern is not None, "every shipped language takes the strftime path"
        for moment in MOMENTS:
            local = timezone.localtime(moment)
            assert short(moment) == {
                "iso": local.isoformat(),
                "short": date_format(local, "SHORT_DATE_FORMAT"),
            }
        assert short(None) is None


def test_a_format_strftime_cannot_spell_falls_back_to_django() -> None:
    assert _strftime_pattern("d.m.Y") == "%d.%m.%Y"
    assert _strftime_pattern("Y-m-d") == "%Y-%m-%d"
    assert _strftime_pattern("d%m") == "%d%%%m"
    # Day and month without zeros, month names, escapes: Django's formatter writes them.
    for django_format in ("j.n.Y", "N j, Y", r"d \d\e m"):
        assert _strftime_pattern(django_format) is None
    with translation.override("en-gb"), timezone.override("UTC"):
        short = _ShortDates()
        short.format, short.pattern = "N j, Y", None
        moment = datetime(2026, 9, 5, 12, 0, tzinfo=UTC)
        assert short(moment)["short"] == date_format(moment, "N j, Y") == "Sept. 5, 2026"
