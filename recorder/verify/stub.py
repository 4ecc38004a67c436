"""An HTTP stub provider for consumer tests, answering from a contract (OpenAPI, Pact, or a recorded database).

A request is matched to an operation (`Checker.match`: literals beat parameters), judged with
`Checker.check(request_only=True)` (a violation gets a 400 that says why), and answered with:

1. the status asked for with `Prefer: code=404`, else the status recorded for this very request (a Pact
   interaction, or the most common answer in the database), else the operation's most common 2xx;
2. the recorded response of this very request when there is one, else the contract's example for that status
   and media type, else a body generated from the schema, deterministic for (`seed`, operation, path).

`Stub` is a plain object (`stub.respond(...)`) and an ASGI app; `start_stub(contract)` serves it with uvicorn
on a background thread (`with start_stub(c) as s: httpx.get(s.url + "/users/1")`).
"""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import math
import random
import re
import socket
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from recorder.common.http import is_json_media_type, media_type
from recorder.common.jsonvalues import typed_value
from recorder.common.schemas import main_type
from recorder.errors import RecorderError
from recorder.judge.drift import scalar_fits
from recorder.judge.exchange import Checker, is_failure, make_exchange, value_conforms
from recorder.model import Body, Contract, Finding, Operation, Response
from recorder.store import Store

MAX_REQUEST_BODY = 10 * 1024 * 1024
CACHE_SIZE = 4096
_CONFORMING = object()  # stands for any request body that meets its schema, in verdict keys
RECORDED_WINDOW = 50_000  # the most recent exchanges of a database the stub answers concrete requests from
HOP_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive", "date", "server"}
)
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class StubResponse:
    """What the stub answers: status, headers and body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    raw_headers: list[tuple[bytes, bytes]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1", "replace")) for k, v in self.headers]
        raw.append((b"content-length", str(len(self.body)).encode()))
        object.__setattr__(self, "raw_headers", raw)

    def header(self, name: str) -> str | None:
        """The first header called `name` (case-insensitive), or None."""
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


# ---------------------------------------------------------------------------------------------------------
# Recorded answers to concrete requests


def query_key(query: dict[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A query multi-dict in a canonical, hashable form."""
    return tuple(sorted((k, tuple(v)) for k, v in query.items()))


def _body_key(body: bytes | None) -> str:
    if not body:
        return ""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):
        return body.decode("utf-8", "replace")


RequestKey = tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]]


class Recorded:
    """Recorded responses to concrete requests (a Pact's interactions, a database's exchanges), by request."""

    def __init__(self, loader: Callable[[int], StubResponse | None] | None = None) -> None:
        self._by_request: dict[RequestKey, dict[int, StubResponse | int]] = {}
        self._by_body: dict[tuple[RequestKey, str], dict[int, StubResponse | int]] = {}
        self._default: dict[Any, int] = {}
        self._loader = loader
        self._loaded: dict[int, StubResponse | None] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_request)

    def add(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        response: StubResponse | int,
        status: int,
        *,
        body: bytes | None = None,
    ) -> None:
        """Remember `response` (or the id to load it by) as the answer of status `status` to this request; the
        first status remembered for a request is its default."""
        key = (method.upper(), path, query_key(query))
        targets: list[tuple[dict[Any, dict[int, StubResponse | int]], Any]] = [(self._by_request, key)]
        if body is not None:
            targets.append((self._by_body, (key, _body_key(body))))
        for index, k in targets:
            index.setdefault(k, {}).setdefault(status, response)
            self._default.setdefault(k, status)

    def lookup(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes | None
    ) -> tuple[int, dict[int, StubResponse | int]] | None:
        """(default status, answers by status) recorded for this request, or None."""
        key = (method.upper(), path, query_key(query))
        if self._by_body:
            bkey = (key, _body_key(body))
            if bkey in self._by_body:
                return self._default[bkey], self._by_body[bkey]
        if key in self._by_request:
            return self._default[key], self._by_request[key]
        return None

    def load(self, answer: StubResponse | int) -> StubResponse | None:
        """The response itself (loading it by id when it was recorded in a database)."""
        if isinstance(answer, StubResponse):
            return answer
        if self._loader is None:
            return None
        with self._lock:
            if answer not in self._loaded:
                if len(self._loaded) >= CACHE_SIZE:
                    self._loaded.clear()
                self._loaded[answer] = self._loader(answer)
            return self._loaded[answer]


