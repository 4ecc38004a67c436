"""Contract health over time: per-operation traffic, latency, consumers, coverage, findings, deprecation
candidates and a risk ranking, computed from the evidence summaries (and recent exchanges for daily findings)."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from datetime import UTC, datetime

from recorder.common.times import DAY, iso, parse_duration  # noqa: F401 (parse_duration: part of this module's API)
from recorder.judge.drift import compare, match_operations
from recorder.judge.runs import _group_unmatched, observed_summaries
from recorder.learn.finalize import subschemas
from recorder.learn.summaries import OperationSummary, summarize_exchanges
from recorder.model import Contract, DeprecationCandidate, Exchange, FindingsPoint, Health, OperationHealth
from recorder.store import Store, Window


def _merge(members: list[OperationSummary], method: str, path: str) -> OperationSummary:
    merged = OperationSummary(members[0].provider, method, path)
    for m in members:
        merged.load(m.dump())
    return merged


def grouped_summaries(
    contract: Contract | None, summaries: list[OperationSummary]
) -> dict[str, OperationSummary]:
    """Summaries merged per operation: the reference contract's operations, and learned templates for the rest."""
    groups: dict[str, list[OperationSummary]] = {}
    unmatched = summaries
    if contract is not None:
        matched, unmatched = match_operations(contract, summaries)
        groups.update({k: v for k, v in matched.items() if v})
    for key, members in _group_unmatched(unmatched).items():
        groups.setdefault(key, []).extend(members)
    return {
        key: _merge(members, key.split(" ", 1)[0], key.split(" ", 1)[1]) for key, members in groups.items()
    }


