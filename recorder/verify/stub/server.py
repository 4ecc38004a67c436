"""The stub itself: an HTTP stub provider for consumer tests, answering from a contract (OpenAPI, Pact, or a recorded database).

A request is matched to an operation (`Checker.match`: literals beat parameters), judged with
`Checker.check(request_only=True)` (a violation gets a 400 that says why), and answered with:

1. the status asked for with `Prefer: code=404`, else the status recorded for this very request (a Pact
   interaction, or the most common answer in the database), else the operation's most common 2xx;
2. the recorded response of this very request when there is one, else the contract's example for that status
   and media type, else a body generated from the schema, deterministic for (`seed`, operation, path).

`Stub` is a plain object (`stub.respond(...)`) and an ASGI app; `start_stub(contract)` (`serving`) serves it
with uvicorn on a background thread (`with start_stub(c) as s: httpx.get(s.url + "/users/1")`).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from recorder.common.http import is_json_media_type, media_type
from recorder.common.jsonvalues import loads_json, typed_value
from recorder.common.schemas import main_type
from recorder.judge.conform import Check, compile_conforms
from recorder.judge.evidence import scalar_fits
from recorder.judge.exchange import Checker, make_exchange
from recorder.judge.severity import is_failure
from recorder.model import Body, Contract, Finding, Operation, Response
from recorder.verify.stub.bodies import BodyGenerator, accepts, echo_value
from recorder.verify.stub.responses import (
    CACHE_SIZE,
    HOP_HEADERS,
    Recorded,
    StubResponse,
    recorded_from_db,
    recorded_from_pact,
)

# ---------------------------------------------------------------------------------------------------------
# The stub

MAX_REQUEST_BODY = 10 * 1024 * 1024
_CONFORMING = object()  # stands for any request body that meets its schema, in verdict keys
TRUSTED = 3  # generated bodies of a response that met its schema before the generator is trusted there


@dataclass
class _OperationPlan:
    """What the stub precomputes for one operation."""

    op: Operation
    key: str
    default_status: int
    header_names: frozenset[str]
    path_schemas: dict[str, dict[str, Any]]
    query_typed: dict[str, bool]  # documented query parameters: is the schema a bare `type`?
    echo_last: str | None  # the last path parameter, echoed into a top-level `id`
    # JSON request bodies: media type -> the compiled conformance check of its documented schema
    body_checks: dict[str, Check]
    examples_ok: dict[tuple[str, str], bool] = field(default_factory=dict)
    echo_fields: dict[tuple[int, str], dict[str, tuple[dict[str, Any], str]]] = field(default_factory=dict)
    headers: dict[tuple[int, str | None], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    generated_ok: dict[tuple[int, str], int] = field(
        default_factory=dict
    )  # bodies that met the schema; -1: check all


def _status_int(status: str) -> int:
    if status.isdigit():
        return int(status)
    if len(status) == 3 and status[0].isdigit() and status[1:].upper() == "XX":
        return int(status[0]) * 100
    return 200


def _default_status(op: Operation) -> int:
    """The most common 2xx by evidence, else the first 2xx, else the first documented status."""
    if not op.responses:
        return 204 if op.method == "delete" else 200
    ok = [r for r in op.responses if _status_int(r.status) // 100 == 2 and r.status != "default"]
    if ok:
        best = max(ok, key=lambda r: (r.evidence.count if r.evidence else 0, -_status_int(r.status)))
        return _status_int(best.status)
    return _status_int(op.responses[0].status)


def parse_prefer(value: str | None) -> dict[str, str]:
    """`Prefer: code=404, dynamic=true` -> `{"code": "404", "dynamic": "true"}` (RFC 7240 style)."""
    out: dict[str, str] = {}
    if not value:
        return out
    for part in re.split(r"[,;]", value):
        key, _, val = part.strip().partition("=")
        if key:
            out[key.strip().lower()] = val.strip().strip('"')
    return out


def _accepts(accept: str | None, mt: str) -> bool:
    if not accept:
        return True
    major = mt.split("/", 1)[0]
    for part in accept.split(","):
        want = part.split(";", 1)[0].strip().lower()
        if want in ("*/*", mt, f"{major}/*"):
            return True
    return False


_ANNOTATIONS = frozenset({"title", "description", "example", "examples", "deprecated", "x-evidence"})


def _bare_type(schema: dict[str, Any]) -> bool:
    """A schema that says nothing but one scalar type (`{"type": "integer"}`)."""
    return set(schema) - _ANNOTATIONS == {"type"} and schema["type"] in (
        "integer",
        "number",
        "boolean",
        "string",
    )


def _text_kind(text: str) -> str:
    """A stand-in with the same typed reading as a query value: `"42"` -> `"1"`, `"x"` -> `"x"`."""
    value = typed_value(text)
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int):
        return "1"
    if isinstance(value, float):
        return "1.0" if value.is_integer() else "1.5"
    return "x"


def _plan(op: Operation) -> _OperationPlan:
    names = re.findall(r"\{([^{}]+)\}", op.path)
    return _OperationPlan(
        op=op,
        key=op.key,
        default_status=_default_status(op),
        header_names=frozenset(p.name.lower() for p in op.parameters if p.location == "header"),
        path_schemas={p.name: p.schema_ for p in op.parameters if p.location == "path"},
        query_typed={p.name: _bare_type(p.schema_) for p in op.parameters if p.location == "query"},
        echo_last=names[-1] if names and op.path.endswith("}") else None,
        body_checks={
            media_type(b.media_type) or b.media_type: compile_conforms(b.schema_)
            for b in op.request_bodies
            if b.schema_ and is_json_media_type(b.media_type)
        },
    )


class Stub:
    """Answers HTTP requests from a contract: matching, request validation, recorded or generated responses."""

    def __init__(self, contract: Contract, *, seed: int = 0, recorded: Recorded | None = None) -> None:
        self.contract = contract
        self.seed = seed
        self.recorded = recorded
        self.checker = Checker(contract)
        self.plans = {op.key: _plan(op) for op in contract.operations}
        self._routes: dict[str, list[tuple[re.Pattern[str], tuple[str, ...], _OperationPlan]]] = {}
        for route in self.checker.routes.routes:  # the one route order: literals beat parameters
            self._routes.setdefault(route.op.method.upper(), []).append(
                (route.regex, route.names, self.plans[route.op.key])
            )
        self._verdicts: dict[Any, list[dict[str, Any]]] = {}
        self._rendered: dict[Any, StubResponse] = {}
        self._matches: dict[tuple[str, str], tuple[_OperationPlan, dict[str, str]] | None] = {}

    @property
    def title(self) -> str:
        """The contract's title."""
        return self.contract.title

    # -- the plain entrance -----------------------------------------------------------------------------

    def respond(
        self,
        method: str,
        path: str,
        query: str | bytes = "",
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> StubResponse:
        """The stub's answer to one request (`path` without the query; `query` the raw query string)."""
        return self._respond(method.upper(), path, query, [(k.lower(), v) for k, v in headers], body)

    def _respond(
        self,
        method: str,
        path: str,
        query: str | bytes,
        headers: Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]],
        body: bytes,
    ) -> StubResponse:
        """`respond` with the method in upper case and header names in lower case, as text or (from ASGI)
        as bytes: only the few headers the stub reads are decoded."""
        found = self._match(method, path)
        if found is None and method == "HEAD":
            found = self._match("GET", path)
        if found is None:
            return self._unmatched(method, path)
        plan, params = found
        op = plan.op
        qs = query.decode("latin-1") if isinstance(query, bytes) else query
        wanted: dict[str, str] = {}
        ctype = prefer = accept = None
        for key, value in headers:
            low = key.decode("latin-1") if isinstance(key, bytes) else key
            if low in plan.header_names:
                wanted[low] = _text(value)
            elif low == "content-type":
                ctype = _text(value)
            elif low == "accept":
                accept = _text(value)
            elif low == "prefer":
                prefer = _text(value)
        query_dict = parse_qs(qs, keep_blank_values=True) if qs else {}
        violations = self._judge(plan, path, params, qs, query_dict, wanted, ctype, body)
        if violations:
            return _violation_response(op, violations)
        return self._answer(
            plan, op.method.upper(), path, query_dict, body, params, parse_prefer(prefer), accept
        )

    def _match(self, method: str, path: str) -> tuple[_OperationPlan, dict[str, str]] | None:
        """`Checker.match`, with routes grouped by method; remembered per (method, path)."""
        key = (method, path)
        if key in self._matches:
            return self._matches[key]
        found = None
        for regex, names, plan in self._routes.get(method, ()):
            m = regex.fullmatch(path)
            if m:
                found = (
                    plan,
                    {n: unquote(v) if "%" in v else v for n, v in zip(names, m.groups(), strict=True)},
                )
                break
        if len(self._matches) >= CACHE_SIZE:
            self._matches.clear()
        self._matches[key] = found
        return found

    def _judge(
        self,
        plan: _OperationPlan,
        path: str,
        params: dict[str, str],
        qs: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        ctype: str | None,
        body: bytes,
    ) -> list[dict[str, Any]]:
        """The request's violations, remembered per request shape. `Checker.check` judges a path parameter
        only by whether it fits its schema (`scalar_fits`), a single value of a query parameter whose schema
        is a bare type only by its typed reading, an undocumented one not at all: `/users/12?limit=5` and
        `/users/13?limit=10` share one verdict (tests/test_stub.py checks this against the checker)."""
        path_shape = tuple(
            (name, True)
            if "%" not in value and scalar_fits(plan.path_schemas.get(name) or {}, value)
            else (name, value)
            for name, value in params.items()
        )
        query_shape = tuple(
            (name, (_text_kind(values[0]),))
            if len(values) == 1 and plan.query_typed.get(name, True) and "%" not in qs
            else (name, tuple(values))
            for name, values in query.items()
        )
        key = (plan.key, path_shape, query_shape, tuple(sorted(headers.items())), ctype, body)
        violations = self._verdicts.get(key)
        if violations is not None:
            return violations
        if self._body_conforms(plan, ctype, body):
            # a body that meets its schema adds nothing to the verdict: requests that differ only in such
            # bodies (a new user each time) share one verdict, judged once
            key = (*key[:-1], _CONFORMING)
            violations = self._verdicts.get(key)
            if violations is None:
                violations = [
                    v
                    for v in self._violations(plan.op, path, query, headers, ctype, body)
                    if not v["location"].startswith("request body")
                ]
                self._remember(key, violations)
            return violations
        violations = self._violations(plan.op, path, query, headers, ctype, body)
        if len(body) <= 65536:
            self._remember(key, violations)
        return violations

    def _remember(self, key: Any, violations: list[dict[str, Any]]) -> None:
        if len(self._verdicts) >= CACHE_SIZE:
            self._verdicts.clear()
        self._verdicts[key] = violations

    @staticmethod
    def _body_conforms(plan: _OperationPlan, ctype: str | None, body: bytes) -> bool:
        """Does a JSON body certainly meet the schema documented for its media type (`compile_conforms`)?"""
        if not body or not plan.body_checks:
            return False
        check = plan.body_checks.get(media_type(ctype) or "")
        if check is None:
            return False
        try:
            value = loads_json(body)
        except (ValueError, RecursionError):
            return False
        return check(value)

    def _unmatched(self, method: str, path: str) -> StubResponse:
        allowed = self.checker.path_allowed(path)
        if allowed:
            if "GET" in allowed and "HEAD" not in allowed:
                allowed = sorted([*allowed, "HEAD"])
            if method == "OPTIONS":
                return StubResponse(204, (("Allow", ", ".join(allowed)),))
            return _json_response(
                405,
                {"error": f"{method} is not documented for {path}", "allowed": allowed},
                (("Allow", ", ".join(allowed)),),
            )
        keys = sorted(op.key for op in self.contract.operations)
        return _json_response(
            404,
            {
                "error": f"no operation of {self.contract.title} matches {method} {path}",
                "operations": keys[:100],
            },
        )

    def _violations(
        self,
        op: Operation,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        ctype: str | None,
        body: bytes,
    ) -> list[dict[str, Any]]:
        request_headers = list(headers.items())
        if ctype is not None:
            request_headers.append(("Content-Type", ctype))
        exchange = make_exchange(
            op.method, path, query=query, request_headers=request_headers, request_body=body or None
        )
        out = []
        if body and is_json_media_type(ctype):
            try:
                json.loads(body)
            except (ValueError, RecursionError) as exc:
                out.append(
                    {
                        "location": "request body",
                        "message": f"request body is not valid JSON: {exc}",
                        "expected": "JSON",
                        "observed": body[:80].decode("utf-8", "replace"),
                    }
                )
        for finding in self.checker.check(exchange, op, request_only=True):
            if is_failure(finding) or _undocumented_request_media(finding, op):
                out.append(_violation(finding))
        return out

    def _answer(
        self,
        plan: _OperationPlan,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        params: dict[str, str],
        prefer: dict[str, str],
        accept: str | None,
    ) -> StubResponse:
        op = plan.op
        code = prefer.get("code")
        dynamic = prefer.get("dynamic", "").lower() == "true"
        recorded = self.recorded.lookup(method, path, query, body) if self.recorded and not dynamic else None
        if code is not None:
            known = code.isdigit() and (
                op.response(code) is not None or (recorded is not None and int(code) in recorded[1])
            )
            if not known:
                documented = [r.status for r in op.responses]
                return _violation_response(
                    op,
                    [
                        {
                            "location": "header: Prefer",
                            "message": f"the contract documents no {code} response for {op.key}",
                            "expected": documented,
                            "observed": code,
                        }
                    ],
                )
            status = int(code)
        elif recorded is not None:
            status = recorded[0]
        else:
            status = plan.default_status
        if self.recorded is not None and recorded is not None and status in recorded[1]:
            canned = self.recorded.load(recorded[1][status])
            if canned is not None:
                return canned
        key = (plan.key, status, path, accept, dynamic)
        cached = self._rendered.get(key)
        if cached is None:
            cached = self._render(plan, status, path, params, accept, dynamic)
            if len(self._rendered) >= CACHE_SIZE:
                self._rendered.clear()
            self._rendered[key] = cached
        return cached

    def _render(
        self,
        plan: _OperationPlan,
        status: int,
        path: str,
        params: dict[str, str],
        accept: str | None,
        dynamic: bool,
    ) -> StubResponse:
        """A response of `status`: the contract's example (path parameters echoed) or a generated body."""
        op = plan.op
        response = op.response(str(status))
        chosen = _pick_body(response, accept) if response is not None and status not in (204, 304) else None
        echo_id = params.get(plan.echo_last) if plan.echo_last else None
        headers = list(self._response_headers(plan, status, response, chosen))
        payload = b""
        if chosen is not None:
            if not dynamic and chosen.example is not None and self._example_fits(plan, response, chosen):  # type: ignore[arg-type]
                fields = plan.echo_fields.get((status, chosen.media_type))
                if fields is None:
                    fields = plan.echo_fields[(status, chosen.media_type)] = _echo_fields(chosen.schema_)
                value = _echo_into(chosen.example, fields, params, echo_id)
            elif chosen.schema_ is not None:
                rng = random.Random(f"{self.seed}|{op.key}|{status}|{path}")
                value = self._generate(
                    plan, (status, chosen.media_type), chosen.schema_, rng, params, echo_id
                )
            else:
                value = chosen.example
            payload = _encode(value, chosen.media_type)
        return StubResponse(status, tuple(headers), payload)

    def _generate(
        self,
        plan: _OperationPlan,
        key: tuple[int, str],
        schema: dict[str, Any],
        rng: random.Random,
        params: dict[str, str],
        echo_id: str | None,
    ) -> Any:
        """A generated body that meets its schema: the first bodies of each response are checked with a JSON
        Schema validator; once three in a row met it the generator is trusted there, else every body is
        checked and drawn again (up to 8 times) until one meets it."""
        generator = BodyGenerator(rng, params, echo_id)
        trust = plan.generated_ok.get(key, 0)
        value = generator.value(schema, "", 0)
        if trust >= TRUSTED:
            return value
        for _ in range(8):
            if accepts(schema, value):
                if trust >= 0:
                    plan.generated_ok[key] = trust + 1
                return value
            plan.generated_ok[key] = trust = -1  # this generator misses here: check every body from now on
            generator.echo, generator.echo_id = {}, None  # an echoed path value may be what does not fit
            value = generator.value(schema, "", 0)
        return value

    def _response_headers(
        self, plan: _OperationPlan, status: int, response: Response | None, body: Body | None
    ) -> tuple[tuple[str, str], ...]:
        """Content-Type and the documented required headers (values generated once per status)."""
        key = (status, body.media_type if body is not None else None)
        if key not in plan.headers:
            out = [("Content-Type", body.media_type)] if body is not None else []
            rng = random.Random(f"{self.seed}|{plan.op.key}|{status}|headers")
            generator = BodyGenerator(rng)
            for param in response.headers if response is not None else ():
                if param.required and param.name.lower() not in HOP_HEADERS | {"content-type"}:
                    value = generator.value(param.schema_ or {"type": "string"}, param.name.lower(), 9)
                    out.append((param.name, _header_text(value)))
            plan.headers[key] = tuple(out)
        return plan.headers[key]

    def _example_fits(self, plan: _OperationPlan, response: Response, body: Body) -> bool:
        """Does the contract's example fit its own schema (recorded examples are trimmed)? Judged once."""
        key = (response.status, body.media_type)
        if key not in plan.examples_ok:
            ok = True
            if body.schema_ is not None and is_json_media_type(body.media_type):
                op = plan.op
                exchange = make_exchange(
                    op.method,
                    _concrete_path(op.path),
                    status=_status_int(response.status),
                    response_headers=[("Content-Type", body.media_type)],
                    response_body=_encode(body.example, body.media_type),
                )
                findings = self.checker.check(exchange, op)
                ok = not any(is_failure(f) and f.location.startswith("response") for f in findings)
            plan.examples_ok[key] = ok
        return plan.examples_ok[key]

    # -- the ASGI entrance ------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """The stub as an ASGI application."""
        if scope["type"] != "http":
            return
        chunks = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_REQUEST_BODY:
                response = _json_response(413, {"error": "request body too large for the stub"})
                break
            chunks.append(chunk)
            more = message.get("more_body", False)
        else:
            raw_path = scope.get("raw_path")
            path = raw_path.decode("latin-1") if raw_path else scope["path"]
            try:  # ASGI header names come in lower case
                response = self._respond(
                    scope["method"].upper(),
                    path,
                    scope.get("query_string", b""),
                    scope["headers"],
                    chunks[0] if len(chunks) == 1 else b"".join(chunks),
                )
            except Exception as exc:  # a bug of ours: say so in the response, the consumer's test shows it
                response = _json_response(500, {"error": f"stub error: {type(exc).__name__}: {exc}"})
        await send(
            {"type": "http.response.start", "status": response.status, "headers": response.raw_headers}
        )
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else response.body}
        )


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _echo_fields(schema: dict[str, Any] | None) -> dict[str, tuple[dict[str, Any], str]]:
    """Scalar fields of a body's top-level object (or of its array's items): name -> (schema, type)."""
    if not isinstance(schema, dict):
        return {}
    if main_type(schema) == "array" and isinstance(schema.get("items"), dict):
        schema = schema["items"]
    props = dict(schema.get("properties") or {}) if isinstance(schema.get("properties"), dict) else {}
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key) or ():
            if isinstance(branch, dict) and isinstance(branch.get("properties"), dict):
                props = {**branch["properties"], **props}
    out = {}
    for name, sub in props.items():
        kind = main_type(sub) if isinstance(sub, dict) else None
        if kind in ("string", "integer", "number"):
            out[name] = (sub, kind)
    return out


