"""Single exchanges against a contract: the same rules as drift, for one request/response at a time.

Used wherever one exchange must be judged on its own: the stub (is this request valid?), the pytest plugin
(`contract_check(response, "GET /users/{userId}")`), replay, and the store process (operations for metrics).
"""

from __future__ import annotations

import functools
import re
import time
import uuid
from typing import Any

from recorder.common.http import header, lower_headers
from recorder.common.jsonvalues import NOT_JSON, typed_multidict
from recorder.common.routes import Routes, path_parameters
from recorder.common.schemas import schema_types
from recorder.common.times import iso
from recorder.judge.drift import (
    SEVERITY,
    ExampleRow,
    Problem,
    compare_operation,
    finding_order,
    scalar_fits,
    shows_problem,
)
from recorder.learn.strformats import FORMAT_PATTERNS, matches_format
from recorder.learn.summaries import OperationSummary
from recorder.model import Contract, Exchange, Finding, Operation

REQUEST_SIDE = ("query", "header", "request")


class Checker:
    """Matches concrete requests to a contract's operations and judges single exchanges."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.routes = Routes(contract.operations)
        self._by_key = {op.key: op for op in contract.operations}

    def operation(self, key: str) -> Operation | None:
        """The operation called `GET /users/{userId}` (method case-insensitive)."""
        method, _, path = key.strip().partition(" ")
        return self._by_key.get(f"{method.upper()} {path.strip()}")

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation a concrete request belongs to, with its path parameters; literals beat parameters."""
        return self.routes.match(method, path)

    def path_allowed(self, path: str) -> list[str]:
        """Methods documented for a concrete path (for 405 answers)."""
        return self.routes.allowed(path)

    def check(
        self, exchange: Exchange, operation: str | Operation | None = None, *, request_only: bool = False
    ) -> list[Finding]:
        """Findings for one exchange (an empty list when it conforms)."""
        if isinstance(operation, str):
            op = self.operation(operation)
            if op is None:
                raise KeyError(f"the contract has no operation {operation!r}")
            params = path_parameters(op.path, exchange.path)
        elif isinstance(operation, Operation):
            op, params = operation, path_parameters(operation.path, exchange.path)
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
        if any(p.count < 0 for p in problems):
            # evidence that could not tell (long strings, too many distinct values): ask this exchange itself
            row = _example_row(exchange)
            problems = [p for p in problems if p.count >= 0 or shows_problem(p, row)]
        problems += _path_problems(op, params)
        if request_only:
            problems = [p for p in problems if p.which in REQUEST_SIDE or p.location.startswith("path:")]
        findings = [_finding(op, p, exchange) for p in problems if p.count != 0]
        findings.sort(key=finding_order)
        return findings


def _example_row(exchange: Exchange) -> ExampleRow:
    """The exchange as drift's example scan sees a recorded one (parsed JSON bodies, typed query)."""
    request, response = exchange.json_body("request"), exchange.json_body("response")
    return ExampleRow(
        id=exchange.id or 0,
        started=exchange.started,
        consumer=exchange.consumer or "",
        request=None if request is NOT_JSON else request,
        response=None if response is NOT_JSON else response,
        query=typed_multidict(exchange.query),
        headers=lower_headers(exchange.request_headers),
        status=exchange.status,
    )


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
        request_content_type=header(req_headers, "content-type"),
        request_body=request_body,
        request_size=len(request_body or b""),
        status=status,
        response_headers=resp_headers,
        response_content_type=header(resp_headers, "content-type"),
        response_body=response_body,
        response_size=len(response_body or b""),
        consumer=consumer,
        provider=provider,
    )


def describe(findings: list[Finding]) -> str:
    """Findings as readable lines: `breaking type-mismatch GET /users/{userId} response 200: /id: ...`."""
    return "\n".join(
        f"{f.severity} {f.kind} {f.operation} {f.location}: {f.message} (expected {f.expected!r}, observed {f.observed!r})"
        for f in findings
    )


def is_failure(finding: Finding) -> bool:
    """Breaking findings fail checks; warnings and info do not."""
    return finding.severity == "breaking"


# ---------------------------------------------------------------------------------------------------------
# A direct check of one JSON value against a documented schema (the stub's fast path for request bodies)

