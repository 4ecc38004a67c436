"""The pull-request comment view of a report: headline and verdict, breaking, warnings, then info collapsed.

Tables are capped at `max_rows` rows per severity (the rest are counted, not listed), so a big report still
fits in a comment. User data is escaped: locations and values go in code spans, other text is
backslash-escaped, so nothing in a finding can turn into markup or HTML.
"""

from __future__ import annotations

import re

from recorder.model import Finding, Report
from recorder.report.common import (
    SEVERITY_TITLES,
    clean_text,
    counts_phrase,
    fail_on_phrase,
    shorten,
    show_value,
    sorted_findings,
    verdict,
    window_phrase,
)

MAX_ROWS = 20
MAX_EXAMPLES = 2
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~@#])")  # inline markup, HTML, @mentions and #refs


def render(report: Report, *, max_rows: int = MAX_ROWS) -> str:
    """The report as GitHub-flavoured markdown, with at most `max_rows` table rows per severity."""
    counts = report.counts()
    failed = verdict(report) == "fail"
    icon = "❌" if failed else "✅"
    headline = f"## {icon} {escape(report.title or 'Report')}: **{verdict(report)}**"
    lines = [headline, ""]
    summary = f"**{counts_phrase(counts)}**" if report.findings else "**No findings.**"
    lines.append(f"{summary} · {escape(fail_on_phrase(report))}")
    lines.append("")
    lines.append(_context(report))
    if report.kind == "diff" and report.version_bump:
        lines += ["", f"Suggested version bump: **{report.version_bump}**"]

    findings = sorted_findings(report.findings)
    for severity in ("breaking", "warning"):
        rows = [f for f in findings if f.severity == severity]
        if rows:
            lines += ["", f"### {SEVERITY_TITLES[severity]} ({len(rows)})", ""]
            lines += _table(rows, max_rows)
    info = [f for f in findings if f.severity == "info"]
    if info:
        lines += ["", f"<details><summary>Info ({len(info)})</summary>", ""]
        lines += _table(info, max_rows)
        lines += ["", "</details>"]
    if any(f.examples for f in findings):
        lines += ["", "_Examples are recorded exchanges: `recorder show ID` prints one._"]
    if report.notes:
        lines.append("")
        lines += [f"- {escape(note)}" for note in report.notes]
    return "\n".join(lines) + "\n"


def _context(report: Report) -> str:
    if report.kind == "diff":
        return f"Old contract {code(report.documented or '?')} → new contract {code(report.observed or '?')}."
    text = (
        f"Observed {code(report.observed or '?')} against documented {code(report.documented or '?')}"
        f" · {escape(window_phrase(report))}"
    )
    if report.generated_at:
        text += f" · generated {escape(report.generated_at)}"
    return text


def _table(findings: list[Finding], max_rows: int) -> list[str]:
    lines = [
        "| Operation | Location | Finding | Expected | Observed | Count | Examples |",
        "|---|---|---|---|---|---:|---|",
    ]
    for f in findings[:max_rows]:
        what = f"**{escape(f.kind)}**" + (f": {prose(shorten(f.message, 140))}" if f.message else "")
        examples = " ".join(code(f"recorder show {i}") for i in f.examples[:MAX_EXAMPLES])
        if len(f.examples) > MAX_EXAMPLES:
            examples += f" +{len(f.examples) - MAX_EXAMPLES}"
        cells = [
            escape(f.operation),
            code(f.location) if f.location else "",
            what,
            code(show_value(f.expected, 60)),
            code(show_value(f.observed, 60)),
            f"{f.count:,}",
            examples,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if len(findings) > max_rows:
        more = len(findings) - max_rows
        lines += ["", f"_…and {more} more not shown (the JSON and HTML reports list every finding)._"]
    return lines


def escape(text: str) -> str:
    """Backslash-escape inline markdown, HTML, `@mention` and `#ref`; newlines become spaces (cell-safe)."""
    return _MD_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", clean_text(text))).replace("&", "&amp;")


def prose(text: str) -> str:
    """Escape a message but keep its code spans: "`a_b` is *new*" -> "`a_b` is \\*new\\*"."""
    parts = re.split(r"`([^`]+)`", text)
    return "".join(code(part) if i % 2 else escape(part) for i, part in enumerate(parts))


def code(text: str) -> str:
    """A code span that holds any text, pipes escaped for tables: ``a`b`` -> ``` ``a`b`` ```."""
    text = " ".join(clean_text(text).split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"
