"""`recorder drift` and `recorder diff` as library functions: load, compare, and build a `Report`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from recorder.common.http import lower_headers
from recorder.common.jsonvalues import json_body, request_value, typed_multidict
from recorder.common.times import now_iso
from recorder.errors import RecorderError
from recorder.judge.drift import ExampleRow, ExampleSource, compare
from recorder.learn.finalize import subschemas
from recorder.learn.observed import redirect_hops, shape_info
from recorder.learn.paths import template_paths
from recorder.learn.summaries import (
    OperationSummary,
    catch_up,
    load_summaries,
    providers,
    summarize_exchanges,
)
from recorder.model import Contract, FieldPresence, OperationTraffic, Report
from recorder.store import Store, Window

SCAN_LIMIT = 2000


class DatabaseExamples(ExampleSource):
    """Example exchanges from the store: newest first, at most `SCAN_LIMIT` per question, bodies parsed once."""

    def __init__(self, store: Store, provider: str, window: Window) -> None:
        self.store = store
        self.provider = provider
        self.window = window
        self._cache: dict[tuple[str, tuple[str, ...], str | None], list[ExampleRow]] = {}

    def exchanges(self, method: str, shapes: tuple[str, ...], status: str | None) -> Iterable[ExampleRow]:
        key = (method, shapes, status)
        if key not in self._cache:
            self._cache[key] = self._load(method, shapes, status)
        return self._cache[key]

    def _load(self, method: str, shapes: tuple[str, ...], status: str | None) -> list[ExampleRow]:
        code = int(status) if status is not None and status.isdigit() else None
        rows = self.store.example_rows(self.provider, method, shapes, code, self.window, SCAN_LIMIT)
        return [
            ExampleRow(
                id=r["id"],
                started=r["started"],
                consumer=r["consumer"] or "",
                request=request_value(r["request_body"], r["request_content_type"], r["request_truncated"]),
                response=json_body(
                    r["response_body"], r["response_content_type"], r["response_truncated"], None
                ),
                query=typed_multidict(json.loads(r["query"])) if r["query"] else {},
                headers=lower_headers(json.loads(r["request_headers"] or "[]")),
                status=r["status"],
            )
            for r in rows
        ]


def choose_provider(store: Store, contract: Contract | None, provider: str | None) -> str:
    """The recorded provider to judge: the one asked for, the only one, or the one the contract names."""
    catch_up(store)  # summaries know every provider ever recorded, also after retention (and cheaply)
    names = providers(store) or store.exchange_providers()
    if provider is not None:
        if provider not in names:
            raise RecorderError(
                f"no traffic recorded for provider {provider!r} (recorded: {', '.join(names) or 'none'})."
            )
        return provider
    if not names:
        raise RecorderError("no exchanges recorded yet: nothing to compare.")
    if len(names) == 1:
        return names[0]
    if contract is not None and contract.provider in names:
        return contract.provider
    raise RecorderError(
        f"the database holds several providers ({', '.join(names)}): choose one with --provider."
    )


def observed_summaries(store: Store, provider: str, window: Window) -> list[OperationSummary]:
    """Stored summaries for all traffic; summaries built on the fly for a window."""
    if window.is_all:
        catch_up(store)
        return load_summaries(store, provider)
    return list(summarize_exchanges(store.exchanges(provider, window)).values())


def _group_unmatched(
    summaries: list[OperationSummary], hops: set[tuple[str, str]] | None = None
) -> dict[str, list[OperationSummary]]:
    """Summaries no documented operation matched, grouped by learned template; redirect hops left out (they
    are no operations: `learn.observed.redirect_hops`)."""
    summaries = [s for s in summaries if (s.method, s.shape) not in (hops or set())]
    templates = template_paths(shape_info(s) for s in summaries)
    groups: dict[str, list[OperationSummary]] = {}
    for s in summaries:
        groups.setdefault(f"{s.method} {templates[(s.method, s.shape)].path}", []).append(s)
    return groups


def run_drift(
    store: Store,
    contract: Contract,
    *,
    contract_name: str,
    db_name: str,
    window: Window = Window(),
    provider: str | None = None,
    fail_on: str = "breaking",
) -> Report:
    """Compare the traffic recorded for a provider with a documented contract."""
    if window.consumer is None and contract.consumer:
        window = Window(window.since, window.until, contract.consumer)  # a pact speaks for one consumer
    name = choose_provider(store, contract, provider)
    summaries = observed_summaries(store, name, window)
    hops = redirect_hops(summaries)

    def undocumented(unmatched: list[OperationSummary]) -> dict[str, list[OperationSummary]]:
        return _group_unmatched(unmatched, hops)

    result = compare(
        contract, summaries, DatabaseExamples(store, name, window), undocumented_templates=undocumented
    )
    findings = result.findings
    if contract.consumer:  # a pact: it ignores fields it does not mention
        findings = [f for f in findings if f.kind != "field-undocumented"]
    traffic = _traffic(result.matched, undocumented(result.unmatched))
    notes = []
    if not summaries:
        notes.append("no traffic in the selected window")
    return Report(
        kind="drift",
        title=f"Drift of {name} against {Path(contract_name).name}",
        generated_at=now_iso(),
        documented=contract_name,
        observed=f"{db_name} (provider {name})",
        window=window.describe(),
        fail_on=fail_on,  # type: ignore[arg-type]
        findings=tuple(findings),
        operations=traffic,
        fields=_presence(contract, result.matched),
        notes=tuple(notes),
    )


def _traffic(
    matched: dict[str, list[OperationSummary]], unmatched: dict[str, list[OperationSummary]]
) -> tuple[OperationTraffic, ...]:
    out = []
    for key, members in [*matched.items(), *unmatched.items()]:
        if not members:
            continue
        hours: dict[str, int] = {}
        statuses: dict[str, int] = {}
        consumers: set[str] = set()
        for m in members:
            for h, c in m.hours.items():
                hours[h] = hours.get(h, 0) + c
            for code, st in m.statuses.items():
                statuses[code] = statuses.get(code, 0) + st.n
            consumers |= {c for c in m.consumers if c}
        out.append(
            OperationTraffic(
                operation=key,
                count=sum(m.n for m in members),
                hours=dict(sorted(hours.items(), key=lambda kv: int(kv[0]))),
                statuses=dict(sorted(statuses.items())),
                consumers=tuple(sorted(consumers)),
            )
        )
    return tuple(sorted(out, key=lambda t: t.operation))


def _presence(
    contract: Contract, matched: dict[str, list[OperationSummary]], per_op: int = 25
) -> tuple[FieldPresence, ...]:
    out = []
    for op in contract.operations:
        members = matched.get(op.key) or []
        if not members:
            continue
        merged = OperationSummary(members[0].provider, op.method.upper(), op.path)
        for m in members:
            merged.load(m.dump())
        for code, status in sorted(merged.statuses.items()):
            if not code.startswith("2"):
                continue
            for body in status.bodies.values():
                if body.node is None:
                    continue
                rows = []
                _fields(body.node.to_schema(), "", rows, 0)
                for location, seen, of in rows[:per_op]:
                    out.append(
                        FieldPresence(operation=op.key, status=code, location=location, seen=seen, of=of)
                    )
    return tuple(out)


def _fields(summary: dict[str, Any], prefix: str, out: list[tuple[str, int, int]], depth: int) -> None:
    if depth > 3:
        return
    for part in subschemas(summary):
        if part["type"] == "object":
            stats = part.get("x-stats", {})
            for key in sorted(part.get("properties") or {}):
                out.append((f"{prefix}/{key}", stats.get("p", {}).get(key, 0), stats.get("n", 0)))
                _fields(part["properties"][key], f"{prefix}/{key}", out, depth + 1)
        elif part["type"] == "array" and part.get("items"):
            _fields(part["items"], f"{prefix}/*", out, depth + 1)


def run_diff(
    old: Contract, new: Contract, *, old_name: str, new_name: str, fail_on: str = "breaking"
) -> Report:
    """Compare two contracts and suggest the version bump."""
    from recorder.judge.diff import diff_contracts, version_bump

    findings = diff_contracts(old, new)
    return Report(
        kind="diff",
        title=f"Changes from {Path(old_name).name} to {Path(new_name).name}",
        generated_at=now_iso(),
        documented=old_name,
        observed=new_name,
        fail_on=fail_on,  # type: ignore[arg-type]
        findings=tuple(findings),
        version_bump=version_bump(findings),  # type: ignore[arg-type]
    )


def run_versions(
    store: Store,
    contracts: list[tuple[str, Contract]],
    *,
    db_name: str,
    window: Window = Window(),
    provider: str | None = None,
    fail_on: str = "breaking",
) -> Report:
    """Several versions of a contract at once: which version each consumer's traffic conforms to.

    The findings are those against the last contract given (the current one), plus one `consumer-version`
    finding per consumer saying which versions its traffic conforms to (no breaking findings)."""
    from recorder.model import Finding

    name = choose_provider(store, contracts[-1][1], provider)
    consumers = store.consumers(name, window)
    extra = []
    notes = []
    for consumer in consumers:
        scoped = Window(window.since, window.until, consumer)
        summaries = observed_summaries(store, name, scoped)
        verdicts = []
        for label, contract in contracts:
            result = compare(contract, summaries)
            breaking = sum(1 for f in result.findings if f.severity == "breaking")
            undocumented = sum(1 for f in result.findings if f.kind == "operation-undocumented")
            verdicts.append((Path(label).name, breaking, undocumented))
        conforming = [v for v, b, u in verdicts if b == 0 and u == 0]
        summary = ", ".join(f"{v}: {b} breaking, {u} undocumented operations" for v, b, u in verdicts)
        verdict = (
            f"conforms to {' and '.join(conforming)}" if conforming else "conforms to none of the versions"
        )
        notes.append(f"{consumer}: {verdict} ({summary})")
        extra.append(
            Finding(
                kind="consumer-version",
                severity="info",
                operation=f"consumer {consumer}",
                location="contract versions",
                message=verdict,
                expected=[v for v, _, _ in verdicts],
                observed=conforming,
                count=sum(s.n for s in summaries),
                consumers=(consumer,),
            )
        )
    label, current = contracts[-1]
    report = run_drift(
        store,
        current,
        contract_name=label,
        db_name=db_name,
        window=window,
        provider=provider,
        fail_on=fail_on,
    )
    return report.model_copy(
        update={
            "title": f"{name}: consumers across {len(contracts)} contract versions",
            "documented": ", ".join(label for label, _ in contracts),
            "findings": tuple(extra) + report.findings,
            "notes": tuple(notes) + report.notes,
        }
    )
