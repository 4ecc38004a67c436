"""`recorder demo`: the whole loop on the bundled shop provider, on loopback only.

1. record consumers' traffic through the proxy, 2. export OpenAPI, Pact and JSON Schema, 3. change the provider
(a field renamed, a type changed, a new enum value) and record a little more, 4. report the drift.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder import export_jsonschema, export_openapi, export_pacts, record
from recorder.config import Settings
from recorder.contracts.export import write_text
from recorder.demo.consumer import drive
from recorder.demo.provider import ShopServer
from recorder.judge.runs import run_drift
from recorder.learn.observed import ObservedOptions
from recorder.store import Window, open_store

Say = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo produced, for the CLI to print and tests to check."""

    db: Path
    recorded: int
    dropped: int
    statuses: dict[int, int]
    files: dict[str, Path] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def record_through_proxy(
    server_url: str, db: Path, count: int, seed: int
) -> tuple[dict[str, Any], dict[int, int]]:
    """Run the recording proxy in front of `server_url`, drive `count` calls through it, stop it cleanly."""
    with record(server_url, db, provider="shop") as proxy:
        statuses = drive(proxy.url, count, seed)
    return proxy.counters, statuses


def _replay_step(db: Path, target: str, contract: Any, before: float) -> str:
    """Replay requests recorded before the change against the changed provider; one line of verdict."""
    from recorder.demo.consumer import TOKEN
    from recorder.verify.replay import ReplayOptions, replay

    options = ReplayOptions(
        target=target, sample=2, until=before, headers={"Authorization": f"Bearer {TOKEN}"}, rate=200.0
    )
    database = open_store(db)
    try:
        result = replay(database, "shop", contract, options)
    finally:
        database.close()
    breaking = [f for f in result.findings if f.severity == "breaking"]
    lines = [
        f"5. replayed {result.sent} recorded requests against the changed provider: "
        + (f"FAIL, {len(breaking)} breaking differences" if breaking else "PASS")
    ]
    for f in breaking[:6]:
        lines.append(f"     {f.operation:<38} {f.location:<28} {f.message} ({f.count}x)")
    return "\n".join(lines)


def run_demo(out: Path, say: Say, requests: int = 300) -> DemoResult:
    """Record, export, change the provider, record again, and report the drift."""
    from recorder.contracts.load import load_contract

    out.mkdir(parents=True, exist_ok=True)
    db = out / "traffic.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    files: dict[str, Path] = {}
    with ShopServer(version=1) as server:
        say(f"1. provider: the shop API on {server.url}; consumers call it through the recording proxy")
        counters, statuses = record_through_proxy(server.url, db, requests, seed=7)
        say(
            f"   recorded {counters.get('recorded', 0)} exchanges into {db} "
            f"(dropped {counters.get('dropped', 0)}; statuses {dict(sorted(statuses.items()))})"
        )

        options = ObservedOptions.from_settings(Settings(), provider="shop", version="1.0.0")
        contract = export_openapi(db, out / "openapi.yaml", options=options)
        files["openapi"] = out / "openapi.yaml"
        pacts = export_pacts(db, out / "pacts", options=options)
        files["pacts"] = out / "pacts"
        schemas = export_jsonschema(db, out / "schemas", options=options)
        files["schemas"] = out / "schemas"
        say(
            f"2. learned {len(contract.operations)} operations: wrote {files['openapi']}, "
            f"{len(pacts)} pacts in {files['pacts']}, {len(schemas)} JSON Schemas in {files['schemas']}"
        )
        for op in contract.operations:
            statuses_seen = ",".join(r.status for r in op.responses)
            say(
                f"     {op.method.upper():<6} {op.path:<34} {op.evidence.count if op.evidence else 0:>5}  {statuses_seen}"
            )

        changed_at = time.time()
        server.set_version(2)
        say(
            "3. the provider changes: `name` renamed to `fullName`, an order's `total` becomes a string, new status `refunded`"
        )
        more, _ = record_through_proxy(server.url, db, max(requests // 3, 60), seed=11)
        say(f"   recorded {more.get('recorded', 0)} more exchanges after the change")
        verdict = _replay_step(db, server.url, contract, changed_at)

    documented = load_contract(files["openapi"])
    report = run_drift(
        open_store(db),
        documented,
        contract_name=str(files["openapi"]),
        db_name=str(db),
        window=Window(since=changed_at),
    )
    from recorder.report import render

    write_text(out / "drift.md", render(report, "markdown"))
    write_text(out / "drift.html", render(report, "html"))
    files["drift markdown"] = out / "drift.md"
    files["drift html"] = out / "drift.html"
    counts = report.counts()
    say(
        f"4. drift since the change: {counts['breaking']} breaking, {counts['warning']} warnings, {counts['info']} info"
    )
    for finding in report.findings:
        if finding.severity == "breaking":
            say(f"     {finding.operation:<38} {finding.location:<28} {finding.message} ({finding.count}x)")
    say(verdict)
    database = open_store(db)
    try:
        stats = database.stats()
    finally:
        database.close()
    return DemoResult(
        db=db,
        recorded=counters.get("recorded", 0) + more.get("recorded", 0),
        dropped=counters.get("dropped", 0) + more.get("dropped", 0),
        statuses=statuses,
        files=files,
        extra={"stats": stats, "report": report},
    )
