"""The `recorder` app and what its commands share: consoles, common options, report output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from recorder.common.times import iso
from recorder.config import load_settings
from recorder.learn.observed import ObservedOptions
from recorder.store import Store, open_store
from recorder.version import __version__

app = typer.Typer(
    name="recorder",
    help="Learn API contracts from real HTTP traffic: record, infer, export, detect drift.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

DEFAULT_DB = "recorder.db"


def _database(ctx: typer.Context, value: str | None) -> str:
    """--db, else RECORDER_DB (typer reads it), else `db` of the configuration, else recorder.db."""
    if value:
        return value
    config = ctx.params.get("config")
    return load_settings(config).db or DEFAULT_DB


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="RECORDER_DB",
        callback=_database,
        show_default=DEFAULT_DB,
        help="The recorder database: a SQLite file, or postgresql://user@host:port/dbname (also RECORDER_DB,"
        " or `db` in recorder.toml).",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", is_eager=True, help="recorder.toml to read (default: ./recorder.toml or pyproject.toml)."
    ),
]

ProviderOption = Annotated[
    str | None,
    typer.Option("--provider", help="Provider to export (needed when the database holds several)."),
]
EvidenceOption = Annotated[
    bool,
    typer.Option(
        "--evidence/--no-evidence",
        help="Annotate elements with x-evidence (counts, first/last seen, consumers).",
    ),
]
SnapshotOption = Annotated[
    str | None,
    typer.Option(
        "--version",
        help="Export this stored snapshot (see 'recorder history') instead of the current contract.",
    ),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format", help="text, markdown, json, junit or html (default: from -o's extension, else text)."
    ),
]
OutputOption = Annotated[
    Path | None, typer.Option("-o", "--output", help="Write the report to this file (default: stdout).")
]
FailOnOption = Annotated[
    str,
    typer.Option(
        "--fail-on", help="Exit 1 when findings reach this severity: breaking, warning, any or never."
    ),
]
IdleOption = Annotated[
    str,
    typer.Option("--idle", help="Elements not seen for this long are deprecation candidates: 30d, 12h, 15m."),
]


def when(ts: float | None) -> str:
    return iso(ts) or "-"


def open_db(db: str | Path) -> Store:
    return open_store(db)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"contract-recorder {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """Learn API contracts from real HTTP traffic: record, infer, export, detect drift."""


def observed_options(config: Path | None, provider: str | None, evidence: bool = True) -> ObservedOptions:
    settings = load_settings(config)
    return ObservedOptions.from_settings(settings, provider=provider, evidence=evidence)


def emit_report(report: Any, fmt: str | None, output: Path | None) -> None:
    """Render a report, write it, and exit 1 when findings reach --fail-on."""
    from recorder.contracts.export import write_text
    from recorder.report import render

    fmt = report_format(fmt, output)
    text = render(report, fmt, color=output is None and fmt == "text" and sys.stdout.isatty())
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        write_text(output, text)
        counts = report.counts()
        err.print(
            f"wrote {output}: {counts['breaking']} breaking, {counts['warning']} warnings, {counts['info']} info"
        )
    if report.failing():
        raise typer.Exit(1)


def report_format(fmt: str | None, output: Path | None) -> str:
    from recorder.report import FORMATS, format_for_path

    if fmt is None:
        return (format_for_path(str(output)) or "text") if output is not None else "text"
    check_choice(fmt, FORMATS, "--format")
    return fmt


def check_choice(value: str, choices: tuple[str, ...], option: str) -> None:
    if value not in choices:
        raise typer.BadParameter(f"use one of {', '.join(choices)}", param_hint=option)
