"""The browser view of a report: one self-contained HTML page with a summary, charts and details.

Everything is inline: the stylesheet and a small script (report.css, report.js next to this module) and the
charts, drawn as SVG (with the pieces in svg.py), so the page renders the same offline, in CI artifacts and in mail. A
Content-Security-Policy allows no network at all and only the page's own style and script (by hash), so
even a finding that slipped past escaping could not load or run anything.

Stable hooks for tests and scripts: `#verdict[data-verdict]`, `#count-breaking[data-count]` (and `-warning`,
`-info`, `-exchanges`, `-operations`), `svg#chart-severity`, `svg#chart-operations`, `svg#chart-traffic`,
`svg#chart-fields` (bars are `rect.bar[data-count]`, traffic lines `path.series[data-total]`), and one
`details.operation[data-operation]` per operation with `tr.finding[data-severity]` rows.
"""

from __future__ import annotations

import re

from recorder.model import SEVERITY_RANK, FieldPresence, Finding, OperationTraffic, Report
from recorder.report.common import (
    SEVERITIES,
    counts_phrase,
    fail_on_phrase,
    findings_by_operation,
    is_failing,
    operation_order,
    operations_of,
    plural,
    severity_phrase,
    show_value,
    verdict,
    window_phrase,
)
from recorder.report.svg import (
    asset,
    e,
    empty_chart,
    middle_cut,
    prose,
    source_hash,
    svg_element,
    thousands,
    traffic_lines,
    traffic_unit,
)
from recorder.version import __version__

MAX_OPERATION_BARS = 20
MAX_FIELD_BARS = 40


def render(report: Report) -> str:
    """The report as one self-contained HTML page."""
    css = asset("report.css")
    js = asset("report.js")
    csp = (
        f"default-src 'none'; style-src '{source_hash(css)}'; script-src '{source_hash(js)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    counts = report.counts()
    title = f"{report.title or 'Report'}: {verdict(report).upper()} ({counts_phrase(counts)})"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en" data-verdict="{verdict(report)}" data-kind="{e(report.kind)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(csp)}">',
        f'<meta name="generator" content="contract-recorder {e(__version__)}">',
        f"<title>{e(title)}</title>",
        f"<style>{css}</style>",
        "</head>",
        "<body>",
        _header(report),
        "<main>",
        _charts(report),
        _details(report),
        _notes(report),
        "</main>",
        _footer(report),
        f"<script>{js}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


# ---------------------------------------------------------------------------------------------------------
# header


def _header(report: Report) -> str:
    counts = report.counts()
    v = verdict(report)
    diff = report.kind == "diff"
    meta = [
        ("Old contract" if diff else "Documented", report.documented or "—", "documented"),
        ("New contract" if diff else "Observed", report.observed or "—", "observed"),
    ]
    if not diff:
        meta.append(("Window", window_phrase(report), "window"))
    meta.append(("Fails on", report.fail_on, "fail-on"))
    if report.generated_at:
        meta.append(("Generated", report.generated_at, "generated"))
    meta_html = "".join(
        f'<div class="meta-item" id="meta-{key}"><dt>{e(label)}</dt><dd>{e(value)}</dd></div>'
        for label, value, key in meta
    )
    exchanges = sum(o.count for o in report.operations)
    cards = [
        (f"count-{s}", counts[s], "warnings" if s == "warning" and counts[s] != 1 else s, f"card sev-{s}")
        for s in SEVERITIES
    ]
    cards.append(("count-operations", len(operations_of(report)), "operations", "card neutral"))
    if report.operations:
        cards.append(("count-exchanges", exchanges, "exchanges", "card neutral"))
    cards_html = "".join(
        f'<div class="{cls}" id="{cid}" data-count="{n}"><span class="num">{thousands(n)}</span>'
        f'<span class="label">{e(label)}</span></div>'
        for cid, n, label, cls in cards
    )
    bump = ""
    if report.version_bump:
        bump = (
            f'<span class="bump bump-{e(report.version_bump)}" id="version-bump">'
            f"suggested version bump: <strong>{e(report.version_bump)}</strong></span>"
        )
    verdict_text = "FAIL" if v == "fail" else "PASS"
    return (
        '<header class="page-header" id="summary">'
        '<div class="title-row">'
        f"<h1>{e(report.title or 'Report')}</h1>"
        f'<span class="verdict verdict-{v}" id="verdict" data-verdict="{v}">{verdict_text}</span>'
        f'<span class="threshold">{e(fail_on_phrase(report))}</span>{bump}'
        "</div>"
        f'<dl class="meta">{meta_html}</dl>'
        f'<div class="cards" id="counts">{cards_html}</div>'
        "</header>"
    )


# ---------------------------------------------------------------------------------------------------------
# charts


def _charts(report: Report) -> str:
    # a diff compares two contracts: it has no traffic to chart unless the caller added some
    observed = report.kind != "diff"
    parts = [
        '<section class="charts" id="charts" aria-label="Charts">',
        '<figure class="chart-card" id="figure-severity"><figcaption>Findings by severity</figcaption>'
        f"{severity_chart(report)}</figure>",
        '<figure class="chart-card span-2" id="figure-operations"><figcaption>Findings by operation</figcaption>'
        f"{operations_chart(report)}</figure>",
    ]
    if observed or report.operations:
        parts.append(
            '<figure class="chart-card span-3" id="figure-traffic">'
            f"<figcaption>Traffic per operation <small>{e(_traffic_unit(report))}</small></figcaption>"
            f"{traffic_chart(report)}</figure>"
        )
    if observed or report.fields:
        parts.append(
            '<figure class="chart-card span-3" id="figure-fields">'
            "<figcaption>Response field presence <small>share of responses that had the field:</small>"
            '<span class="key"><i class="key-full"></i>always</span>'
            '<span class="key"><i class="key-partial"></i>sometimes missing</span></figcaption>'
            f"{fields_chart(report)}</figure>"
        )
    parts.append("</section>")
    return "".join(parts)


def severity_chart(report: Report) -> str:
    """Horizontal bars: findings per severity (always three bars, zero-width when none)."""
    counts = report.counts()
    width, label_w, right = 360, 78, 48
    row, bar_h, top = 40, 24, 12
    span = width - label_w - right
    top_count = max(counts.values()) or 1
    body = []
    for i, s in enumerate(SEVERITIES):
        y = top + i * row
        w = span * counts[s] / top_count
        body.append(
            f'<g class="bar-row" data-severity="{s}">'
            f'<text class="label" x="{label_w - 8}" y="{y + bar_h / 2:g}" text-anchor="end" '
            f'dominant-baseline="central">{s}</text>'
            f'<rect class="track" x="{label_w}" y="{y}" width="{span}" height="{bar_h}" rx="3"/>'
            f'<rect class="bar sev-{s}" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" '
            f'data-severity="{s}" data-count="{counts[s]}"><title>{severity_phrase(counts[s], s)}</title></rect>'
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + bar_h / 2:g}" '
            f'dominant-baseline="central">{thousands(counts[s])}</text></g>'
        )
    return svg_element(
        "chart-severity", width, top * 2 + row * 3 - (row - bar_h), "Findings by severity", body
    )