def _echo_into(
    value: Any, fields: dict[str, tuple[dict[str, Any], str]], params: dict[str, str], echo_id: str | None
) -> Any:
    """An example with path parameters echoed into fields of the same name (and the last one into a top-level
    `id`), where the value fits the field's schema: `GET /users/12` -> `{"id": 12, ...}`."""
    if not params or not fields:
        return value
    if isinstance(value, dict):
        return _echo_object(value, fields, params, echo_id)
    if isinstance(value, list):
        return [_echo_object(v, fields, params, None) if isinstance(v, dict) else v for v in value]
    return value


def _echo_object(
    value: dict[str, Any],
    fields: dict[str, tuple[dict[str, Any], str]],
    params: dict[str, str],
    echo_id: str | None,
) -> dict[str, Any]:
    out = None
    wanted = [(k, params[k]) for k in params if k in value and k in fields]
    if echo_id is not None and "id" in value and "id" in fields and "id" not in params:
        wanted.append(("id", echo_id))
    for name, text in wanted:
        sub, kind = fields[name]
        echoed = echo_value(text, sub, kind)
        if echoed is not None and echoed != value[name]:
            out = out if out is not None else dict(value)
            out[name] = echoed
    return out if out is not None else value


def _undocumented_request_media(finding: Finding, op: Operation) -> bool:
    """A request body of a media type the operation does not take (when it documents bodies at all)."""
    return (
        finding.kind == "content-type-undocumented"
        and bool(op.request_bodies)
        and finding.location.startswith("request body")
    )