def recorded_from_pact(doc: dict[str, Any]) -> Recorded:
    """The interactions of a parsed Pact file (v2, v3 or v4) as recorded answers."""
    recorded = Recorded()
    for interaction in doc.get("interactions") or ():
        if not isinstance(interaction, dict):
            continue
        kind = interaction.get("type")
        request, response = interaction.get("request"), interaction.get("response")
        if (isinstance(kind, str) and not kind.endswith("/HTTP")) or not isinstance(request, dict):
            continue
        if not isinstance(response, dict) or not isinstance(response.get("status"), int):
            continue
        req_headers = _pact_headers(request.get("headers"))
        req_body, _ = _pact_body(request.get("body"), req_headers)
        resp_headers = _pact_headers(response.get("headers"))
        resp_body, ctype = _pact_body(response.get("body"), resp_headers)
        headers = [(k, v) for k, v in resp_headers if k.lower() not in HOP_HEADERS]
        if ctype and not any(k.lower() == "content-type" for k, _ in headers):
            headers.insert(0, ("Content-Type", ctype))
        status = response["status"]
        recorded.add(
            str(request.get("method") or "GET"),
            str(request.get("path") or "/"),
            _pact_query(request.get("query")),
            StubResponse(status, tuple(headers), resp_body),
            status,
            body=req_body,
        )
    return recorded


