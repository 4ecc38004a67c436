"""Building blocks of the HTML pages (drift report, health dashboard): escaping, inline assets and SVG charts.

Charts are plain SVG strings with a `viewBox`, styled by the page's stylesheet (classes such as `track`,
`bar`, `grid`, `axis`, `series`), so a page needs no script to draw them and renders the same offline.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.resources import files
from typing import Protocol

from recorder.report.common import clean_text, operation_order

SERIES_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#b07aa1",
    "#edc948",
    "#9c755f",
)
OTHER_COLOR = "#9aa0a6"
MAX_SERIES = len(SERIES_COLORS)  # more operations than this are summed into "other operations"
DAY_BUCKETS_AFTER_HOURS = 14 * 24  # longer windows are charted per day, not per hour


class HasTraffic(Protocol):
    """Anything with an operation name, an exchange count and exchanges per epoch-second hour."""

    @property
    def operation(self) -> str: ...

    @property
    def count(self) -> int: ...

    @property
    def hours(self) -> dict[str, int]: ...


# ---------------------------------------------------------------------------------------------------------
# page pieces


def e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute (and drop characters HTML cannot carry)."""
    return html.escape(clean_text(str(value)), quote=True)


def asset(name: str) -> str:
    """The text of a file shipped next to this module (`report.css`, `report.js`, ...)."""
    return files("recorder.report").joinpath(name).read_text(encoding="utf-8")


def source_hash(text: str) -> str:
    """The CSP source expression that allows exactly this inline style or script: `sha256-…`."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def thousands(value: int) -> str:
    """`1234` -> `1,234`."""
    return f"{value:,}"


def middle_cut(text: str, limit: int) -> str:
    """Shorten `text` to `limit` characters by cutting out its middle: `GET /a/very/long/path` -> `GET /a…path`."""
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep // 2] + "…" + text[len(text) - (keep - keep // 2) :]


def prose(text: str) -> str:
    """Escape a message, showing its `code` spans as <code>: "`id` changed" -> "<code>id</code> changed"."""
    parts = re.split(r"`([^`]+)`", text)
    return "".join(f"<code>{e(part)}</code>" if i % 2 else e(part) for i, part in enumerate(parts))


def swatch(color: str) -> str:
    """A 12px colour square for legends."""
    return (
        '<svg class="swatch" viewBox="0 0 12 12" width="12" height="12" '
        f'aria-hidden="true"><rect width="12" height="12" rx="2" fill="{color}"/></svg>'
    )


# ---------------------------------------------------------------------------------------------------------
# charts


def svg_element(chart_id: str, width: int, height: int, label: str, body: list[str]) -> str:
    """An `<svg class="chart">` of this size (scaled to its container's width) around `body`."""
    return (
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{e(label)}" preserveAspectRatio="xMinYMin meet">'
        + "".join(body)
        + "</svg>"
    )


def empty_chart(chart_id: str, width: int, message: str) -> str:
    """A short chart that only says `message` (so the page keeps its shape and its hooks)."""
    return svg_element(
        chart_id,
        width,
        60,
        message,
        [f'<text class="empty" x="{width / 2:g}" y="34" text-anchor="middle">{e(message)}</text>'],
    )


def nice_step(raw: float) -> int:
    """The smallest 1/2/5 x 10^k integer at least `raw`: 37 -> 50, 4 -> 5, 0.3 -> 1."""
    if raw <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * magnitude >= raw:
            return int(m * magnitude)
    return int(10 * magnitude)


def value_grid(
    y_max: int, y_step: int, y_at: Callable[[float], float], left: float, right: float, unit: str = ""
) -> str:
    """Dashed horizontal grid lines with their values at the left, from 0 to `y_max` every `y_step`."""
    out = ['<g class="grid">']
    tick = 0
    while tick <= y_max:
        y = y_at(tick)
        out.append(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 8}" y="{y:.1f}" text-anchor="end" dominant-baseline="central">'
            f"{thousands(tick)}{unit}</text>"
        )
        tick += y_step
    out.append("</g>")
    return "".join(out)


def time_buckets(operations: Sequence[HasTraffic]) -> tuple[list[int], int]:
    """Every hour (or day, for windows longer than two weeks) from the first to the last one with traffic."""
    hours = sorted({int(h) for o in operations for h in o.hours if h.lstrip("-").isdigit()})
    if not hours:
        return [], 3600
    step = 86400 if (hours[-1] - hours[0]) / 3600 > DAY_BUCKETS_AFTER_HOURS else 3600
    first, last = hours[0] // step * step, hours[-1] // step * step
    return list(range(first, last + step, step)), step


def traffic_unit(operations: Sequence[HasTraffic]) -> str:
    """`exchanges per hour (UTC)` or `exchanges per day (UTC)`, whichever `traffic_lines` draws."""
    _, step = time_buckets(operations)
    return "exchanges per day (UTC)" if step == 86400 else "exchanges per hour (UTC)"


