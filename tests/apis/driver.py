"""A spec-driven consumer: realistic requests for every operation of a spec, sent through a base URL.

    plan = plan_requests(spec, requests_per_op=40, seed=1)
    stats = send(plan, "http://127.0.0.1:PORT")          # the recording proxy in front of the provider

Path parameters come from small pools per parameter (shared between operations, so `/repos/{owner}/{repo}`
and `/repos/{owner}/{repo}/issues` see the same owners) of values in the API's own style: integers, UUIDs,
handles like `octocat`, slugs like `amber-river`, prefixed ids like `cus_9s6XKzkNRiz8i3`, dates, SHAs and
digests (from the parameter schema's format/pattern/`x-gen`). Optional query parameters are sent half of the
time; arrays follow the parameter's style (`a=1&a=2`, `a=1,2`, `a[k]=v`). Bodies are JSON or form-encoded,
valid except for a quota of each error the operation documents: ids the provider does not know (404), bad
ids, bad query values, bodies without a required field or truncated (400/422), no credentials (401). Everything is deterministic for a seed; requests are interleaved across
operations; one keep-alive connection per worker.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from apis.fakeserver import is_unknown
from apis.oas import Operation, base_path, merge_all_of, operations, resolve, schema_types
from apis.values import ValueGen

INVALID_RATE = 0.05  # per kind of invalid request an operation can answer (400/422)
UNAUTHENTICATED_RATE = 0.05
MISSING_RATE = 0.08  # on top of the ~8% ids the provider does not know by chance


@dataclass(frozen=True)
class Request:
    """One planned request."""

    operation: str  # "GET /pet/{petId}"
    method: str
    target: str  # path + query, base path included
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    intent: str = "valid"  # valid | missing | invalid-path | invalid-query | invalid-body | malformed-body | unauthenticated


@dataclass
class Stats:
    """What a run sent and got back."""

    sent: int = 0
    failures: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_operation: dict[str, Counter[int]] = field(default_factory=dict)
    last_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failures": self.failures,
            "by_status": dict(sorted(self.by_status.items())),
            "by_operation": {k: dict(sorted(v.items())) for k, v in sorted(self.by_operation.items())},
            "last_error": self.last_error,
        }


def _form_pairs(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Stripe-style bracket encoding: `{"metadata": {"k": "v"}, "tags": ["a"]}` -> `metadata[k]=v&tags[]=a`."""
    if isinstance(value, dict):
        pairs = []
        for k, v in value.items():
            pairs.extend(_form_pairs(v, f"{prefix}[{k}]" if prefix else str(k)))
        return pairs
    if isinstance(value, list):
        pairs = []
        for v in value:
            pairs.extend(_form_pairs(v, f"{prefix}[]"))
        return pairs
    return [(prefix, _text(value))]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _bad_value(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    """A value that breaks `schema` the way clients really do (a word for a number, a typo'd enum)."""
    schema = merge_all_of(spec, schema)
    types = schema_types(schema)
    if "array" in types:
        return _bad_value(spec, schema.get("items") or {})
    if "integer" in types or "number" in types:
        return "abc"
    if "enum" in schema:
        return "bogus"
    if "boolean" in types:
        return "maybe"
    if schema.get("format") in ("uuid", "date", "date-time") or "pattern" in schema:
        return "not-valid-123"
    return ""


class Planner:
    """Builds the request plan for one spec."""

    def __init__(self, spec: dict[str, Any], seed: int = 0) -> None:
        self.spec = spec
        self.rnd = random.Random(seed)
        self.pools: dict[str, list[Any]] = {}
        self.prefix = base_path(spec)

    def pool(self, param: dict[str, Any], size: int) -> list[Any]:
        schema = resolve(self.spec, param.get("schema") or {})
        key = param["name"] + json.dumps(schema, sort_keys=True, default=str)
        if key not in self.pools:
            gen = ValueGen(self.spec, self.rnd, mode="request", null_p=0.0)
            values: list[Any] = []
            for _ in range(size * 4):
                v = gen.value(schema, param["name"])
                if v not in values:
                    values.append(v)
                if len(values) >= size:
                    break
            self.pools[key] = values
        return self.pools[key]

    def plan(self, requests_per_op: int) -> list[Request]:
        out: list[Request] = []
        for op in sorted(operations(self.spec), key=lambda o: (o.template, o.method)):
            for intent in self.intents(op, requests_per_op):
                out.append(self.request(op, requests_per_op, intent))
        self.rnd.shuffle(out)
        return out

    def intents(self, op: Operation, n: int) -> list[str]:
        """`n` intents for one operation: a quota of each error the operation documents, the rest valid."""
        documented = set(op.statuses())
        spec = self.spec
        breakable_path = [p for p in op.params("path") if _bad_value(spec, p.get("schema") or {})]
        breakable_query = [
            p for p in op.params("query") if p.get("required") or _bad_value(spec, p.get("schema") or {})
        ]
        body = op.request_body
        json_body = body is not None and "json" in next(iter(body.get("content") or {"": None}))
        applicable = {
            "unauthenticated": bool(op.op.get("security", spec.get("security"))) and 401 in documented,
            "invalid-path": bool(documented & {400, 404}) and bool(breakable_path),
            "missing": 404 in documented and bool(op.params("path")),
            "invalid-query": bool(documented & {400, 422}) and bool(breakable_query),
            "invalid-body": bool(documented & {400, 422}) and body is not None,
            "malformed-body": 400 in documented and json_body,
        }
        rate = {"unauthenticated": UNAUTHENTICATED_RATE, "missing": MISSING_RATE}
        out: list[str] = []
        for intent, ok in applicable.items():
            if ok and n >= 5:
                out.extend([intent] * max(1, round(n * rate.get(intent, INVALID_RATE))))
        out = out[: n // 3]
        out += ["valid"] * (n - len(out))
        self.rnd.shuffle(out)
        return out

    def request(self, op: Operation, n: int, intent: str = "valid") -> Request:
        rnd = self.rnd

        # path (parameters in template order: the last one is the resource id)
        order = [seg[1:-1] for seg in op.template.split("/") if seg.startswith("{")]
        path_ps = sorted(
            op.params("path"), key=lambda p: order.index(p["name"]) if p["name"] in order else 99
        )
        values: dict[str, str] = {}
        for i, p in enumerate(path_ps):
            last = i == len(path_ps) - 1
            pool = self.pool(p, max(6, 2 * n // 3) if last else 3)
            values[p["name"]] = _text(rnd.choice(pool))
        if intent == "invalid-path":
            breakable = [p for p in path_ps if _bad_value(self.spec, p.get("schema") or {})]
            p = rnd.choice(breakable)
            values[p["name"]] = _bad_value(self.spec, p.get("schema") or {})
        if intent == "missing":  # an id the provider does not know (as consumers with stale links ask)
            p = path_ps[-1]
            gen = ValueGen(self.spec, rnd, mode="request", null_p=0.0)
            for _ in range(200):
                values[p["name"]] = _text(gen.value(p.get("schema") or {}, p["name"]))
                if is_unknown("/".join(values.values())):
                    break
        path = op.template
        for name, value in values.items():
            path = path.replace("{" + name + "}", quote(value, safe=":@"))
        path = self.prefix + path

        # query
        pairs: list[tuple[str, str]] = []
        query_ps = op.params("query")
        broken = rnd.choice(query_ps) if intent == "invalid-query" and query_ps else None
        for p in query_ps:
            if p is broken:
                if p.get("required") and rnd.random() < 0.5:
                    continue  # a required parameter left out
                bad = _bad_value(self.spec, p.get("schema") or {}) or "%%%"
                pairs.append((p["name"], bad))
                continue
            if not p.get("required") and rnd.random() >= 0.5:
                continue
            pairs.extend(self.query_pairs(p))
        target = path + ("?" + urlencode(pairs) if pairs else "")

        # headers and body
        headers = [("Accept", "application/json"), ("User-Agent", "eval-driver/1.0"), ("X-Consumer", "eval")]
        if intent != "unauthenticated":
            headers.append(("Authorization", self.credentials()))
        body = b""
        if op.request_body is not None and (op.request_body.get("required") or rnd.random() < 0.85):
            media, obj = next(iter(op.request_body["content"].items()))
            schema = obj.get("schema") or {}
            value = ValueGen(self.spec, rnd, mode="request", null_p=0.05).value(schema)
            if intent == "invalid-body":
                value = self.break_body(schema, value)
            if media == "application/x-www-form-urlencoded":
                body = urlencode(_form_pairs(value)).encode()
            else:
                body = json.dumps(value).encode()
                if intent == "malformed-body":
                    body = body[: max(1, len(body) // 2)]  # truncated JSON
            headers.append(("Content-Type", media))
        elif intent in ("invalid-body", "malformed-body"):
            body, intent = b"{", "malformed-body"
            headers.append(("Content-Type", "application/json"))
        return Request(op.key, op.method.upper(), target, tuple(headers), body, intent)

    def query_pairs(self, p: dict[str, Any]) -> list[tuple[str, str]]:
        schema = resolve(self.spec, p.get("schema") or {})
        value = ValueGen(self.spec, self.rnd, mode="request", null_p=0.0).value(schema, p["name"])
        name = p["name"]
        if p.get("style") == "deepObject" and isinstance(value, dict):
            return [(f"{name}[{k}]", _text(v)) for k, v in value.items()]
        if isinstance(value, list):
            if not value:
                value = [ValueGen(self.spec, self.rnd, mode="request").value(schema.get("items") or {})]
            if p.get("explode", True):
                return [(name, _text(v)) for v in value]
            return [(name, ",".join(_text(v) for v in value))]
        return [(name, _text(value))]

    def break_body(self, schema: dict[str, Any], value: Any) -> Any:
        merged = merge_all_of(self.spec, schema)
        if isinstance(value, dict):
            required = [r for r in merged.get("required") or [] if r in value]
            if required:
                value = dict(value)
                del value[self.rnd.choice(required)]
                return value
            props = merged.get("properties") or {}
            typed = [k for k in props if schema_types(merge_all_of(self.spec, props[k])) and k in value]
            if typed:
                key = self.rnd.choice(typed)
                bad = ["a list"] if "array" not in schema_types(merge_all_of(self.spec, props[key])) else "x"
                return {**value, key: bad}
        return "not an object"

    def credentials(self) -> str:
        schemes = (self.spec.get("components") or {}).get("securitySchemes") or {}
        if any(s.get("scheme") == "basic" for s in schemes.values()):
            return "Basic " + base64.b64encode(b"sk_test_4eC39HqLyjWDarjtT1zdp7dc:").decode()
        return "Bearer tok_eval_0123456789abcdef"


def plan_requests(spec: dict[str, Any], requests_per_op: int = 40, seed: int = 0) -> list[Request]:
    """`requests_per_op` requests for every operation of `spec`, interleaved, deterministic for `seed`."""
    return Planner(spec, seed).plan(requests_per_op)


def send(plan: list[Request], base_url: str, workers: int = 1, timeout: float = 30.0) -> Stats:
    """Send the plan to `base_url` over keep-alive connections; never raises for HTTP or network errors."""
    parts = urlsplit(base_url)
    stats = Stats()
    lock = threading.Lock()

    def run(chunk: list[Request]) -> None:
        conn: http.client.HTTPConnection | None = None
        for req in chunk:
            status = None
            for _attempt in range(2):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
                    conn.request(req.method, req.target, body=req.body or None, headers=dict(req.headers))
                    resp = conn.getresponse()
                    resp.read()
                    status = resp.status
                    if resp.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                    break
                except (OSError, http.client.HTTPException) as exc:
                    if conn is not None:
                        conn.close()
                    conn = None
                    with lock:
                        stats.last_error = f"{req.method} {req.target}: {exc!r}"
            with lock:
                stats.sent += 1
                if status is None:
                    stats.failures += 1
                    continue
                stats.by_status[status] += 1
                stats.by_operation.setdefault(req.operation, Counter())[status] += 1
        if conn is not None:
            conn.close()

    chunks = [plan[i::workers] for i in range(max(1, workers))]
    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats
