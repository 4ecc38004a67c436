"""Looking at what was recorded: `stats`, `endpoints`, `show`, and `summarize` (the evidence)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from recorder.cli.app import (
    ConfigOption,
    DbOption,
    ProviderOption,
    app,
    err,
    observed_options,
    open_db,
    out,
    when,
)
from recorder.errors import RecorderError
from recorder.learn.observed import observed_contract
from recorder.store import display_name


@app.command()
def stats(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    idle: Annotated[
        str,
        typer.Option("--idle", help="Elements not seen for this long are deprecation candidates: 30d, 12h."),
    ] = "30d",
) -> None:
    """Counts: exchanges by consumer, status and provider; drops and store errors; time range; deprecation candidates."""
    database = open_db(db)
    data = database.stats()
    data["deprecation_candidates"] = _deprecations(database, idle)
    if as_json:
        out.print_json(json.dumps(data, sort_keys=True))
        return
    out.print(f"database     {display_name(db)}")
    out.print(f"exchanges    {data['exchanges']:,}")
    out.print(f"time range   {when(data['first_seen'])} .. {when(data['last_seen'])}")
    out.print(
        f"dropped      {data['dropped']:,}   store errors {data['store_errors']:,}   sessions {data['sessions']}"
    )
    if data["last_store_error"]:
        out.print(f"last error   {data['last_store_error']}")
    out.print(
        f"failed exchanges (no response) {data['exchanges_with_errors']:,}   truncated bodies {data['truncated_bodies']:,}"
    )
    for title, key in (
        ("operation (path shape)", "by_operation"),
        ("consumer", "by_consumer"),
        ("status", "by_status"),
        ("provider", "by_provider"),
    ):
        table = Table(title=None, show_edge=False, pad_edge=False)
        table.add_column(title)
        table.add_column("exchanges", justify="right")
        for name, count in data[key].items():
            table.add_row(name or "-", f"{count:,}")
        out.print(table)
    candidates = data["deprecation_candidates"]
    out.print(
        f"deprecation candidates (not seen for {idle}, or used by one consumer only): {len(candidates)}"
    )
    for c in candidates[:50]:
        where = f" {c['location']}" if c["location"] else ""
        who = ", ".join(c["last_consumers"]) or "-"
        out.print(f"  {c['element']:<9} {c['operation']}{where}  last seen {c['last_seen']} by {who}")


def _deprecations(database: Any, idle: str) -> list[dict[str, Any]]:
    from recorder.common.times import parse_duration
    from recorder.health.overview import deprecation_candidates, grouped_summaries
    from recorder.learn.summaries import catch_up, load_summaries, providers

    seconds = parse_duration(idle)
    catch_up(database)
    out = []
    for name in providers(database):
        groups = grouped_summaries(None, load_summaries(database, name))
        consumers = {c for s in groups.values() for c in s.consumers if c}
        out += [c.model_dump(mode="json") for c in deprecation_candidates(groups, seconds, consumers)]
    return out


@app.command()
def endpoints(
    db: DbOption = None,
    provider: ProviderOption = None,
    config: ConfigOption = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Concrete paths as recorded, without templating.")
    ] = False,
) -> None:
    """Observed operations (method + path template) with exchange counts and status codes."""
    database = open_db(db)
    if raw:
        rows = [(r["method"], r["path"], r["count"], r["statuses"]) for r in database.endpoints()]
    else:
        contract = observed_contract(database, observed_options(config, provider)).contract
        rows = [
            (
                op.method.upper(),
                op.path,
                op.evidence.count if op.evidence else 0,
                [r.status for r in op.responses],
            )
            for op in contract.operations
        ]
    width = max((len(p) for _, p, _, _ in rows), default=10)
    for method, path, count, statuses in rows:
        out.print(f"{method:<7} {path:<{width}}  {count:>9,}  {','.join(statuses)}")


@app.command()
def show(
    exchange_id: Annotated[int, typer.Argument(help="The exchange id (as printed in drift findings).")],
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print one recorded exchange (as stored: redacted)."""
    database = open_db(db)
    ex = database.exchange(exchange_id)
    if ex is None:
        raise RecorderError(f"no exchange {exchange_id} in {display_name(db)}.")
    data = ex.model_dump(mode="json", exclude={"request_body", "response_body"})
    data["request_body"] = _body_text(ex.request_body)
    data["response_body"] = _body_text(ex.response_body)
    if as_json:
        out.print_json(json.dumps(data, sort_keys=True))
        return
    out.print(f"#{ex.id}  {when(ex.started)}  {ex.consumer} -> {ex.provider}  {ex.duration_ms or 0:.1f} ms")
    query = "&".join(f"{k}={v}" for k, vs in ex.query.items() for v in vs)
    out.print(f"{ex.method} {ex.path}{'?' + query if query else ''} {ex.http_version}")
    for k, v in ex.request_headers:
        out.print(f"  {k}: {v}")
    if data["request_body"]:
        out.print(data["request_body"])
    out.print(f"-> {ex.status if ex.status is not None else 'no response: ' + (ex.error or '')}")
    for k, v in ex.response_headers:
        out.print(f"  {k}: {v}")
    if data["response_body"]:
        out.print(data["response_body"])


def _body_text(body: bytes | None) -> str | None:
    if body is None:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(body)} bytes of binary data>"


@app.command()
def summarize(
    db: DbOption = None,
    rederive: Annotated[
        bool,
        typer.Option("--rederive", help="Rebuild all evidence from the raw exchanges (after a rule change)."),
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep summarising new exchanges as they are recorded.")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between rounds with --follow.")
    ] = 2.0,
) -> None:
    """Update the evidence summaries that exports read (done automatically; explicit for re-derivation)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from recorder.learn.summaries import catch_up
    from recorder.learn.summaries import rederive as rebuild

    database = open_db(db)
    if follow:
        from recorder.learn.summaries import follow as run_follow

        run_follow(database, interval)
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("summarising", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        count = rebuild(database, progress) if rederive else catch_up(database, progress=progress)
    out.print(f"{'re-derived' if rederive else 'summarised'} {count:,} exchanges")
