"""The health dashboard: `render_dashboard` over hand-built `Health` values, statically and in Chromium."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from test_reports import chart, parse_html, run_chromium

from recorder.model import DeprecationCandidate, Finding, FindingsPoint, Health, OperationHealth, Snapshot
from recorder.report.dashboard import ranked, render_dashboard
from recorder.report.svg import source_hash

DAY_START = 1714521600  # 2024-05-01T00:00:00Z
XSS = "<script>alert(1)</script>"
DAILY = [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 10, 10, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1]  # busier in the afternoon

# ---------------------------------------------------------------------------------------------------------
# fixtures: small, named Health values


def two_days(per_hour: int, phase: int = 0) -> dict[str, int]:
    """48 hourly buckets (May 1-2, 2024) with a daily rhythm; the second day a little busier."""
    return {
        str(DAY_START + 3600 * h): max(per_hour * DAILY[(h + phase) % 24] * (10 + h // 24) // 100, 1)
        for h in range(48)
    }


def operation(
    name: str,
    per_hour: int,
    *,
    errors: dict[str, int],
    consumers: dict[str, float],
    p50: float | None,
    p99: float | None,
    fields: tuple[int, int],
    findings: dict[str, int],
    risk: float,
    phase: int = 0,
) -> OperationHealth:
    """An operation whose statuses and consumers add up to its traffic (2xx takes what errors leave)."""
    hours = two_days(per_hour, phase)
    count = sum(hours.values())
    statuses = {"200": count - sum(errors.values()), **errors}
    names = sorted(consumers)
    split = {c: int(count * consumers[c]) for c in names[:-1]}
    if names:
        split[names[-1]] = count - sum(split.values())
    return OperationHealth(
        operation=name,
        count=count,
        hours=hours,
        statuses=statuses,
        latency_p50_ms=p50,
        latency_p99_ms=p99,
        consumers=split,
        fields_seen=fields[0],
        fields_total=fields[1],
        findings=findings,
        risk=risk,
        first_seen="2024-05-01T00:00:00Z",
        last_seen="2024-05-02T23:00:00Z",
    )


def shop_operations() -> tuple[OperationHealth, ...]:
    """Six operations of a shop API, deliberately not in risk order."""
    return (
        operation(
            "GET /orders/{orderId}",
            60,
            errors={"404": 31, "500": 4},
            consumers={"web": 0.5, "mobile": 0.5},
            p50=38.0,
            p99=412.5,
            fields=(11, 14),
            findings={"warning": 2, "info": 1},
            risk=2.75,
            phase=2,
        ),
        operation(
            "GET /health",
            12,
            errors={},
            consumers={},
            p50=1.2,
            p99=4.8,
            fields=(2, 2),
            findings={},
            risk=0.0,
        ),
        operation(
            "GET /users/{userId}",
            120,
            errors={"404": 52, "503": 9},
            consumers={"web": 0.6, "mobile": 0.3, "billing": 0.1},
            p50=24.0,
            p99=310.0,
            fields=(17, 19),
            findings={"breaking": 2, "warning": 1},
            risk=84.2,
        ),
        operation(
            "POST /orders",
            25,
            errors={"201": 0, "400": 18, "409": 3, "500": 2},
            consumers={"web": 0.7, "mobile": 0.3},
            p50=95.0,
            p99=1240.0,
            fields=(6, 6),
            findings={"breaking": 1},
            risk=31.5,
            phase=5,
        ),
        operation(
            "GET /users",
            40,
            errors={"302": 12, "401": 6},
            consumers={"web": 0.8, "billing": 0.2},
            p50=51.0,
            p99=690.0,
            fields=(8, 10),
            findings={"warning": 1},
            risk=6.4,
            phase=1,
        ),
        operation(
            "DELETE /users/{userId}",
            2,
            errors={"404": 1},
            consumers={"web": 1.0},
            p50=18.0,
            p99=None,
            fields=(0, 0),
            findings={},
            risk=0.4,
        ),
    )


def shop_findings() -> tuple[Finding, ...]:
    return (
        Finding(
            kind="type-changed",
            severity="breaking",
            operation="GET /users/{userId}",
            location="/id",
            message="`id` is documented as an integer but was sent as a string.",
            count=212,
            last_seen="2024-05-02T18:40:00Z",
            consumers=("web", "mobile"),
        ),
        Finding(
            kind="undocumented-status",
            severity="breaking",
            operation="GET /users/{userId}",
            location="status",
            message="Status 503 is not documented.",
            count=9,
            last_seen="2024-05-02T11:02:00Z",
            consumers=("web",),
        ),
        Finding(
            kind="required-field-missing",
            severity="breaking",
            operation="POST /orders",
            location="/total",
            message="Required field `total` was missing from 3 responses.",
            count=3,
            last_seen="2024-05-02T16:00:00Z",
        ),
        Finding(
            kind="undocumented-field",
            severity="warning",
            operation="GET /users/{userId}",
            location="/nickname",
            count=1800,
        ),
        Finding(
            kind="undocumented-status",
            severity="warning",
            operation="GET /orders/{orderId}",
            location="status",
            message="Status 404 is not documented.",
            count=31,
        ),
        Finding(
            kind="undocumented-header",
            severity="warning",
            operation="GET /orders/{orderId}",
            location="header: X-Request-Id",
            count=820,
        ),
        Finding(
            kind="undocumented-parameter",
            severity="warning",
            operation="GET /users",
            location="query: cursor",
            count=77,
            consumers=("billing",),
        ),
        Finding(
            kind="enum-values-unseen",
            severity="info",
            operation="GET /orders/{orderId}",
            location="/status",
            message="Only 2 of 4 documented values were seen.",
        ),
    )


def shop_snapshots() -> tuple[Snapshot, ...]:
    return (
        Snapshot(
            version="1.0.0", created_at="2024-04-02T09:00:00Z", bump="initial", operations=4, exchanges=812
        ),
        Snapshot(
            version="2.0.0",
            created_at="2024-04-29T17:30:00Z",
            bump="major",
            reasons=(
                "removed field `/legacyName` from `GET /users/{userId}` 200",
                "`/id` changed type: integer → string",
            ),
            operations=6,
            exchanges=9840,
        ),
        Snapshot(
            version="1.1.0",
            created_at="2024-04-15T12:00:00Z",
            bump="minor",
            reasons=("added operation `GET /orders/{orderId}`",),
            operations=5,
            exchanges=4120,
        ),
    )


def shop_deprecations() -> tuple[DeprecationCandidate, ...]:
    return (
        DeprecationCandidate(
            element="parameter",
            operation="GET /users",
            location="query: page",
            last_seen="2024-04-24T08:15:00Z",
            idle_days=8.6,
            last_consumers=("web", "billing"),
        ),
        DeprecationCandidate(
            element="field",
            operation="GET /users/{userId}",
            location="/legacyName",
            last_seen="2024-03-21T10:00:00Z",
            idle_days=42.0,
            last_consumers=("mobile",),
        ),
    )


def shop_history() -> tuple[FindingsPoint, ...]:
    """Five days of findings: the 2.0.0 rollout on Apr 29 brought breaking findings."""
    return (
        FindingsPoint(day="2024-04-28", warning=2, info=1, exchanges=3100),
        FindingsPoint(day="2024-04-29", breaking=1, warning=3, info=1, exchanges=3350),
        FindingsPoint(day="2024-04-30", breaking=3, warning=4, info=1, exchanges=3420),
        FindingsPoint(day="2024-05-01", breaking=3, warning=4, info=1, exchanges=2990),
        FindingsPoint(day="2024-05-02", breaking=2, warning=4, info=1, exchanges=3280),
    )


def realistic_health(**changes) -> Health:
    ops = shop_operations()
    values = dict(
        title="Contract health",
        generated_at="2024-05-03T06:00:00Z",
        database="traffic.db",
        provider="shop-api",
        reference="snapshot 2.0.0",
        totals={
            "exchanges": sum(o.count for o in ops),
            "operations": len(ops),
            "consumers": 3,
            "dropped": 0,
        },
        operations=ranked(ops),
        snapshots=shop_snapshots(),
        deprecations=shop_deprecations(),
        findings_over_time=shop_history(),
        findings=shop_findings(),
    )
    values.update(changes)
    return Health(**values)


def empty_health() -> Health:
    return Health(database="empty.db", generated_at="2024-05-03T06:00:00Z")


def hostile_health() -> Health:
    """User data everywhere, shaped to break out of text, attributes, SVG and CSS."""
    evil_op = f"GET /search/{XSS}"
    quote = '"><img src=x onerror=alert(2)>'
    return Health(
        title=f"Health {XSS}",
        provider=f"shop{quote}",
        database="/tmp/</style><script>alert(3)</script>.db",
        reference="https://evil.example/openapi.yaml",
        generated_at="2024-05-03T06:00:00Z",
        operations=(
            OperationHealth(
                operation=evil_op,
                count=5,
                hours={str(DAY_START): 3, str(DAY_START + 3600): 2},
                statuses={"200": 4, f"5{XSS}": 1},
                latency_p50_ms=3.0,
                latency_p99_ms=9.0,
                consumers={f"{quote}\x00": 3, "</td></tr></table>": 2},
                fields_seen=1,
                fields_total=2,
                findings={"breaking": 1},
                risk=1.0,
                last_seen=f"{XSS}",
            ),
        ),
        snapshots=(Snapshot(version=f"1.0{XSS}", created_at=quote, reasons=(f"`{XSS}` and {quote}",)),),
        deprecations=(
            DeprecationCandidate(
                element="field",
                operation=evil_op,
                location=f"/{quote}",
                last_seen=XSS,
                idle_days=3,
                last_consumers=(XSS, "\x1b[31mred"),
            ),
        ),
        findings_over_time=(FindingsPoint(day=f"2024-05-01{XSS}", breaking=1, exchanges=5),),
        findings=(
            Finding(
                kind=f"kind{XSS}",
                severity="breaking",
                operation=evil_op,
                location=quote,
                message=f"`{XSS}` {XSS}",
                consumers=(quote,),
            ),
        ),
    )


def risk_rows(html: str) -> list[tuple[str, str, str]]:
    """(rank, operation, risk) of the risk ranking table, top to bottom."""
    table = re.search(r'<table class="data" id="risk-ranking">.*?</table>', html, re.S).group(0)
    return re.findall(r'<tr data-operation="([^"]+)" data-rank="(\d+)" data-risk="([^"]+)"', table)


def table(html: str, table_id: str) -> str:
    m = re.search(rf'<table class="[^"]*" id="{table_id}">.*?</table>', html, re.S)
    assert m, f"no table#{table_id}"
    return m.group(0)


# ---------------------------------------------------------------------------------------------------------
# static checks


def test_risk_ranking_puts_the_riskiest_contract_first():
    out = render_dashboard(realistic_health())
    assert risk_rows(out) == [
        ("GET /users/{userId}", "1", "84.2"),
        ("POST /orders", "2", "31.5"),
        ("GET /users", "3", "6.4"),
        ("GET /orders/{orderId}", "4", "2.75"),
        ("DELETE /users/{userId}", "5", "0.4"),
        ("GET /health", "6", "0"),
    ]
    ranking = table(out, "risk-ranking")
    shown = re.findall(r"</svg><b>([^<]+)</b></td></tr>", ranking)
    assert shown == ["84.2", "31.5", "6.40", "2.75", "0.40", "0.00"]  # three significant digits at most
    top = re.search(r'<tr data-operation="GET /users/\{userId\}".*?</tr>', ranking).group(0)
    users = next(o for o in shop_operations() if o.operation == "GET /users/{userId}")
    assert f'data-count="{users.count}" data-consumers="3"' in top
    assert '<span class="chip sev-breaking" data-severity="breaking" data-count="2">2 breaking</span>' in top
    assert '<span class="chip sev-warning" data-severity="warning" data-count="1">1 warning</span>' in top
    assert f'>{users.count:,}<svg class="spark"' in top
    assert 'width="140.0" height="12" rx="3" data-risk="84.2"' in top  # the riskiest fills its bar
    health_row = re.search(r'<tr data-operation="GET /health".*?</tr>', ranking).group(0)
    assert '<span class="chip none">none</span>' in health_row and 'width="0.0"' in health_row


def test_header_shows_where_the_numbers_come_from_and_the_totals():
    health = realistic_health()
    out = render_dashboard(health)
    assert "<title>Contract health: shop-api</title>" in out
    assert '<h1>Contract health</h1><span class="subtitle">shop-api</span>' in out
    for key, value in [
        ("database", "traffic.db"),
        ("reference", "snapshot 2.0.0"),
        ("traffic", "2024-05-01T00:00:00Z → 2024-05-02T23:00:00Z"),
        ("generated", "2024-05-03T06:00:00Z"),
    ]:
        assert f'<div class="meta-item" id="meta-{key}"><dt>' in out
        assert re.search(rf'id="meta-{key}"><dt>[^<]+</dt><dd>{re.escape(value)}</dd>', out), key
    exchanges = sum(o.count for o in shop_operations())
    cards = dict(re.findall(r'id="total-(\w+)" data-count="([\d,.]+)"', out))
    assert cards == {
        "exchanges": str(exchanges),
        "operations": "6",
        "consumers": "3",
        "breaking": "3",
        "warning": "4",
        "deprecations": "2",
    }  # no "dropped" card when nothing was dropped
    dropped = render_dashboard(realistic_health(totals={**health.totals, "dropped": 17}))
    assert 'id="total-dropped" data-count="17"' in dropped and "exchanges dropped while recording" in dropped


def test_traffic_chart_has_one_line_per_operation_with_its_total():
    out = render_dashboard(realistic_health())
    svg = chart(out, "chart-traffic")
    series = re.findall(r'<path class="series"[^>]*data-operation="([^"]+)" data-total="(\d+)"', svg)
    assert series == [(o.operation, str(o.count)) for o in sorted(shop_operations(), key=lambda o: -o.count)]
    assert svg.count('class="point"') == 6 * 48
    assert "exchanges per hour (UTC)" in out
    assert ">May 01</tspan>" in svg and ">May 02</tspan>" in svg


def test_status_mix_splits_every_operation_by_status_class():
    out = render_dashboard(realistic_health())
    svg = chart(out, "chart-statuses")
    rows = re.findall(
        r'<g class="bar-row" data-operation="([^"]+)" data-total="(\d+)" data-errors="(\d+)"', svg
    )
    assert [r[0] for r in rows] == [r[0] for r in risk_rows(out)]
    by_op = {o.operation: o for o in shop_operations()}
    assert all(int(total) == by_op[op].count for op, total, _ in rows)
    orders = re.search(r'data-operation="GET /orders/\{orderId\}".*?</g>', svg).group(0)
    segments = re.findall(r'data-class="(\w+)" data-count="(\d+)"', orders)
    count = by_op["GET /orders/{orderId}"].count
    assert segments == [("2xx", str(count - 35)), ("4xx", "31"), ("5xx", "4")]
    assert f">4xx {100 * 31 / count:.1f}% · 5xx {100 * 4 / count:.1f}%<" in orders
    users = re.search(r'data-operation="GET /users".*?</g>', svg).group(0)
    assert re.findall(r'data-class="(\w+)"', users) == ["2xx", "3xx", "4xx"]
    health_row = re.search(r'data-operation="GET /health".*?</g>', svg).group(0)
    assert "no errors" in health_row


def test_latency_chart_shows_p50_and_p99_per_operation():
    out = render_dashboard(realistic_health())
    svg = chart(out, "chart-latency")
    assert re.findall(r'data-p99="([^"]+)"', svg) == ["310", "1240", "690", "412.5", "4.8"]
    assert re.findall(r'data-p50="([^"]+)"', svg) == ["24", "95", "51", "38", "18", "1.2"]
    assert ">1,240 ms<" in svg and ">412 ms<" in svg and ">4.8 ms<" in svg
    assert "no p99" in svg  # DELETE has too few exchanges for a p99
    p99 = {v: float(w) for w, v in re.findall(r'width="([\d.]+)" height="10" rx="2" data-p99="([^"]+)"', svg)}
    assert p99["1240"] > p99["690"] > p99["412.5"] > p99["310"] > p99["4.8"]


def test_consumers_table_counts_exchanges_per_consumer():
    out = render_dashboard(realistic_health())
    consumers = table(out, "consumers")
    assert re.findall(r'<th class="consumer" title="([^"]+)"', consumers) == ["web", "mobile", "billing"]
    users = re.search(r'<tr data-operation="GET /users/\{userId\}".*?</tr>', consumers).group(0)
    op = next(o for o in shop_operations() if o.operation == "GET /users/{userId}")
    cells = dict(re.findall(r'data-consumer="(\w+)" data-count="(\d+)"', users))
    assert {k: int(v) for k, v in cells.items()} == op.consumers
    assert "heat-4" in users  # the busiest cell of the table
    assert 'data-operation="GET /health"' not in consumers  # nobody identified
    foot = re.search(r"<tfoot>.*?</tfoot>", consumers).group(0)
    web = sum(o.consumers.get("web", 0) for o in shop_operations())
    assert f'<td class="num">{web:,}</td>' in foot and '<td class="num">3</td></tr>' in foot


def test_coverage_chart_shows_fields_always_present():
    out = render_dashboard(realistic_health())
    svg = chart(out, "chart-coverage")
    bars = re.findall(r'data-seen="(\d+)" data-total="(\d+)"', svg)
    assert bars == [("17", "19"), ("6", "6"), ("8", "10"), ("11", "14"), ("2", "2")]  # DELETE has no body
    assert "89% <tspan" in svg and "17/19 fields" in svg and "100% <tspan" in svg
    assert svg.count("presence full") == 2 and svg.count("presence partial") == 3


def test_findings_over_time_stacks_severities_per_day():
    out = render_dashboard(realistic_health())
    svg = chart(out, "chart-findings-time")
    days = re.findall(r'<g class="day" data-day="([^"]+)" data-total="(\d+)" data-exchanges="(\d+)"', svg)
    assert days == [
        ("2024-04-28", "3", "3100"),
        ("2024-04-29", "5", "3350"),
        ("2024-04-30", "8", "3420"),
        ("2024-05-01", "8", "2990"),
        ("2024-05-02", "7", "3280"),
    ]
    bars = re.findall(r'data-day="([^"]+)" data-severity="(\w+)" data-count="(\d+)"', svg)
    assert len(bars) == 14  # Apr 28 had no breaking finding: no empty bar for it
    assert bars[:3] == [
        ("2024-04-28", "warning", "2"),
        ("2024-04-28", "info", "1"),
        ("2024-04-29", "breaking", "1"),
    ]
    assert ">Apr 30<" in svg and ">3.4k exch.<" in svg


def test_findings_over_time_leaves_gaps_for_missing_days():
    history = (FindingsPoint(day="2024-05-01", warning=2), FindingsPoint(day="2024-05-04", breaking=1))
    svg = chart(render_dashboard(realistic_health(findings_over_time=history)), "chart-findings-time")
    assert re.findall(r'<g class="day" data-day="([^"]+)" data-total="(\d+)"', svg) == [
        ("2024-05-01", "2"),
        ("2024-05-02", "0"),
        ("2024-05-03", "0"),
        ("2024-05-04", "1"),
    ]
    assert len(re.findall(r"data-count=", svg)) == 2


def test_snapshot_history_is_newest_first_with_its_reasons():
    out = render_dashboard(realistic_health())
    snapshots = table(out, "snapshots")
    assert re.findall(r'<tr data-version="([^"]+)" data-bump="(\w+)"', snapshots) == [
        ("2.0.0", "major"),
        ("1.1.0", "minor"),
        ("1.0.0", "initial"),
    ]
    assert "removed field <code>/legacyName</code> from <code>GET /users/{userId}</code> 200" in snapshots
    newest = re.search(r'<tr data-version="2.0.0".*?</tr>', snapshots).group(0)
    assert 'data-operations="6" data-exchanges="9840"' in newest
    assert '<span class="bump-chip bump-major">major</span>' in newest
    assert "6 operations · 9,840 exchanges" in newest and "2024-04-29T17:30:00Z" in newest


def test_deprecation_candidates_longest_idle_first():
    out = render_dashboard(realistic_health())
    rows = re.findall(r"<tr data-element=.*?</tr>", table(out, "deprecations"))
    assert len(rows) == 2
    assert 'data-element="field" data-operation="GET /users/{userId}" data-location="/legacyName"' in rows[0]
    assert '<td class="num idle-long">42 days</td>' in rows[0]
    assert "2024-03-21T10:00:00Z" in rows[0] and '<span class="mono">mobile</span>' in rows[0]
    assert 'data-element="parameter"' in rows[1] and '<td class="num">8.6 days</td>' in rows[1]
    assert '<span class="mono">web</span>, <span class="mono">billing</span>' in rows[1]


def test_current_findings_breaking_first():
    out = render_dashboard(realistic_health())
    rows = re.findall(
        r'<tr data-severity="(\w+)" data-operation="([^"]+)" data-kind="([^"]+)"', table(out, "findings")
    )
    assert len(rows) == 8
    assert [r[0] for r in rows] == ["breaking"] * 3 + ["warning"] * 4 + ["info"]
    assert rows[0] == ("breaking", "POST /orders", "required-field-missing")  # then by path, method
    assert "<code>id</code> is documented as an integer" in out


def test_page_is_well_formed_self_contained_and_scriptless():
    for health in (realistic_health(), empty_health(), hostile_health()):
        out = render_dashboard(health)
        assert out.startswith("<!DOCTYPE html>")
        parsed = parse_html(out)
        assert parsed.errors == [] and parsed.stack == []
        assert len(parsed.ids) == len(set(parsed.ids))
        for tag, attr, value in parsed.attrs:
            assert attr not in {"src", "href", "action", "srcset", "poster", "data"}, (tag, attr, value)
            assert attr != "style" and not attr.startswith("on"), (
                tag,
                attr,
            )  # the CSP would block them anyway
        assert "<script" not in out and "<link" not in out
        assert not re.search(r"https?://", out.replace("https://evil.example/openapi.yaml", ""))
        assert "@import" not in out and "url(" not in out
        csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', out).group(1)
        assert "default-src &#x27;none&#x27;" in csp and "script-src &#x27;none&#x27;" in csp
        style = re.search(r"<style>(.*?)</style>", out, re.S).group(1)
        assert source_hash(style) in csp


def test_hostile_data_is_escaped_everywhere():
    out = render_dashboard(hostile_health())
    assert "<script" not in out and "<img" not in out and "</table>\x22" not in out
    assert out.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 10
    assert "&lt;/style&gt;&lt;script&gt;alert(3)&lt;/script&gt;.db" in out
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in out
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;" in out
    assert "\x00" not in out and "\x1b" not in out
    assert "https://evil.example/openapi.yaml" in out  # shown as text, never linked
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in out  # code spans of messages and reasons
    assert 'data-class="other" data-count="1"' in chart(out, "chart-statuses")  # "5<script>…" is no status


def test_empty_health_renders_every_section_with_a_message():
    out = render_dashboard(empty_health())
    cards = dict(re.findall(r'id="total-(\w+)" data-count="(\d+)"', out))
    assert cards == dict.fromkeys(
        ["exchanges", "operations", "consumers", "breaking", "warning", "deprecations"], "0"
    )
    for chart_id, message in [
        ("chart-traffic", "No traffic recorded yet"),
        ("chart-statuses", "No responses recorded yet"),
        ("chart-latency", "No response times recorded yet"),
        ("chart-coverage", "No response fields recorded yet"),
        ("chart-findings-time", "No findings history yet"),
    ]:
        assert message in chart(out, chart_id)
    for message in [
        "No operations recorded yet.",
        "No consumers identified yet.",
        "No snapshots taken yet.",
        "No deprecation candidates.",
        "No findings: traffic matches.",
    ]:
        assert f'<p class="empty">{message}</p>' in out
    assert 'id="meta-traffic"><dt>Traffic</dt><dd>none recorded</dd>' in out
    assert "<title>Contract health</title>" in out


def test_output_is_deterministic_whatever_the_input_order():
    health = realistic_health()
    shuffled = realistic_health(
        operations=tuple(
            o.model_copy(
                update={
                    "hours": dict(reversed(o.hours.items())),
                    "statuses": dict(reversed(o.statuses.items())),
                    "consumers": dict(reversed(o.consumers.items())),
                }
            )
            for o in reversed(health.operations)
        ),
        snapshots=tuple(reversed(health.snapshots)),
        deprecations=tuple(reversed(health.deprecations)),
        findings_over_time=tuple(reversed(health.findings_over_time)),
        findings=tuple(reversed(health.findings)),
    )
    assert render_dashboard(health) == render_dashboard(health) == render_dashboard(shuffled)


def test_many_operations_and_consumers_are_capped():
    ops = tuple(
        OperationHealth(
            operation=f"GET /things/{i:02}",
            count=100 + i,
            hours={str(DAY_START): 100 + i},
            statuses={"200": 100 + i},
            latency_p50_ms=10.0,
            latency_p99_ms=20.0 + i,
            consumers={f"client-{c:02}": 10 for c in range(12)},
            fields_seen=3,
            fields_total=4,
            risk=float(i),
        )
        for i in range(40)
    )
    out = render_dashboard(Health(operations=ops))
    assert len(risk_rows(out)) == 25 and risk_rows(out)[0] == ("GET /things/39", "1", "39")
    assert "and 15 more operations, with lower risk" in out
    assert len(re.findall(r"<g class=\"bar-row\"", chart(out, "chart-latency"))) == 25
    heads = re.findall(r'<th class="consumer" title="([^"]+)"', table(out, "consumers"))
    assert heads == [f"client-{c:02}" for c in range(8)] + ["4 others"]
    assert len(re.findall(r'<path class="series"', chart(out, "chart-traffic"))) == 8
    assert "33 other operations" in chart(out, "chart-traffic")


# ---------------------------------------------------------------------------------------------------------
# in a real browser


def png_rows(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the filtered scanlines (filter byte dropped) of a non-interlaced PNG.

    A filtered scanline of a flat background is all zeros (each byte predicts the next), so the share of
    non-zero bytes in a band of rows tells content from blank space without decoding the pixels.
    """
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0
    raw, stride = zlib.decompress(idat), width * (3 if color == 2 else 4) + 1
    return width, height, [raw[y * stride + 1 : (y + 1) * stride] for y in range(height)]


