"""Report renderers: text, markdown, JSON, JUnit and HTML views of hand-built `Report` values."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from recorder.errors import ConfigError
from recorder.model import FieldPresence, Finding, OperationTraffic, Report
from recorder.report import FORMATS, format_for_path, render
from recorder.report.json import SCHEMA

ROOT = Path(__file__).resolve().parent.parent
DAY_START = 1714521600  # 2024-05-01T00:00:00Z
XSS = "<script>alert(1)</script>"

# ---------------------------------------------------------------------------------------------------------
# fixtures: small, named reports


def type_changed() -> Finding:
    return Finding(
        kind="type-changed",
        severity="breaking",
        operation="GET /users/{userId}",
        location="/id",
        message="`id` is documented as an integer but was sent as a string.",
        expected="integer",
        observed="string",
        count=12,
        first_seen="2024-05-01T09:12:00Z",
        last_seen="2024-05-01T17:40:00Z",
        consumers=("web",),
        examples=(3, 9, 14, 27),
    )


def undocumented_status() -> Finding:
    return Finding(
        kind="undocumented-status",
        severity="breaking",
        operation="GET /users/{userId}",
        location="status",
        message="Status 500 is not documented.",
        expected=["200", "404"],
        observed="500",
        count=3,
        consumers=("web", "mobile"),
        examples=(41,),
    )


def missing_required() -> Finding:
    return Finding(
        kind="required-field-missing",
        severity="breaking",
        operation="POST /users",
        location="/email",
        message="Required field `email` was missing from 4 of 50 responses.",
        expected="required",
        observed={"seen": 46, "of": 50},
        count=4,
        examples=(77, 80),
    )


def undocumented_field() -> Finding:
    return Finding(
        kind="undocumented-field",
        severity="warning",
        operation="GET /users",
        location="/items/*/nickname",
        message="Field `nickname` is sent but not documented.",
        expected=None,
        observed={"type": "string"},
        count=230,
        examples=(5,),
    )


def undocumented_query() -> Finding:
    return Finding(
        kind="undocumented-parameter",
        severity="warning",
        operation="GET /users",
        location="query: cursor",
        message="Query parameter `cursor` is used but not documented.",
        observed="cursor=abc",
        count=88,
        consumers=("mobile",),
        examples=(6, 8),
    )


def undocumented_header() -> Finding:
    return Finding(
        kind="undocumented-header",
        severity="warning",
        operation="GET /orders/{orderId}",
        location="header: X-Request-Id",
        message="Response header `X-Request-Id` is not documented.",
        observed="7f3c…",
        count=800,
        examples=(101,),
    )


def unused_operation() -> Finding:
    return Finding(
        kind="unused-operation",
        severity="info",
        operation="DELETE /users/{userId}",
        message="Documented but never called in this window.",
        count=0,
    )


def enum_subset() -> Finding:
    return Finding(
        kind="enum-values-unseen",
        severity="info",
        operation="GET /orders/{orderId}",
        location="/status",
        message="Only 2 of 4 documented values were seen.",
        expected=["open", "paid", "shipped", "cancelled"],
        observed=["open", "paid"],
        count=800,
    )


def day_of_traffic(total_per_hour: int, phase: int = 0) -> dict[str, int]:
    """24 hourly buckets with a daily rhythm (busier in the afternoon)."""
    pattern = [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 10, 10, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    return {
        str(DAY_START + 3600 * h): max(total_per_hour * pattern[(h + phase) % 24] // 10, 1) for h in range(24)
    }


def traffic(operation: str, per_hour: int, statuses: dict[str, int], *consumers: str, phase: int = 0):
    hours = day_of_traffic(per_hour, phase)
    return OperationTraffic(
        operation=operation,
        count=sum(hours.values()),
        hours=hours,
        statuses=statuses,
        consumers=consumers,
    )


def realistic_report(**changes) -> Report:
    """A day of drift on a users/orders API: 4 operations with traffic, one unused, all three severities."""
    values = dict(
        kind="drift",
        title="Contract drift",
        generated_at="2024-05-02T08:00:00Z",
        documented="openapi.yaml",
        observed="traffic.db",
        window={"since": "2024-05-01T00:00:00Z", "until": "2024-05-02T00:00:00Z", "consumer": None},
        fail_on="breaking",
        findings=(
            undocumented_field(),
            enum_subset(),
            type_changed(),
            undocumented_header(),
            unused_operation(),
            undocumented_status(),
            missing_required(),
            undocumented_query(),
        ),
        operations=(
            traffic("GET /users/{userId}", 300, {"200": 3100, "404": 290, "500": 3}, "web", "mobile"),
            traffic("GET /users", 120, {"200": 1200}, "web", phase=3),
            traffic("POST /users", 6, {"201": 46, "400": 4}, "web", phase=6),
            traffic("GET /orders/{orderId}", 70, {"200": 800}, "mobile", phase=12),
        ),
        fields=(
            FieldPresence(operation="GET /users/{userId}", status="200", location="/id", seen=3100, of=3100),
            FieldPresence(
                operation="GET /users/{userId}", status="200", location="/email", seen=3090, of=3100
            ),
            FieldPresence(
                operation="GET /users/{userId}", status="200", location="/nickname", seen=1200, of=3100
            ),
            FieldPresence(operation="GET /users", status="200", location="/items/*/id", seen=1200, of=1200),
            FieldPresence(
                operation="GET /users", status="200", location="/items/*/nickname", seen=230, of=1200
            ),
            FieldPresence(
                operation="GET /orders/{orderId}", status="200", location="/status", seen=800, of=800
            ),
            FieldPresence(
                operation="GET /orders/{orderId}", status="200", location="/total", seen=799, of=800
            ),
        ),
        notes=("2 exchanges had truncated bodies and were skipped.",),
    )
    values.update(changes)
    return Report(**values)


def clean_report() -> Report:
    """No findings at all: the report passes."""
    return realistic_report(findings=(), notes=())


def hostile_finding() -> Finding:
    """User data that tries to become markup in every format."""
    return Finding(
        kind="undocumented-field",
        severity="breaking",
        operation="GET /search",
        location=f"/q{XSS}",
        message=f"value {XSS} | [bold]not markup[/bold] @everyone *stars* \x00\x1b[31m",
        expected=f'"><img src=x onerror=alert(1)> {XSS}',
        observed={"html": XSS, "pipe": "a|b", "tick": "`x`"},
        count=1,
        examples=(1,),
    )


def hostile_report() -> Report:
    return Report(
        title=f"Drift {XSS}",
        documented="https://evil.example/openapi.yaml",
        observed="traffic.db",
        findings=(hostile_finding(),),
        operations=(OperationTraffic(operation="GET /search", count=1, hours={str(DAY_START): 1}),),
        notes=(XSS,),
    )


def diff_report() -> Report:
    return Report(
        kind="diff",
        title="Contract diff",
        documented="v1.yaml",
        observed="v2.yaml",
        findings=(
            Finding(kind="removed-operation", severity="breaking", operation="DELETE /users/{userId}"),
            Finding(kind="added-operation", severity="info", operation="GET /teams"),
        ),
        version_bump="major",
    )


def big_report(n: int = 70) -> Report:
    """Many findings per severity, to check that markdown stays short."""
    findings = tuple(
        Finding(
            kind="undocumented-field",
            severity=("breaking", "warning", "info")[i % 3],
            operation=f"GET /things/{i % 7}",
            location=f"/field{i:03d}",
            count=i,
            examples=(i,),
        )
        for i in range(n)
    )
    return Report(findings=findings)


# ---------------------------------------------------------------------------------------------------------
# all formats


def test_formats_are_the_five_views_and_unknown_format_is_a_user_error():
    assert FORMATS == ("text", "markdown", "json", "junit", "html")
    with pytest.raises(ConfigError, match=r"unknown report format 'pdf'\. Choose one of: text, markdown"):
        render(realistic_report(), "pdf")
    assert format_for_path("out/drift.html") == "html"
    assert format_for_path("junit.xml") == "junit"
    assert format_for_path("report.MD") == "markdown"
    assert format_for_path("report") is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_is_deterministic_and_independent_of_finding_order(fmt):
    report = realistic_report()
    shuffled = report.model_copy(
        update={
            "findings": tuple(reversed(report.findings)),
            "operations": tuple(reversed(report.operations)),
            "fields": tuple(reversed(report.fields)),
        }
    )
    first = render(report, fmt)
    assert first == render(report, fmt)
    assert first == render(shuffled, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_report_renders(fmt):
    out = render(Report(), fmt)
    assert out.strip()


# ---------------------------------------------------------------------------------------------------------
# text


def test_text_groups_findings_by_operation_and_ends_with_the_summary():
    out = render(realistic_report(), "text")
    assert "\x1b[" not in out  # no colour unless asked
    assert out.startswith("Contract drift: FAIL\n")
    assert "documented openapi.yaml · observed traffic.db" in out
    lines = out.splitlines()
    titles = [line for line in lines if re.match(r"^(GET|POST|DELETE) /", line)]
    assert titles == [
        "GET /orders/{orderId}  2 findings (1 warning, 1 info)",
        "GET /users  2 findings (2 warnings)",
        "POST /users  1 finding (1 breaking)",
        "GET /users/{userId}  2 findings (2 breaking)",
        "DELETE /users/{userId}  1 finding (1 info)",
    ]
    assert lines[-1] == "3 breaking, 3 warnings, 2 info; fails on breaking: yes"
    row = next(line for line in lines if "type-changed" in line)
    assert re.search(r"breaking\s+type-changed\s+/id\s+integer → string\s+12\s+3, 9, 14 \(\+1\)", row)
    assert all(len(line) <= 120 for line in lines)


def test_text_for_a_diff_suggests_the_version_bump_and_passing_report_says_no():
    out = render(diff_report(), "text")
    assert out.splitlines()[-1] == "suggested version bump: major"
    assert "old v1.yaml · new v2.yaml" in out
    assert (
        render(clean_report(), "text").splitlines()[-1]
        == "0 breaking, 0 warnings, 0 info; fails on breaking: no"
    )
    assert "No findings." in render(clean_report(), "text")


def test_text_prints_user_data_literally_and_colours_only_on_request():
    out = render(hostile_report(), "text")
    assert "[bold]not markup[/bold]" in out
    assert "\x1b" not in out
    coloured = render(realistic_report(), "text", color=True)
    assert "\x1b[" in coloured


# ---------------------------------------------------------------------------------------------------------
# markdown


def test_markdown_headline_has_the_verdict_and_breaking_rows_come_first():
    out = render(realistic_report(), "markdown")
    first = out.splitlines()[0]
    assert first == "## ❌ Contract drift: **fail**"
    assert "**3 breaking, 3 warnings, 2 info** · fails on breaking: yes" in out
    breaking, warnings, info = (
        out.index("### Breaking (3)"),
        out.index("### Warnings (3)"),
        out.index("Info (2)"),
    )
    assert breaking < warnings < info
    assert out.index("type-changed") < out.index("undocumented-field") < out.index("enum-values-unseen")
    assert "<details><summary>Info (2)</summary>" in out
    assert out.index("<details>") < out.index("enum-values-unseen") < out.index("</details>")
    assert "`recorder show 3` `recorder show 9` +2" in out
    row = next(line for line in out.splitlines() if "type-changed" in line)
    assert row.count(" | ") == 6  # seven cells


def test_markdown_passing_report_and_diff():
    out = render(clean_report(), "markdown")
    assert out.splitlines()[0] == "## ✅ Contract drift: **pass**"
    assert "**No findings.**" in out and "###" not in out
    assert "Suggested version bump: **major**" in render(diff_report(), "markdown")


def test_markdown_caps_rows_and_says_how_many_more():
    out = render(big_report(70), "markdown")
    rows = [line for line in out.splitlines() if line.startswith("| GET /things/")]
    assert len(rows) == 60  # 20 per severity
    assert out.count("_…and 4 more not shown") == 1  # 24 breaking
    assert out.count("_…and 3 more not shown") == 2  # 23 warnings, 23 info
    assert len(out) < 20_000


def outside_code_spans(markdown: str) -> str:
    """The markdown with every code span removed (what GitHub would interpret as markup)."""
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", markdown)


def test_markdown_escapes_user_data():
    out = render(hostile_report(), "markdown")
    markup = outside_code_spans(out)
    assert re.findall(r"(?<!\\)</?\w+", markup) == []  # no HTML tag survives unescaped
    assert "\\<script\\>" in markup and "\\@everyone" in markup and "\\*stars\\*" in markup
    assert "\x00" not in out and "\x1b" not in out
    row = next(line for line in out.splitlines() if line.startswith("| GET /search"))
    assert len(re.findall(r"(?<!\\)\|", outside_code_spans(row))) == 8  # the pipes in the data added no cells
    assert "- \\<script\\>alert(1)\\</script\\>" in out  # the note


def test_markdown_keeps_code_spans_of_messages():
    out = render(realistic_report(), "markdown")
    assert "**type-changed**: `id` is documented as an integer but was sent as a string." in out


# ---------------------------------------------------------------------------------------------------------
# json


def documented_keys(section: str) -> list[str]:
    """The keys listed in a table of docs/report-json.md under `## section`."""
    text = (ROOT / "docs" / "report-json.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    keys = []
    for line in body.splitlines():
        m = re.match(r"^\| ((?:`\w+`(?:, )?)+) \|", line)
        if m:
            keys += re.findall(r"`(\w+)`", m.group(1))
    return keys


def test_json_has_the_documented_keys():
    data = json.loads(render(realistic_report(), "json"))
    assert data["schema"] == SCHEMA == "contract-recorder/report/v1"
    assert sorted(data) == sorted(documented_keys("Top level"))
    assert all(sorted(f) == sorted(documented_keys("Finding")) for f in data["findings"])
    assert sorted(data["operations"][0]) == sorted(documented_keys("Operation"))
    assert sorted(data["fields"][0]) == sorted(documented_keys("Field"))
    assert data["verdict"] == "fail"
    assert data["counts"] == {"breaking": 3, "warning": 3, "info": 2, "total": 8, "failing": 3}
    assert data["window"] == {
        "since": "2024-05-01T00:00:00Z",
        "until": "2024-05-02T00:00:00Z",
        "consumer": None,
    }
    assert data["version_bump"] is None
    second = data["findings"][1]
    assert second["kind"] == "type-changed" and second["expected"] == "integer"
    assert (
        second["examples"] == [3, 9, 14, 27] and second["consumers"] == ["web"] and second["failing"] is True
    )


def test_json_orders_findings_by_severity_operation_location_kind():
    data = json.loads(render(realistic_report(), "json"))
    order = [(f["severity"], f["operation"], f["location"]) for f in data["findings"]]
    assert order == [
        ("breaking", "POST /users", "/email"),
        ("breaking", "GET /users/{userId}", "/id"),
        ("breaking", "GET /users/{userId}", "status"),
        ("warning", "GET /orders/{orderId}", "header: X-Request-Id"),
        ("warning", "GET /users", "/items/*/nickname"),
        ("warning", "GET /users", "query: cursor"),
        ("info", "GET /orders/{orderId}", "/status"),
        ("info", "DELETE /users/{userId}", ""),
    ]
    assert [o["operation"] for o in data["operations"]] == [
        "GET /orders/{orderId}",
        "GET /users",
        "POST /users",
        "GET /users/{userId}",
    ]
    assert [f["failing"] for f in data["findings"]] == [True] * 3 + [False] * 5


def test_json_is_sorted_and_stable_text():
    out = render(realistic_report(), "json")
    assert out.endswith("}\n")
    data = json.loads(out)
    assert out == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_json_verdict_follows_fail_on():
    warning = json.loads(render(realistic_report(fail_on="warning"), "json"))
    assert warning["counts"]["failing"] == 6
    never = json.loads(render(realistic_report(fail_on="never"), "json"))
    assert never["verdict"] == "pass" and never["counts"]["failing"] == 0
    assert json.loads(render(diff_report(), "json"))["version_bump"] == "major"
    odd = realistic_report(findings=(type_changed().model_copy(update={"observed": float("nan")}),))
    assert json.loads(render(odd, "json"))["findings"][0]["observed"] == "nan"


# ---------------------------------------------------------------------------------------------------------
# junit


def junit(report: Report) -> ET.Element:
    return ET.fromstring(render(report, "junit").encode("utf-8"))


def test_junit_has_one_testcase_per_operation_and_failures_for_breaking_only():
    root = junit(realistic_report())
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "GET /orders/{orderId}",
        "GET /users",
        "POST /users",
        "GET /users/{userId}",
        "DELETE /users/{userId}",
    ]
    assert {c.get("classname") for c in cases} == {"contract"}
    failures = suite.findall("testcase/failure")
    assert len(failures) == 3 == len(realistic_report().failing())
    assert all(f.get("message").startswith("[breaking] ") for f in failures)
    assert all("\n" not in f.get("message") for f in failures)
    assert suite.get("tests") == root.get("tests") == "5"
    failed_cases = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed_cases == ["POST /users", "GET /users/{userId}"]
    assert suite.get("failures") == root.get("failures") == "2"
    user = cases[3]
    assert user.find("failure").get("type") == "type-changed"
    assert (
        user.find("failure").get("message")
        == "[breaking] type-changed at /id: integer → string (12 exchanges)"
    )
    assert "examples:  3, 9, 14, 27 (recorder show ID)" in user.find("failure").text
    orders = cases[0]
    assert orders.find("failure") is None
    assert "header: X-Request-Id" in orders.find("system-out").text
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["documented"] == "openapi.yaml" and props["fail_on"] == "breaking"


def test_junit_threshold_moves_findings_between_failure_and_system_out():
    warning = junit(realistic_report(fail_on="warning"))
    assert len(warning.findall(".//failure")) == 6
    assert warning.find("testsuite").get("failures") == "4"
    never = junit(realistic_report(fail_on="never"))
    assert never.findall(".//failure") == [] and never.get("failures") == "0"
    assert len(never.findall(".//system-out")) == 5
    clean = junit(clean_report())
    assert clean.get("tests") == "4" and clean.get("failures") == "0"


def test_junit_survives_hostile_data():
    root = junit(hostile_report())
    failure = root.find(".//failure")
    assert XSS in failure.text and "\ufffd" in failure.text  # NUL and ESC replaced, still valid XML
    assert root.find("testsuite").get("name") == f"Drift {XSS}"


# ---------------------------------------------------------------------------------------------------------
# html (static checks)

VOID = {"meta", "link", "br", "hr", "img", "input", "wbr", "col", "area", "base", "source", "track", "embed"}
SVG_SELF_CLOSING_OK = {"rect", "line", "circle", "path"}


class TagBalance(HTMLParser):
    """Checks that every element is closed in order, and collects attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.attrs += [(tag, k, v) for k, v in attrs]
        self.ids += [v for k, v in attrs if k == "id" and v]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag not in VOID and tag not in SVG_SELF_CLOSING_OK:
            self.errors.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parse_html(text: str) -> TagBalance:
    parser = TagBalance()
    parser.feed(text)
    parser.close()
    return parser


