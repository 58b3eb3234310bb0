"""Geometry of the host page's count chart: an inline SVG drawn on the server (no JavaScript,
no style attributes; sizes and positions are SVG attributes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.formats import date_format


@dataclass
class CountChart:
    width: int
    height: int
    # One polyline "x,y x,y ..." per run of polls that have a count (a gap where none has).
    lines: list[str] = field(default_factory=list)
    points: list[tuple[float, float, int, datetime]] = field(default_factory=list)
    threshold_y: float = 0.0
    threshold: int = 0
    y_max: int = 10
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    plot_left: int = 40
    plot_right: int = 0
    plot_top: int = 10
    plot_bottom: int = 0

    @property
    def empty(self) -> bool:
        return not self.points


def count_chart(
    samples: list[tuple[datetime, int | None]],
    threshold: int,
    *,
    width: int = 720,
    height: int = 200,
) -> CountChart:
    """`samples` are (polled_at, current_count) oldest first; None counts break the line."""
    left, right, top, bottom = 40, width - 10, 10, height - 28
    counts = [c for _, c in samples if c is not None and c >= 0]
    y_max = max([10, threshold * 2, *counts])
    y_max = ((y_max + 4) // 5) * 5
    chart = CountChart(
        width=width,
        height=height,
        threshold=threshold,
        y_max=y_max,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
    )

    def y_of(value: float) -> float:
        return round(bottom - (bottom - top) * value / y_max, 1)

    chart.threshold_y = y_of(threshold)
    chart.y_ticks = [(y_of(v), v) for v in range(0, y_max + 1, max(1, y_max // 5))]
    if not samples:
        return chart
    t0, t1 = samples[0][0], samples[-1][0]
    span = max((t1 - t0).total_seconds(), 1.0)

    def x_of(at: datetime) -> float:
        return round(left + (right - left) * (at - t0).total_seconds() / span, 1)

    run: list[str] = []
    for at, count in samples:
        if count is None or count < 0:
            if run:
                chart.lines.append(" ".join(run))
                run = []
            continue
        x, y = x_of(at), y_of(count)
        run.append(f"{x},{y}")
        chart.points.append((x, y, count, at))
    if run:
        chart.lines.append(" ".join(run))
    same_day = t0.date() == t1.date()

    def label(at: datetime) -> str:  # the day in the page's language ("29 Nov", "29. nov.")
        time = at.strftime("%H:%M")
        return time if same_day else f"{date_format(at, 'MONTH_DAY_FORMAT')} {time}"

    chart.x_labels = [(x_of(t0), label(t0))]
    if t1 != t0:
        chart.x_labels.append((x_of(t1), label(t1)))
    return chart
