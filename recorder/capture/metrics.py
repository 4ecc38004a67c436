"""Prometheus metrics of a running proxy (`recorder proxy --metrics-port 9464`), with prometheus_client.

The numbers come from the processes that own them: drops and queue depth from the proxy's event loop side,
recorded exchanges, store errors, per-operation request counts and latency histograms from the store
process, live drift findings from the follower. The children report snapshots as JSON lines; a collector
turns the latest snapshots into metric families when Prometheus scrapes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_OPERATIONS = 200  # label cardinality cap: further operations are counted as "other"


def bucket_index(seconds: float) -> int:
    """Index of the first latency bucket holding `seconds` (len(LATENCY_BUCKETS) for +Inf)."""
    for i, bound in enumerate(LATENCY_BUCKETS):
        if seconds <= bound:
            return i
    return len(LATENCY_BUCKETS)


class OperationStats:
    """Per-operation request counts (by status) and latency histograms, kept by the store process."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, int]] = {}
        self.latency: dict[str, list[float]] = {}  # bucket counts..., then sum of seconds

    def add(self, operation: str, status: int | None, duration_ms: float | None) -> None:
        if operation not in self.requests and len(self.requests) >= MAX_OPERATIONS:
            operation = "other"
        by_status = self.requests.setdefault(operation, {})
        code = str(status) if status is not None else "error"
        by_status[code] = by_status.get(code, 0) + 1
        if duration_ms is not None:
            hist = self.latency.setdefault(operation, [0.0] * (len(LATENCY_BUCKETS) + 2))
            seconds = duration_ms / 1000.0
            hist[bucket_index(seconds)] += 1
            hist[-1] += seconds

    def snapshot(self) -> dict[str, Any]:
        """A copy safe to serialise while the store keeps counting (list()/dict() copies are atomic)."""
        return {
            "requests": {op: dict(counts) for op, counts in list(self.requests.items())},
            "latency": {op: list(hist) for op, hist in list(self.latency.items())},
        }


class ProxyMetrics:
    """The collector behind `/metrics`; children's snapshots are pushed in with `update`."""

    def __init__(self, local: Callable[[], dict[str, float]]) -> None:
        self._local = local  # dropped, queue depth: read live from the addon
        self._lock = threading.Lock()
        self._store: dict[str, Any] = {}
        self._follower: dict[str, Any] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def update_store(self, snapshot: dict[str, Any]) -> None:
        with self._lock:
            self._store = snapshot

    def update_follower(self, snapshot: dict[str, Any]) -> None:
        with self._lock:
            self._follower = snapshot

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            store = dict(self._store)
            follower = dict(self._follower)
        local = self._local()
        recorded = CounterMetricFamily("recorder_exchanges_recorded", "Exchanges written to the database.")
        recorded.add_metric([], store.get("recorded", 0))
        yield recorded
        dropped = CounterMetricFamily(
            "recorder_exchanges_dropped", "Exchanges lost (queue full or store failure)."
        )
        dropped.add_metric([], local.get("dropped", 0) + store.get("store_dropped", 0))
        yield dropped
        errors = CounterMetricFamily("recorder_store_errors", "Failed writes to the database.")
        errors.add_metric([], store.get("errors", 0))
        yield errors
        depth = GaugeMetricFamily("recorder_queue_depth", "Exchanges waiting to be written.")
        depth.add_metric([], local.get("queue_depth", 0))
        yield depth
        findings = CounterMetricFamily(
            "recorder_live_findings",
            "Observations that drift from the contract (--contract).",
            labels=["severity"],
        )
        for severity in ("breaking", "warning", "info"):
            findings.add_metric([severity], (follower.get("findings") or {}).get(severity, 0))
        yield findings
        requests = CounterMetricFamily(
            "recorder_requests", "Recorded requests per operation and status.", labels=["operation", "status"]
        )
        for operation, by_status in sorted((store.get("requests") or {}).items()):
            for status, count in sorted(by_status.items()):
                requests.add_metric([operation, status], count)
        yield requests
        latency = HistogramMetricFamily(
            "recorder_request_duration_seconds",
            "Time from request to response, per operation.",
            labels=["operation"],
        )
        for operation, hist in sorted((store.get("latency") or {}).items()):
            cumulative = 0.0
            buckets = []
            for bound, count in zip((*map(str, LATENCY_BUCKETS), "+Inf"), hist[:-1], strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric([operation], buckets, sum_value=hist[-1])
        yield latency

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Serve `/metrics` on host:port (0: any free port, then in `.port`) in a background thread."""
        self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        self.port = self._server.server_port

    def stop(self) -> None:
        """Stop serving `/metrics`."""
        server = getattr(self, "_server", None)
        if server is not None:
            server.shutdown()
            server.server_close()
