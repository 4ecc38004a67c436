"""The CI view of a report: JUnit XML, one test case per operation.

```xml
<testsuites name="Contract drift" tests="2" failures="1" errors="0" skipped="0" time="0">
  <testsuite name="Contract drift" tests="2" failures="1" ...>
    <properties>...documented, observed, fail_on, window...</properties>
    <testcase classname="contract" name="GET /users/{userId}" time="0">
      <failure type="type-changed" message="[breaking] type-changed at /id: integer → string (12 exchanges)">
        details</failure>
      <system-out>findings below fail_on</system-out>
    </testcase>
  </testsuite>
</testsuites>
```
Each finding at or above `fail_on` is one `<failure>` of its operation's test case; findings below it go to
that test case's `<system-out>`. As in JUnit, `failures` counts failing test cases (operations), not findings.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from recorder.model import Finding, Report
from recorder.report.common import (
    clean_text,
    examples_phrase,
    findings_by_operation,
    is_failing,
    operations_of,
    show_value,
    window_phrase,
)

CLASSNAME = "contract"


def render(report: Report) -> str:
    """The report as a JUnit XML document."""
    title = clean_text(report.title or "Report")
    groups = findings_by_operation(report)
    names = operations_of(report) or [""]  # a report with nothing at all still has one (passing) test

    suite = ET.Element("testsuite", name=title)
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("kind", report.kind),
        ("documented", report.documented),
        ("observed", report.observed),
        ("window", window_phrase(report)),
        ("fail_on", report.fail_on),
        ("generated_at", report.generated_at),
        ("version_bump", report.version_bump or ""),
    ):
        ET.SubElement(props, "property", name=key, value=clean_text(value))

    failed_cases = 0
    for name in names:
        case = ET.SubElement(
            suite, "testcase", classname=CLASSNAME, name=clean_text(name or "(whole contract)"), time="0"
        )
        findings = groups.get(name, [])
        failing = [f for f in findings if is_failing(report, f)]
        passing = [f for f in findings if not is_failing(report, f)]
        for f in failing:
            failure = ET.SubElement(
                case, "failure", type=clean_text(f.kind), message=clean_text(_one_line(f))
            )
            failure.text = clean_text(_details(f))
        if passing:
            out = ET.SubElement(case, "system-out")
            out.text = clean_text("\n\n".join(_one_line(f) + "\n" + _details(f) for f in passing))
        failed_cases += bool(failing)

    counts = {
        "tests": str(len(names)),
        "failures": str(failed_cases),
        "errors": "0",
        "skipped": "0",
        "time": "0",
    }
    suite.attrib.update(counts)
    if report.generated_at:
        suite.set("timestamp", clean_text(report.generated_at))
    root = ET.Element("testsuites", name=title, **counts)
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _one_line(f: Finding) -> str:
    """`[breaking] type-changed at /id: integer → string (12 exchanges)`."""
    text = f"[{f.severity}] {f.kind}" + (f" at {f.location}" if f.location else "")
    if f.expected is not None or f.observed is not None:
        text += f": {show_value(f.expected, 60)} → {show_value(f.observed, 60)}"
    elif f.message:
        text += f": {f.message}"
    if f.count:
        text += f" ({f.count:,} exchange{'' if f.count == 1 else 's'})"
    return " ".join(text.split())


def _details(f: Finding) -> str:
    lines = []
    if f.message:
        lines.append(f.message)
    lines.append(f"operation: {f.operation}")
    if f.location:
        lines.append(f"location:  {f.location}")
    lines.append(f"expected:  {show_value(f.expected, 400)}")
    lines.append(f"observed:  {show_value(f.observed, 400)}")
    lines.append(f"count:     {f.count}")
    if f.first_seen or f.last_seen:
        lines.append(f"seen:      {f.first_seen or '?'} → {f.last_seen or '?'}")
    if f.consumers:
        lines.append(f"consumers: {', '.join(f.consumers)}")
    if f.examples:
        lines.append(f"examples:  {examples_phrase(f.examples, 5)} (recorder show ID)")
    return "\n".join(lines)
