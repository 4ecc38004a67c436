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
from collections.abc import Callable

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
# ANSI SGR codes: bold red, yellow, cyan, bold green, bold, dim
_STYLES = {
    "breaking": "1;31",
    "warning": "33",
    "info": "36",
    "pass": "1;32",
    "fail": "1;31",
    "bold": "1",
    "dim": "2",
}
# (title, width, right-aligned); the change column takes what the others leave of WIDTH
_COLUMNS = (("severity", 9, False), ("kind", 22, False), ("location", 22, False), ("expected → observed", 0, False),
            ("count", 6, True), ("examples", 14, False))  # fmt: skip
_GAP = 2
Paint = Callable[[str, str], str]  # (style, text) -> text, coloured or not


def render(report: Report, *, color: bool = False) -> str:
    """The report as plain text (ANSI-coloured when `color`), 120 columns wide."""
    paint = _painter(color)
    lines: list[str] = []
    failed = verdict(report) == "fail"
    lines.append(
        paint("bold", _clean(report.title or "Report")) + paint("bold", ": ")
        + paint("fail" if failed else "pass", verdict(report).upper())
    )  # fmt: skip
    lines += [paint("dim", _clean(line)) for line in _context(report)]
    groups = findings_by_operation(report)
    if not groups:
        lines += ["", paint("pass", "No findings.")]
    for operation, findings in groups.items():
        lines += ["", _group_title(operation, findings, paint), *_table(findings, paint)]
    if any(f.examples for f in report.findings):
        lines += ["", paint("dim", "examples are recorded exchange ids: `recorder show ID` prints one")]
    if report.notes:
        lines.append("")
        lines += [paint("dim", _clean(f"note: {note}")) for note in report.notes]
    counts = report.counts()
    lines += ["", paint("bold", f"{counts_phrase(counts)}; {fail_on_phrase(report)}")]
    if report.kind == "diff" and report.version_bump:
        lines.append(paint("bold", f"suggested version bump: {report.version_bump}"))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _painter(color: bool) -> Paint:
    def paint(style: str, text: str) -> str:
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if color and text else text

    return paint


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


def _group_title(operation: str, findings: list[Finding], paint: Paint) -> str:
    by_severity: dict[str, int] = {}
    for f in findings:
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    detail = ", ".join(severity_phrase(by_severity[s], s) for s in SEVERITIES if s in by_severity)
    title = paint("bold", _clean(operation or "(whole contract)"))
    return title + paint("dim", f"  {plural(len(findings), 'finding')} ({detail})")


def _widths() -> list[int]:
    fixed = sum(w for _, w, _ in _COLUMNS) + _GAP * (len(_COLUMNS) - 1) + _GAP
    return [w or WIDTH - fixed for _, w, _ in _COLUMNS]


def _table(findings: list[Finding], paint: Paint) -> list[str]:
    """Fixed column widths, so the tables of all operations line up; long cells fold onto more lines."""
    widths = _widths()
    lines = [_row([title for title, _, _ in _COLUMNS], widths, paint, header=True)]
    lines.append(" " + "─" * (WIDTH - 2))
    for f in findings:
        change = _clean(show_value(f.expected, 60)) + " → " + _clean(show_value(f.observed, 60))
        if f.message:
            change += "\n" + _clean(f.message)
        cells = [
            f.severity,
            _clean(f.kind),
            _clean(f.location),
            change,
            f"{f.count:,}",
            examples_phrase(f.examples),
        ]
        lines += _row(cells, widths, paint, severity=f.severity).split("\n")
    return lines


def _row(
    cells: list[str], widths: list[int], paint: Paint, *, header: bool = False, severity: str = ""
) -> str:
    folded = [_fold(cell, width) for cell, width in zip(cells, widths, strict=True)]
    height = max(len(f) for f in folded)
    out = []
    for i in range(height):
        parts = []
        for column, (lines, width) in enumerate(zip(folded, widths, strict=True)):
            text = lines[i] if i < len(lines) else ""
            padded = text.rjust(width) if _COLUMNS[column][2] else text.ljust(width)
            if header and text:
                padded = paint("bold", padded)
            elif column == 0 and text and severity:
                padded = paint(severity, padded)
            elif column == 3 and i > 0 and text:
                padded = paint("dim", padded)
            parts.append(padded)
        out.append(" " + (" " * _GAP).join(parts))
    return "\n".join(out)


def _fold(text: str, width: int) -> list[str]:
    """A cell's lines: its own line breaks, then cut at `width` characters (at a space when there is one)."""
    out: list[str] = []
    for line in text.split("\n") or [""]:
        while len(line) > width:
            cut = line.rfind(" ", 0, width + 1)
            cut = cut if cut > 0 else width
            out.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        out.append(line)
    return out


def _clean(text: str) -> str:
    """Terminal-safe text: control characters (ESC, NUL, C1 controls...) become U+FFFD."""
    return _CONTROLS.sub("\ufffd", text)