def _pact_headers(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, dict):
        return []
    out = []
    for key, value in raw.items():
        out.append((str(key), ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    return out


def _pact_query(raw: Any) -> dict[str, list[str]]:
    if isinstance(raw, str):
        return parse_qs(raw, keep_blank_values=True)
    if isinstance(raw, dict):
        return {str(k): [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in raw.items()}
    return {}


def _pact_body(raw: Any, headers: list[tuple[str, str]]) -> tuple[bytes, str | None]:
    """A Pact body as bytes and its content type (v4 bodies carry their own)."""
    ctype = next((v for k, v in headers if k.lower() == "content-type"), None)
    if raw is None:
        return b"", ctype
    if isinstance(raw, dict) and "content" in raw and ("contentType" in raw or "encoded" in raw):
        ctype = raw.get("contentType") or ctype
        content, encoded = raw.get("content"), raw.get("encoded")
        if isinstance(encoded, str) and encoded.lower() == "json" and isinstance(content, str):
            return content.encode(), ctype or "application/json"
        if encoded not in (None, False) and isinstance(content, str):
            try:
                return base64.b64decode(content, validate=True), ctype
            except ValueError:
                return content.encode(), ctype
        raw = content
    if isinstance(raw, str) and not is_json_media_type(ctype):
        return raw.encode(), ctype or "text/plain"
    return json.dumps(raw).encode(), ctype or "application/json"


def recorded_from_db(store: Store, provider: str) -> Recorded:
    """The most common recorded answer to each concrete request of `provider` (bodies load on demand)."""

    def load(exchange_id: int) -> StubResponse | None:
        ex = store.exchange(exchange_id)
        if ex is None or ex.status is None or ex.response_truncated:
            return None
        headers = tuple((k, v) for k, v in ex.response_headers if k.lower() not in HOP_HEADERS)
        return StubResponse(ex.status, headers, ex.response_body or b"")

    recorded = Recorded(load)
    newest = store.max_exchange_id()
    for row in store.recorded_requests(provider, newest - RECORDED_WINDOW):  # the most common status first
        query = json.loads(row["query"]) if row["query"] else {}
        recorded.add(row["method"], row["path"], query, row["last_id"], row["status"])
    return recorded


# ---------------------------------------------------------------------------------------------------------
# Bodies generated from schemas


class BodyGenerator:
    """Values that fit a JSON Schema, drawn from a seeded generator: `{"type": "integer"}` -> `417`."""

    def __init__(self, rng: random.Random, echo: dict[str, str] | None = None, echo_id: str | None = None):
        self.rng = rng
        self.echo = echo or {}
        self.echo_id = echo_id

    def value(self, schema: Any, name: str = "", depth: int = 0) -> Any:
        """A value for `schema`; `name` (the field's name) shapes plain strings and picks path echoes."""
        if not isinstance(schema, dict) or depth > 12:
            return None if depth > 12 else self._text(name, {})
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            choices = [v for v in enum if v is not None] or enum
            return self.rng.choice(choices)
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                real = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
                merged = {k: v for k, v in schema.items() if k != key}
                return self.value({**merged, **(real or branches)[0]}, name, depth)
        if isinstance(schema.get("allOf"), list):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                if isinstance(part, dict):
                    merged = _merge(merged, part)
            return self.value(merged, name, depth)
        kind = main_type(schema)
        if depth <= 2 and name in self.echo and kind in ("string", "integer", "number"):
            echoed = _echo(self.echo[name], schema, kind)
            if echoed is not None:
                return echoed
        if depth == 1 and name == "id" and self.echo_id is not None and kind in ("string", "integer"):
            echoed = _echo(self.echo_id, schema, kind)
            if echoed is not None:
                return echoed
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind == "string":
            return self._string(schema, name)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return self._number(schema)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self._text(name, schema)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = set(schema.get("required") or ())
        out: dict[str, Any] = {}
        for key, sub in props.items():
            if depth < 6 or key in required:
                out[key] = self.value(sub, key, depth + 1)
        for key in sorted(required - set(out)):
            out[key] = self._text(key, {})
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and not props:
            count = max(int(schema.get("minProperties") or 0), 2 if depth < 6 else 0)
            names = schema.get("propertyNames") if isinstance(schema.get("propertyNames"), dict) else {}
            for i in range(count * 4):
                if len(out) >= count:
                    break
                key = self._string({"type": "string", **names}, "key") if names else f"key{i + 1}"
                out.setdefault(str(key), self.value(extra, "", depth + 1))
        return out

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems") or 0)
        high = schema.get("maxItems")
        count = max(low, 2 if depth < 6 else 0)
        if isinstance(high, int):
            count = min(count, high)
        prefix = schema.get("prefixItems")
        out = [self.value(s, name, depth + 1) for s in prefix] if isinstance(prefix, list) else []
        items = schema.get("items", {})
        if out and not isinstance(items, dict):
            return out
        singular = name[:-1] if name.endswith("s") else name
        for _ in range(count * 5 if schema.get("uniqueItems") else count):
            if len(out) >= count:
                break
            item = self.value(items, singular, depth + 1)
            if schema.get("uniqueItems") and item in out:
                continue
            out.append(item)
        return out[:high] if isinstance(high, int) else out

    def _string(self, schema: dict[str, Any], name: str) -> str:
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            text = pattern_example(pattern, self.rng)
            if text is not None:
                return text
        fmt = schema.get("format")
        text = self._format(fmt, name) if isinstance(fmt, str) else None
        if text is None:
            text = self._text(name, schema)
        return text

    def _format(self, fmt: str, name: str) -> str | None:
        rng = self.rng
        moment = _EPOCH + timedelta(seconds=rng.randrange(365 * 24 * 3600))
        if fmt == "date-time":
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if fmt == "date":
            return moment.strftime("%Y-%m-%d")
        if fmt == "time":
            return moment.strftime("%H:%M:%SZ")
        if fmt == "email":
            return f"{(name or 'user').lower()[:20]}{rng.randrange(1, 1000)}@example.com"
        if fmt == "uuid":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if fmt in ("uri", "url", "iri"):
            return f"https://example.com/{name or 'item'}/{rng.randrange(1, 1000)}"
        if fmt in ("uri-reference", "iri-reference"):
            return f"/{name or 'item'}/{rng.randrange(1, 1000)}"
        if fmt in ("hostname", "idn-hostname"):
            return f"host{rng.randrange(1, 100)}.example.com"
        if fmt == "ipv4":
            return f"192.0.2.{rng.randrange(1, 255)}"
        if fmt == "ipv6":
            return f"2001:db8::{rng.randrange(1, 0xFFFF):x}"
        if fmt == "byte":
            return base64.b64encode(rng.randbytes(6)).decode()
        return None

    def _text(self, name: str, schema: dict[str, Any]) -> str:
        base = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "text"
        text = f"{base}-{self.rng.randrange(100, 1000)}"
        low, high = schema.get("minLength"), schema.get("maxLength")
        if isinstance(high, int):
            text = text[:high]
        if isinstance(low, int) and len(text) < low:
            text += "".join(self.rng.choice(string.ascii_lowercase) for _ in range(low - len(text)))
        return text

    def _bounds(self, schema: dict[str, Any], default_high: float) -> tuple[float, float]:
        low, high = schema.get("minimum"), schema.get("maximum")
        xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(xlow, (int, float)) and not isinstance(xlow, bool):
            low = xlow + 1 if low is None or xlow >= low else low
        if isinstance(xhigh, (int, float)) and not isinstance(xhigh, bool):
            high = xhigh - 1 if high is None or xhigh <= high else high
        if low is None:
            low = 1 if high is None or high >= 1 else high - default_high
        if high is None:
            high = low + default_high
        return low, max(low, high)

    def _integer(self, schema: dict[str, Any]) -> int:
        low, high = self._bounds(schema, 999)
        first, last = math.ceil(low), max(math.ceil(low), math.floor(high))
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            first, last = math.ceil(first / step) * step, math.floor(last / step) * step
            return first + step * self.rng.randint(0, (last - first) // step) if last >= first else first
        return self.rng.randint(first, last)

    def _number(self, schema: dict[str, Any]) -> float:
        low, high = self._bounds(schema, 999)
        value = round(self.rng.uniform(low, high), 2)
        return min(max(value, low), high)


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = {**a, **b}
    if isinstance(a.get("properties"), dict) and isinstance(b.get("properties"), dict):
        out["properties"] = {**a["properties"], **b["properties"]}
    if a.get("required") or b.get("required"):
        out["required"] = sorted(set(a.get("required") or ()) | set(b.get("required") or ()))
    return out


def _echo(value: str, schema: dict[str, Any], kind: str) -> Any:
    """A path parameter's value as a field of `kind`, when it fits the field's schema; else None."""
    if not scalar_fits(schema, value):
        return None
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return None
    if kind == "number":
        return float(value)
    return value


# -- patterns ---------------------------------------------------------------------------------------------

_PRINTABLE = string.ascii_letters + string.digits + "-_."
_ESCAPES = {
    "d": string.digits,
    "w": string.ascii_letters + string.digits + "_",
    "s": " ",
    "D": string.ascii_letters,
    "W": "-",
    "S": string.ascii_letters,
}


class _Unsupported(Exception):
    pass


def pattern_example(pattern: str, rng: random.Random) -> str | None:
    """A string matching a simple regex (literals, classes, groups, alternation, quantifiers), else None."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return None
    try:
        nodes, end = _parse_alternatives(pattern, 0)
        if end != len(pattern):
            return None
        text = _emit(nodes, rng)
    except (_Unsupported, IndexError, ValueError):
        return None
    return text if compiled.search(text) else None


def _parse_alternatives(p: str, i: int) -> tuple[list[list[Any]], int]:
    alternatives = []
    seq, i = _parse_sequence(p, i)
    alternatives.append(seq)
    while i < len(p) and p[i] == "|":
        seq, i = _parse_sequence(p, i + 1)
        alternatives.append(seq)
    return alternatives, i


def _parse_sequence(p: str, i: int) -> tuple[list[Any], int]:
    seq: list[Any] = []
    while i < len(p) and p[i] not in "|)":
        ch = p[i]
        if ch in "^$":
            i += 1
            continue
        if ch == "(":
            if p.startswith("(?:", i):
                i += 3
            elif p.startswith("(?P<", i):
                i = p.index(">", i) + 1
            elif p.startswith("(?", i):
                raise _Unsupported(p[i : i + 3])
            else:
                i += 1
            alternatives, i = _parse_alternatives(p, i)
            if i >= len(p) or p[i] != ")":
                raise _Unsupported("unbalanced group")
            atom: Any = ("group", alternatives)
            i += 1
        elif ch == "[":
            chars, i = _parse_class(p, i + 1)
            atom = ("set", chars)
        elif ch == "\\":
            esc = p[i + 1]
            i += 2
            if esc in "bBAZz":
                continue
            atom = ("set", _ESCAPES[esc]) if esc in _ESCAPES else ("set", esc)
        elif ch == ".":
            atom = ("set", string.ascii_letters)
            i += 1
        elif ch in "*+?{":
            raise _Unsupported("dangling quantifier")
        else:
            atom = ("set", ch)
            i += 1
        low, high, i = _parse_quantifier(p, i)
        seq.append((atom, low, high))
    return seq, i


def _parse_class(p: str, i: int) -> tuple[str, int]:
    negate = p[i] == "^"
    if negate:
        i += 1
    chars: list[str] = []
    first = True
    while p[i] != "]" or first:
        first = False
        ch = p[i]
        if ch == "\\":
            esc = p[i + 1]
            chars.extend(_ESCAPES.get(esc, esc))
            i += 2
            continue
        if i + 2 < len(p) and p[i + 1] == "-" and p[i + 2] != "]":
            start, stop = ord(ch), ord(p[i + 2])
            if stop < start:
                raise _Unsupported("bad range")
            chars.extend(chr(c) for c in range(start, stop + 1))
            i += 3
            continue
        chars.append(ch)
        i += 1
    if negate:
        excluded = set(chars)
        chars = [c for c in _PRINTABLE if c not in excluded]
        if not chars:
            raise _Unsupported("empty class")
    return "".join(dict.fromkeys(chars)), i + 1


def _parse_quantifier(p: str, i: int) -> tuple[int, int, int]:
    if i >= len(p):
        return 1, 1, i
    ch = p[i]
    if ch == "?":
        low, high, i = 0, 1, i + 1
    elif ch == "*":
        low, high, i = 0, 3, i + 1
    elif ch == "+":
        low, high, i = 1, 3, i + 1
    elif ch == "{" and re.match(r"\{\d*(,\d*)?\}", p[i:]):
        end = p.index("}", i)
        body = p[i + 1 : end]
        if "," in body:
            a, b = body.split(",", 1)
            low = int(a or 0)
            high = int(b) if b else low + 3
        else:
            low = high = int(body)
        i = end + 1
    else:
        return 1, 1, i
    if i < len(p) and p[i] in "?+":
        i += 1
    return low, high, i


def _emit(alternatives: list[list[Any]], rng: random.Random) -> str:
    seq = alternatives[0] if len(alternatives) == 1 else rng.choice(alternatives)
    out = []
    for atom, low, high in seq:
        count = low if high <= low else rng.randint(max(low, min(1, high)), min(high, low + 4))
        for _ in range(count):
            if atom[0] == "set":
                out.append(rng.choice(atom[1]))
            else:
                out.append(_emit(atom[1], rng))
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------
# The stub


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
    body_schemas: dict[str, dict[str, Any]]  # JSON request bodies: media type -> documented schema
    examples_ok: dict[tuple[str, str], bool] = field(default_factory=dict)
    echo_fields: dict[tuple[int, str], dict[str, tuple[dict[str, Any], str]]] = field(default_factory=dict)
    headers: dict[tuple[int, str | None], tuple[tuple[str, str], ...]] = field(default_factory=dict)


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
    for part in re.split(r"[,;]", value or ""):
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
        body_schemas={
            media_type(b.media_type) or b.media_type: b.schema_
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
        method = method.upper()
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
            low = key.lower()
            if low in plan.header_names:
                wanted[low] = value
            elif low == "content-type":
                ctype = value
            elif low == "accept":
                accept = value
            elif low == "prefer":
                prefer = value
        query_dict = parse_qs(qs, keep_blank_values=True) if qs else {}
        violations = self._judge(plan, path, params, qs, query_dict, wanted, ctype, body)
        if violations:
            return _violation_response(op, violations)
        return self._answer(
            plan, op.method.upper(), path, query_dict, body, params, parse_prefer(prefer), accept
        )

    def _match(self, method: str, path: str) -> tuple[_OperationPlan, dict[str, str]] | None:
        """`Checker.match`, with routes grouped by method."""
        for regex, names, plan in self._routes.get(method, ()):
            m = regex.fullmatch(path)
            if m:
                return plan, {
                    n: unquote(v) if "%" in v else v for n, v in zip(names, m.groups(), strict=True)
                }
        return None

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
        """Does a JSON body certainly meet the schema documented for its media type (`value_conforms`)?"""
        if not body or not plan.body_schemas:
            return False
        schema = plan.body_schemas.get(media_type(ctype) or "")
        if schema is None:
            return False
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            return False
        return value_conforms(schema, value)

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
                value = BodyGenerator(rng, params, echo_id).value(chosen.schema_, "", 0)
            else:
                value = chosen.example
            payload = _encode(value, chosen.media_type)
        return StubResponse(status, tuple(headers), payload)

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
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
            try:
                response = self.respond(
                    scope["method"], path, scope.get("query_string", b""), headers, b"".join(chunks)
                )
            except Exception as exc:  # a bug of ours: say so in the response, the consumer's test shows it
                response = _json_response(500, {"error": f"stub error: {type(exc).__name__}: {exc}"})
        await send(
            {"type": "http.response.start", "status": response.status, "headers": response.raw_headers}
        )
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else response.body}
        )


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
        echoed = _echo(text, sub, kind)
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


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; `RecorderError` when the port is taken or the host is unknown."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RecorderError(f"cannot listen on {host}: {exc.strerror}.") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)  # proto=IPPROTO_TCP, so asyncio sets TCP_NODELAY on connections
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise RecorderError(
                f"port {port} on {host} is in use.",
                tip="choose another with --port, or --port 0 for a free one.",
            ) from None
        raise RecorderError(f"cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class RunningStub:
    """A stub (or any ASGI app) served by uvicorn on a background thread; a context manager (`.url`, `.stop()`)."""

    def __init__(self, stub: Stub | Callable[..., Any], sock: socket.socket) -> None:
        import uvicorn

        self.stub = stub
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self.host, self.port = host, port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        config = uvicorn.Config(
            stub,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"stub:{port}", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # surfaced by start() / stop()
            self._error = exc

    def start(self, timeout: float = 10.0) -> RunningStub:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RecorderError(f"the stub did not start on {self.url}: {self._error or 'timed out'}.")
            time.sleep(0.002)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the server thread to end."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        try:
            self._sock.close()
        except OSError:
            pass

    @property
    def running(self) -> bool:
        """True while the server thread runs."""
        return self._thread.is_alive()

    def __enter__(self) -> RunningStub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_stub(
    contract: Contract | Stub | Path | str, host: str = "127.0.0.1", port: int = 0, seed: int = 0
) -> RunningStub:
    """Serve a stub of `contract` (a `Contract`, a ready `Stub`, or an OpenAPI/Pact file) on a background thread."""
    if isinstance(contract, Stub):
        stub = contract
    elif isinstance(contract, Contract):
        stub = Stub(contract, seed=seed)
    else:
        stub = stub_from_file(contract, seed=seed)
    return RunningStub(stub, bind(host, port)).start()


__all__ = [
    "BodyGenerator",
    "Recorded",
    "RunningStub",
    "Stub",
    "StubResponse",
    "bind",
    "parse_prefer",
    "pattern_example",
    "recorded_from_db",
    "recorded_from_pact",
    "start_stub",
    "stub_from_db",
    "stub_from_file",
]
