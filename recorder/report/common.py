"""Helpers shared by the report renderers: ordering, verdict, counts and one-line forms of values."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from recorder.model import SEVERITY_RANK, Finding, Report, finding_order, operation_order

SEVERITIES = ("breaking", "warning", "info")
SEVERITY_TITLES = {"breaking": "Breaking", "warning": "Warnings", "info": "Info"}

# Characters XML 1.0 cannot carry (and HTML calls parse errors): C0 controls other than tab/LF/CR,
# surrogates and the two non-characters U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """Replace characters that XML and HTML cannot carry with U+FFFD: `"a\\x00b"` -> `"a\\ufffdb"`."""
    return _NOT_XML.sub("\ufffd", text)


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in report order (see `finding_order`)."""
    return sorted(findings, key=finding_order)


def operations_of(report: Report) -> list[str]:
    """Every operation that has findings or traffic, in (path, method) order."""
    names = {f.operation for f in report.findings} | {o.operation for o in report.operations}
    return sorted(names, key=operation_order)


def findings_by_operation(report: Report) -> dict[str, list[Finding]]:
    """Findings grouped by operation; operations in (path, method) order, findings in report order."""
    groups: dict[str, list[Finding]] = {}
    for f in sorted(report.findings, key=lambda f: (operation_order(f.operation), finding_order(f))):
        groups.setdefault(f.operation, []).append(f)
    return groups


def is_failing(report: Report, finding: Finding) -> bool:
    """True when this finding is at or above the report's `fail_on` threshold."""
    if report.fail_on == "never":
        return False
    floor = {"any": 0, "warning": 1, "breaking": 2}[report.fail_on]
    return SEVERITY_RANK[finding.severity] >= floor


def verdict(report: Report) -> str:
    """`fail` when any finding is at or above `fail_on`, else `pass`."""
    return "fail" if report.failing() else "pass"


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 warning`, `2 warnings`."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def severity_phrase(n: int, severity: str) -> str:
    """`2 breaking`, `1 warning`, `3 warnings`, `2 info`."""
    return plural(n, severity) if severity == "warning" else f"{n} {severity}"


def counts_phrase(counts: dict[str, int]) -> str:
    """`2 breaking, 3 warnings, 1 info`."""
    return ", ".join(severity_phrase(counts[s], s) for s in SEVERITIES)


def fail_on_phrase(report: Report) -> str:
    """`fails on breaking: yes` (the threshold and whether this report reaches it)."""
    if report.fail_on == "never":
        return "fails on: never"
    return f"fails on {report.fail_on}: {'yes' if report.failing() else 'no'}"


def window_phrase(report: Report) -> str:
    """`2024-05-01 00:00 → 2024-05-02 00:00, consumer web`, or `all recorded traffic`."""
    w = report.window
    since, until, consumer = w.get("since"), w.get("until"), w.get("consumer")
    text = f"{since or 'start'} → {until or 'now'}" if since or until else "all recorded traffic"
    if consumer:
        text += f", consumer {consumer}"
    return text


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a finding value: tuples become lists, NaN and bytes become strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def show_value(value: Any, limit: int = 80) -> str:
    """One line for an expected/observed value: strings as they are, the rest as compact JSON."""
    if value is None:
        return "—"
    text = (
        value if isinstance(value, str) else json.dumps(jsonable(value), sort_keys=True, ensure_ascii=False)
    )
    return shorten(" ".join(text.split()) if "\n" in text or "\r" in text else text, limit)


def shorten(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, ending with `…` when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def examples_phrase(examples: Iterable[int], limit: int = 3) -> str:
    """`12, 15, 19 (+4)`: the first `limit` exchange ids, then how many more."""
    ids = list(examples)
    text = ", ".join(str(i) for i in ids[:limit])
    return text + (f" (+{len(ids) - limit})" if len(ids) > limit else "")