def chart(html: str, chart_id: str) -> str:
    m = re.search(rf'<svg id="{chart_id}"[^>]*>.*?</svg>', html, re.S)
    assert m, f"no svg#{chart_id}"
    return m.group(0)


def test_html_is_well_formed_with_unique_ids():
    out = render(realistic_report(), "html")
    parsed = parse_html(out)
    assert parsed.errors == []
    assert parsed.stack == []
    assert len(parsed.ids) == len(set(parsed.ids))
    assert out.startswith("<!DOCTYPE html>")


def test_html_is_self_contained():
    out = render(hostile_report(), "html") + render(realistic_report(), "html")
    for tag, attr, value in parse_html(out).attrs:
        if attr in {"src", "href", "action", "srcset", "poster", "data"} or (tag == "link"):
            assert value and value.startswith("#"), (tag, attr, value)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", out, re.I)
    assert "@import" not in out and "url(" not in out
    assert "<link" not in out
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', out).group(1)
    assert "default-src &#x27;none&#x27;" in csp


def test_html_escapes_user_data():
    out = render(hostile_report(), "html")
    body = out.split("</style>", 1)[1]
    scripts = re.findall(r"<script\b", body)
    assert len(scripts) == 1  # only the page's own script
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<img" not in out
    assert "\x00" not in out and "\x1b" not in out
    assert "https://evil.example/openapi.yaml" in out  # shown as text, never linked
    assert parse_html(out).errors == []


