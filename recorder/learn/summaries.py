"""Evidence summaries: one mergeable summary per (provider, method, path shape), kept up to date incrementally.

`catch_up` folds exchanges recorded since the last run into the `summaries` table (by exchange id, in one
transaction per batch, safe with several writers); exports then read summaries, so they cost time
proportional to operations, not exchanges. `rederive` rebuilds all summaries from the raw exchanges (after a
rule change). `OperationSummary` is also used in memory for ad-hoc windows (drift `--since`, `--consumer`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from recorder.common.jsonvalues import body_value, typed_multidict, typed_value
from recorder.learn.finalize import subschemas
from recorder.learn.infer import EvidenceNode, merge_summaries, observe
from recorder.learn.paths import path_shape
from recorder.model import Exchange
from recorder.store import Store, StoreUnavailable
from recorder.store.base import SummaryRow

CONSUMERS_CAP = 200
EXAMPLE_ITEMS = 3
EXAMPLE_TEXT = 400

# Request headers that are transport noise or handled elsewhere (auth becomes a security scheme).
IGNORED_REQUEST_HEADERS = frozenset(
    {
        "host", "content-length", "connection", "accept-encoding", "user-agent", "cookie", "authorization",
        "proxy-authorization", "proxy-connection", "te", "upgrade", "via", "x-forwarded-for", "x-forwarded-host",
        "x-forwarded-proto", "x-forwarded-port", "x-real-ip", "forwarded", "keep-alive", "transfer-encoding",
        "pragma", "cache-control", "origin", "referer", "accept-language", "dnt", "expect", "content-encoding",
        "priority", "upgrade-insecure-requests",
    }
)  # fmt: skip
IGNORED_RESPONSE_HEADERS = frozenset(
    {
        "date", "server", "content-length", "connection", "transfer-encoding", "content-encoding", "vary",
        "keep-alive", "set-cookie", "x-powered-by", "via", "strict-transport-security", "alt-svc", "age",
        "content-type", "accept-ranges", "expires", "pragma", "x-content-type-options", "x-frame-options",
        "x-xss-protection", "report-to", "nel", "content-security-policy", "referrer-policy", "cf-ray",
        "x-request-id", "x-amzn-requestid", "x-correlation-id", "x-trace-id", "traceparent",
    }
)  # fmt: skip


def _hour(ts: float) -> str:
    return str(int(ts // 3600 * 3600))


def _latency_bucket(ms: float | None) -> str | None:
    if ms is None or ms < 0:
        return None
    return str(max(0, math.ceil(math.log2(max(ms, 0.5)))))


def trim_example(value: Any, depth: int = 0) -> Any:
    """A small, representative copy of a body for examples: arrays cut to 3 items, long strings cut."""
    if depth > 40:
        return None
    if isinstance(value, dict):
        return {k: trim_example(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [trim_example(v, depth + 1) for v in value[:EXAMPLE_ITEMS]]
    if isinstance(value, str) and len(value) > EXAMPLE_TEXT:
        return value[:EXAMPLE_TEXT]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _leaf_count(value: Any, depth: int = 0) -> int:
    if depth > 40:
        return 0
    if isinstance(value, dict):
        return sum(_leaf_count(v, depth + 1) for v in value.values()) + len(value)
    if isinstance(value, list):
        return sum(_leaf_count(v, depth + 1) for v in value[:EXAMPLE_ITEMS])
    return 1


def _count(counter: dict[str, int], key: str, n: int = 1, cap: int | None = None) -> None:
    if key in counter:
        counter[key] += n
    elif cap is None or len(counter) < cap:
        counter[key] = n


def _merge_counts(into: dict[str, int], other: dict[str, int], cap: int | None = None) -> None:
    for key, n in other.items():
        _count(into, key, n, cap)


def _better_example(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    """The more representative example: more fields, then earlier, then by uid (deterministic)."""
    if a is None:
        return b
    if b is None:
        return a
    ka = (-a.get("score", 0), a.get("started", 0), a.get("uid", ""))
    kb = (-b.get("score", 0), b.get("started", 0), b.get("uid", ""))
    return a if ka <= kb else b


class _Body:
    """Evidence for the bodies of one media type."""

    def __init__(self) -> None:
        self.n = 0
        self.node: EvidenceNode | None = None
        self.invalid = 0

    def add(self, value: Any, parsed: bool) -> None:
        self.n += 1
        if not parsed:
            return
        if self.node is None:
            self.node = EvidenceNode()
        observe(self.node, value)

    def load(self, data: dict[str, Any]) -> None:
        self.n += data.get("n", 0)
        self.invalid += data.get("invalid", 0)
        if data.get("schema"):
            if self.node is None:
                self.node = EvidenceNode()
            self.node.add_schema(data["schema"])

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n}
        if self.node is not None:
            out["schema"] = self.node.to_schema()
        if self.invalid:
            out["invalid"] = self.invalid
        return out


class _Status:
    """Evidence for the responses of one status code."""

    def __init__(self) -> None:
        self.n = 0
        self.first: float | None = None
        self.last: float | None = None
        self.consumers: dict[str, int] = {}
        self.headers = EvidenceNode()
        self.bodies: dict[str, _Body] = {}
        self.latency: dict[str, int] = {}
        self.example: dict[str, Any] | None = None

    def load(self, data: dict[str, Any]) -> None:
        self.n += data["n"]
        self.first = _min(self.first, data.get("first"))
        self.last = _max(self.last, data.get("last"))
        _merge_counts(self.consumers, data.get("consumers", {}), CONSUMERS_CAP)
        if data.get("headers"):
            self.headers.add_schema(data["headers"])
        for mt, body in data.get("bodies", {}).items():
            self.bodies.setdefault(mt, _Body()).load(body)
        _merge_counts(self.latency, data.get("latency", {}))
        self.example = _better_example(self.example, data.get("example"))

    def dump(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "first": self.first,
            "last": self.last,
            "consumers": dict(sorted(self.consumers.items())),
            "headers": self.headers.to_schema(),
            "bodies": {mt: self.bodies[mt].dump() for mt in sorted(self.bodies)},
            "latency": dict(sorted(self.latency.items(), key=lambda kv: int(kv[0]))),
            "example": self.example,
        }


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


class OperationSummary:
    """Mergeable evidence about one (provider, method, path shape)."""

    def __init__(self, provider: str, method: str, shape: str) -> None:
        self.provider = provider
        self.method = method
        self.shape = shape
        self.n = 0
        self.first: float | None = None
        self.last: float | None = None
        self.consumers: dict[str, int] = {}
        self.hours: dict[str, int] = {}
        self.errors = 0
        self.path = EvidenceNode()
        self.query = EvidenceNode()
        self.headers = EvidenceNode()
        self.auth: dict[str, int] = {}
        self.requests: dict[str, _Body] = {}
        self.statuses: dict[str, _Status] = {}
        self.last_consumer = ""
        self.seen: dict[str, list[Any]] = {}  # location -> [last seen (epoch s), a consumer then]

    # -- adding one exchange --------------------------------------------------------------------------------

    def add(self, ex: Exchange) -> None:
        """Fold one exchange into the summary."""
        self.n += 1
        self.first = _min(self.first, ex.started)
        if self.last is None or ex.started >= self.last:
            self.last_consumer = ex.consumer or ""
        self.last = _max(self.last, ex.started)
        _count(self.consumers, ex.consumer or "", 1, CONSUMERS_CAP)
        _count(self.hours, _hour(ex.started))
        _, values = path_shape(ex.path)
        self.path.add_object({str(i): typed_value(v) for i, v in enumerate(values)})
        self.query.add_object(typed_multidict(ex.query))
        stamp = [ex.started, ex.consumer or ""]
        seen = self.seen
        for name in ex.query:  # parameters and statuses are stamped per exchange (cheap); fields per batch
            location = "query: " + name
            if location not in seen or seen[location][0] <= ex.started:
                seen[location] = stamp
        if ex.status is not None:
            location = f"status {ex.status}"
            if location not in seen or seen[location][0] <= ex.started:
                seen[location] = stamp
        self.headers.add_object(self._request_headers(ex))
        req_value, req_parsed, req_mt = _body_value(ex, "request")
        if req_mt is not None:
            self.requests.setdefault(req_mt, _Body()).add(req_value, req_parsed)
        if ex.status is None:
            self.errors += 1
            return
        status = self.statuses.setdefault(str(ex.status), _Status())
        status.n += 1
        status.first = _min(status.first, ex.started)
        status.last = _max(status.last, ex.started)
        _count(status.consumers, ex.consumer or "", 1, CONSUMERS_CAP)
        status.headers.add_object(
            {k.lower(): v for k, v in ex.response_headers if k.lower() not in IGNORED_RESPONSE_HEADERS}
        )
        resp_value, resp_parsed, resp_mt = _body_value(ex, "response")
        if resp_mt is not None:
            status.bodies.setdefault(resp_mt, _Body()).add(resp_value, resp_parsed)
        bucket = _latency_bucket(ex.duration_ms)
        if bucket is not None:
            _count(status.latency, bucket)
        req_ex = req_value if req_parsed else None
        resp_ex = resp_value if resp_parsed else None
        score = (_leaf_count(resp_ex) if resp_ex is not None else 0) + (
            _leaf_count(req_ex) if req_ex is not None else 0
        )
        current = status.example
        if current is None or (-score, ex.started, ex.uid) < (
            -current["score"],
            current["started"],
            current["uid"],
        ):
            status.example = _example(ex, req_ex, resp_ex, score)

    def _request_headers(self, ex: Exchange) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in ex.request_headers:
            low = name.lower()
            if low == "authorization":
                scheme = value.split(" ", 1)[0].lower() if " " in value else "apikey"
                _count(self.auth, f"http:{scheme}")
            elif low == "cookie":
                for part in value.split(";"):
                    key = part.split("=", 1)[0].strip()
                    if key:
                        _count(self.auth, f"cookie:{key}", cap=50)
            elif low not in IGNORED_REQUEST_HEADERS:
                out[low] = value[:200]
        return out

    # -- merging --------------------------------------------------------------------------------------------

    def load(self, data: dict[str, Any]) -> None:
        """Merge a serialised summary into this one."""
        self.n += data["n"]
        self.first = _min(self.first, data.get("first"))
        self.last = _max(self.last, data.get("last"))
        _merge_counts(self.consumers, data.get("consumers", {}), CONSUMERS_CAP)
        _merge_counts(self.hours, data.get("hours", {}))
        self.errors += data.get("errors", 0)
        for attr in ("path", "query", "headers"):
            if data.get(attr):
                getattr(self, attr).add_schema(data[attr])
        _merge_counts(self.auth, data.get("auth", {}), 50)
        for mt, body in data.get("requests", {}).items():
            self.requests.setdefault(mt, _Body()).load(body)
        for code, status in data.get("statuses", {}).items():
            self.statuses.setdefault(code, _Status()).load(status)
        for location, (ts, consumer) in data.get("seen", {}).items():
            mine = self.seen.get(location)
            if mine is None or (ts, consumer) > (mine[0], mine[1]):
                self.seen[location] = [ts, consumer]
        if data.get("last") is not None and (self.last is None or data["last"] >= self.last):
            self.last_consumer = data.get("lastConsumer", self.last_consumer)

    def dump(self) -> dict[str, Any]:
        """The JSON form stored in the `summaries` table (deterministic key order)."""
        return {
            "n": self.n,
            "first": self.first,
            "last": self.last,
            "consumers": dict(sorted(self.consumers.items())),
            "hours": dict(sorted(self.hours.items(), key=lambda kv: int(kv[0]))),
            "errors": self.errors,
            "path": self.path.to_schema(),
            "query": self.query.to_schema(),
            "headers": self.headers.to_schema(),
            "auth": dict(sorted(self.auth.items())),
            "requests": {mt: self.requests[mt].dump() for mt in sorted(self.requests)},
            "statuses": {code: self.statuses[code].dump() for code in sorted(self.statuses, key=_status_key)},
            "lastConsumer": self.last_consumer,
            "seen": dict(sorted(self.seen.items())),
        }

    def success_bodies(self) -> Iterator[dict[str, Any]]:
        """The evidence of every 2xx response body (one per status and media type)."""
        for code, status in self.statuses.items():
            if code.startswith("2"):
                for body in status.bodies.values():
                    if body.node is not None:
                        yield body.node.to_schema()

    def mark_seen(self) -> None:
        """Record, for every element present in this summary, that it was seen at `last` (by `last_consumer`).

        Called on the summary of each batch before it is merged, so times are exact to within a batch."""
        if self.last is None:
            return
        stamp = [self.last, self.last_consumer]
        locations: list[str] = []
        for prefix, node in (("header: ", self.headers),):
            for part in subschemas(node.to_schema()):
                if part["type"] == "object":
                    locations += [prefix + k for k, n in part.get("x-stats", {}).get("p", {}).items() if n]
        for code, status in self.statuses.items():
            for body in status.bodies.values():
                if body.node is not None:
                    locations += [f"response {code}: {p}" for p in _present_paths(body.node.to_schema())]
        for body in self.requests.values():
            if body.node is not None:
                locations += [f"request body: {p}" for p in _present_paths(body.node.to_schema())]
        for location in locations:
            mine = self.seen.get(location)
            if mine is None or stamp[0] >= mine[0]:
                self.seen[location] = list(stamp)


def _present_paths(summary: dict[str, Any], prefix: str = "", depth: int = 0) -> list[str]:
    """JSON pointers of object fields present at least once (arrays and maps as `*`), four levels deep."""
    if depth > 4:
        return []
    out: list[str] = []
    for part in subschemas(summary):
        if part["type"] == "object":
            present = part.get("x-stats", {}).get("p", {})
            for key, sub in (part.get("properties") or {}).items():
                if present.get(key):
                    out.append(f"{prefix}/{key}")
                    out += _present_paths(sub, f"{prefix}/{key}", depth + 1)
        elif part["type"] == "array" and part.get("items"):
            out += _present_paths(part["items"], f"{prefix}/*", depth + 1)
    return out


def _status_key(code: str) -> tuple[int, str]:
    return (int(code), code) if code.isdigit() else (999, code)


def _body_value(ex: Exchange, which: str) -> tuple[Any, bool, str | None]:
    """(value, parsed, media type) of an exchange's request or response body (see `body_value`)."""
    if which == "request":
        return body_value(ex.request_body, ex.request_content_type, ex.request_truncated)
    return body_value(ex.response_body, ex.response_content_type, ex.response_truncated)


