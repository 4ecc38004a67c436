"""Drift: observed traffic (evidence summaries) compared with a documented contract -> findings.

The comparison walks each documented schema alongside the evidence summary of the same location, so counts
come from the summaries (type counts, presence, nulls, formats, distinct values) and cost is proportional to
operations, not exchanges. Checks that need values a summary no longer holds (a pattern over more distinct
values than it keeps) and the example exchange ids of each finding come from a bounded scan of the most
recent matching exchanges, through an `ExampleSource`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from recorder.common.http import media_type
from recorder.common.routes import Routes
from recorder.common.times import iso
from recorder.judge.evidence import Probe, Problem, SchemaWalker
from recorder.judge.severity import DRIFT, rejected
from recorder.learn.finalize import subschemas
from recorder.learn.summaries import OperationSummary
from recorder.model import Contract, Finding, Operation, Response, finding_order


@dataclass
class ExampleHit:
    """What a bounded scan found for one problem."""

    ids: list[int] = field(default_factory=list)
    consumers: set[str] = field(default_factory=set)
    first: float | None = None
    last: float | None = None
    matched: int = 0
    rejected: int = 0  # matched exchanges the provider answered with 4xx


class ExampleRow(NamedTuple):
    """One recorded exchange as the example scan sees it."""

    id: int
    started: float
    consumer: str
    request: Any  # parsed JSON request body (or None)
    response: Any  # parsed JSON response body (or None)
    query: dict[str, Any]  # typed query parameters
    headers: dict[str, str]  # request headers (lower-case names)
    status: int | None = None


class ExampleSource:
    """Where examples come from; the default finds none (pure comparisons, tests without a database)."""

    def exchanges(self, method: str, shapes: tuple[str, ...], status: str | None) -> Iterable[ExampleRow]:
        """Recent exchanges of these shapes (and status), newest first, bounded."""
        return ()


REQUEST_PROBLEMS = ("query", "header", "request")  # `Problem.which` of problems in what the consumer sent


# ---------------------------------------------------------------------------------------------------------
# Matching observed shapes to documented operations


def match_operations(
    contract: Contract, summaries: Iterable[OperationSummary]
) -> tuple[dict[str, list[OperationSummary]], list[OperationSummary]]:
    """Observed summaries grouped by the documented operation they belong to, plus the unmatched ones.

    Literal segments win over parameters (`/users/me` is not `/users/{id}`); a typed placeholder of a shape
    (`{int}`) matches only a documented parameter (`recorder.common.routes`)."""
    routes = Routes(contract.operations)
    matched: dict[str, list[OperationSummary]] = {op.key: [] for op in contract.operations}
    unmatched = []
    for summary in summaries:
        op = routes.match_shape(summary.method, summary.shape)
        if op is None:
            unmatched.append(summary)
        else:
            matched[op.key].append(summary)
    return matched, unmatched


# ---------------------------------------------------------------------------------------------------------
# Operations


def _response_for(op: Operation, status: str) -> Response | None:
    return op.response(status)


def compare_operation(op: Operation, summary: OperationSummary) -> list[Problem]:
    """Every problem of one documented operation against the merged evidence of its observed shapes."""
    problems: list[Problem] = []
    # parameters
    query_parts = [p for p in subschemas(summary.query.to_schema()) if p["type"] == "object"]
    header_parts = [p for p in subschemas(summary.headers.to_schema()) if p["type"] == "object"]
    for location, parts in (("query", query_parts), ("header", header_parts)):
        documented = {
            p.name.lower() if location == "header" else p.name: p
            for p in op.parameters
            if p.location == location
        }
        for part in parts:
            n = part.get("x-stats", {}).get("n", 0)
            present = part.get("x-stats", {}).get("p", {})
            for name, param in documented.items():
                if param.required and present.get(name, 0) < n:
                    problems.append(
                        Problem(
                            "parameter-missing",
                            f"{location}: {param.name}",
                            f"required {location} parameter {param.name!r} not sent",
                            "present",
                            "missing",
                            n - present.get(name, 0),
                            which=location,
                            probe=_param_probe(location, param.name, missing=True),
                        )
                    )
            for name, sub in sorted((part.get("properties") or {}).items()):
                param = documented.get(name)
                if param is None and "[" in name and name.split("[", 1)[0] in documented:
                    continue  # `created[gte]`: a member of a deepObject parameter
                if param is None:
                    if location == "header" and not _interesting_header(name, op):
                        continue
                    problems.append(
                        Problem(
                            "parameter-undocumented",
                            f"{location}: {name}",
                            f"undocumented {location} parameter {name!r}",
                            None,
                            name,
                            present.get(name, 0),
                            which=location,
                            probe=_param_probe(location, name, missing=False),
                        )
                    )
                    continue
                walker = SchemaWalker(location, None, f"{location}: {param.name}", param.name)
                walker.walk(_param_schema_for_text(param.schema_), sub)
                problems.extend(walker.problems)
    # request bodies
    documented_bodies = {media_type(b.media_type) or b.media_type: b for b in op.request_bodies}
    total_requests = sum(b.n for b in summary.requests.values())
    if op.request_body_required and total_requests < summary.n and summary.n:
        problems.append(
            Problem(
                "request-body-missing",
                "request body",
                "required request body not sent",
                "body",
                "none",
                summary.n - total_requests,
                which="request",
            )
        )
    for mt, body in sorted(summary.requests.items()):
        doc_body = documented_bodies.get(mt) or _wildcard_media(documented_bodies, mt)
        if doc_body is None:
            if documented_bodies or body.n:
                problems.append(
                    Problem(
                        "request-body-undocumented" if not documented_bodies else "content-type-undocumented",
                        f"request body ({mt})",
                        f"request body of type {mt} not documented",
                        sorted(documented_bodies),
                        mt,
                        body.n,
                        which="request",
                    )
                )
            continue
        if body.node is not None and doc_body.schema_:
            walker = SchemaWalker(
                "request", None, "request body: ", text=mt == "application/x-www-form-urlencoded"
            )
            walker.walk(doc_body.schema_, body.node.to_schema())
            problems.extend(walker.problems)
    # responses
    for code, status in sorted(summary.statuses.items()):
        resp = _response_for(op, code)
        if resp is None:
            problems.append(
                Problem(
                    "status-undocumented",
                    f"status {code}",
                    f"status {code} is not documented",
                    sorted(r.status for r in op.responses),
                    code,
                    status.n,
                    which="operation",
                    status=code,
                )
            )
            continue
        documented = {media_type(b.media_type) or b.media_type: b for b in resp.bodies}
        for mt, body in sorted(status.bodies.items()):
            doc_body = documented.get(mt) or _wildcard_media(documented, mt)
            if doc_body is None:
                if documented:
                    problems.append(
                        Problem(
                            "content-type-undocumented",
                            f"response {code} ({mt})",
                            f"{mt} responses are not documented for {code}",
                            sorted(documented),
                            mt,
                            body.n,
                            which="response",
                            status=code,
                        )
                    )
                continue
            if body.node is not None and doc_body.schema_:
                walker = SchemaWalker("response", code, f"response {code}: ")
                walker.walk(doc_body.schema_, body.node.to_schema())
                problems.extend(walker.problems)
    return problems


def _wildcard_media(documented: dict[str, Any], mt: str) -> Any:
    major = mt.split("/")[0]
    return documented.get(f"{major}/*") or documented.get("*/*")


_NOISE_HEADERS = re.compile(
    r"(?i)^(accept|content-type|authorization|x-consumer|x-request-id|x-correlation-id|x-b3-.*|x-amzn-.*|x-cloud-trace-context|traceparent|tracestate|sec-.*|if-.*|x-forwarded-.*)$"
)


def _interesting_header(name: str, op: Operation) -> bool:
    """Undocumented request headers worth a finding: custom ones, not tracing or transport noise."""
    return not _NOISE_HEADERS.match(name)


def _param_schema_for_text(schema: dict[str, Any]) -> dict[str, Any]:
    return schema or {}


def _param_probe(location: str, name: str, missing: bool) -> Probe:
    def probe(params: Any) -> bool:
        if not isinstance(params, dict):
            return False
        keys = {k.lower() for k in params} if location == "header" else set(params)
        key = name.lower() if location == "header" else name
        return (key not in keys) if missing else (key in keys)

    return probe


# ---------------------------------------------------------------------------------------------------------
# Whole contracts


@dataclass
class DriftResult:
    """Findings and what they were computed from."""

    findings: list[Finding]
    matched: dict[str, list[OperationSummary]]
    unmatched: list[OperationSummary]


def compare(
    contract: Contract,
    summaries: list[OperationSummary],
    source: ExampleSource | None = None,
    *,
    undocumented_templates: Callable[[list[OperationSummary]], dict[str, list[OperationSummary]]]
    | None = None,
    max_examples: int = 3,
) -> DriftResult:
    """Drift of observed summaries against a documented contract."""
    source = source or ExampleSource()
    matched, unmatched = match_operations(contract, summaries)
    findings: list[Finding] = []
    for op in contract.operations:
        members = matched[op.key]
        if not members:
            findings.append(
                Finding(
                    kind="operation-unobserved",
                    severity="info",
                    operation=op.key,
                    message="documented but never observed (coverage)",
                    expected="observed",
                    observed="no traffic",
                )
            )
            continue
        merged = OperationSummary(members[0].provider, op.method.upper(), op.path)
        for m in members:
            merged.load(m.dump())
        shapes = tuple(sorted(m.shape for m in members))
        for problem in compare_operation(op, merged):
            finding = _finding(op.key, op.method.upper(), shapes, problem, merged, source, max_examples)
            if problem.count < 0 and finding.count == 0:
                continue  # a check only recent exchanges could answer, and none showed the problem
            findings.append(finding)
    groups = (
        undocumented_templates(unmatched)
        if undocumented_templates
        else {f"{s.method} {s.shape}": [s] for s in unmatched}
    )
    for key, members in sorted(groups.items()):
        total = sum(m.n for m in members)
        consumers = sorted({c for m in members for c in m.consumers if c})
        first = min((m.first for m in members if m.first is not None), default=None)
        last = max((m.last for m in members if m.last is not None), default=None)
        method = members[0].method
        ids = [
            row.id
            for row in _take(
                source.exchanges(method, tuple(sorted(m.shape for m in members)), None), max_examples
            )
        ]
        statuses = sorted({c for m in members for c in m.statuses})
        findings.append(
            Finding(
                kind="operation-undocumented",
                severity="warning",
                operation=key,
                message=f"observed but not documented (statuses {', '.join(statuses) or 'none'})",
                expected="documented",
                observed="observed",
                count=total,
                first_seen=iso(first),
                last_seen=iso(last),
                consumers=tuple(consumers),
                examples=tuple(ids),
            )
        )
    findings.sort(key=finding_order)
    return DriftResult(findings, matched, unmatched)


def _take(items: Iterable[Any], n: int) -> list[Any]:
    out = []
    for item in items:
        out.append(item)
        if len(out) >= n:
            break
    return out


def _finding(
    op_key: str,
    method: str,
    shapes: tuple[str, ...],
    problem: Problem,
    merged: OperationSummary,
    source: ExampleSource,
    max_examples: int,
) -> Finding:
    hit = _examples(problem, method, shapes, source, max_examples)
    count = problem.count if problem.count >= 0 else hit.matched
    status = merged.statuses.get(problem.status or "") if problem.status else None
    first = hit.first if hit.first is not None else (status.first if status else merged.first)
    last = hit.last if hit.last is not None else (status.last if status else merged.last)
    consumers = hit.consumers or set(status.consumers if status else merged.consumers)
    message = (
        problem.message if problem.count >= 0 else f"{problem.message} ({hit.matched} in recent exchanges)"
    )
    finding = Finding(
        kind=problem.kind,
        severity=DRIFT[problem.kind],
        operation=op_key,
        location=problem.location,
        message=message,
        expected=problem.expected,
        observed=problem.observed,
        count=count,
        first_seen=iso(first),
        last_seen=iso(last),
        consumers=tuple(sorted(c for c in consumers if c)),
        examples=tuple(hit.ids),
    )
    if problem.which in REQUEST_PROBLEMS and hit.matched and hit.rejected == hit.matched:
        return rejected(finding)  # every exchange that showed it was refused by the provider
    return finding


def _examples(
    problem: Problem, method: str, shapes: tuple[str, ...], source: ExampleSource, limit: int
) -> ExampleHit:
    hit = ExampleHit()
    if problem.probe is None and problem.which not in ("operation",):
        return hit
    for row in source.exchanges(method, shapes, problem.status):
        if not shows_problem(problem, row):
            continue
        hit.matched += 1
        if row.status is not None and 400 <= row.status < 500:
            hit.rejected += 1
        if len(hit.ids) < limit:
            hit.ids.append(row.id)
        hit.consumers.add(row.consumer)
        hit.first = row.started if hit.first is None else min(hit.first, row.started)
        hit.last = row.started if hit.last is None else max(hit.last, row.started)
    return hit


def shows_problem(problem: Problem, row: ExampleRow) -> bool:
    """Does this exchange show the problem (its probe holds for a value at the problem's place)?"""
    if problem.which == "operation":
        return True
    if problem.which in ("query", "header"):
        return _param_hit(problem, row)
    if problem.probe is None:
        return False
    body = row.response if problem.which == "response" else row.request
    return any(problem.probe(v) for v in _values_at(body, problem.pointer, problem.probe_parent))


def _param_hit(problem: Problem, row: ExampleRow) -> bool:
    """Does this exchange's query or header value show the problem?"""
    if problem.probe is None:
        return False
    params = row.query if problem.which == "query" else row.headers
    if problem.param is None:  # presence checks look at all parameters
        return problem.probe(params)
    key = problem.param if problem.which == "query" else problem.param.lower()
    if key not in params:
        return False
    value = params[key]
    values = value if isinstance(value, list) else [value]
    if problem.pointer == () and any(isinstance(v, str) and "," in v for v in values):
        values = [p for v in values for p in (v.split(",") if isinstance(v, str) else [v])]
    return any(problem.probe(v) for v in values)


def _values_at(body: Any, pointer: tuple[str, ...], parent: bool) -> Iterator[Any]:
    """Values at a pointer with `*` wildcards (or the objects holding the last key, for missing fields)."""
    path = pointer[:-1] if parent else pointer
    current = [body]
    for key in path:
        nxt = []
        for value in current:
            if key == "*":
                if isinstance(value, list):
                    nxt.extend(value)
                elif isinstance(value, dict):
                    nxt.extend(value.values())
            elif isinstance(value, dict) and key in value:
                nxt.append(value[key])
        current = nxt
        if not current:
            return
    yield from current
