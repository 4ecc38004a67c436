"""`recorder replay` (verify a provider build) and `recorder stub` (a provider for consumer tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recorder.cli.app import (
    ConfigOption,
    DbOption,
    FailOnOption,
    FormatOption,
    OutputOption,
    ProviderOption,
    app,
    check_choice,
    emit_report,
    err,
    observed_options,
    open_db,
    report_format,
)
from recorder.errors import RecorderError
from recorder.learn.observed import observed_contract
from recorder.store import display_name


@app.command()
def replay(
    target: Annotated[
        str, typer.Option("--target", help="The provider build to send the recorded requests to.")
    ],
    db: DbOption = None,
    contract: Annotated[
        Path | None,
        typer.Option("--contract", help="Judge answers against this contract (default: the observed one)."),
    ] = None,
    sample: Annotated[
        int, typer.Option("--sample", help="Requests per operation and status (most recent first).")
    ] = 3,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every recorded request.")] = False,
    consumer: Annotated[str | None, typer.Option("--consumer", help="Only this consumer's requests.")] = None,
    operation: Annotated[
        str | None, typer.Option("--operation", help="Only this operation, e.g. 'GET /users/{userId}'.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only requests recorded since: 2024-05-01, 7d, 12h.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Only requests recorded before this time.")
    ] = None,
    include_unsafe: Annotated[
        bool, typer.Option("--include-unsafe", help="Also send POST/PUT/PATCH/DELETE.")
    ] = False,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header", help="'Name: value' sent with every request; $VARS come from the environment."
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Requests in flight at most.")] = 4,
    rate: Annotated[float, typer.Option("--rate", help="Requests per second at most.")] = 20.0,
    provider: ProviderOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    fail_on: FailOnOption = "breaking",
    config: ConfigOption = None,
) -> None:
    """Re-send recorded requests to a provider build and judge its answers (same findings and exit codes as drift)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from recorder.common.times import parse_time
    from recorder.judge.drift import match_operations
    from recorder.judge.runs import choose_provider
    from recorder.learn.summaries import catch_up, load_summaries
    from recorder.verify.replay import ReplayOptions, parse_headers, replay_report
    from recorder.verify.replay import replay as run

    report_format(fmt, output)
    check_choice(fail_on, ("breaking", "warning", "any", "never"), "--fail-on")
    if concurrency < 1 or rate <= 0:
        raise typer.BadParameter("must be positive", param_hint="--concurrency/--rate")
    database = open_db(db)
    catch_up(database)
    if contract is not None:
        from recorder.contracts.load import load_contract

        documented, documented_name = load_contract(contract), str(contract)
    else:
        documented = observed_contract(database, observed_options(config, provider)).contract
        documented_name = f"the contract observed in {display_name(db)}"
    name = choose_provider(database, documented, provider)
    shapes = None
    if operation is not None:
        key = " ".join(operation.split())
        method, _, path = key.partition(" ")
        key = f"{method.upper()} {path}"
        if key not in {op.key for op in documented.operations}:
            raise RecorderError(f"no operation {operation!r} in {documented_name}.")
        matched, _ = match_operations(documented, load_summaries(database, name))
        shapes = {s.shape for s in matched[key]}
    options = ReplayOptions(
        target=target,
        sample=0 if replay_all else sample,
        consumer=consumer,
        operation=operation,
        since=parse_time(since, "--since"),
        until=parse_time(until, "--until"),
        include_unsafe=include_unsafe,
        headers=parse_headers(header or []),
        concurrency=concurrency,
        rate=rate,
    )
    with Progress(
        TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("replay", total=None)
        result = run(
            database,
            name,
            documented,
            options,
            shapes=shapes,
            progress=lambda d, t: bar.update(task, completed=d, total=t),
        )
    report = replay_report(
        result, target=target, documented=documented_name, database=display_name(db), fail_on=fail_on
    )
    for note in report.notes:
        err.print(f"recorder: {note}")
    emit_report(report, fmt, output)


@app.command()
def stub(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port).")
    ],
    contract: Annotated[
        Path | None, typer.Option("--contract", help="OpenAPI (3.0/3.1) or Pact file to serve.")
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="Serve the contract learned from this database instead.")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = "127.0.0.1",
    seed: Annotated[
        int, typer.Option("--seed", help="Seed for generated bodies (same seed, same bodies).")
    ] = 0,
    provider: ProviderOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve a stub provider for consumer tests: rejects requests that violate the contract, answers the rest."""
    import gc
    import signal
    import threading

    from recorder.verify.stub import RunningStub, bind, stub_from_db, stub_from_file

    if (contract is None) == (db is None):
        raise RecorderError("give exactly one of --contract FILE or --db DB.")
    if contract is not None:
        server = stub_from_file(contract, seed=seed)
    else:
        server = stub_from_db(db, seed=seed, options=observed_options(config, provider))
    gc.freeze()  # the loaded contract never becomes garbage: keep it out of full collections (p99 pauses)
    running = RunningStub(server, bind(host, port)).start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    count = len(server.contract.operations)
    err.print(f"stub: serving {count} operations of {server.title} on {running.url}")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
    err.print("stub: stopped")