def _example(ex: Exchange, req_value: Any, resp_value: Any, score: int) -> dict[str, Any]:
    trimmed_req = trim_example(req_value) if req_value is not None else None
    trimmed_resp = trim_example(resp_value) if resp_value is not None else None
    return {
        "uid": ex.uid,
        "started": ex.started,
        "score": score,
        "method": ex.method,
        "path": ex.path,
        "query": ex.query,
        "request_headers": {
            k.lower(): v
            for k, v in ex.request_headers
            if k.lower() in ("content-type", "accept") or k.lower().startswith("x-")
        },
        "request_content_type": ex.request_content_type,
        "request_body": trimmed_req,
        "status": ex.status,
        "response_headers": {
            k.lower(): v
            for k, v in ex.response_headers
            if k.lower() not in IGNORED_RESPONSE_HEADERS or k.lower() == "content-type"
        },
        "response_content_type": ex.response_content_type,
        "response_body": trimmed_resp,
    }


# ---------------------------------------------------------------------------------------------------------
# Stored summaries


def summarize_exchanges(exchanges: Iterable[Exchange]) -> dict[tuple[str, str, str], OperationSummary]:
    """In-memory summaries of some exchanges (used for windows and by `catch_up`)."""
    out: dict[tuple[str, str, str], OperationSummary] = {}
    for ex in exchanges:
        shape = path_shape(ex.path)[0]
        key = (ex.provider, ex.method, shape)
        summary = out.get(key)
        if summary is None:
            summary = out[key] = OperationSummary(*key)
        summary.add(ex)
    for summary in out.values():
        summary.mark_seen()
    return out


