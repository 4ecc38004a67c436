"""Replay: re-send recorded requests to a provider build and judge its answers.

Each response is judged against a contract (a file, or by default the contract observed in the same
database) with the drift rules, and against the response recorded for the same request: a changed status,
a field that disappeared or changed type. Values are never compared (ids, timestamps and everything the
evidence shows to vary would only be noise). Safe by default: only GET/HEAD/OPTIONS unless asked; redacted
secrets are never sent (requests that would carry one are skipped); credentials come from `--header`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from recorder.common.jsonvalues import json_body
from recorder.common.times import now_iso
from recorder.errors import RecorderError
from recorder.judge.exchange import Checker, make_exchange
from recorder.model import Contract, Exchange, Finding, Report, finding_order
from recorder.store import Store, Window

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
HOP_BY_HOP = {
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "accept-encoding",
    "te",
    "upgrade",
}


@dataclass
class ReplayOptions:
    """What to replay and how gently."""

    target: str
    sample: int = 3  # per operation shape and status (0 = all)
    consumer: str | None = None
    operation: str | None = None  # "GET /users/{userId}"
    since: float | None = None
    until: float | None = None
    include_unsafe: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    concurrency: int = 4
    rate: float = 20.0  # requests per second, at most
    timeout: float = 30.0


@dataclass
class ReplayResult:
    """Findings and counts of one replay."""

    findings: list[Finding]
    sent: int = 0
    skipped_unsafe: int = 0
    skipped_secret: int = 0
    failed: int = 0
    operations: set[str] = field(default_factory=set)


def parse_headers(values: Iterable[str]) -> dict[str, str]:
    """`Name: value` pairs; `$VAR`/`${VAR}` in values come from the environment (keep secrets out of shells)."""
    out = {}
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise RecorderError(f"bad --header {item!r}: expected 'Name: value'.")
        out[name.strip()] = os.path.expandvars(value.strip())
    return out


class _RateLimit:
    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(self.next, now)
            self.next = slot + self.interval
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def select(store: Store, provider: str, options: ReplayOptions, shapes: set[str] | None) -> list[Exchange]:
    """The recorded exchanges to replay: the most recent few per operation shape and status (or all)."""
    window = Window(options.since, options.until, options.consumer or None)
    return store.replay_candidates(provider, window, shapes, options.sample)


def _has_secret(ex: Exchange) -> bool:
    if "<redacted:" in ex.path or any("<redacted:" in v for vs in ex.query.values() for v in vs):
        return True
    return bool(ex.request_body and b"<redacted:" in ex.request_body)


def replay(
    store: Store,
    provider: str,
    contract: Contract,
    options: ReplayOptions,
    *,
    shapes: set[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Replay the selected exchanges against `options.target` and judge every answer."""
    import httpx

    checker = Checker(contract)
    exchanges = select(store, provider, options, shapes)
    result = ReplayResult(findings=[])
    todo = []
    for ex in exchanges:
        if ex.method.upper() not in SAFE_METHODS and not options.include_unsafe:
            result.skipped_unsafe += 1
        elif _has_secret(ex):
            result.skipped_secret += 1
        else:
            todo.append(ex)
    limiter = _RateLimit(options.rate)
    base = options.target.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RecorderError(f"bad --target {options.target!r}: expected http(s)://host[:port].")
    raw: dict[tuple[str, str, str], list[Finding]] = {}
    lock = threading.Lock()
    done = [0]
    client = httpx.Client(timeout=options.timeout, follow_redirects=False)

    def one(ex: Exchange) -> None:
        match = checker.match(ex.method, ex.path)
        key = match[0].key if match else f"{ex.method} {ex.path}"
        limiter.wait()
        headers = {
            k: v for k, v in ex.request_headers if k.lower() not in HOP_BY_HOP and "<redacted:" not in v
        }
        headers.update(options.headers)
        query = urlencode([(k, v) for k, vs in ex.query.items() for v in vs])
        url = base + ex.path + (f"?{query}" if query else "")
        findings: list[Finding] = []
        try:
            resp = client.request(ex.method, url, headers=headers, content=ex.request_body or None)
        except httpx.HTTPError as exc:
            findings.append(
                _finding(
                    "replay-failed",
                    "breaking",
                    ex,
                    key,
                    "",
                    f"request failed: {type(exc).__name__}: {exc}",
                    "a response",
                    None,
                )
            )
            resp = None
        if resp is not None:
            answered = make_exchange(
                ex.method,
                ex.path,
                query=ex.query,
                request_headers=list(headers.items()),
                request_body=ex.request_body,
                status=resp.status_code,
                response_headers=list(resp.headers.items()),
                response_body=resp.content,
                consumer=ex.consumer,
                provider=ex.provider,
            )
            findings += [
                f.model_copy(update={"examples": (ex.id,) if ex.id else ()}) for f in checker.check(answered)
            ]
            findings += _differences(ex, answered, key)
        with lock:
            for f in findings:
                raw.setdefault((f.kind, f.operation, f.location), []).append(f)
            if resp is None:
                result.failed += 1
            result.sent += 1
            result.operations.add(key)
            done[0] += 1
            if progress is not None:
                progress(done[0], len(todo))

    try:
        with ThreadPoolExecutor(max(1, options.concurrency)) as pool:
            list(pool.map(one, todo))
    finally:
        client.close()
    result.findings = sorted((_aggregate(group) for group in raw.values()), key=finding_order)
    return result