def operations_chart(report: Report) -> str:
    """Stacked horizontal bars: findings per operation, split by severity; most findings first."""
    groups = findings_by_operation(report)
    width = 740
    if not groups:
        return empty_chart("chart-operations", width, "No findings")
    ranked = sorted(
        groups.items(),
        key=lambda kv: (-_worst(kv[1]), -len(kv[1]), operation_order(kv[0])),
    )
    shown = ranked[:MAX_OPERATION_BARS]
    label_w, right, row, bar_h, top = 300, 48, 28, 18, 8
    span = width - label_w - right
    top_count = max(len(fs) for _, fs in shown)
    ids = _operation_ids(report)
    body = []
    for i, (operation, findings) in enumerate(shown):
        y = top + i * row
        x = float(label_w)
        segments = []
        for s in SEVERITIES:
            n = sum(1 for f in findings if f.severity == s)
            if not n:
                continue
            w = span * n / top_count
            segments.append(
                f'<rect class="bar sev-{s}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                f'data-severity="{s}" data-count="{n}"><title>{e(operation)}: {severity_phrase(n, s)}</title></rect>'
            )
            x += w
        body.append(
            f'<a href="#{ids[operation]}" class="bar-link">'
            f'<g class="bar-row" data-operation="{e(operation)}" data-count="{len(findings)}">'
            f'<text class="label mono" x="{label_w - 8}" y="{y + bar_h / 2:g}" text-anchor="end" '
            f'dominant-baseline="central">{e(middle_cut(operation, 40))}<title>{e(operation)}</title></text>'
            + "".join(segments)
            + f'<text class="value" x="{x + 6:.1f}" y="{y + bar_h / 2:g}" dominant-baseline="central">'
            f"{thousands(len(findings))}</text></g></a>"
        )
    height = top * 2 + row * len(shown) - (row - bar_h)
    if len(ranked) > len(shown):
        height += 22
        body.append(
            f'<text class="more" x="{label_w}" y="{height - 6}">and '
            f"{plural(len(ranked) - len(shown), 'more operation')} with findings</text>"
        )
    return svg_element("chart-operations", width, height, "Findings by operation", body)


def _traffic_unit(report: Report) -> str:
    return traffic_unit(report.operations)


def traffic_chart(report: Report) -> str:
    """Lines: exchanges per hour (or day, for long windows) for the busiest operations, the rest summed."""
    return traffic_lines(report.operations, empty="No traffic recorded in this report")


