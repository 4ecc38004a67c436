"""The contract health dashboard: one self-contained HTML page drawn from a `Health` value.

```python
from recorder.report.dashboard import render_dashboard
Path("health.html").write_text(render_dashboard(health), encoding="utf-8")
```
It shows which contracts to harden first (a risk ranking: traffic x findings x consumers), then per operation
traffic over time, status mix, latency p50/p99, consumers and response field coverage, findings per day,
the contract's versions and the elements nobody uses any more. Like the drift report it is fully inline
(report.css plus dashboard.css, SVG charts, no script at all) under a Content-Security-Policy that allows
no network and no script, and the same `Health` always renders to the same string.

Stable hooks for tests and scripts: `#total-exchanges[data-count]` (and `-operations`, `-consumers`,
`-breaking`, `-warning`, `-deprecations`), `table#risk-ranking tr[data-operation][data-rank][data-risk]`,
`svg#chart-traffic path.series[data-total]`, `svg#chart-statuses rect[data-class][data-count]`,
`svg#chart-latency rect[data-p50]`/`rect[data-p99]`, `table#consumers td[data-consumer][data-count]`,
`svg#chart-coverage rect[data-seen][data-total]`, `svg#chart-findings-time rect[data-day][data-count]`,
`table#snapshots tr[data-version]`, `table#deprecations tr[data-element]`, `table#findings tr[data-severity]`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, timedelta

from recorder.model import DeprecationCandidate, Finding, Health, OperationHealth, Snapshot
from recorder.report.common import SEVERITIES, operation_order, plural, severity_phrase, sorted_findings
from recorder.report.svg import (
    asset,
    bucket_values,
    e,
    empty_chart,
    middle_cut,
    nice_step,
    prose,
    source_hash,
    svg_element,
    thousands,
    time_buckets,
    traffic_lines,
    traffic_unit,
    value_grid,
)
from recorder.version import __version__

MAX_OPERATION_ROWS = 25  # per-operation charts and tables show the riskiest operations, then "and N more"
MAX_CONSUMER_COLUMNS = 8  # further consumers are summed into one "others" column
MAX_FINDING_ROWS = 100
MAX_REASONS = 5
IDLE_LONG_DAYS = 30  # deprecation candidates idle this long are highlighted
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "other")
HALF_WIDTH = 600  # viewBox width of the charts in a half-width panel
LABEL_WIDTH = 232  # room for operation labels at the left of horizontal bar charts
LABEL_CHARS = 32
# the per-operation bar charts share one row geometry, so status mix and latency line up side by side
ROW, ROW_BAND, ROW_TOP, AXIS_HEIGHT = 34, 22, 4, 26
NO_FINDINGS = '<span class="chip none">none</span>'


def render_dashboard(health: Health) -> str:
    """The health dashboard as one self-contained HTML page."""
    css = asset("report.css") + "\n" + asset("dashboard.css")
    csp = (
        f"default-src 'none'; style-src '{source_hash(css)}'; script-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    operations = ranked(health.operations)
    title = health.title or "Contract health"
    page_title = f"{title}: {health.provider}" if health.provider else title
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en" data-page="health">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(csp)}">',
        f'<meta name="generator" content="contract-recorder {e(__version__)}">',
        f"<title>{e(page_title)}</title>",
        f"<style>{css}</style>",
        "</head>",
        "<body>",
        _header(health, operations),
        '<main class="panels">',
        _risk_panel(operations),
        '<figure class="panel wide" id="figure-traffic">'
        f"<figcaption>Traffic over time <small>{e(traffic_unit(operations))}</small></figcaption>"
        f"{traffic_lines(operations, empty='No traffic recorded yet')}</figure>",
        _statuses_panel(operations),
        _latency_panel(operations),
        _consumers_panel(operations),
        _coverage_panel(operations),
        _findings_time_panel(health),
        _snapshots_panel(health.snapshots),
        _deprecations_panel(health.deprecations),
        _findings_panel(health.findings),
        "</main>",
        _footer(health),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def ranked(operations: Iterable[OperationHealth]) -> list[OperationHealth]:
    """Operations by risk, highest first; ties by traffic, then (path, method)."""
    return sorted(operations, key=lambda o: (-_sortable(o.risk), -o.count, operation_order(o.operation)))


def _sortable(value: float) -> float:
    return value if value == value else 0.0  # NaN sorts like 0, not wherever the sort happens to put it


def totals(health: Health) -> dict[str, int | float]:
    """The header's numbers: `health.totals` where it has them, otherwise counted from the rest of `health`."""
    ops = health.operations
    out: dict[str, int | float] = {
        "exchanges": sum(o.count for o in ops),
        "operations": len(ops),
        "consumers": len({c for o in ops for c in o.consumers}),
        "deprecations": len(health.deprecations),
    }
    for s in SEVERITIES:
        if health.findings:
            out[s] = sum(1 for f in health.findings if f.severity == s)
        else:
            out[s] = sum(o.findings.get(s, 0) for o in ops)
    out.update(health.totals)
    return out