def summary_row(summary: OperationSummary) -> SummaryRow:
    """The stored form of a summary: key, count, first and last seen, and its JSON."""
    data = json.dumps(summary.dump(), separators=(",", ":"))
    return (summary.provider, summary.method, summary.shape, summary.n, summary.first, summary.last, data)


def catch_up(
    store: Store,
    *,
    batch: int = 2000,
    progress: Callable[[int, int], None] | None = None,
    on_batch: Callable[[list[OperationSummary], list[int]], Callable[[], None]] | None = None,
    limit: int | None = None,
) -> int:
    """Fold exchanges recorded since the last run into the stored summaries; returns how many were added
    (at most about `limit`, in whole batches, when given).

    Each batch is summarised without holding a lock (writers keep writing); only the merge into the stored
    summaries takes the write lock, and a batch another process folded in meanwhile is simply dropped, so
    every exchange is counted exactly once. `on_batch` sees each batch's own summaries and exchange ids
    before they are merged (live drift compares them with a contract there, outside the write lock) and
    returns what to do once the batch is committed."""
    done = 0
    total = None
    while limit is None or done < limit:
        last = store.summarized_through()
        if total is None and progress is not None:
            total = store.count_exchanges(after_id=last)
        exchanges = store.exchanges_after(last, batch)
        if not exchanges:
            return done
        fresh = summarize_exchanges(exchanges)
        ids = [ex.id or 0 for ex in exchanges]
        committed = on_batch(list(fresh.values()), ids) if on_batch else None

        def merge(
            stored: dict[tuple[str, str, str], str | None],
            fresh: dict[tuple[str, str, str], OperationSummary] = fresh,
        ) -> list[SummaryRow]:
            rows = []
            for key, summary in fresh.items():
                if stored.get(key):
                    summary.load(json.loads(stored[key]))
                rows.append(summary_row(summary))
            return rows

        outcome = store.fold(last, ids[-1], merge, list(fresh))
        if outcome == "busy":
            time.sleep(0.05)
            continue
        if outcome == "stale":  # another process folded these in meanwhile
            continue
        done += len(exchanges)
        if committed is not None:
            committed()
        if progress is not None:
            progress(done, total or done)
    return done


