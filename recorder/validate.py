"""Single exchanges against a contract: the same rules as drift, for one request/response at a time.

Used wherever one exchange must be judged on its own: the stub (is this request valid?), the pytest plugin
(`contract_check(response, "GET /users/{userId}")`), replay, and live drift in the proxy's store process.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass

from recorder.drift import SEVERITY, Problem, compare_operation, finding_order, scalar_fits
from recorder.model import Contract, Exchange, Finding, Operation
from recorder.paths import split_path
from recorder.summarize import OperationSummary, iso

REQUEST_SIDE = ("query", "header", "request")


@dataclass(frozen=True)
class _Route:
    op: Operation
    regex: re.Pattern[str]
    literals: int
    names: tuple[str, ...]


class Checker:
    """Matches concrete requests to a contract's operations and judges single exchanges."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.routes: list[_Route] = []
        for op in contract.operations:
            names = []
            parts = []
            for seg in split_path(op.path) if op.path != "/" else []:
                if seg.startswith("{") and seg.endswith("}"):
                    names.append(seg[1:-1])
                    parts.append("([^/]+)")
                else:
                    parts.append(re.escape(seg))
            regex = re.compile("/" + "/".join(parts) + "/?" if parts else "/")
            self.routes.append(_Route(op, regex, len(parts) - len(names), tuple(names)))
        self.routes.sort(key=lambda r: (-r.literals, r.op.path, r.op.method))
        self._by_key = {op.key: op for op in contract.operations}

    def operation(self, key: str) -> Operation | None:
        """The operation called `GET /users/{userId}` (method case-insensitive)."""
        method, _, path = key.strip().partition(" ")
        return self._by_key.get(f"{method.upper()} {path.strip()}")

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation a concrete request belongs to, with its path parameters; literals beat parameters."""
        from urllib.parse import unquote

        path = path.split("?", 1)[0]
        for route in self.routes:
            if route.op.method != method.lower():
                continue
            m = route.regex.fullmatch(path)
            if m:
                return route.op, {
                    name: unquote(value) for name, value in zip(route.names, m.groups(), strict=True)
                }
        return None

    def path_allowed(self, path: str) -> list[str]:
        """Methods documented for a concrete path (for 405 answers)."""
        path = path.split("?", 1)[0]
        return sorted({r.op.method.upper() for r in self.routes if r.regex.fullmatch(path)})

    def check(
        self, exchange: Exchange, operation: str | Operation | None = None, *, request_only: bool = False
    ) -> list[Finding]:
        """Findings for one exchange (an empty list when it conforms)."""
        if isinstance(operation, str):
            op = self.operation(operation)
            if op is None:
                raise KeyError(f"the contract has no operation {operation!r}")
            params = _path_values(op, exchange.path)
        elif isinstance(operation, Operation):
            op, params = operation, _path_values(operation, exchange.path)
        else:
            found = self.match(exchange.method, exchange.path)
            if found is None:
                return [
                    Finding(
                        kind="operation-undocumented",
                        severity=SEVERITY["operation-undocumented"],  # type: ignore[arg-type]
                        operation=f"{exchange.method.upper()} {exchange.path}",
                        message="no operation of the contract matches this request",
                        expected="a documented operation",
                        observed=f"{exchange.method.upper()} {exchange.path}",
                        count=1,
                        examples=(exchange.id,) if exchange.id else (),
                    )
                ]
            op, params = found
        summary = OperationSummary(exchange.provider, exchange.method.upper(), op.path)
        summary.add(exchange)
        problems = compare_operation(op, summary)
        problems += _path_problems(op, params)
        if request_only:
            problems = [p for p in problems if p.which in REQUEST_SIDE or p.location.startswith("path:")]
        findings = [_finding(op, p, exchange) for p in problems if p.count != 0]
        findings.sort(key=finding_order)
        return findings


def _path_values(op: Operation, path: str) -> dict[str, str]:
    names = [s[1:-1] for s in split_path(op.path) if s.startswith("{")]
    concrete = split_path(path.split("?", 1)[0])
    template = split_path(op.path)
    if len(concrete) != len(template):
        return {}
    return {
        t[1:-1]: c for t, c in zip(template, concrete, strict=True) if t.startswith("{") and t[1:-1] in names
    }


def _path_problems(op: Operation, params: dict[str, str]) -> list[Problem]:
    problems = []
    for param in op.parameters:
        if param.location != "path" or param.name not in params:
            continue
        value = params[param.name]
        if param.schema_ and not scalar_fits(param.schema_, value):
            problems.append(
                Problem(
                    "type-mismatch",
                    f"path: {param.name}",
                    f"path parameter {param.name!r} is {value!r}, which does not fit {param.schema_}",
                    param.schema_,
                    value,
                    1,
                    which="request",
                )
            )
    return problems


def _finding(op: Operation, problem: Problem, exchange: Exchange) -> Finding:
    return Finding(
        kind=problem.kind,
        severity=SEVERITY[problem.kind],  # type: ignore[arg-type]
        operation=op.key,
        location=problem.location,
        message=problem.message,
        expected=problem.expected,
        observed=problem.observed,
        count=problem.count if problem.count > 0 else 1,
        first_seen=iso(exchange.started),
        last_seen=iso(exchange.started),
        consumers=(exchange.consumer,) if exchange.consumer else (),
        examples=(exchange.id,) if exchange.id else (),
    )


def make_exchange(
    method: str,
    path: str,
    *,
    query: dict[str, list[str]] | None = None,
    request_headers: list[tuple[str, str]] | None = None,
    request_body: bytes | None = None,
    status: int | None = None,
    response_headers: list[tuple[str, str]] | None = None,
    response_body: bytes | None = None,
    consumer: str = "",
    provider: str = "",
    started: float | None = None,
) -> Exchange:
    """An `Exchange` built from plain values (content types are read from the headers)."""
    req_headers = request_headers or []
    resp_headers = response_headers or []
    return Exchange(
        uid=uuid.uuid4().hex,
        started=started if started is not None else time.time(),
        method=method.upper(),
        path=path.split("?", 1)[0],
        query=query or {},
        request_headers=req_headers,
        request_content_type=_header(req_headers, "content-type"),
        request_body=request_body,
        request_size=len(request_body or b""),
        status=status,
        response_headers=resp_headers,
        response_content_type=_header(resp_headers, "content-type"),
        response_body=response_body,
        response_size=len(response_body or b""),
        consumer=consumer,
        provider=provider,
    )


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def describe(findings: list[Finding]) -> str:
    """Findings as readable lines: `breaking type-mismatch GET /users/{userId} response 200: /id: ...`."""
    return "\n".join(
        f"{f.severity} {f.kind} {f.operation} {f.location}: {f.message} (expected {f.expected!r}, observed {f.observed!r})"
        for f in findings
    )


def is_failure(finding: Finding) -> bool:
    """Breaking findings fail checks; warnings and info do not."""
    return finding.severity == "breaking"


__all__ = ["Checker", "describe", "is_failure", "make_exchange"]
