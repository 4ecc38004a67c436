"""Recorded answers for the stub: a Pact's interactions, or the most common recorded answer of each request."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from recorder.common.http import HOP_BY_HOP, is_json_media_type
from recorder.store import Store

CACHE_SIZE = 4096
RECORDED_WINDOW = 50_000  # the most recent exchanges of a database the stub answers concrete requests from
HOP_HEADERS = HOP_BY_HOP | {"content-encoding", "date", "server"}  # recorded headers not answered again


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