def follow(store: Store, interval: float = 2.0, stop: Callable[[], bool] | None = None) -> None:
    """Keep the summaries up to date until `stop()` says so (or SIGINT/SIGTERM); errors are retried."""
    import signal

    stopping = []
    if stop is None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.append(True))
        stop = lambda: bool(stopping)  # noqa: E731
    while not stop():
        try:
            catch_up(store)
        except StoreUnavailable:
            pass  # locked or failing store: try again next round
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not stop():
            time.sleep(min(0.2, interval))
    try:
        catch_up(store)
    except StoreUnavailable:
        pass


def rederive(store: Store, progress: Callable[[int, int], None] | None = None) -> int:
    """Drop every summary and rebuild them from the raw exchanges (after a rule change)."""
    store.reset_summaries()
    return catch_up(store, progress=progress)


def summaries_from_rows(rows: Iterable[dict[str, Any]]) -> list[OperationSummary]:
    """Summaries from their stored rows (provider, method, shape, data)."""
    out = []
    for row in rows:
        summary = OperationSummary(row["provider"], row["method"], row["shape"])
        summary.load(json.loads(row["data"]))
        out.append(summary)
    return out


def load_summaries(store: Store, provider: str | None = None) -> list[OperationSummary]:
    """Every stored summary (of one provider), in a stable order."""
    return summaries_from_rows(store.summary_rows(provider))


def providers(store: Store) -> list[str]:
    """Providers that have summaries."""
    return store.summary_providers()


__all__ = [
    "OperationSummary",
    "catch_up",
    "load_summaries",
    "merge_summaries",
    "providers",
    "rederive",
    "summarize_exchanges",
]
