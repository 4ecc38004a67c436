"""A spec-driven fake provider: serves an OpenAPI document on 127.0.0.1 with generated, conforming data.

    with FakeProvider(load_spec("tests/apis/specs/petstore.yaml")) as provider:
        provider.url   # http://127.0.0.1:PORT, paths as in the spec (plus the server URL's base path)

Requests are matched to operations (literal segments before parameters: `/pet/findByStatus` is not
`/pet/{petId}`), then answered in this order, always with a status the operation documents:
- 401 when the operation is secured, documents 401 and the request has no Authorization header;
- 400 (else 404) when a path parameter does not fit its schema (`/pet/abc` for an integer id);
- 400 (else 422) when a query parameter is missing or invalid;
- 400 (else 422) when the body is not even JSON; 422 (else 400) when the JSON or form body does not validate;
- 404 for "unknown" resources: a fixed ~8% of the path parameter combinations (a hash of the values
  decides, so the same URL always gets the same answer);
- otherwise the first documented 2xx (a hash picks when several are documented).
Bodies are generated from the response schema by `ValueGen`, seeded by the request and by how often it was
asked before (the n-th repeat gets variant n mod 8: data changes over time, but runs are reproducible); the last path parameter is echoed into `id`-like fields where it fits. `observed` records, per
(operation, status), every JSON pointer emitted and the values of enum fields, for coverage and enum recall.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import threading
import uuid
from collections import Counter, defaultdict
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from apis.oas import (
    Operation,
    base_path,
    conforms,
    json_media,
    merge_all_of,
    operations,
    path_params,
    resolve,
    schema_types,
)
from apis.values import ValueGen

NOT_FOUND_PERCENT = 8
RESPONSE_VARIANTS = 8  # the same request, asked again, gets one of this many bodies (data changes over time)


def stable_hash(*parts: Any) -> int:
    """A hash that does not change between runs (unlike `hash()`)."""
    return int(hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16], 16)


def is_unknown(value: str, percent: int = NOT_FOUND_PERCENT) -> bool:
    """Whether the fake provider treats this resource id as not existing."""
    return stable_hash("unknown", value) % 100 < percent


# ---------------------------------------------------------------------------------------------------------
# parameter parsing and validation


def coerce(spec: dict[str, Any], schema: dict[str, Any], raw: Any) -> Any:
    """Turn strings from a URL or form into the JSON type the schema asks for (left alone when they don't fit)."""
    schema = merge_all_of(spec, schema)
    if isinstance(raw, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        return {
            k: coerce(spec, props.get(k) or (extra if isinstance(extra, dict) else {}), v)
            for k, v in raw.items()
        }
    if isinstance(raw, list):
        return [coerce(spec, schema.get("items") or {}, v) for v in raw]
    if not isinstance(raw, str):
        return raw
    types = schema_types(schema)
    if not types:
        for key in ("oneOf", "anyOf"):
            for branch in schema.get(key, []):
                types.extend(schema_types(merge_all_of(spec, branch)))
    try:
        if "integer" in types and re.fullmatch(r"-?\d+", raw):
            return int(raw)
        if "number" in types and re.fullmatch(r"-?\d+(\.\d+)?", raw):
            return float(raw)
    except ValueError:
        return raw
    if "boolean" in types and raw in ("true", "false"):
        return raw == "true"
    if "array" in types:
        return [coerce(spec, schema.get("items") or {}, v) for v in raw.split(",")] if raw else []
    return raw


def valid_scalar(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> bool:
    """Schema check plus the string constraints `conforms` leaves out (pattern, formats, ranges)."""
    schema = merge_all_of(spec, schema)
    if not conforms(spec, schema, value):
        return False
    if isinstance(value, list):
        items = schema.get("items") or {}
        return all(valid_scalar(spec, items, v) for v in value)
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
        fmt = schema.get("format")
        try:
            if fmt == "uuid":
                uuid.UUID(value)
            elif fmt == "date":
                date.fromisoformat(value)
        except ValueError:
            return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
    return True


def parse_form(text: str) -> dict[str, Any]:
    """`a=1&meta[k]=v&tags[]=x` -> `{"a": "1", "meta": {"k": "v"}, "tags": ["x"]}` (Stripe-style brackets)."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = parts[i + 1] if not last else None
            if part == "[]":
                continue
            if last:
                if isinstance(node, dict):
                    node[part] = value
                continue
            if nxt == "[]":
                node = node.setdefault(part, [])
                node.append(value)
                break
            node = node.setdefault(part, {})
    return out


def query_values(
    spec: dict[str, Any], param: dict[str, Any], query: list[tuple[str, str]]
) -> tuple[bool, Any]:
    """(present, value) of one query parameter, following its style (form, explode, deepObject)."""
    name = param["name"]
    schema = resolve(spec, param.get("schema") or {})
    types = schema_types(merge_all_of(spec, schema))
    if param.get("style") == "deepObject":
        found = {k[len(name) + 1 : -1]: v for k, v in query if k.startswith(name + "[") and k.endswith("]")}
        return bool(found), coerce(spec, schema, found)
    values = [v for k, v in query if k == name]
    if not values:
        return False, None
    if "array" in types:
        if param.get("explode", True):
            return True, coerce(spec, schema, values)
        return True, coerce(spec, schema, values[-1])
    return True, coerce(spec, schema, values[-1])


# ---------------------------------------------------------------------------------------------------------
# the provider


class FakeProvider:
    """Serves one spec on 127.0.0.1 (port 0) in a background thread; deterministic for a given seed."""

    def __init__(
        self, spec: dict[str, Any], seed: int = 0, not_found_percent: int = NOT_FOUND_PERCENT
    ) -> None:
        self.spec = spec
        self.seed = seed
        self.not_found_percent = not_found_percent
        self.prefix = base_path(spec)
        self.ops = operations(spec)
        self.observed: dict[tuple[str, int], dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
        self.counts: Counter[tuple[str, int]] = Counter()
        self._repeats: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> str:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # headers and body leave in one write (no Nagle/delayed-ACK stalls)

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = provider.respond(
                    self.command, self.path, dict(self.headers.items()), body
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload and self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeProvider:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # routing --------------------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[Operation | None, re.Match[str] | None, bool]:
        """(operation, match, path_known): the first operation whose template and method fit."""
        if self.prefix:
            if not path.startswith(self.prefix + "/") and path != self.prefix:
                return None, None, False
            path = path[len(self.prefix) :] or "/"
        known = False
        for op in self.ops:
            m = op.regex.match(path)
            if not m:
                continue
            known = True
            if op.method == method.lower():
                return op, m, True
        return None, None, known

    def respond(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict, bytes]:
        """Answer one request: (status, headers, body bytes)."""
        parts = urlsplit(target)
        op, m, known = self.match(method, parts.path)
        if op is None or m is None:
            status = 405 if known else 404
            msg = {"message": "method not allowed" if known else "no such route"}
            return status, {"Content-Type": "application/json"}, json.dumps(msg).encode()
        query = parse_qsl(parts.query, keep_blank_values=True)
        status = self.choose_status(op, m, query, headers, body)
        params = path_params(op, m)
        request_key = stable_hash(method, target, body.hex())
        with self._lock:
            variant = self._repeats[request_key] % RESPONSE_VARIANTS
            self._repeats[request_key] += 1
        seed = stable_hash(self.seed, method, parts.path, parts.query, body.hex(), status, variant)
        return self.render(op, status, random.Random(seed), params)

    def choose_status(
        self,
        op: Operation,
        m: re.Match[str],
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> int:
        """The documented status this request deserves (see the module docstring for the order)."""
        documented = set(op.statuses())

        def first(*candidates: int) -> int | None:
            return next((c for c in candidates if c in documented), None)

        spec = self.spec
        secured = op.op.get("security", spec.get("security"))
        lower = {k.lower() for k in headers}
        if secured and "authorization" not in lower and 401 in documented:
            return 401
        params = path_params(op, m)
        for p in op.params("path"):
            raw = params.get(p["name"], "")
            schema = p.get("schema") or {}
            if not valid_scalar(spec, schema, coerce(spec, schema, raw)):
                status = first(400, 404)
                if status:
                    return status
        for p in op.params("query"):
            present, value = query_values(spec, p, query)
            bad = (not present and p.get("required")) or (
                present and not valid_scalar(spec, p.get("schema") or {}, value)
            )
            if bad:
                status = first(400, 422)
                if status:
                    return status
        if op.request_body is not None:
            verdict = self.check_body(op, headers, body)
            if verdict != "ok":
                status = first(400, 422) if verdict == "malformed" else first(422, 400)
                if status:
                    return status
        if 404 in documented and params and is_unknown("/".join(params.values()), self.not_found_percent):
            return 404
        success = op.success_statuses() or sorted(documented) or [200]
        if len(success) > 1:
            return success[stable_hash(self.seed, m.string) % len(success)]
        return success[0]

    def check_body(self, op: Operation, headers: dict[str, str], body: bytes) -> str:
        """ "ok", "invalid" (does not fit the schema) or "malformed" (not parseable, wrong media type)."""
        content = (op.request_body or {}).get("content") or {}
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        media = ctype.split(";")[0].strip()
        if not body:
            return "invalid" if (op.request_body or {}).get("required") else "ok"
        obj = content.get(media)
        if obj is None:
            return "malformed"
        schema = obj.get("schema") or {}
        try:
            if media == "application/x-www-form-urlencoded":
                value = coerce(self.spec, schema, parse_form(body.decode()))
            else:
                value = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return "malformed"
        return "ok" if conforms(self.spec, schema, value) else "invalid"

    # rendering ------------------------------------------------------------------------------------------

    def render(
        self, op: Operation, status: int, rnd: random.Random, params: dict[str, str]
    ) -> tuple[int, dict, bytes]:
        response = resolve(self.spec, op.responses.get(str(status)) or {})
        found = json_media(response.get("content"))
        key = (op.key, status)
        with self._lock:
            self.counts[key] += 1
        if status == 204 or found is None:
            return status, {}, b""
        media, obj = found
        schema = obj.get("schema") or {}
        seen: dict[str, set[Any]] = defaultdict(set)

        def on_value(pointer: str, sch: dict[str, Any], value: Any) -> None:
            bucket = seen[pointer]
            if "enum" in sch and value is not None and len(bucket) < 64:
                bucket.add(json.dumps(value, sort_keys=True))

        gen = ValueGen(self.spec, rnd, on_value=on_value)
        value = gen.value(schema)
        if 200 <= status < 300 and params:
            self.echo_id(schema, value, params)
        with self._lock:
            target = self.observed[key]
            for pointer, values in seen.items():
                target[pointer].update(values)
        payload = json.dumps(value, ensure_ascii=False).encode()
        return status, {"Content-Type": "application/json" if media == "*/*" else media}, payload

    def echo_id(self, schema: dict[str, Any], value: Any, params: dict[str, str]) -> None:
        """Put the requested id into the body's `id` (or same-named) field when it fits that field's schema."""
        if not isinstance(value, dict):
            return
        name, raw = list(params.items())[-1]
        props = merge_all_of(self.spec, schema).get("properties") or {}
        for field in (name, "id"):
            if field in value and field in props:
                candidate = coerce(self.spec, props[field], raw)
                if valid_scalar(self.spec, props[field], candidate):
                    value[field] = candidate
                return
