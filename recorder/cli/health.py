"""Contract health over time: `snapshot`, `history`, `report`, `prune`, `merge`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from recorder.cli.app import (
    ConfigOption,
    DbOption,
    IdleOption,
    ProviderOption,
    app,
    err,
    observed_options,
    open_db,
    out,
)
from recorder.config import load_settings
from recorder.store import display_name


@app.command()
def snapshot(
    db: DbOption = None,
    provider: ProviderOption = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Use this version instead of the computed bump.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Store the current observed contract as a new version (major for breaking, minor for additions, patch for evidence)."""
    from recorder.health.history import take_snapshot

    snap, stored = take_snapshot(open_db(db), observed_options(config, provider), version)
    if not stored:
        out.print(f"no changes since {snap.version}: nothing stored")
        return
    out.print(
        f"stored {snap.version} ({snap.bump}): {snap.operations} operations, {snap.exchanges:,} exchanges"
    )
    for reason in snap.reasons[:20]:
        out.print(f"  {reason}")
    if len(snap.reasons) > 20:
        out.print(f"  ... and {len(snap.reasons) - 20} more")


@app.command()
def history(
    db: DbOption = None,
    provider: ProviderOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the stored contract versions."""
    from recorder.health.history import snapshots
    from recorder.learn.observed import pick_provider
    from recorder.learn.summaries import catch_up

    database = open_db(db)
    catch_up(database)
    name = pick_provider(database, provider)
    items = [s.meta for s in snapshots(database, name)]
    if as_json:
        out.print_json(json.dumps([s.model_dump(mode="json") for s in items]))
        return
    if not items:
        out.print(
            f"no snapshots of {name} yet: 'recorder snapshot --db {display_name(db)}' stores the first one"
        )
        return
    for snap in items:
        first = snap.reasons[0] if snap.reasons else ""
        more = f" (+{len(snap.reasons) - 1} more)" if len(snap.reasons) > 1 else ""
        out.print(
            f"{snap.version:<10} {snap.created_at}  {snap.bump:<8} {snap.operations:>3} operations  {first}{more}"
        )


@app.command()
def report(
    db: DbOption = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="The HTML dashboard to write.")] = Path(
        "health.html"
    ),
    provider: ProviderOption = None,
    contract: Annotated[
        Path | None,
        typer.Option(
            "--contract", help="Judge findings against this contract (default: the latest snapshot)."
        ),
    ] = None,
    idle: IdleOption = "30d",
    days: Annotated[int, typer.Option("--days", help="Days of findings over time.")] = 14,
) -> None:
    """Write the contract health dashboard: traffic, latency, consumers, coverage, findings, deprecations, risk."""
    from recorder.common.times import parse_duration
    from recorder.contracts.export import write_text
    from recorder.health.history import latest
    from recorder.health.overview import build_health
    from recorder.learn.observed import pick_provider
    from recorder.learn.summaries import catch_up
    from recorder.report.dashboard import render_dashboard

    database = open_db(db)
    catch_up(database)
    name = pick_provider(database, provider)
    if contract is not None:
        from recorder.contracts.load import load_contract

        reference, reference_name = load_contract(contract), str(contract)
    else:
        snap = latest(database, name)
        reference = snap.contract if snap else None
        reference_name = f"snapshot {snap.meta.version}" if snap else "none (no snapshot yet)"
    health = build_health(
        database,
        name,
        reference=reference,
        reference_name=reference_name,
        database_name=display_name(db),
        idle=parse_duration(idle),
        days=days,
    )
    write_text(output, render_dashboard(health))
    risky = ", ".join(o.operation for o in health.operations[:3])
    out.print(
        f"wrote {output}: {len(health.operations)} operations, {len(health.deprecations)} deprecation candidates;"
        f" riskiest: {risky}"
    )


@app.command()
def prune(
    db: DbOption = None,
    keep_first: Annotated[
        int | None, typer.Option("--keep-first", help="Per operation and status, keep the first N.")
    ] = None,
    keep_last: Annotated[int | None, typer.Option("--keep-last", help="... and the most recent N.")] = None,
    max_age: Annotated[str | None, typer.Option("--max-age", help="Drop older exchanges: 30d, 12h.")] = None,
    max_bytes: Annotated[
        int | None, typer.Option("--max-bytes", help="Cap the size of stored exchanges.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Apply the retention policy now: evidence is kept forever, raw exchanges by policy."""
    from recorder.common.times import DAY, parse_duration
    from recorder.health.retention import prune as run

    policy = load_settings(config).retention
    updates: dict[str, Any] = {}
    if keep_first is not None:
        updates["keep_first"] = keep_first
    if keep_last is not None:
        updates["keep_last"] = keep_last
    if max_age is not None:
        updates["max_age_days"] = parse_duration(max_age) / DAY
    if max_bytes is not None:
        updates["max_bytes"] = max_bytes
    result = run(open_db(db), policy.model_copy(update=updates))
    out.print(
        f"pruned {result.deleted:,} exchanges, kept {result.kept:,}; stored bodies and headers"
        f" {result.bytes_before:,} -> {result.bytes_after:,} bytes (evidence unchanged)"
    )


@app.command()
def merge(
    shards: Annotated[list[Path], typer.Argument(help="Shard databases recorded by several proxies.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The merged database to create.")] = Path(
        "merged.db"
    ),
) -> None:
    """Combine shard databases into one: exchanges copied, evidence merged exactly."""
    from recorder.health.merge import merge as run

    result = run(shards, output, progress=lambda name: err.print(f"merging {name}"))
    out.print(
        f"merged {result.shards} shards into {output}: {result.exchanges:,} exchanges,"
        f" {result.summaries} operation summaries, {result.snapshots} snapshots"
    )