def test_html_summary_and_charts_carry_the_numbers():
    out = render(realistic_report(), "html")
    assert 'id="verdict" data-verdict="fail">FAIL<' in out
    assert 'id="count-breaking" data-count="3"' in out
    assert 'id="count-warning" data-count="3"' in out
    assert 'id="count-info" data-count="2"' in out
    assert 'id="count-operations" data-count="5"' in out
    exchanges = sum(o.count for o in realistic_report().operations)
    assert f'id="count-exchanges" data-count="{exchanges}"' in out
    severity = chart(out, "chart-severity")
    assert re.findall(r'class="bar sev-(\w+)".*?data-count="(\d+)"', severity) == [
        ("breaking", "3"),
        ("warning", "3"),
        ("info", "2"),
    ]
    operations = chart(out, "chart-operations")
    rows = re.findall(r'<g class="bar-row" data-operation="([^"]+)" data-count="(\d+)"', operations)
    assert rows == [
        ("GET /users/{userId}", "2"),  # worst severity first, then most findings
        ("POST /users", "1"),
        ("GET /orders/{orderId}", "2"),
        ("GET /users", "2"),
        ("DELETE /users/{userId}", "1"),
    ]
    traffic_svg = chart(out, "chart-traffic")
    series = re.findall(r'<path class="series"[^>]*data-operation="([^"]+)" data-total="(\d+)"', traffic_svg)
    assert {name: int(total) for name, total in series} == {
        o.operation: o.count for o in realistic_report().operations
    }
    assert traffic_svg.count('class="point"') == 4 * 24
    fields = chart(out, "chart-fields")
    assert len(re.findall(r'<rect class="bar presence', fields)) == 7
    assert "99.7%" in fields and "3,090/3,100" in fields and "99.9%" in fields  # 799/800 is not 100%


