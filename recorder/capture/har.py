"""HAR 1.2 files -> raw records for the store (bodies in HAR are already decoded)."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from recorder.capture.frames import RawRecord
from recorder.common.jsonvalues import loads_json
from recorder.errors import ImportFileError


def read_har(path: Path, content: bytes | None = None) -> list[dict[str, Any]]:
    """The entries of a HAR file; a clear error when it is not one."""
    try:
        data = loads_json(content if content is not None else path.read_bytes())
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror}.") from None
    except (ValueError, RecursionError) as exc:
        raise ImportFileError(f"{path}: not a HAR file (invalid JSON: {exc}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("log"), dict):
        raise ImportFileError(f"{path}: not a HAR file (no top-level 'log' object).")
    entries = data["log"].get("entries")
    if not isinstance(entries, list):
        raise ImportFileError(f"{path}: not a HAR file ('log.entries' is missing or not a list).")
    return entries


def har_entries(path: Path) -> tuple[Iterator[tuple[int, Any]], Callable[[tuple[int, Any]], RawRecord]]:
    """The entries of a HAR file (with their positions) and the function turning one into a raw record;
    the two are separate so that an import can convert entries in worker processes. Each record's uid is
    derived from the file's content and the entry's position, so importing the same file twice adds nothing."""
    data = path.read_bytes()
    digest = hashlib.sha1(data).hexdigest()[:20]
    return enumerate(read_har(path, data)), functools.partial(har_record, str(path), digest)


def har_record(name: str, digest: str, item: tuple[int, Any]) -> RawRecord:
    """The raw record of the HAR entry at position `index` (a clear error naming the file and the entry)."""
    index, entry = item
    try:
        return _record(entry, f"har-{digest}-{index}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ImportFileError(
            f"{name}: entry {index} is not a valid HAR entry ({type(exc).__name__}: {exc})."
        ) from None


def _record(entry: dict[str, Any], uid: str) -> RawRecord:
    req = entry["request"]
    resp = entry.get("response") or {}
    url = urlsplit(req["url"])
    started = datetime.fromisoformat(entry["startedDateTime"].replace("Z", "+00:00")).timestamp()
    total_ms = float(entry.get("time") or 0.0)
    status = int(resp.get("status") or 0) or None
    req_headers = [(str(h["name"]), str(h["value"])) for h in req.get("headers", [])]
    resp_headers = [(str(h["name"]), str(h["value"])) for h in resp.get("headers", [])]
    req_body = _post_data(req.get("postData"))
    resp_body = _content(resp.get("content"))
    path = url.path or "/"
    if url.query:
        path = f"{path}?{url.query}"
    error = resp.get("_error") or (None if status else "no response")
    return RawRecord(
        uid=uid,
        started=started,
        ended=started + total_ms / 1000.0 if total_ms >= 0 else None,
        client=str(entry.get("_clientAddress") or entry.get("clientIPAddress") or ""),
        method=req["method"].upper(),
        scheme=url.scheme or "http",
        host=url.hostname or "",
        port=url.port or (443 if url.scheme == "https" else 80),
        path=path,
        http_version=req.get("httpVersion") or "HTTP/1.1",
        request_headers=req_headers,
        request_body=req_body,
        status=status,
        response_headers=resp_headers,
        response_body=resp_body,
        error=error,
        source="har",
        bodies_decoded=True,
    )


def _post_data(post: dict[str, Any] | None) -> bytes | None:
    if not post:
        return None
    if post.get("text") is not None:
        return str(post["text"]).encode("utf-8")
    params = post.get("params")
    if params:
        from urllib.parse import urlencode

        return urlencode([(p["name"], p.get("value", "")) for p in params]).encode()
    return None


def _content(content: dict[str, Any] | None) -> bytes | None:
    if not content or content.get("text") is None:
        return None
    text = content["text"]
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(text)
        except ValueError as exc:
            raise ValueError(f"response content is not valid base64: {exc}") from None
    return str(text).encode("utf-8")
