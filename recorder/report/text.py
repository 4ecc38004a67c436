"""The terminal view of a report: one table of findings per operation, then a summary line.

```
Contract drift: FAIL
documented openapi.yaml · observed traffic.db · window all recorded traffic

GET /users/{userId}  2 findings (1 breaking, 1 warning)
  severity   kind           location   expected → observed    count   examples
 ─────────────────────────────────────────────────────────────────────────────
  breaking   type-changed   /id        integer → string          12   3, 9
 ...
1 breaking, 1 warning, 0 info; fails on breaking: yes
```
"""

from __future__ import annotations

import re
from io import StringIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from recorder.model import Finding, Report
from recorder.report.common import (
    SEVERITIES,
    counts_phrase,
    examples_phrase,
    fail_on_phrase,
    findings_by_operation,
    plural,
    severity_phrase,
    show_value,
    verdict,
    window_phrase,
)

WIDTH = 120
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SEVERITY_STYLES = {"breaking": "bold red", "warning": "yellow", "info": "cyan"}


def render(report: Report, *, color: bool = False) -> str:
    """The report as plain text (ANSI-coloured when `color`), 120 columns wide."""
    console = Console(
        file=StringIO(),
        width=WIDTH,
        soft_wrap=True,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
    )
    failed = verdict(report) == "fail"
    head = Text(_clean(report.title or "Report"), style="bold")
    head.append(": ")
    head.append(verdict(report).upper(), style="bold red" if failed else "bold green")
    console.print(head)
    for line in _context(report):
        console.print(Text(_clean(line), style="dim"))

    groups = findings_by_operation(report)
    if not groups:
        console.print()
        console.print(Text("No findings.", style="green"))
    for operation, findings in groups.items():
        console.print()
        console.print(_group_title(operation, findings))
        console.print(_table(findings))

    if any(f.examples for f in report.findings):
        console.print()
        console.print(Text("examples are recorded exchange ids: `recorder show ID` prints one", style="dim"))
    if report.notes:
        console.print()
        for note in report.notes:
            console.print(Text(_clean(f"note: {note}"), style="dim"))
    console.print()
    counts = report.counts()
    summary = Text(f"{counts_phrase(counts)}; {fail_on_phrase(report)}", style="bold")
    console.print(summary)
    if report.kind == "diff" and report.version_bump:
        console.print(Text(f"suggested version bump: {report.version_bump}", style="bold"))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _context(report: Report) -> list[str]:
    sources, when = [], []
    if report.documented:
        sources.append(f"{'old' if report.kind == 'diff' else 'documented'} {report.documented}")
    if report.observed:
        sources.append(f"{'new' if report.kind == 'diff' else 'observed'} {report.observed}")
    if report.kind != "diff":
        when.append(f"window {window_phrase(report)}")
    if report.generated_at:
        when.append(f"generated {report.generated_at}")
    return [" · ".join(part) for part in (sources, when) if part]


def _group_title(operation: str, findings: list[Finding]) -> Text:
    by_severity: dict[str, int] = {}
    for f in findings:
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    detail = ", ".join(severity_phrase(by_severity[s], s) for s in SEVERITIES if s in by_severity)
    title = Text(_clean(operation or "(whole contract)"), style="bold")
    title.append(f"  {plural(len(findings), 'finding')} ({detail})", style="dim")
    return title


def _table(findings: list[Finding]) -> Table:
    # fixed widths, so the tables of all operations line up
    table = Table(
        box=box.SIMPLE_HEAD, show_edge=False, header_style="bold", expand=True, collapse_padding=True
    )
    table.add_column("severity", width=9, no_wrap=True)
    table.add_column("kind", width=22, overflow="fold")
    table.add_column("location", width=22, overflow="fold")
    table.add_column("expected → observed", ratio=1, overflow="fold")
    table.add_column("count", width=6, justify="right", no_wrap=True)
    table.add_column("examples", width=14, overflow="fold")
    for f in findings:
        change = Text(_clean(show_value(f.expected, 60)))
        change.append(" → ", style="dim")
        change.append(_clean(show_value(f.observed, 60)))
        if f.message:
            change.append("\n" + _clean(f.message), style="dim")
        table.add_row(
            Text(f.severity, style=SEVERITY_STYLES[f.severity]),
            Text(_clean(f.kind)),
            Text(_clean(f.location)),
            change,
            Text(f"{f.count:,}"),
            Text(examples_phrase(f.examples)),
        )
    return table


def _clean(text: str) -> str:
    """Terminal-safe text: control characters (ESC, NUL, C1 controls...) become U+FFFD."""
    return _CONTROLS.sub("\ufffd", text)