# ---------------------------------------------------------------------------------------------------------
# small pieces


def _count(value: float) -> str:
    """`1234` -> `1,234`; a float only keeps decimals when it has them."""
    if isinstance(value, int) or float(value).is_integer():
        return thousands(int(value))
    return f"{value:,.1f}"


def _score(risk: float) -> str:
    """A risk score with three significant digits at most: `1234.5` -> `1,235`, `12.34` -> `12.3`."""
    if not math.isfinite(risk):
        return str(risk)
    if abs(risk) >= 100:
        return f"{risk:,.0f}"
    return f"{risk:.1f}" if abs(risk) >= 10 else f"{risk:.2f}"


def _counted(n: int, word: str) -> str:
    """`1 exchange`, `9,840 exchanges`."""
    return f"{thousands(n)} {word}{'' if n == 1 else 's'}"


def _attr_number(value: float) -> str:
    """A number for a data- attribute, without exponent or float noise: `412.5`, `1240`, `0.125`."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _ms(value: float) -> str:
    """`4.25` -> `4.3 ms`, `1250` -> `1,250 ms`."""
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms"


def _days(value: float) -> str:
    """`1` -> `1 day`, `12.5` -> `12.5 days`."""
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} day" if text == "1" else f"{text} days"


def _operation(operation: str) -> str:
    """`GET /users` as a method badge and a monospaced path."""
    method, _, path = operation.partition(" ")
    if not path:
        return f'<span class="path mono">{e(operation or "(whole contract)")}</span>'
    return (
        f'<span class="method method-{e(method.lower())}">{e(method)}</span>'
        f'<span class="path mono">{e(path)}</span>'
    )


def _status_class(status: str) -> str:
    return f"{status[0]}xx" if len(status) == 3 and status.isdigit() and status[0] in "2345" else "other"


def _status_mix(op: OperationHealth) -> dict[str, int]:
    mix = dict.fromkeys(STATUS_CLASSES, 0)
    for status, n in op.statuses.items():
        mix[_status_class(status)] += n
    return mix


def _panel(panel_id: str, title: str, hint: str, body: str, wide: bool = False) -> str:
    cls = "panel wide" if wide else "panel"
    hint_html = f'<p class="hint">{hint}</p>' if hint else ""
    return f'<section class="{cls}" id="{panel_id}"><h2>{e(title)}</h2>{hint_html}{body}</section>'


def _figure(figure_id: str, caption: str, body: str, wide: bool = False) -> str:
    cls = "panel wide" if wide else "panel"
    return f'<figure class="{cls}" id="{figure_id}"><figcaption>{caption}</figcaption>{body}</figure>'


def _keys(*keys: tuple[str, str]) -> str:
    return "".join(f'<span class="key"><i class="key-{cls}"></i>{e(label)}</span>' for cls, label in keys)


def _empty(message: str) -> str:
    return f'<p class="empty">{e(message)}</p>'


def _more(hidden: int, what: str) -> str:
    if hidden <= 0:
        return ""
    return f'<p class="more">and {plural(hidden, "more " + what)}, with lower risk</p>'


def _row_label(operation: str, y: float) -> str:
    return (
        f'<text class="label mono" x="{LABEL_WIDTH - 10}" y="{y:g}" text-anchor="end" '
        f'dominant-baseline="central">{e(middle_cut(operation, LABEL_CHARS))}<title>{e(operation)}</title></text>'
    )


# ---------------------------------------------------------------------------------------------------------
# header and footer


def _header(health: Health, operations: list[OperationHealth]) -> str:
    numbers = totals(health)
    first = min((o.first_seen for o in operations if o.first_seen), default=None)
    last = max((o.last_seen for o in operations if o.last_seen), default=None)
    meta = [
        ("Database", health.database or "—", "database"),
        ("Reference contract", health.reference or "—", "reference"),
        ("Traffic", f"{first or '?'} → {last or '?'}" if first or last else "none recorded", "traffic"),
    ]
    if health.generated_at:
        meta.append(("Generated", health.generated_at, "generated"))
    meta_html = "".join(
        f'<div class="meta-item" id="meta-{key}"><dt>{e(label)}</dt><dd>{e(value)}</dd></div>'
        for label, value, key in meta
    )
    cards = [
        ("exchanges", "exchanges", "neutral"),
        ("operations", "operations", "neutral"),
        ("consumers", "consumers", "neutral"),
        ("breaking", "breaking findings", "sev-breaking"),
        ("warning", "warnings", "sev-warning"),
        ("deprecations", "deprecation candidates", "sev-deprecation"),
    ]
    if numbers.get("dropped"):
        cards.append(("dropped", "exchanges dropped while recording", "sev-warning"))
    cards_html = "".join(
        f'<div class="card {cls}" id="total-{key}" data-count="{_attr_number(numbers.get(key, 0))}">'
        f'<span class="num">{_count(numbers.get(key, 0))}</span><span class="label">{e(label)}</span></div>'
        for key, label, cls in cards
    )
    title = health.title or "Contract health"
    subtitle = f'<span class="subtitle">{e(health.provider)}</span>' if health.provider else ""
    return (
        '<header class="page-header" id="summary">'
        f'<div class="title-row"><h1>{e(title)}</h1>{subtitle}</div>'
        f'<dl class="meta">{meta_html}</dl>'
        f'<div class="cards" id="totals">{cards_html}</div>'
        "</header>"
    )


def _footer(health: Health) -> str:
    when = f" · {e(health.generated_at)}" if health.generated_at else ""
    return (
        f'<footer class="page-footer">contract-recorder {e(__version__)}{when} · '
        "self-contained page: no network access, no scripts</footer>"
    )


# ---------------------------------------------------------------------------------------------------------
# risk ranking


def _risk_panel(operations: list[OperationHealth]) -> str:
    hint = (
        "Risk weighs traffic &times; findings &times; consumers: the top rows are the contracts to harden first. "
        "Sparklines share the time axis of the traffic chart."
    )
    if not operations:
        return _panel("risk", "Risk ranking", hint, _empty("No operations recorded yet."), wide=True)
    shown = operations[:MAX_OPERATION_ROWS]
    buckets, step = time_buckets(operations)
    top_risk = max((o.risk for o in shown if math.isfinite(o.risk)), default=0.0)
    rows = []
    for rank, op in enumerate(shown, 1):
        chips = "".join(
            f'<span class="chip sev-{s}" data-severity="{s}" data-count="{n}">{severity_phrase(n, s)}</span>'
            for s in SEVERITIES
            if (n := op.findings.get(s, 0))
        )
        consumers = sorted(op.consumers, key=lambda c: (-op.consumers[c], c))
        share = op.risk / top_risk if top_risk > 0 and math.isfinite(op.risk) else 0.0
        width = 140 * max(min(share, 1.0), 0.0)
        rows.append(
            f'<tr data-operation="{e(op.operation)}" data-rank="{rank}" data-risk="{_attr_number(op.risk)}" '
            f'data-count="{op.count}" data-consumers="{len(op.consumers)}">'
            f'<td class="rank num">{rank}</td>'
            f'<td class="op">{_operation(op.operation)}</td>'
            f'<td class="num traffic">{thousands(op.count)}{_sparkline(op, buckets, step)}</td>'
            f'<td class="findings"><span class="chips">{chips or NO_FINDINGS}</span></td>'
            f'<td class="num consumers" title="{e(", ".join(consumers))}">{len(op.consumers)}</td>'
            f'<td class="sub last-seen">{e(op.last_seen or "—")}</td>'
            '<td class="risk"><svg class="riskbar" viewBox="0 0 140 12" width="140" height="12" '
            'aria-hidden="true"><rect class="track" width="140" height="12" rx="3"/>'
            f'<rect class="risk" width="{width:.1f}" height="12" rx="3" data-risk="{_attr_number(op.risk)}"/>'
            f"</svg><b>{e(_score(op.risk))}</b></td></tr>"
        )
    table = (
        '<div class="table-wrap"><table class="data" id="risk-ranking"><thead><tr>'
        '<th class="num">#</th><th>Operation</th><th class="num">Traffic</th><th>Findings</th>'
        '<th class="num">Consumers</th><th>Last seen</th><th>Risk</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
    return _panel(
        "risk", "Risk ranking", hint, table + _more(len(operations) - len(shown), "operation"), wide=True
    )


def _sparkline(op: OperationHealth, buckets: list[int], step: int) -> str:
    """A 120x22 line of this operation's traffic over the page's time buckets."""
    if not buckets:
        return ""
    values = bucket_values(op.hours, buckets, step)
    peak = max(values) or 1
    width, height = 120, 22

    def at(i: int, v: int) -> str:
        x = width / 2 if len(values) == 1 else width * i / (len(values) - 1)
        return f"{x:.1f},{height - 1 - (height - 2) * v / peak:.1f}"

    points = " L".join(at(i, v) for i, v in enumerate(values))
    unit = "day" if step == 86400 else "hour"
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="traffic of {e(op.operation)}">'
        f'<path class="area" d="M0,{height} L{points} L{width},{height} Z"/>'
        f'<path class="line" d="M{points}"/>'
        f"<title>{thousands(op.count)} exchanges, at most {thousands(max(values))} per {unit}</title></svg>"
    )


# ---------------------------------------------------------------------------------------------------------
# per-operation charts


def _statuses_panel(operations: list[OperationHealth]) -> str:
    caption = "Status mix " + _keys(*((c, c) for c in STATUS_CLASSES[:4]), ("other", "other"))
    return _figure("figure-statuses", caption, status_chart(operations))


def status_chart(operations: list[OperationHealth]) -> str:
    """100% stacked bars per operation: the share of 2xx/3xx/4xx/5xx responses, and the 4xx/5xx rates."""
    ops = _charted(operations)
    if not any(o.statuses for o in ops):
        return empty_chart("chart-statuses", HALF_WIDTH, "No responses recorded yet")
    right, bar_h = 124, 16
    span = HALF_WIDTH - LABEL_WIDTH - right
    plot_h = _plot_height(len(ops))
    body = [_x_axis([(LABEL_WIDTH + span * k / 4, f"{25 * k}%") for k in range(5)], plot_h)]
    for i, op in enumerate(ops):
        y = ROW_TOP + i * ROW + (ROW_BAND - bar_h) / 2
        mix = _status_mix(op)
        total = sum(mix.values())
        widths = _visible_widths(mix, span)
        x = float(LABEL_WIDTH)
        segments = [
            f'<rect class="track" x="{LABEL_WIDTH}" y="{y:g}" width="{span}" height="{bar_h}" rx="2"/>'
        ]
        for cls in STATUS_CLASSES:
            n = mix[cls]
            if not n:
                continue
            segments.append(
                f'<rect class="bar status-{cls}" x="{x:.1f}" y="{y:g}" width="{widths[cls]:.1f}" '
                f'height="{bar_h}" data-class="{cls}" data-count="{n}"><title>{e(op.operation)}: '
                f"{thousands(n)} {cls} responses ({100 * n / total:.1f}%)</title></rect>"
            )
            x += widths[cls]
        rates = " · ".join(f"{c} {100 * mix[c] / total:.1f}%" for c in ("4xx", "5xx") if mix[c])
        errors = mix["4xx"] + mix["5xx"]
        body.append(
            f'<g class="bar-row" data-operation="{e(op.operation)}" data-total="{total}" data-errors="{errors}">'
            + _row_label(op.operation, y + bar_h / 2)
            + "".join(segments)
            + f'<text class="value small" x="{LABEL_WIDTH + span + 8}" y="{y + bar_h / 2:g}" '
            f'dominant-baseline="central">{rates or ("no errors" if total else "no responses")}</text></g>'
        )
    height = ROW_TOP + plot_h + AXIS_HEIGHT
    return svg_element("chart-statuses", HALF_WIDTH, height, "Status mix per operation", body)


def _charted(operations: list[OperationHealth]) -> list[OperationHealth]:
    """The operations the status and latency charts show, in the same rows side by side."""
    return [o for o in operations if o.count or o.statuses][:MAX_OPERATION_ROWS]


def _plot_height(rows: int) -> int:
    return ROW * rows - (ROW - ROW_BAND)


def _x_axis(ticks: list[tuple[float, str]], plot_h: float) -> str:
    """Vertical grid lines at `ticks` (x, label), labelled under the plot."""
    out = ['<g class="grid">']
    for x, label in ticks:
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{ROW_TOP - 2}" y2="{ROW_TOP + plot_h + 2}"/>'
            f'<text class="tick" x="{x:.1f}" y="{ROW_TOP + plot_h + 16}" text-anchor="middle">{label}</text>'
        )
    out.append("</g>")
    return "".join(out)


def _visible_widths(mix: dict[str, int], span: float, least: float = 2.0) -> dict[str, float]:
    """Segment widths of a 100% bar where every non-zero share is at least `least` wide (taken from the widest)."""
    total = sum(mix.values())
    if not total:
        return dict.fromkeys(mix, 0.0)
    widths = {k: span * n / total for k, n in mix.items()}
    widest = max(widths, key=lambda k: widths[k])
    for k, n in mix.items():
        if n and widths[k] < least and k != widest:
            widths[widest] -= least - widths[k]
            widths[k] = least
    return widths


def _latency_panel(operations: list[OperationHealth]) -> str:
    caption = "Latency " + _keys(("p50", "p50 (median)"), ("p99", "p99"))
    return _figure("figure-latency", caption, latency_chart(operations))


def latency_chart(operations: list[OperationHealth]) -> str:
    """Paired horizontal bars per operation: median and 99th-percentile response time, on one ms scale."""
    ops = _charted(operations)
    timed = [
        v for o in ops for v in (o.latency_p50_ms, o.latency_p99_ms) if v is not None and math.isfinite(v)
    ]
    if not timed:
        return empty_chart("chart-latency", HALF_WIDTH, "No response times recorded yet")
    bar_h, gap, right = 10, 2, 72
    span = HALF_WIDTH - LABEL_WIDTH - right
    peak = max(max(timed), 1.0)
    x_step = nice_step(peak / 4)
    x_max = x_step * math.ceil(peak / x_step)
    plot_h = _plot_height(len(ops))

    def x_at(v: float) -> float:
        return LABEL_WIDTH + span * max(v, 0.0) / x_max

    ticks = range(0, x_max + 1, x_step)
    body = [_x_axis([(x_at(t), thousands(t) + (" ms" if t == x_max else "")) for t in ticks], plot_h)]
    for i, op in enumerate(ops):
        y = ROW_TOP + i * ROW
        bars = []
        for n, (key, value) in enumerate((("p50", op.latency_p50_ms), ("p99", op.latency_p99_ms))):
            by = y + n * (bar_h + gap)
            if value is None or not math.isfinite(value):
                bars.append(
                    f'<text class="value small muted" x="{LABEL_WIDTH + 4}" y="{by + bar_h / 2:g}" '
                    f'dominant-baseline="central">no {key}</text>'
                )
                continue
            w = x_at(value) - LABEL_WIDTH
            bars.append(
                f'<rect class="bar lat-{key}" x="{LABEL_WIDTH}" y="{by}" width="{w:.1f}" height="{bar_h}" '
                f'rx="2" data-{key}="{_attr_number(value)}"><title>{e(op.operation)}: {key} {_ms(value)}</title></rect>'
                f'<text class="value small" x="{LABEL_WIDTH + w + 6:.1f}" y="{by + bar_h / 2:g}" '
                f'dominant-baseline="central">{_ms(value)}</text>'
            )
        body.append(
            f'<g class="bar-row" data-operation="{e(op.operation)}">'
            + _row_label(op.operation, y + bar_h + gap / 2)
            + "".join(bars)
            + "</g>"
        )
    height = ROW_TOP + plot_h + AXIS_HEIGHT
    return svg_element("chart-latency", HALF_WIDTH, height, "Latency p50 and p99 per operation", body)


def _consumers_panel(operations: list[OperationHealth]) -> str:
    hint = "Exchanges per consumer: darker cells carry more of an operation's traffic."
    ops = [o for o in operations if o.consumers]
    if not ops:
        return _panel("consumers-panel", "Consumers", hint, _empty("No consumers identified yet."))
    shown = ops[:MAX_OPERATION_ROWS]
    volume: dict[str, int] = {}
    for op in ops:
        for name, n in op.consumers.items():
            volume[name] = volume.get(name, 0) + n
    names = sorted(volume, key=lambda c: (-volume[c], c))
    columns = names[:MAX_CONSUMER_COLUMNS]
    others = names[MAX_CONSUMER_COLUMNS:]
    labels = [(c, c) for c in columns]
    if others:
        labels.append((f"{len(others)} others", "*"))

    def cells(counts: dict[str, int]) -> list[tuple[str, int]]:
        out = [(c, counts.get(c, 0)) for c in columns]
        if others:
            out.append(("*", sum(counts.get(c, 0) for c in others)))
        return out

    peak = max(n for op in shown for _, n in cells(op.consumers)) or 1
    head = "".join(
        f'<th class="consumer" title="{e(label)}" data-consumer="{e(key)}">{e(middle_cut(label, 18))}</th>'
        for label, key in labels
    )
    rows = []
    for op in shown:
        tds = []
        for key, n in cells(op.consumers):
            level = math.ceil(4 * n / peak) if n else 0
            cls = f"cell heat-{level}" if n else "cell zero"
            tds.append(
                f'<td class="{cls}" data-consumer="{e(key)}" data-count="{n}">{thousands(n) if n else "·"}</td>'
            )
        rows.append(
            f'<tr data-operation="{e(op.operation)}" data-consumers="{len(op.consumers)}">'
            f'<td class="op">{_operation(op.operation)}</td>{"".join(tds)}'
            f'<td class="num">{len(op.consumers)}</td></tr>'
        )
    foot = "".join(f'<td class="num">{thousands(n)}</td>' for _, n in cells(volume))
    table = (
        '<div class="table-wrap"><table class="data heat" id="consumers"><thead><tr><th>Operation</th>'
        f'{head}<th class="num">Consumers</th></tr></thead><tbody>{"".join(rows)}</tbody>'
        f'<tfoot><tr><td>all operations</td>{foot}<td class="num">{len(names)}</td></tr></tfoot>'
        "</table></div>"
    )
    return _panel("consumers-panel", "Consumers", hint, table + _more(len(ops) - len(shown), "operation"))


def _coverage_panel(operations: list[OperationHealth]) -> str:
    caption = "Response field coverage <small>2xx body fields sent every time</small>" + _keys(
        ("full", "every field always sent"), ("partial", "some fields sometimes missing")
    )
    return _figure("figure-coverage", caption, coverage_chart(operations))


def coverage_chart(operations: list[OperationHealth]) -> str:
    """Horizontal bars per operation: fields always present out of all fields ever seen in 2xx bodies."""
    ops = [o for o in operations if o.fields_total][:MAX_OPERATION_ROWS]
    if not ops:
        return empty_chart("chart-coverage", HALF_WIDTH, "No response fields recorded yet")
    bar_h, right = 16, 110
    span = HALF_WIDTH - LABEL_WIDTH - right
    body = []
    for i, op in enumerate(ops):
        y = ROW_TOP + i * ROW + (ROW_BAND - bar_h) // 2
        seen = min(op.fields_seen, op.fields_total)
        share = seen / op.fields_total
        cls = "full" if seen >= op.fields_total else "partial"
        pct = f"{100 * share:.0f}%" if seen >= op.fields_total else f"{min(100 * share, 99):.0f}%"
        body.append(
            f'<g class="bar-row" data-operation="{e(op.operation)}">'
            + _row_label(op.operation, y + bar_h / 2)
            + f'<rect class="track" x="{LABEL_WIDTH}" y="{y}" width="{span}" height="{bar_h}" rx="2"/>'
            f'<rect class="bar presence {cls}" x="{LABEL_WIDTH}" y="{y}" width="{span * share:.1f}" '
            f'height="{bar_h}" rx="2" data-seen="{op.fields_seen}" data-total="{op.fields_total}">'
            f"<title>{e(op.operation)}: {thousands(op.fields_seen)} of {thousands(op.fields_total)} fields "
            "always present</title></rect>"
            f'<text class="value small" x="{LABEL_WIDTH + span + 8}" y="{y + bar_h / 2:g}" '
            f'dominant-baseline="central">{pct} <tspan class="muted">{thousands(op.fields_seen)}/'
            f"{thousands(op.fields_total)} fields</tspan></text></g>"
        )
    height = ROW_TOP * 2 + _plot_height(len(ops))
    return svg_element("chart-coverage", HALF_WIDTH, height, "Response field coverage per operation", body)


# ---------------------------------------------------------------------------------------------------------
# findings over time, versions, deprecations, current findings


def _findings_time_panel(health: Health) -> str:
    caption = "Findings over time <small>per day (UTC)</small>" + _keys(
        ("breaking", "breaking"), ("warning", "warning"), ("info", "info")
    )
    return _figure("figure-findings-time", caption, findings_time_chart(health))


def _days_of(points: list) -> list[str]:
    """Every day from the first to the last point (missing days are gaps), or the points' own days."""
    try:
        first, last = date.fromisoformat(points[0].day), date.fromisoformat(points[-1].day)
    except ValueError:
        return [p.day for p in points]
    if (last - first).days > 366:
        return [p.day for p in points]
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def findings_time_chart(health: Health) -> str:
    """Stacked vertical bars: findings per day by severity (breaking at the bottom), exchanges under each day."""
    points = sorted(health.findings_over_time, key=lambda p: p.day)
    if not points:
        return empty_chart("chart-findings-time", HALF_WIDTH, "No findings history yet")
    by_day = {p.day: p for p in points}
    days = _days_of(points)
    width, height = HALF_WIDTH, 260
    left, right, top, bottom = 44, 8, 18, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(p.breaking + p.warning + p.info for p in points)
    y_step = nice_step(peak / 4) if peak else 1
    y_max = max(y_step * math.ceil(peak / y_step), y_step)
    slot = plot_w / len(days)
    bar_w = min(slot * 0.62, 44)
    label_every = max(1, math.ceil(len(days) / 10))

    def y_at(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    body = [value_grid(y_max, y_step, y_at, left, width - right)]
    body.append(
        f'<g class="axis"><line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/></g>'
    )
    for i, day in enumerate(days):
        p = by_day.get(day)
        cx = left + slot * (i + 0.5)
        x = cx - bar_w / 2
        total = p.breaking + p.warning + p.info if p else 0
        exchanges = p.exchanges if p else 0
        group = [
            f'<g class="day" data-day="{e(day)}" data-total="{total}" data-exchanges="{exchanges}">'
            f"<title>{e(day)}: {severity_phrase(p.breaking if p else 0, 'breaking')}, "
            f"{severity_phrase(p.warning if p else 0, 'warning')}, {severity_phrase(p.info if p else 0, 'info')}"
            f" in {thousands(exchanges)} exchanges</title>"
        ]
        base = 0
        for s in SEVERITIES:
            n = getattr(p, s) if p else 0
            if not n:
                continue
            y1, y2 = y_at(base + n), y_at(base)
            group.append(
                f'<rect class="bar sev-{s}" x="{x:.1f}" y="{y1:.1f}" width="{bar_w:.1f}" height="{y2 - y1:.1f}" '
                f'data-day="{e(day)}" data-severity="{s}" data-count="{n}"/>'
            )
            base += n
        if p:
            group.append(
                f'<text class="total" x="{cx:.1f}" y="{y_at(total) - 5:.1f}" text-anchor="middle">{total}</text>'
            )
        if i % label_every == 0:
            label = _short_day(day)
            group.append(
                f'<text class="tick" x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{e(label)}</text>'
            )
            if p:
                group.append(
                    f'<text class="tick small" x="{cx:.1f}" y="{top + plot_h + 31}" text-anchor="middle">'
                    f"{_compact(exchanges)} exch.</text>"
                )
        group.append("</g>")
        body.append("".join(group))
    return svg_element("chart-findings-time", width, height, "Findings per day by severity", body)


def _short_day(day: str) -> str:
    try:
        return date.fromisoformat(day).strftime("%b %d")
    except ValueError:
        return day


def _compact(n: int) -> str:
    """`950` -> `950`, `12400` -> `12.4k`, `3200000` -> `3.2M`."""
    for limit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= limit:
            return f"{n / limit:.1f}".removesuffix(".0") + suffix
    return str(n)


def _snapshots_panel(snapshots: tuple[Snapshot, ...]) -> str:
    hint = "Versions of the observed contract, newest first; the bump follows semantic versioning."
    if not snapshots:
        return _panel("versions", "Contract versions", hint, _empty("No snapshots taken yet."))
    rows = []
    for s in sorted(snapshots, key=lambda s: (s.created_at, s.version), reverse=True):
        reasons = "".join(f"<li>{prose(r)}</li>" for r in s.reasons[:MAX_REASONS])
        if len(s.reasons) > MAX_REASONS:
            reasons += f'<li class="sub">+{len(s.reasons) - MAX_REASONS} more</li>'
        changes = f'<ul class="reasons">{reasons}</ul>' if reasons else "—"
        rows.append(
            f'<tr data-version="{e(s.version)}" data-bump="{e(s.bump)}" data-operations="{s.operations}" '
            f'data-exchanges="{s.exchanges}">'
            f'<td class="top"><span class="mono">{e(s.version)}</span> '
            f'<span class="bump-chip bump-{e(s.bump)}">{e(s.bump)}</span>'
            f'<div class="sub">{_counted(s.operations, "operation")} · {_counted(s.exchanges, "exchange")}</div></td>'
            f'<td class="top sub nowrap">{e(s.created_at)}</td>'
            f'<td class="top">{changes}</td></tr>'
        )
    table = (
        '<div class="table-wrap"><table class="data" id="snapshots"><thead><tr><th>Version</th>'
        f"<th>Created</th><th>Changes</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
    return _panel("versions", "Contract versions", hint, table)


def _deprecations_panel(candidates: tuple[DeprecationCandidate, ...]) -> str:
    hint = (
        "Elements of the contract nobody has used for a while: candidates for deprecation, "
        "longest idle first. Ask their last consumers before removing them."
    )
    if not candidates:
        return _panel(
            "deprecation-candidates",
            "Deprecation candidates",
            hint,
            _empty("No deprecation candidates."),
            True,
        )
    order = sorted(
        candidates, key=lambda c: (-c.idle_days, operation_order(c.operation), c.location, c.element)
    )
    rows = []
    for c in order:
        idle = ' class="num idle-long"' if c.idle_days >= IDLE_LONG_DAYS else ' class="num"'
        consumers = ", ".join(f'<span class="mono">{e(name)}</span>' for name in c.last_consumers) or "—"
        rows.append(
            f'<tr data-element="{e(c.element)}" data-operation="{e(c.operation)}" '
            f'data-location="{e(c.location)}" data-idle-days="{_attr_number(c.idle_days)}">'
            f'<td><span class="element">{e(c.element)}</span></td>'
            f'<td class="op">{_operation(c.operation)}</td>'
            f"<td>{f'<code>{e(c.location)}</code>' if c.location else '—'}</td>"
            f'<td class="sub">{e(c.last_seen or "never")}</td>'
            f"<td{idle}>{_days(c.idle_days)}</td>"
            f"<td>{consumers}</td></tr>"
        )
    table = (
        '<div class="table-wrap"><table class="data" id="deprecations"><thead><tr><th>Element</th>'
        '<th>Operation</th><th>Location</th><th>Last seen</th><th class="num">Idle</th>'
        f"<th>Last consumers</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
    return _panel("deprecation-candidates", "Deprecation candidates", hint, table, wide=True)


def _findings_panel(findings: tuple[Finding, ...]) -> str:
    hint = "The recorded traffic against the reference contract, breaking first."
    if not findings:
        return _panel(
            "current-findings", "Current findings", hint, _empty("No findings: traffic matches."), True
        )
    ordered = sorted_findings(findings)
    shown = ordered[:MAX_FINDING_ROWS]
    rows = []
    for f in shown:
        consumers = ", ".join(f'<span class="mono">{e(c)}</span>' for c in f.consumers) or "—"
        message = f'<div class="sub">{prose(f.message)}</div>' if f.message else ""
        rows.append(
            f'<tr data-severity="{f.severity}" data-operation="{e(f.operation)}" data-kind="{e(f.kind)}">'
            f'<td class="top"><span class="sev sev-{f.severity}">{f.severity}</span></td>'
            f'<td class="top op">{_operation(f.operation)}</td>'
            f'<td class="top"><b>{e(f.kind)}</b>{message}</td>'
            f'<td class="top">{f"<code>{e(f.location)}</code>" if f.location else "—"}</td>'
            f'<td class="top num">{thousands(f.count)}</td>'
            f'<td class="top sub">{e(f.last_seen or "—")}</td>'
            f'<td class="top">{consumers}</td></tr>'
        )
    more = ""
    if len(ordered) > len(shown):
        more = f'<p class="more">and {plural(len(ordered) - len(shown), "more finding")} (the JSON report lists all)</p>'
    table = (
        '<div class="table-wrap"><table class="data" id="findings"><thead><tr><th>Severity</th>'
        '<th>Operation</th><th>Finding</th><th>Location</th><th class="num">Count</th><th>Last seen</th>'
        f"<th>Consumers</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
    return _panel("current-findings", "Current findings", hint, table + more, wide=True)
