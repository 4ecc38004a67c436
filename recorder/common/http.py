"""HTTP helpers: header lookup and media types."""

from __future__ import annotations

from collections.abc import Iterable

# Headers about one connection or message framing (RFC 9110 7.6.1, plus Host and Content-Length): never
# replayed, echoed or written into a contract.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host",
     "content-length"}
)  # fmt: skip


def header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first header called `name` (case-insensitive) in a list of (name, value) pairs, or None."""
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


def lower_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with lower-case names (the last value of a repeated header wins)."""
    return {k.lower(): v for k, v in headers}


def media_type(content_type: str | None) -> str | None:
    """The bare media type of a Content-Type header: `application/json; charset=utf-8` -> `application/json`."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def is_json_media_type(content_type: str | None) -> bool:
    """True for `application/json`, `application/problem+json`, `text/json` and the like."""
    mt = media_type(content_type)
    return bool(mt) and (mt.endswith("/json") or mt.endswith("+json"))


def vary_names(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The request headers a response says it varies on (`Vary: Accept, X-Api-Version`), lower-case."""
    names: list[str] = []
    for key, value in headers:
        if key.lower() == "vary":
            names += [n.strip().lower() for n in value.split(",") if n.strip() and n.strip() != "*"]
    return names
