"""Replay: re-send recorded requests to a provider build and judge its answers.

Each response is judged against a contract (a file, or by default the contract observed in the same
database, with its evidence) by the one judgement engine, as drift judges traffic: a field the contract marks
optional, or a key of a map, is never breaking for being absent; a required field missing or a changed type
is. The recorded answer only adds what the contract cannot say: a server error where the recorded request
got none (breaking), or another status (a warning). A recorded request that itself does not meet the
contract is a warning: replay judges the provider; so is a violation the recorded answer already had (the
build broke nothing there; `recorder drift` reports it). Values are never compared. Safe by default: only GET/HEAD/OPTIONS unless asked; redacted
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

from recorder.common.http import HOP_BY_HOP
from recorder.common.redact import holds_redacted
from recorder.common.times import now_iso
from recorder.errors import RecorderError
from recorder.judge.exchange import Checker, make_exchange
from recorder.judge.severity import is_request_side, severity
from recorder.model import Contract, Exchange, Finding, Report, finding_order
from recorder.store import Store, Window

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
NOT_RESENT = HOP_BY_HOP | {"accept-encoding"}  # the client chooses its own encodings


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
    return holds_redacted(ex.path, *(v for vs in ex.query.values() for v in vs), ex.request_body)


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
            k: v for k, v in ex.request_headers if k.lower() not in NOT_RESENT and "<redacted:" not in v
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
            judged = checker.check(answered)
            # the recorded answer is judged too only when the build's answer has something to compare
            needs = any(f.severity == "breaking" and not is_request_side(f.location) for f in judged)
            already = _already_recorded(checker, ex) if needs else set()
            findings += [
                _as_replayed(f, already).model_copy(update={"examples": (ex.id,) if ex.id else ()})
                for f in judged
            ]
            findings += _status_change(ex, answered, key)
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


def _already_recorded(checker: Checker, recorded: Exchange) -> set[tuple[str, str]]:
    """The breaking findings the recorded answer itself had, as (kind, location)."""
    if recorded.status is None:
        return set()
    return {(f.kind, f.location) for f in checker.check(recorded) if f.severity == "breaking"}


def _as_replayed(finding: Finding, already: set[tuple[str, str]]) -> Finding:
    """Replay judges what the build does: a recorded request that does not meet the contract is at most a
    warning (the provider's 4xx for it is already one, see `recorder.judge.severity.rejected`), and so is a
    violation the recorded answer had too (the build broke nothing there; `recorder drift` reports it)."""
    if finding.severity != "breaking":
        return finding
    if is_request_side(finding.location):
        message = f"{finding.message} (in the recorded request, replayed as it was)"
    elif (finding.kind, finding.location) in already:
        message = f"{finding.message} (the recorded answer had it too)"
    else:
        return finding
    return finding.model_copy(update={"severity": "warning", "message": message})


def _status_change(recorded: Exchange, answered: Exchange, key: str) -> list[Finding]:
    """A status other than the recorded one: a server error where there was none is breaking; another status
    is a warning (data differs between environments; the contract judges whether it is documented)."""
    before, after = recorded.status or 0, answered.status or 0
    if before == after:
        return []
    kind = "server-error" if after >= 500 > before else "status-changed"
    return [
        _finding(
            kind,
            severity(kind),
            recorded,
            key,
            "status",
            f"status {before} -> {after}",
            before,
            after,
        )
    ]


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