def fields_chart(report: Report) -> str:
    """Horizontal bars: share of responses that carried each field, grouped by operation and status."""
    width = 1120
    fields = sorted(report.fields, key=lambda p: (operation_order(p.operation), p.status, p.location))
    if not fields:
        return empty_chart("chart-fields", width, "No field statistics in this report")
    shown = fields[:MAX_FIELD_BARS]
    label_x, bar_x, bar_w, row, head, bar_h = 16, 420, 520, 22, 30, 14
    body = []
    y = 0
    group = None
    for p in shown:
        if (p.operation, p.status) != group:
            group = (p.operation, p.status)
            y += head if body else head - 8
            body.append(
                f'<text class="group mono" x="0" y="{y - 8}">{e(p.operation)} '
                f'<tspan class="muted">→ {e(p.status)}</tspan></text>'
            )
        share = p.seen / p.of if p.of else 0.0
        cls = "full" if p.of and p.seen >= p.of else "partial"
        body.append(
            f'<g class="bar-row" data-operation="{e(p.operation)}" data-status="{e(p.status)}" '
            f'data-location="{e(p.location)}">'
            f'<text class="label mono" x="{label_x}" y="{y + bar_h / 2:g}" dominant-baseline="central">'
            f"{e(middle_cut(p.location, 52))}<title>{e(p.location)}</title></text>"
            f'<rect class="track" x="{bar_x}" y="{y}" width="{bar_w}" height="{bar_h}" rx="3"/>'
            f'<rect class="bar presence {cls}" x="{bar_x}" y="{y}" width="{bar_w * share:.1f}" '
            f'height="{bar_h}" rx="3" data-count="{p.seen}" data-of="{p.of}">'
            f"<title>{e(p.location)}: {thousands(p.seen)} of {thousands(p.of)}</title></rect>"
            f'<text class="value" x="{bar_x + bar_w + 10}" y="{y + bar_h / 2:g}" dominant-baseline="central">'
            f'{_percent(p)} <tspan class="muted">{thousands(p.seen)}/{thousands(p.of)}</tspan></text></g>'
        )
        y += row
    height = y + 4
    if len(fields) > len(shown):
        height += 20
        body.append(
            f'<text class="more" x="0" y="{height - 6}">and '
            f"{plural(len(fields) - len(shown), 'more field')} (the JSON report lists all)</text>"
        )
    return svg_element("chart-fields", width, height, "Response field presence", body)


def _percent(p: FieldPresence) -> str:
    if not p.of:
        return "—"
    pct = 100 * p.seen / p.of
    if p.seen < p.of:
        pct = min(pct, 99.9)  # never show 100% for a field that was missing somewhere
    return f"{pct:.1f}".rstrip("0").rstrip(".") + "%"


def _worst(findings: list[Finding]) -> int:
    return max(SEVERITY_RANK[f.severity] for f in findings)


# ---------------------------------------------------------------------------------------------------------
# details


def _operation_ids(report: Report) -> dict[str, str]:
    ids: dict[str, str] = {}
    used: set[str] = set()
    for operation in operations_of(report):
        base = "op-" + (re.sub(r"[^a-z0-9]+", "-", operation.lower()).strip("-") or "contract")
        slug, n = base, 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        ids[operation] = slug
    return ids


def _details(report: Report) -> str:
    groups = findings_by_operation(report)
    traffic = {o.operation: o for o in report.operations}
    ids = _operation_ids(report)
    names = operations_of(report)
    toolbar = (
        '<div class="toolbar" id="toolbar">'
        '<button type="button" data-action="expand">Expand all</button>'
        '<button type="button" data-action="collapse">Collapse all</button>'
        '<span class="filters">Show:'
        + "".join(f'<label><input type="checkbox" data-filter="{s}" checked> {s}</label>' for s in SEVERITIES)
        + "</span></div>"
    )
    items = [
        _operation_details(report, name, groups.get(name, []), traffic.get(name), ids[name]) for name in names
    ]
    if not items:
        items = ['<p class="empty">Nothing to show: no findings and no traffic.</p>']
    return (
        '<section class="operations" id="operations"><div class="section-head"><h2>Operations</h2>'
        + toolbar
        + "</div>"
        + "".join(items)
        + "</section>"
    )