def _violation(finding: Finding) -> dict[str, Any]:
    return {
        "location": finding.location,
        "message": finding.message,
        "expected": finding.expected,
        "observed": finding.observed,
    }


def _violation_response(op: Operation, violations: list[dict[str, Any]]) -> StubResponse:
    first = violations[0]
    summary = f"{first['location']}: {first['message']}"
    summary = " ".join(summary.split()).encode("ascii", "replace").decode()[:300]
    return _json_response(
        400,
        {"error": "request violates the contract", "operation": op.key, "violations": violations},
        (("X-Contract-Violation", summary),),
    )


def _json_response(status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()) -> StubResponse:
    body = json.dumps(data, default=str).encode()
    return StubResponse(status, (("Content-Type", "application/json"), *headers), body)


def _pick_body(response: Response, accept: str | None) -> Body | None:
    if not response.bodies:
        return None
    for body in response.bodies:
        if _accepts(accept, body.media_type):
            return body
    return next((b for b in response.bodies if is_json_media_type(b.media_type)), response.bodies[0])


def _encode(value: Any, mt: str) -> bytes:
    if value is None and not is_json_media_type(mt):
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and not is_json_media_type(mt):
        return value.encode()
    return json.dumps(value).encode()


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return "" if value is None else str(value)


def _concrete_path(template: str) -> str:
    return re.sub(r"\{[^{}]+\}", "1", template)


# ---------------------------------------------------------------------------------------------------------
# Building stubs


def stub_from_file(path: Path | str, *, seed: int = 0) -> Stub:
    """A stub for an OpenAPI or Pact file (a Pact's interactions answer their own requests)."""
    from recorder.contracts.documents import read_document
    from recorder.contracts.load import contract_kind, load_contract

    path = Path(path)
    contract = load_contract(path)
    recorded = None
    if path.read_bytes()[:64].lstrip().startswith(b"{"):  # Pact files are JSON: no second YAML parse
        doc = read_document(path)
        if contract_kind(doc, path) == "pact":
            recorded = recorded_from_pact(doc)
    return Stub(contract, seed=seed, recorded=recorded)


def stub_from_db(path: Path | str, *, seed: int = 0, options: Any = None) -> Stub:
    """A stub for the contract learned from a recorded database; recorded requests get their recorded answers."""
    from recorder.learn.observed import ObservedOptions, observed_contract
    from recorder.store import open_store

    store = open_store(path)
    options = options or ObservedOptions()
    contract = observed_contract(store, options).contract
    provider = contract.provider or ""
    return Stub(contract, seed=seed, recorded=recorded_from_db(store, provider))


# ---------------------------------------------------------------------------------------------------------
# Serving