@pytest.mark.slow
def test_dashboard_renders_in_headless_chromium(tmp_path: Path):
    health = realistic_health()
    page = tmp_path / "health.html"
    page.write_text(render_dashboard(health), encoding="utf-8")
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "<script" not in dom
    assert len(re.findall(r'<path class="series"', chart(dom, "chart-traffic"))) == 6
    assert len(re.findall(r"<circle class=\"point\"", chart(dom, "chart-traffic"))) == 6 * 48
    classes = {(o.operation, s[0]) for o in health.operations for s, n in o.statuses.items() if n}
    assert len(re.findall(r'<rect class="bar status-', chart(dom, "chart-statuses"))) == len(classes) == 15
    assert len(re.findall(r"data-p99=", chart(dom, "chart-latency"))) == 5
    assert len(re.findall(r"data-p50=", chart(dom, "chart-latency"))) == 6
    assert len(re.findall(r'<rect class="bar presence', chart(dom, "chart-coverage"))) == 5
    assert len(re.findall(r"data-count=", chart(dom, "chart-findings-time"))) == 14
    assert [r[0] for r in risk_rows(dom)] == [o.operation for o in ranked(health.operations)]
    assert len(re.findall(r"<tr data-version=", dom)) == 3
    assert len(re.findall(r"<tr data-element=", dom)) == 2
    assert ">1,240 ms<" in dom and "2.0.0" in dom and "42 days" in dom
    total = sum(o.count for o in health.operations)
    assert f'id="total-exchanges" data-count="{total}"><span class="num">{total:,}</span>' in dom

    shot = tmp_path / "health.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri())
    data = shot.read_bytes()
    width, height, rows = png_rows(data)
    assert (width, height) == (1280, 2400)
    assert len(data) > 150_000  # a blank page of this size compresses to a few KB
    for top in range(0, 2400, 400):  # every part of the page has content, not just the header
        band = b"".join(rows[top : top + 400])
        ink = 1 - band.count(0) / len(band)
        assert ink > 0.01, f"rows {top}-{top + 400} look blank ({ink:.1%} non-zero bytes)"


@pytest.mark.slow
def test_hostile_dashboard_runs_no_injected_script_in_chromium(tmp_path: Path):
    page = tmp_path / "hostile.html"
    page.write_text(render_dashboard(hostile_health()), encoding="utf-8")
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