def _operation_details(
    report: Report, operation: str, findings: list[Finding], traffic: OperationTraffic | None, op_id: str
) -> str:
    method, _, path = operation.partition(" ")
    if not path:
        method, path = "", operation or "(whole contract)"
    worst = SEVERITIES[2 - _worst(findings)] if findings else "none"
    chips = (
        "".join(
            f'<span class="chip sev-{s}">{severity_phrase(n, s)}</span>'
            for s in SEVERITIES
            if (n := sum(1 for f in findings if f.severity == s))
        )
        or '<span class="chip ok">no findings</span>'
    )
    volume = (
        f'<span class="volume">{thousands(traffic.count)} exchange{"" if traffic.count == 1 else "s"}</span>'
        if traffic
        else ""
    )
    is_open = " open" if any(is_failing(report, f) for f in findings) else ""
    summary = (
        "<summary>"
        + (f'<span class="method method-{e(method.lower())}">{e(method)}</span>' if method else "")
        + f'<span class="path mono">{e(path)}</span><span class="chips">{chips}</span>{volume}</summary>'
    )
    facts = []
    if traffic:
        statuses = sorted(traffic.statuses.items(), key=lambda kv: (len(kv[0]), kv[0]))
        if statuses:
            facts.append(
                "Statuses: "
                + " ".join(
                    f'<span class="status status-{e(code[:1])}xx">{e(code)} <b>{thousands(n)}</b></span>'
                    for code, n in statuses
                )
            )
        if traffic.consumers:
            facts.append(
                "Consumers: " + ", ".join(f'<span class="mono">{e(c)}</span>' for c in traffic.consumers)
            )
    facts_html = f'<p class="facts">{" · ".join(facts)}</p>' if facts else ""
    if findings:
        columns = _columns(findings)
        head = "".join(f'<th class="{key}">{label}</th>' for key, label in _COLUMNS if key in columns)
        rows = "".join(_finding_row(report, f, columns) for f in findings)
        body = f'<table class="findings"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    else:
        body = '<p class="empty">No findings: the traffic matches the contract.</p>'
    return (
        f'<details class="operation" id="{op_id}" data-operation="{e(operation)}" '
        f'data-findings="{len(findings)}" data-worst="{worst}"{is_open}>{summary}'
        f'<div class="operation-body">{facts_html}{body}</div></details>'
    )


_COLUMNS = (
    ("severity", "Severity"),
    ("finding", "Finding"),
    ("location", "Location"),
    ("expected", "Expected"),
    ("observed", "Observed"),
    ("num", "Count"),
    ("seen", "Seen"),
    ("examples", "Examples"),
)


def _columns(findings: list[Finding]) -> set[str]:
    """The columns worth showing: counts, times and examples only when some finding has them (not in diffs)."""
    columns = {"severity", "finding", "location", "expected", "observed"}
    if any(f.count for f in findings):
        columns.add("num")
    if any(f.first_seen or f.last_seen or f.consumers for f in findings):
        columns.add("seen")
    if any(f.examples for f in findings):
        columns.add("examples")
    return columns


def _value(value: object, cls: str) -> str:
    if value is None:
        return f'<code class="value {cls} none">—</code>'
    return f'<code class="value {cls}">{e(show_value(value, 300))}</code>'


def _finding_row(report: Report, f: Finding, columns: set[str]) -> str:
    seen = []
    if f.first_seen or f.last_seen:
        first, last = f.first_seen or "?", f.last_seen or "?"
        seen.append(e(first) if first == last else f"{e(first)}<br>→ {e(last)}")
    if f.consumers:
        seen.append("by " + ", ".join(f'<span class="mono">{e(c)}</span>' for c in f.consumers))
    examples = "".join(f"<code>recorder show {i}</code>" for i in f.examples[:5])
    if len(f.examples) > 5:
        examples += f'<span class="muted">+{len(f.examples) - 5} more</span>'
    message = f'<div class="message">{prose(f.message)}</div>' if f.message else ""
    cells = {
        "severity": f'<span class="sev sev-{f.severity}">{f.severity}</span>',
        "finding": f'<div class="kind">{e(f.kind)}</div>{message}',
        "location": f'<code class="location">{e(f.location)}</code>' if f.location else "—",
        "expected": _value(f.expected, "expected"),
        "observed": _value(f.observed, "observed"),
        "num": thousands(f.count),
        "seen": "<br>".join(seen) or "—",
        "examples": examples or "—",
    }
    failing = " failing" if is_failing(report, f) else ""
    return (
        f'<tr class="finding{failing}" data-severity="{f.severity}" data-kind="{e(f.kind)}" '
        f'data-count="{f.count}">'
        + "".join(f'<td class="{key}">{cells[key]}</td>' for key, _ in _COLUMNS if key in columns)
        + "</tr>"
    )


def _notes(report: Report) -> str:
    if not report.notes:
        return ""
    items = "".join(f"<li>{e(n)}</li>" for n in report.notes)
    return f'<section class="notes" id="notes"><h2>Notes</h2><ul>{items}</ul></section>'


def _footer(report: Report) -> str:
    when = f" · {e(report.generated_at)}" if report.generated_at else ""
    return (
        f'<footer class="page-footer">contract-recorder {e(__version__)}{when} · '
        "self-contained page: no network access · examples: <code>recorder show ID</code></footer>"
    )
