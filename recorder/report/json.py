"""The machine-readable view of a report: one JSON object, schema `contract-recorder/report/v1`.

The schema is documented in docs/report-json.md; keep the two in step. Keys are written sorted, with a
two-space indent and a trailing newline, so the same report always gives the same bytes.

```
{
  "schema": "contract-recorder/report/v1",
  "kind": "drift" | "diff" | "replay",
  "title": str,
  "generated_at": str,                 # ISO 8601, as given by the caller ("" if unknown)
  "documented": str,                   # contract file (drift) or old contract (diff)
  "observed": str,                     # database (drift) or new contract (diff)
  "window": {"since": str|null, "until": str|null, "consumer": str|null},
  "fail_on": "breaking" | "warning" | "any" | "never",
  "verdict": "pass" | "fail",          # fail when any finding is at or above fail_on
  "counts": {"breaking": int, "warning": int, "info": int, "total": int, "failing": int},
  "version_bump": "major" | "minor" | "patch" | "none" | null,
  "findings": [                        # severity (breaking first), operation (path, method), location, kind
    {"kind": str, "severity": "breaking" | "warning" | "info", "operation": str, "location": str,
     "message": str, "expected": any, "observed": any, "count": int,
     "first_seen": str|null, "last_seen": str|null, "consumers": [str], "examples": [int],
     "failing": bool}
  ],
  "operations": [                      # by path, then method
    {"operation": str, "count": int, "hours": {"<epoch seconds of the hour>": int},
     "statuses": {"<status>": int}, "consumers": [str]}
  ],
  "fields": [                          # by operation, status, location
    {"operation": str, "status": str, "location": str, "seen": int, "of": int}
  ],
  "notes": [str]
}
```
"""

from __future__ import annotations

import json
from typing import Any

from recorder.model import Finding, Report
from recorder.report.common import (
    is_failing,
    jsonable,
    operation_order,
    sorted_findings,
    verdict,
)

SCHEMA = "contract-recorder/report/v1"


def render(report: Report) -> str:
    """The report as a JSON document (schema `contract-recorder/report/v1`)."""
    return json.dumps(to_json(report), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def to_json(report: Report) -> dict[str, Any]:
    """The report as a JSON-ready dict (see the module docstring for the schema)."""
    counts = report.counts()
    counts["total"] = len(report.findings)
    counts["failing"] = len(report.failing())
    window: dict[str, str | None] = {"since": None, "until": None, "consumer": None}
    window.update(report.window)
    return {
        "schema": SCHEMA,
        "kind": report.kind,
        "title": report.title,
        "generated_at": report.generated_at,
        "documented": report.documented,
        "observed": report.observed,
        "window": window,
        "fail_on": report.fail_on,
        "verdict": verdict(report),
        "counts": counts,
        "version_bump": report.version_bump,
        "findings": [_finding(report, f) for f in sorted_findings(report.findings)],
        "operations": [
            {
                "operation": o.operation,
                "count": o.count,
                "hours": dict(o.hours),
                "statuses": dict(o.statuses),
                "consumers": list(o.consumers),
            }
            for o in sorted(report.operations, key=lambda o: operation_order(o.operation))
        ],
        "fields": [
            {"operation": p.operation, "status": p.status, "location": p.location, "seen": p.seen, "of": p.of}
            for p in sorted(report.fields, key=lambda p: (operation_order(p.operation), p.status, p.location))
        ],
        "notes": list(report.notes),
    }


def _finding(report: Report, f: Finding) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "severity": f.severity,
        "operation": f.operation,
        "location": f.location,
        "message": f.message,
        "expected": jsonable(f.expected),
        "observed": jsonable(f.observed),
        "count": f.count,
        "first_seen": f.first_seen,
        "last_seen": f.last_seen,
        "consumers": list(f.consumers),
        "examples": list(f.examples),
        "failing": is_failing(report, f),
    }
