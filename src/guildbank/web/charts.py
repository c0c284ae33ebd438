"""Charts drawn as inline SVG on the server: no chart library, no script, no CDN.

Colours come from CSS classes (the CSP forbids inline styles); the SVG scales to its box.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date
from html import escape

from markupsafe import Markup

__all__ = ["bar_chart", "line_chart", "ratio_chart"]

# Small units on purpose: the SVG scales to its box, and on a 390 px phone a 400-unit-wide
# chart keeps its 14 px labels (app.css) above 11 px on screen, where a 640-unit one did not.
WIDTH, HEIGHT = 400, 170
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 24


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    magnitude = int(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _short(value: int) -> str:
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return str(value)


def _label_x(i: int, count: int) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * (i + 0.5) / count


def _ratio(value: float) -> str:
    return f"{value:.2f}"


def _frame(
    title: str,
    top: float,
    bottom: float,
    days: Sequence[date],
    plot: str,
    label: Callable[[float], str] | None = None,
) -> Markup:
    inner_h = HEIGHT - TOP - BOTTOM
    grid = []
    for i in range(5):
        if label is None:
            text = _short(int(bottom) + (int(top) - int(bottom)) * i // 4)
        else:
            text = label(bottom + (top - bottom) * i / 4)
        y = TOP + inner_h - inner_h * i / 4
        grid.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="label" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(text)}</text>"
        )
    step = max(1, len(days) // 5)
    last = len(days) - 1
    labels = [
        # The last day's label ends at the edge instead of being cut in half by it.
        f'<text class="label" x="{_label_x(i, len(days)) if i < last else WIDTH - RIGHT:.1f}" '
        f'y="{HEIGHT - 7}" text-anchor="{"middle" if i < last else "end"}">{d:%b %d}</text>'
        for i, d in enumerate(days)
        if (last - i) % step == 0
    ]
    return Markup(  # noqa: S704 - every text interpolated here is escaped or a number
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title>{''.join(grid)}{plot}{''.join(labels)}</svg>"
    )


def bar_chart(title: str, days: Sequence[date], values: Sequence[int], unit: str) -> Markup:
    """One bar per day; hovering a bar shows the exact value."""
    top = _nice_max(max(values, default=0))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = inner_w / max(1, len(values))
    bars = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        height = inner_h * value / top
        bars.append(
            f'<rect class="bar" x="{LEFT + i * slot + slot * 0.15:.1f}" '
            f'y="{TOP + inner_h - height:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{day:%Y-%m-%d}: {value} {escape(unit)}</title></rect>"
        )
    return _frame(title, top, 0, days, "".join(bars))


def line_chart(title: str, days: Sequence[date], values: Sequence[int], unit: str) -> Markup:
    """A line with a shaded area and a point per day (hover for the exact value)."""
    top = _nice_max(max(values, default=0))
    bottom = 0 if min(values, default=0) >= 0 else -_nice_max(-min(values))
    return _line(title, days, values, unit, top, bottom, None, str)


def ratio_chart(
    title: str, days: Sequence[date], values: Sequence[float], unit: str, top: float | None = None
) -> Markup:
    """A line of ratios (a Gini coefficient, a velocity): axis and hovers with two
    decimals; ``top`` fixes the axis (1 for a coefficient), else it fits the values."""
    if top is None:
        highest = max(values, default=0.0)
        top = _nice_max(math.ceil(highest * 100)) / 100 if highest > 0 else 1.0
    return _line(title, days, values, unit, top, 0.0, _ratio, _ratio)


def _line(
    title: str,
    days: Sequence[date],
    values: Sequence[float],
    unit: str,
    top: float,
    bottom: float,
    label: Callable[[float], str] | None,
    shown: Callable[[float], str],
) -> Markup:
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (top - bottom) or 1

    def xy(i: int, value: float) -> tuple[float, float]:
        x = LEFT + inner_w * (i + 0.5) / max(1, len(values))
        return x, TOP + inner_h - inner_h * (value - bottom) / span

    points = [xy(i, v) for i, v in enumerate(values)]
    if not points:
        return _frame(title, top, bottom, days, "", label)
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    base = TOP + inner_h
    area = f"{points[0][0]:.1f},{base} {line} {points[-1][0]:.1f},{base}"
    dots = "".join(
        f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3">'
        f"<title>{day:%Y-%m-%d}: {escape(shown(value))} {escape(unit)}</title></circle>"
        for (x, y), day, value in zip(points, days, values, strict=True)
    )
    plot = f'<polygon class="area" points="{area}"/><polyline class="line" points="{line}"/>{dots}'
    return _frame(title, top, bottom, days, plot, label)