def _finding(
    kind: str,
    severity: str,
    ex: Exchange,
    operation: str,
    location: str,
    message: str,
    expected: Any,
    observed: Any,
) -> Finding:
    return Finding(
        kind=kind,
        severity=severity,  # type: ignore[arg-type]
        operation=operation,
        location=location,
        message=message,
        expected=expected,
        observed=observed,
        count=1,
        examples=(ex.id,) if ex.id else (),
        consumers=(ex.consumer,) if ex.consumer else (),
    )


def _shape(value: Any, depth: int = 0) -> Any:
    """The structure of a JSON value without its values: types, keys, first array item."""
    if depth > 30:
        return "deep"
    if isinstance(value, dict):
        return {k: _shape(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0], depth + 1)] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def _differences(recorded: Exchange, answered: Exchange, key: str) -> list[Finding]:
    """Differences that matter between the recorded and the replayed response: status, missing or retyped fields."""
    out = []
    if recorded.status != answered.status:
        severity = (
            "breaking"
            if (recorded.status or 0) < 400 <= (answered.status or 0)
            or (recorded.status or 0) // 100 != (answered.status or 0) // 100
            else "warning"
        )
        out.append(
            _finding(
                "status-changed",
                severity,
                recorded,
                key,
                "status",
                f"status {recorded.status} -> {answered.status}",
                recorded.status,
                answered.status,
            )
        )
        return out
    before = json_body(recorded.response_body, recorded.response_content_type, default=None)
    after = json_body(answered.response_body, answered.response_content_type, default=None)
    if before is None or after is None:
        return out
    for pointer, old, new in _walk_changes(_shape(before), _shape(after), ""):
        if new is None:
            out.append(
                _finding(
                    "field-disappeared",
                    "breaking",
                    recorded,
                    key,
                    f"response {recorded.status}: {pointer}",
                    f"field {pointer} is gone",
                    "present",
                    "missing",
                )
            )
        elif old != "null" and new != "null":
            out.append(
                _finding(
                    "field-retyped",
                    "breaking",
                    recorded,
                    key,
                    f"response {recorded.status}: {pointer}",
                    f"{old} -> {new}",
                    old,
                    new,
                )
            )
    return out


def _walk_changes(old: Any, new: Any, pointer: str) -> Iterable[tuple[str, Any, Any]]:
    if isinstance(old, dict):
        if not isinstance(new, dict):
            yield pointer or "/", "object", _kind(new)
            return
        for key, sub in old.items():
            if key not in new:
                yield f"{pointer}/{key}", _kind(sub), None
            else:
                yield from _walk_changes(sub, new[key], f"{pointer}/{key}")
    elif isinstance(old, list):
        if not isinstance(new, list):
            yield pointer or "/", "array", _kind(new)
        elif old and new:
            yield from _walk_changes(old[0], new[0], f"{pointer}/*")
    elif _kind(old) != _kind(new):
        yield pointer or "/", _kind(old), _kind(new)


def _kind(shape: Any) -> str:
    if isinstance(shape, dict):
        return "object"
    if isinstance(shape, list):
        return "array"
    return str(shape)


def _aggregate(group: list[Finding]) -> Finding:
    first = group[0]
    examples = tuple(sorted({e for f in group for e in f.examples}))[:5]
    consumers = tuple(sorted({c for f in group for c in f.consumers if c}))
    return first.model_copy(
        update={"count": sum(max(f.count, 1) for f in group), "examples": examples, "consumers": consumers}
    )


def replay_report(
    result: ReplayResult, *, target: str, documented: str, database: str, fail_on: str
) -> Report:
    """The replay as a `Report` (rendered like drift)."""
    notes = [
        f"replayed {result.sent} requests to {target} covering {len(result.operations)} operations",
    ]
    if result.skipped_unsafe:
        notes.append(
            f"skipped {result.skipped_unsafe} unsafe requests (POST/PUT/PATCH/DELETE; --include-unsafe sends them)"
        )
    if result.skipped_secret:
        notes.append(
            f"skipped {result.skipped_secret} requests that carried a redacted secret in their path, query or body"
        )
    if result.failed:
        notes.append(f"{result.failed} requests failed (no response)")
    return Report(
        kind="replay",
        title=f"Replay against {target}",
        generated_at=now_iso(),
        documented=documented,
        observed=f"{target} (requests from {database})",
        fail_on=fail_on,  # type: ignore[arg-type]
        findings=tuple(result.findings),
        notes=tuple(notes),
    )
