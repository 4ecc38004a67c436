"""Rows and values: stored rows mapped to model values by column name, and compact JSON for columns."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from recorder.model import Exchange


def exchange_from_row(row: Mapping[str, Any]) -> Exchange:
    """Build an `Exchange` from a row of the `exchanges` table (by column name)."""
    return Exchange(
        id=row["id"],
        uid=row["uid"],
        started=row["started"],
        duration_ms=row["duration_ms"],
        consumer=row["consumer"] or "",
        provider=row["provider"] or "",
        method=row["method"],
        scheme=row["scheme"] or "http",
        host=row["host"] or "",
        port=row["port"] or 0,
        path=row["path"],
        query=json.loads(row["query"]) if row["query"] else {},
        http_version=row["http_version"] or "",
        request_headers=[tuple(p) for p in json.loads(row["request_headers"] or "[]")],
        request_content_type=row["request_content_type"],
        request_body=as_bytes(row["request_body"]),
        request_size=row["request_size"] or 0,
        request_truncated=bool(row["request_truncated"]),
        status=row["status"],
        response_headers=[tuple(p) for p in json.loads(row["response_headers"] or "[]")],
        response_content_type=row["response_content_type"],
        response_body=as_bytes(row["response_body"]),
        response_size=row["response_size"] or 0,
        response_truncated=bool(row["response_truncated"]),
        error=row["error"],
        source=row["source"] or "proxy",
    )


def as_bytes(value: Any) -> bytes | None:
    """A stored body as bytes (text columns from old files, memoryviews from drivers)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def rows_json(value: Any) -> str:
    """Compact, deterministic JSON for a column (orjson writes the same text as the standard library here)."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:  # integers beyond 64 bits, non-string keys...: the standard library copes
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=False)


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Split an iterable into lists of at most `size` items."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