def latency_percentile(buckets: dict[str, int], q: float) -> float | None:
    """A percentile (ms) from log2 buckets (bucket b holds durations up to 2**b ms)."""
    total = sum(buckets.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(buckets, key=int):
        seen += buckets[bucket]
        if seen >= rank:
            return float(2 ** int(bucket))
    return float(2 ** max(int(b) for b in buckets))


def deprecation_candidates(
    groups: dict[str, OperationSummary], idle: float, all_consumers: set[str]
) -> list[DeprecationCandidate]:
    """Operations, statuses, parameters and fields not seen for `idle` seconds; operations only one of
    several consumers still uses.

    Idleness is measured against the provider's newest recorded traffic, not the wall clock: a recorder that
    was stopped for a month has no evidence that anything went out of use, and flags nothing."""
    out = []
    now = max((s.last for s in groups.values() if s.last is not None), default=0.0)
    for key, summary in sorted(groups.items()):
        if summary.last is not None and now - summary.last >= idle:
            out.append(_candidate("operation", key, "", summary.last, summary.last_consumer, now))
            continue
        for location, (ts, consumer) in sorted(summary.seen.items()):
            if now - ts < idle:
                continue
            element = (
                "status"
                if location.startswith("status ")
                else "parameter"
                if location.startswith(("query:", "header:"))
                else "field"
            )
            out.append(_candidate(element, key, location, ts, consumer, now))
        users = {c for c in summary.consumers if c}
        if len(all_consumers) >= 3 and len(users) == 1:
            (only,) = users
            out.append(
                DeprecationCandidate(
                    element="operation",
                    operation=key,
                    location=f"only {only} uses it",
                    last_seen=iso(summary.last),
                    idle_days=round((now - (summary.last or now)) / DAY, 6),
                    last_consumers=(only,),
                )
            )
    return _drop_nested(out)


def _candidate(
    element: str, operation: str, location: str, ts: float, consumer: str, now: float
) -> DeprecationCandidate:
    return DeprecationCandidate(
        element=element,  # type: ignore[arg-type]
        operation=operation,
        location=location,
        last_seen=iso(ts),
        idle_days=round((now - ts) / DAY, 6),
        last_consumers=(consumer,) if consumer else (),
    )


def _drop_nested(candidates: list[DeprecationCandidate]) -> list[DeprecationCandidate]:
    """A field under an idle field (or status) is implied by it: keep the outermost."""
    keep = []
    locations = {(c.operation, c.location) for c in candidates}
    for c in candidates:
        parent = c.location.rsplit("/", 1)[0] if "/" in c.location else None
        implied = False
        while parent and not parent.endswith(":"):
            if (c.operation, parent) in locations:
                implied = True
                break
            parent = parent.rsplit("/", 1)[0] if "/" in parent else None
        if (
            c.element == "field"
            and (c.operation, f"status {c.location.split(':')[0].split()[-1]}") in locations
        ):
            implied = True
        if not implied:
            keep.append(c)
    return keep


def _coverage(summary: OperationSummary) -> tuple[int, int]:
    seen = total = 0
    for body in summary.success_bodies():
        for part in subschemas(body):
            target = part["items"] if part["type"] == "array" and part.get("items") else part
            for sub in subschemas(target):
                if sub["type"] != "object":
                    continue
                stats = sub.get("x-stats", {})
                n = stats.get("n", 0)
                for count in stats.get("p", {}).values():
                    total += 1
                    seen += int(count == n)
    return seen, total


def build_health(
    store: Store,
    provider: str,
    *,
    reference: Contract | None,
    reference_name: str,
    database_name: str,
    idle: float = 30 * DAY,
    days: int = 14,
    now: float | None = None,
) -> Health:
    """Everything the dashboard shows, for one provider."""
    from recorder.health.history import snapshots

    now = now if now is not None else time.time()
    summaries = observed_summaries(store, provider, Window())
    groups = grouped_summaries(reference, summaries)
    findings = compare(reference, summaries).findings if reference is not None else []
    by_op: dict[str, dict[str, int]] = defaultdict(lambda: {"breaking": 0, "warning": 0, "info": 0})
    for f in findings:
        by_op[f.operation][f.severity] += 1
    all_consumers = {c for s in groups.values() for c in s.consumers if c}
    operations = []
    for key, summary in groups.items():
        latency: dict[str, int] = {}
        statuses = {}
        for code, status in summary.statuses.items():
            statuses[code] = status.n
            for bucket, count in status.latency.items():
                latency[bucket] = latency.get(bucket, 0) + count
        seen, total = _coverage(summary)
        severity = dict(by_op.get(key, {"breaking": 0, "warning": 0, "info": 0}))
        consumers = {c: n for c, n in sorted(summary.consumers.items()) if c}
        risk = (
            math.log1p(summary.n)
            * (1 + 3 * severity["breaking"] + severity["warning"])
            * max(1, len(consumers))
        )
        operations.append(
            OperationHealth(
                operation=key,
                count=summary.n,
                hours=dict(sorted(summary.hours.items(), key=lambda kv: int(kv[0]))),
                statuses=dict(sorted(statuses.items())),
                latency_p50_ms=latency_percentile(latency, 0.5),
                latency_p99_ms=latency_percentile(latency, 0.99),
                consumers=consumers,
                fields_seen=seen,
                fields_total=total,
                findings=severity,
                risk=round(risk, 2),
                first_seen=iso(summary.first),
                last_seen=iso(summary.last),
            )
        )
    operations.sort(key=lambda o: (-o.risk, o.operation))
    stats = store.stats()
    size = store.size_bytes()
    return Health(
        title=f"Contract health of {provider}",
        generated_at=iso(now) or "",
        database=database_name,
        provider=provider,
        reference=reference_name,
        totals={
            "exchanges": sum(s.n for s in groups.values()),
            "stored_exchanges": stats["exchanges"],
            "operations": len(groups),
            "consumers": len(all_consumers),
            "dropped": stats["dropped"],
            "store_errors": stats["store_errors"],
            "breaking": sum(1 for f in findings if f.severity == "breaking"),
            "database_bytes": size,
        },
        operations=tuple(operations),
        snapshots=tuple(s.meta for s in snapshots(store, provider)),
        deprecations=tuple(deprecation_candidates(groups, idle, all_consumers)),
        findings_over_time=tuple(_daily_findings(store, provider, reference, days, now)),
        findings=tuple(findings),
    )


def _daily_findings(
    store: Store, provider: str, reference: Contract | None, days: int, now: float
) -> list[FindingsPoint]:
    """Drift of each recent day's traffic (still stored) against the reference contract."""
    if reference is None:
        return []
    start = (now // DAY - days + 1) * DAY
    points = []
    by_day: dict[int, list[Exchange]] = defaultdict(list)
    for exchange in store.exchanges(provider, Window(since=start)):
        by_day[int(exchange.started // DAY)].append(exchange)
    for day in sorted(by_day):
        summaries = list(summarize_exchanges(by_day[day]).values())
        counts = {"breaking": 0, "warning": 0, "info": 0}
        for f in compare(reference, summaries).findings:
            if f.kind != "operation-unobserved":
                counts[f.severity] += 1
        label = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%d")
        points.append(FindingsPoint(day=label, exchanges=len(by_day[day]), **counts))
    return points