# assertion keywords this check does not evaluate: a schema with any of them is left to the checker
_NOT_JUDGED = frozenset(
    {
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$ref", "$dynamicRef", "multipleOf",
        "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas", "dependencies",
        "minProperties", "maxProperties", "uniqueItems", "contains", "minContains", "maxContains",
        "prefixItems", "unevaluatedItems", "unevaluatedProperties", "additionalItems",
    }
)  # fmt: skip


def value_conforms(schema: Any, value: Any, depth: int = 0) -> bool:
    """True when a parsed JSON value certainly meets `schema` on everything drift judges (type, null, format,
    enum and const, pattern, lengths, ranges, required, additionalProperties, items), by JSON Schema's rules.

    False means "not certainly": a violation, or a schema this check leaves to the full checker (combinators,
    references, keywords it does not evaluate, redaction markers, very deep values). Unknown formats match,
    as JSON Schema says; annotations (description, readOnly, ...) are ignored."""
    if not isinstance(schema, dict) or depth > 64:
        return False
    if not schema:
        return True
    if not _NOT_JUDGED.isdisjoint(schema):
        return False
    types = schema_types(schema)
    if "const" in schema and not _same(value, schema["const"]):
        return False
    allowed = schema.get("enum")
    if allowed is not None and (not isinstance(allowed, list) or not any(_same(value, a) for a in allowed)):
        return False
    if value is None:
        return types is None or "null" in types
    if isinstance(value, bool):
        return types is None or "boolean" in types
    if isinstance(value, (int, float)):
        return _number_conforms(schema, types, value)
    if isinstance(value, str):
        return _string_conforms(schema, types, value)
    if isinstance(value, dict):
        return _object_conforms(schema, types, value, depth)
    if isinstance(value, list):
        return _array_conforms(schema, types, value, depth)
    return False


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _number_conforms(schema: dict[str, Any], types: set[str] | None, value: float) -> bool:
    integral = isinstance(value, int) or value.is_integer()
    if types is not None and "number" not in types and not ("integer" in types and integral):
        return False
    low, high = schema.get("minimum"), schema.get("maximum")
    xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    for bound in (low, high, xlow, xhigh):
        if bound is not None and not isinstance(bound, (int, float)):
            return False  # OpenAPI 3.0's boolean exclusive bounds, or junk: the checker judges
    if isinstance(xlow, bool) or isinstance(xhigh, bool):
        return False
    return not (
        (low is not None and value < low)
        or (high is not None and value > high)
        or (xlow is not None and value <= xlow)
        or (xhigh is not None and value >= xhigh)
    )


def _string_conforms(schema: dict[str, Any], types: set[str] | None, value: str) -> bool:
    if types is not None and "string" not in types:
        return False
    if value.startswith("<redacted:"):
        return False
    fmt = schema.get("format")
    if fmt in FORMAT_PATTERNS and not matches_format(value, fmt):
        return False
    low, high = schema.get("minLength"), schema.get("maxLength")
    if (low is not None and len(value) < low) or (high is not None and len(value) > high):
        return False
    pattern = schema.get("pattern")
    if pattern is not None:
        regex = _regex(pattern) if isinstance(pattern, str) else None
        if regex is None or regex.search(value) is None:
            return False
    return True


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _object_conforms(
    schema: dict[str, Any], types: set[str] | None, value: dict[str, Any], depth: int
) -> bool:
    if types is not None and "object" not in types:
        return False
    required = schema.get("required") or ()
    if any(name not in value for name in required):
        return False
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        sub = props.get(name)
        if sub is not None:
            if not value_conforms(sub, item, depth + 1):
                return False
        elif extra is False or (isinstance(extra, dict) and not value_conforms(extra, item, depth + 1)):
            return False
    return True


def _array_conforms(schema: dict[str, Any], types: set[str] | None, value: list[Any], depth: int) -> bool:
    if types is not None and "array" not in types:
        return False
    low, high = schema.get("minItems"), schema.get("maxItems")
    if (low is not None and len(value) < low) or (high is not None and len(value) > high):
        return False
    items = schema.get("items")
    if items is None:
        return True
    if not isinstance(items, dict):
        return False
    return all(value_conforms(items, item, depth + 1) for item in value)


__all__ = ["Checker", "describe", "is_failure", "make_exchange", "value_conforms"]