def test_html_details_per_operation():
    out = render(realistic_report(), "html")
    details = re.findall(
        r'<details class="operation" id="([^"]+)" data-operation="([^"]+)" data-findings="(\d)"', out
    )
    assert details == [
        ("op-get-orders-orderid", "GET /orders/{orderId}", "2"),
        ("op-get-users", "GET /users", "2"),
        ("op-post-users", "POST /users", "1"),
        ("op-get-users-userid", "GET /users/{userId}", "2"),
        ("op-delete-users-userid", "DELETE /users/{userId}", "1"),
    ]
    opened = re.findall(r'<details class="operation" id="([^"]+)"[^>]* open>', out)
    assert opened == ["op-post-users", "op-get-users-userid"]  # the failing ones
    assert "<code>recorder show 3</code><code>recorder show 9</code>" in out
    assert 'href="#op-get-users-userid"' in out  # chart rows link to their details


def test_html_for_a_diff_shows_the_bump_and_leaves_out_traffic():
    out = render(diff_report(), "html")
    assert 'id="version-bump"' in out and "<strong>major</strong>" in out
    assert 'id="chart-severity"' in out and 'id="chart-operations"' in out
    assert 'id="chart-traffic"' not in out and 'id="chart-fields"' not in out
    assert '<th class="num">' not in out and '<th class="seen">' not in out  # nothing was counted
    assert "Old contract" in out and "v1.yaml" in out