def time_axis(buckets: list[int], step: int, x_at: Callable[[int], float], y0: float) -> str:
    """An x axis of hours or days (UTC) at most 12 labels wide; hour labels carry the date when it changes."""
    per_tick = 1
    options = (1, 2, 3, 4, 6, 12, 24, 48, 72, 168) if step == 3600 else (1, 2, 7, 14, 28, 56, 91)
    for per_tick in options:
        if len(buckets) / per_tick <= 12:
            break
    out = [
        '<g class="axis">',
        f'<line x1="{x_at(0):.1f}" x2="{x_at(len(buckets) - 1):.1f}" y1="{y0}" y2="{y0}"/>',
    ]
    last_day = None
    for i, b in enumerate(buckets):
        if (b // step) % per_tick and len(buckets) != 1:
            continue
        x = x_at(i)
        dt = datetime.fromtimestamp(b, UTC)
        day = dt.strftime("%b %d")
        first_line = dt.strftime("%H:%M") if step == 3600 else day
        second = day if step == 3600 and day != last_day else ""
        last_day = day
        out.append(
            f'<line class="tick-mark" x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y0 + 5}"/>'
            f'<text class="tick" x="{x:.1f}" y="{y0 + 18}" text-anchor="middle">{first_line}'
            + (f'<tspan x="{x:.1f}" dy="14" class="tick-date">{second}</tspan>' if second else "")
            + "</text>"
        )
    out.append("</g>")
    return "".join(out)


def bucket_values(hours: dict[str, int], buckets: list[int], step: int) -> list[int]:
    """Exchanges per bucket of `time_buckets` from exchanges per epoch-second hour (keys that are no number are skipped)."""
    index = {b: i for i, b in enumerate(buckets)}
    values = [0] * len(buckets)
    for h, c in hours.items():
        if h.lstrip("-").isdigit() and int(h) // step * step in index:
            values[index[int(h) // step * step]] += c
    return values


def traffic_series(
    operations: Sequence[HasTraffic], buckets: list[int], step: int
) -> list[tuple[str, str, list[int]]]:
    """(name, colour, value per bucket) for the busiest operations; the rest summed as `N other operations`."""
    busiest = sorted(operations, key=lambda o: (-o.count, operation_order(o.operation)))
    series: list[tuple[str, str, list[int]]] = []
    for n, op in enumerate(busiest):
        values = bucket_values(op.hours, buckets, step)
        if n < MAX_SERIES - 1 or len(busiest) == MAX_SERIES:
            series.append((op.operation, SERIES_COLORS[n], values))
        elif n == MAX_SERIES - 1:
            series.append((f"{len(busiest) - n} other operations", OTHER_COLOR, values))
        else:
            series[-1] = (
                series[-1][0],
                OTHER_COLOR,
                [a + b for a, b in zip(series[-1][2], values, strict=True)],
            )
    return [s for s in series if any(s[2])] or series[:1]


def traffic_lines(
    operations: Sequence[HasTraffic],
    *,
    chart_id: str = "chart-traffic",
    empty: str = "No traffic recorded",
    width: int = 1120,
    height: int = 300,
) -> str:
    """Lines: exchanges per hour (or day, for long windows) for the busiest operations, the rest summed.

    Each line is `path.series[data-operation][data-total]`; a legend `ul#legend-traffic` follows the chart.
    """
    buckets, step = time_buckets(operations)
    if not buckets:
        return empty_chart(chart_id, width, empty)
    series = traffic_series(operations, buckets, step)

    left, right, top, bottom = 56, 20, 14, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(max(v) for _, _, v in series)
    y_step = nice_step(peak / 4) if peak else 1
    y_max = max(y_step * math.ceil(peak / y_step), y_step)

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if len(buckets) == 1 else plot_w * i / (len(buckets) - 1))

    def y_at(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    body = [value_grid(y_max, y_step, y_at, left, width - right)]
    body.append(time_axis(buckets, step, x_at, top + plot_h))
    for name, color, values in series:
        points = [(x_at(i), y_at(v)) for i, v in enumerate(values)]
        line = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
        area = f"{line} L{points[-1][0]:.1f},{y_at(0):.1f} L{points[0][0]:.1f},{y_at(0):.1f} Z"
        body.append(
            f'<g class="series-group" data-operation="{e(name)}">'
            f'<path class="area" d="{area}" fill="{color}"/>'
            f'<path class="series" d="{line}" stroke="{color}" data-operation="{e(name)}" '
            f'data-total="{sum(values)}"><title>{e(name)}: {thousands(sum(values))} exchanges</title></path>'
        )
        if len(buckets) <= 48:
            for (x, y), b, v in zip(points, buckets, values, strict=True):
                when = datetime.fromtimestamp(b, UTC).strftime(
                    "%Y-%m-%d %H:%M" if step == 3600 else "%Y-%m-%d"
                )
                body.append(
                    f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                    f"<title>{e(name)}, {when} UTC: {thousands(v)}</title></circle>"
                )
        body.append("</g>")
    legend = "".join(
        f'<li data-operation="{e(name)}">{swatch(color)}'
        f'<span class="mono">{e(name)}</span> <span class="muted">{thousands(sum(values))}</span></li>'
        for name, color, values in series
    )
    return (
        svg_element(chart_id, width, height, "Traffic per operation over time", body)
        + f'<ul class="legend" id="legend-{chart_id.removeprefix("chart-")}">{legend}</ul>'
    )
