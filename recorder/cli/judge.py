"""`recorder drift` (traffic against contracts) and `recorder diff` (a contract against an older one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recorder.cli.app import (
    DbOption,
    FailOnOption,
    FormatOption,
    OutputOption,
    ProviderOption,
    app,
    check_choice,
    emit_report,
    open_db,
    report_format,
)
from recorder.store import display_name


@app.command()
def drift(
    contract: Annotated[
        list[Path],
        typer.Option("--contract", help="OpenAPI (3.0/3.1) or Pact file; repeat to compare versions."),
    ],
    db: DbOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    fail_on: FailOnOption = "breaking",
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only traffic from this time: 2024-05-01, ISO time, or 7d/12h."),
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only traffic before this time.")] = None,
    consumer: Annotated[str | None, typer.Option("--consumer", help="Only this consumer's traffic.")] = None,
    provider: ProviderOption = None,
) -> None:
    """Compare recorded traffic with a contract: undocumented or changed operations, fields, types, statuses."""
    from recorder.common.times import parse_time
    from recorder.contracts.load import load_contract
    from recorder.judge.runs import run_drift
    from recorder.store import Window

    report_format(fmt, output)
    check_choice(fail_on, ("breaking", "warning", "any", "never"), "--fail-on")
    window = Window(parse_time(since, "--since"), parse_time(until, "--until"), consumer)
    database = open_db(db)
    if len(contract) > 1:
        from recorder.judge.runs import run_versions

        report = run_versions(
            database,
            [(str(p), load_contract(p)) for p in contract],
            db_name=display_name(db),
            window=window,
            provider=provider,
            fail_on=fail_on,
        )
    else:
        documented = load_contract(contract[0])
        report = run_drift(
            database,
            documented,
            contract_name=str(contract[0]),
            db_name=display_name(db),
            window=window,
            provider=provider,
            fail_on=fail_on,
        )
    emit_report(report, fmt, output)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier contract (OpenAPI or Pact).")],
    new: Annotated[Path, typer.Argument(help="The new contract.")],
    fmt: FormatOption = None,
    output: OutputOption = None,
    fail_on: FailOnOption = "breaking",
) -> None:
    """Compare two contracts: breaking and additive changes, and the semantic version bump they call for."""
    from recorder.contracts.load import load_contract
    from recorder.judge.runs import run_diff

    report_format(fmt, output)
    check_choice(fail_on, ("breaking", "warning", "any", "never"), "--fail-on")
    report = run_diff(
        load_contract(old), load_contract(new), old_name=str(old), new_name=str(new), fail_on=fail_on
    )
    emit_report(report, fmt, output)
