"""Single exchanges against a contract: the same rules as drift, for one request/response at a time.

Used wherever one exchange must be judged on its own: the stub (is this request valid?), the pytest plugin
(`contract_check(response, "GET /users/{userId}")`), replay, and the store process (operations for metrics).
"""

from __future__ import annotations

import time
import uuid

from recorder.common.http import header, lower_headers
from recorder.common.jsonvalues import NOT_JSON, request_value, typed_multidict
from recorder.common.routes import Routes, path_parameters
from recorder.common.times import iso
from recorder.judge.drift import REQUEST_PROBLEMS, ExampleRow, compare_operation, shows_problem
from recorder.judge.evidence import Problem, scalar_fits
from recorder.judge.severity import DRIFT, rejected
from recorder.learn.summaries import OperationSummary
from recorder.model import Contract, Exchange, Finding, Operation, finding_order


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
        self,
        exchange: Exchange,
        operation: str | Operation | None = None,
        *,
        request_only: bool = False,
        judge_rejections: bool = True,
    ) -> list[Finding]:
        """Findings for one exchange (an empty list when it conforms).

        With `judge_rejections`, a request-side problem that the provider answered with a 4xx is a warning, as
        in drift (the contract held); without it (requests to a stub of a consumer under test) it stays
        breaking. `request_only` judges the request alone."""
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
                        severity=DRIFT["operation-undocumented"],
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
            problems = [p for p in problems if p.which in REQUEST_PROBLEMS or p.location.startswith("path:")]
        findings = [_finding(op, p, exchange) for p in problems if p.count != 0]
        if judge_rejections and exchange.status is not None and 400 <= exchange.status < 500:
            findings = [rejected(f, "this request") for f in findings]
        findings.sort(key=finding_order)
        return findings


def _example_row(exchange: Exchange) -> ExampleRow:
    """The exchange as drift's example scan sees a recorded one (parsed bodies, typed query)."""
    response = exchange.json_body("response")
    return ExampleRow(
        id=exchange.id or 0,
        started=exchange.started,
        consumer=exchange.consumer or "",
        request=request_value(
            exchange.request_body, exchange.request_content_type, exchange.request_truncated
        ),
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
        severity=DRIFT[problem.kind],
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