def test_html_charts_for_a_long_window_switch_to_days_and_group_small_operations():
    ops = tuple(
        OperationTraffic(
            operation=f"GET /r{i}",
            count=30 * (20 - i),
            hours={str(DAY_START + 86400 * d): 20 - i for d in range(30)},
        )
        for i in range(12)
    )
    out = render(Report(operations=ops), "html")
    traffic_svg = chart(out, "chart-traffic")
    assert "exchanges per day (UTC)" in out
    series = re.findall(r'<path class="series"[^>]*data-operation="([^"]+)"', traffic_svg)
    assert len(series) == 8 and series[-1] == "5 other operations"
    assert traffic_svg.count('class="point"') == 8 * 30
    assert 'id="chart-operations"' in out and "No findings" in chart(out, "chart-operations")


# ---------------------------------------------------------------------------------------------------------
# html in a real browser


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium is not installed (apt-get install chromium); the HTML report is not rendered")


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@pytest.mark.slow
def test_html_renders_in_headless_chromium(tmp_path):
    page = tmp_path / "drift.html"
    page.write_text(render(realistic_report(), "html"), encoding="utf-8")
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert 'class="js"' in dom  # the inline script ran under the page's Content-Security-Policy
    assert re.search(r'<span class="verdict verdict-fail" id="verdict" data-verdict="fail">FAIL</span>', dom)
    assert len(re.findall(r'<rect class="bar sev-', chart(dom, "chart-severity"))) == 3
    assert len(re.findall(r'<g class="bar-row"', chart(dom, "chart-operations"))) == 5
    assert len(re.findall(r'<path class="series"', chart(dom, "chart-traffic"))) == 4
    assert len(re.findall(r'<rect class="bar presence', chart(dom, "chart-fields"))) == 7
    assert re.search(r'id="count-breaking" data-count="3"><span class="num">3</span>', dom)
    assert "3,090/3,100" in dom
    assert len(re.findall(r'<tr class="finding', dom)) == 8

    shot = tmp_path / "drift.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000  # a blank page of this size compresses to a few KB


@pytest.mark.slow
def test_hostile_html_runs_no_injected_script_in_chromium(tmp_path):
    page = tmp_path / "hostile.html"
    page.write_text(render(hostile_report(), "html"), encoding="utf-8")
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "<img" not in dom
    assert len(re.findall(r"<script\b", dom)) == 1
