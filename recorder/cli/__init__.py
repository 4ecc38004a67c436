"""The `recorder` command line: thin typer commands that call the library, render, and set the exit code.

Exit codes: 0 success; 1 findings at or above --fail-on; 2 usage or input errors (one line on stderr).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from recorder import __version__
from recorder.common.times import iso
from recorder.config import load_settings
from recorder.errors import RecorderError
from recorder.learn.observed import ObservedOptions, observed_contract
from recorder.store import Store, open_store

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

DbOption = Annotated[Path, typer.Option("--db", help="The recorder database (SQLite file).")]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="recorder.toml to read (default: ./recorder.toml or pyproject.toml)."),
]


def _time(ts: float | None) -> str:
    return iso(ts) or "-"


def _open(db: Path) -> Store:
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


# ---------------------------------------------------------------------------------------------------------
# capture


@app.command()
def proxy(
    upstream: Annotated[
        str | None,
        typer.Option("--upstream", help="Provider URL in reverse mode, e.g. http://127.0.0.1:8000."),
    ] = None,
    db: DbOption = Path("recorder.db"),
    listen_host: Annotated[
        str, typer.Option("--listen-host", help="Address to bind (loopback by default).")
    ] = "127.0.0.1",
    listen_port: Annotated[
        int, typer.Option("--listen-port", help="Port to listen on (0: any free port).")
    ] = 8080,
    mode: Annotated[
        str, typer.Option("--mode", help="reverse (in front of one provider) or regular (forward proxy).")
    ] = "reverse",
    provider: Annotated[
        str | None, typer.Option("--provider", help="Provider name (default: the upstream host).")
    ] = None,
    consumer_header: Annotated[
        str,
        typer.Option(
            "--consumer-header",
            help="Request header naming the consumer (fallback: User-Agent product, then client address).",
        ),
    ] = "X-Consumer",
    include: Annotated[
        str,
        typer.Option("--include", help="Only record flows matching this mitmproxy filter, e.g. '~u /api/'."),
    ] = "",
    exclude: Annotated[
        str, typer.Option("--exclude", help="Do not record flows matching this mitmproxy filter.")
    ] = "",
    max_body: Annotated[
        int, typer.Option("--max-body", help="Bytes kept per body; larger bodies are stored truncated.")
    ] = 1 << 20,
    config: ConfigOption = None,
    no_redact: Annotated[
        bool,
        typer.Option(
            "--no-redact", help="Store secrets as they are. Explicit opt-out; never in shared staging."
        ),
    ] = False,
    set_options: Annotated[
        list[str] | None, typer.Option("--set", help="Extra mitmproxy option, name=value (repeatable).")
    ] = None,
    contract: Annotated[
        Path | None,
        typer.Option(
            "--contract",
            help="Check traffic against this contract as it flows (logged once per new finding).",
        ),
    ] = None,
    metrics_port: Annotated[
        int, typer.Option("--metrics-port", help="Serve Prometheus metrics on 127.0.0.1:PORT (0: off).")
    ] = 0,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow/--no-follow",
            help="Keep evidence and retention current in a low-priority child process.",
        ),
    ] = True,
) -> None:
    """Run the recording proxy: consumers call it instead of the provider; every exchange is recorded."""
    from recorder.capture.proxy import ProxyConfig, RecordingProxy, parse_set_options

    if max_body <= 0:
        raise typer.BadParameter("must be a positive number of bytes", param_hint="--max-body")
    if not 0 <= listen_port <= 65535:
        raise typer.BadParameter("must be between 0 and 65535", param_hint="--listen-port")
    load_settings(config)  # fail early on a bad config file
    cfg = ProxyConfig(
        db=db,
        upstream=upstream,
        mode=mode,
        listen_host=listen_host,
        listen_port=listen_port,
        provider=provider,
        consumer_header=consumer_header,
        include=include,
        exclude=exclude,
        max_body=max_body,
        config=config,
        no_redact=no_redact,
        mitmproxy_options=parse_set_options(set_options or []),
        contract=contract,
        metrics_port=metrics_port,
        follow=follow or contract is not None,
    )
    root = logging.getLogger()
    root.addHandler(logging.NullHandler())  # startup errors become our one-line message, not log lines
    root.setLevel(logging.WARNING)
    logging.getLogger("recorder").setLevel(logging.INFO)

    def running(addrs: list[tuple[str, int]]) -> None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
        where = ", ".join(f"http://{h}:{p}" for h, p in addrs)
        target = f" -> {cfg.upstream}" if upstream else " (forward proxy)"
        err.print(
            f"recorder: listening on {where}{target}; recording into {db}"
            + (" (redaction OFF)" if no_redact else "")
        )
        if contract is not None:
            err.print(f"recorder: checking traffic against {contract}")
        if metrics_port:
            err.print(f"recorder: metrics on http://127.0.0.1:{metrics_port}/metrics")

    counters = RecordingProxy(cfg, on_running=running).run()
    err.print(
        f"recorder: stopped: {counters.get('recorded', 0)} recorded, {counters.get('dropped', 0)} dropped, "
        f"{counters.get('errors', 0)} store errors"
    )


@app.command("import")
def import_(
    files: Annotated[
        list[Path], typer.Argument(help="HAR files (.har) or mitmproxy flow files (mitmdump -w).")
    ],
    db: DbOption = Path("recorder.db"),
    provider: Annotated[
        str | None, typer.Option("--provider", help="Provider name (default: each request's host).")
    ] = None,
    consumer_header: Annotated[str, typer.Option("--consumer-header")] = "X-Consumer",
    max_body: Annotated[int, typer.Option("--max-body")] = 1 << 20,
    config: ConfigOption = None,
    no_redact: Annotated[
        bool, typer.Option("--no-redact", help="Store secrets as they are (explicit opt-out).")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=0, help="Processes decoding and redacting (default: one per CPU; 0: none)."
        ),
    ] = None,
) -> None:
    """Import HAR or mitmproxy flow files into the database, through the same redaction as the proxy."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from recorder.capture.imports import import_files

    settings = load_settings(config)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("importing", total=None)
        result = import_files(
            db,
            files,
            settings,
            provider=provider,
            consumer_header=consumer_header,
            max_body=max_body,
            redact=not no_redact,
            progress=lambda name, n: bar.update(task, advance=n, description=f"importing {Path(name).name}"),
            workers=workers,
        )
    for name, count in result["files"].items():
        out.print(f"{name}: {count} exchanges")
    out.print(
        f"imported {result['recorded']} exchanges into {db}"
        + (f" ({result['dropped']} lost to store errors)" if result["dropped"] else "")
    )
    if result["dropped"]:
        raise RecorderError(f"{result['dropped']} exchanges could not be stored: {result.get('last_error')}")


# ---------------------------------------------------------------------------------------------------------
# reading


@app.command()
def stats(
    db: DbOption = Path("recorder.db"),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    idle: Annotated[
        str,
        typer.Option("--idle", help="Elements not seen for this long are deprecation candidates: 30d, 12h."),
    ] = "30d",
) -> None:
    """Counts: exchanges by consumer, status and provider; drops and store errors; time range; deprecation candidates."""
    database = _open(db)
    data = database.stats()
    data["deprecation_candidates"] = _deprecations(database, idle)
    if as_json:
        out.print_json(json.dumps(data, sort_keys=True))
        return
    out.print(f"database     {db}")
    out.print(f"exchanges    {data['exchanges']:,}")
    out.print(f"time range   {_time(data['first_seen'])} .. {_time(data['last_seen'])}")
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
    db: DbOption = Path("recorder.db"),
    provider: ProviderOption = None,
    config: ConfigOption = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Concrete paths as recorded, without templating.")
    ] = False,
) -> None:
    """Observed operations (method + path template) with exchange counts and status codes."""
    database = _open(db)
    if raw:
        rows = [(r["method"], r["path"], r["count"], r["statuses"]) for r in database.endpoints()]
    else:
        contract = observed_contract(database, _options(config, provider)).contract
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
    db: DbOption = Path("recorder.db"),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print one recorded exchange (as stored: redacted)."""
    database = _open(db)
    ex = database.exchange(exchange_id)
    if ex is None:
        raise RecorderError(f"no exchange {exchange_id} in {db}.")
    data = ex.model_dump(mode="json", exclude={"request_body", "response_body"})
    data["request_body"] = _body_text(ex.request_body)
    data["response_body"] = _body_text(ex.response_body)
    if as_json:
        out.print_json(json.dumps(data, sort_keys=True))
        return
    out.print(f"#{ex.id}  {_time(ex.started)}  {ex.consumer} -> {ex.provider}  {ex.duration_ms or 0:.1f} ms")
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


# ---------------------------------------------------------------------------------------------------------
# inference and export

export_app = typer.Typer(
    help="Write draft contracts learned from the recorded traffic.", no_args_is_help=True
)
app.add_typer(export_app, name="export")

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


def _options(config: Path | None, provider: str | None, evidence: bool = True) -> ObservedOptions:
    settings = load_settings(config)
    return ObservedOptions.from_settings(settings, provider=provider, evidence=evidence)


SnapshotOption = Annotated[
    str | None,
    typer.Option(
        "--version",
        help="Export this stored snapshot (see 'recorder history') instead of the current contract.",
    ),
]


@export_app.command("openapi")
def export_openapi(
    db: DbOption = Path("recorder.db"),
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File to write: .yaml/.yml or .json.")
    ] = Path("openapi.yaml"),
    provider: ProviderOption = None,
    openapi_version: Annotated[
        str, typer.Option("--openapi-version", help="3.1 (default) or 3.0 (with nullable).")
    ] = "3.1",
    evidence: EvidenceOption = True,
    examples: Annotated[
        bool, typer.Option("--examples/--no-examples", help="Include examples from (redacted) observations.")
    ] = True,
    version: SnapshotOption = None,
    config: ConfigOption = None,
) -> None:
    """Export the observed contract as OpenAPI 3.1 (or 3.0)."""
    from recorder.contracts.export import export_openapi as run

    if openapi_version not in ("3.0", "3.1"):
        raise typer.BadParameter("use 3.0 or 3.1", param_hint="--openapi-version")
    contract = run(
        _open(db),
        output,
        _options(config, provider, evidence),
        version=openapi_version,
        examples=examples,
        snapshot=version,
    )
    out.print(
        f"wrote {output}: OpenAPI {openapi_version}, {len(contract.operations)} operations of"
        f" {contract.provider or contract.title}, version {contract.version}"
    )


@export_app.command("pact")
def export_pact(
    db: DbOption = Path("recorder.db"),
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the pact files.")] = Path(
        "pacts"
    ),
    consumer: Annotated[str | None, typer.Option("--consumer", help="Only this consumer's pact.")] = None,
    provider: ProviderOption = None,
    pact_version: Annotated[
        int, typer.Option("--pact-version", help="Pact specification: 3 (default) or 4.")
    ] = 3,
    version: SnapshotOption = None,
    config: ConfigOption = None,
) -> None:
    """Export one Pact file per consumer-provider pair."""
    from recorder.contracts.export import export_pacts

    if pact_version not in (3, 4):
        raise typer.BadParameter("use 3 or 4", param_hint="--pact-version")
    written = export_pacts(
        _open(db),
        output,
        _options(config, provider),
        version=pact_version,
        consumer=consumer,
        snapshot=version,
    )
    for name, path in written.items():
        out.print(f"wrote {path} (consumer {name})")
    if not written:
        raise RecorderError("no pact written: no consumer has replayable interactions.")


@export_app.command("jsonschema")
def export_jsonschema(
    db: DbOption = Path("recorder.db"),
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the schema files.")] = Path(
        "schemas"
    ),
    provider: ProviderOption = None,
    evidence: EvidenceOption = True,
    version: SnapshotOption = None,
    config: ConfigOption = None,
) -> None:
    """Export one JSON Schema (2020-12) per operation body."""
    from recorder.contracts.export import export_jsonschema as run

    written = run(_open(db), output, _options(config, provider, evidence), snapshot=version)
    out.print(f"wrote {len(written)} schemas into {output}")


@app.command()
def summarize(
    db: DbOption = Path("recorder.db"),
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

    database = _open(db)
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


# ---------------------------------------------------------------------------------------------------------
# drift and diff

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


def _emit(report: Any, fmt: str | None, output: Path | None) -> None:
    """Render a report, write it, and exit 1 when findings reach --fail-on."""
    from recorder.contracts.export import write_text
    from recorder.report import render

    fmt = _report_format(fmt, output)
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


def _report_format(fmt: str | None, output: Path | None) -> str:
    from recorder.report import FORMATS, format_for_path

    if fmt is None:
        return (format_for_path(str(output)) or "text") if output is not None else "text"
    _check_choice(fmt, FORMATS, "--format")
    return fmt


def _check_choice(value: str, choices: tuple[str, ...], option: str) -> None:
    if value not in choices:
        raise typer.BadParameter(f"use one of {', '.join(choices)}", param_hint=option)


@app.command()
def drift(
    contract: Annotated[
        list[Path],
        typer.Option("--contract", help="OpenAPI (3.0/3.1) or Pact file; repeat to compare versions."),
    ],
    db: DbOption = Path("recorder.db"),
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

    _report_format(fmt, output)
    _check_choice(fail_on, ("breaking", "warning", "any", "never"), "--fail-on")
    window = Window(parse_time(since, "--since"), parse_time(until, "--until"), consumer)
    database = _open(db)
    if len(contract) > 1:
        from recorder.judge.runs import run_versions

        report = run_versions(
            database,
            [(str(p), load_contract(p)) for p in contract],
            db_name=str(db),
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
            db_name=str(db),
            window=window,
            provider=provider,
            fail_on=fail_on,
        )
    _emit(report, fmt, output)


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

    _report_format(fmt, output)
    _check_choice(fail_on, ("breaking", "warning", "any", "never"), "--fail-on")
    report = run_diff(
        load_contract(old), load_contract(new), old_name=str(old), new_name=str(new), fail_on=fail_on
    )
    _emit(report, fmt, output)


@app.command()
def replay(
    target: Annotated[
        str, typer.Option("--target", help="The provider build to send the recorded requests to.")
    ],
    db: DbOption = Path("recorder.db"),
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

    _report_format(fmt, output)
    _check_choice(fail_on, ("breaking", "warning", "any", "never"), "--fail-on")
    if concurrency < 1 or rate <= 0:
        raise typer.BadParameter("must be positive", param_hint="--concurrency/--rate")
    database = _open(db)
    catch_up(database)
    if contract is not None:
        from recorder.contracts.load import load_contract

        documented, documented_name = load_contract(contract), str(contract)
    else:
        documented = observed_contract(database, _options(config, provider)).contract
        documented_name = f"the contract observed in {db}"
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
        result, target=target, documented=documented_name, database=str(db), fail_on=fail_on
    )
    for note in report.notes:
        err.print(f"recorder: {note}")
    _emit(report, fmt, output)


# ---------------------------------------------------------------------------------------------------------
# health over time


@app.command()
def snapshot(
    db: DbOption = Path("recorder.db"),
    provider: ProviderOption = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Use this version instead of the computed bump.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Store the current observed contract as a new version (major for breaking, minor for additions, patch for evidence)."""
    from recorder.health.history import take_snapshot

    snap, stored = take_snapshot(_open(db), _options(config, provider), version)
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
    db: DbOption = Path("recorder.db"),
    provider: ProviderOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the stored contract versions."""
    from recorder.health.history import snapshots
    from recorder.learn.observed import pick_provider
    from recorder.learn.summaries import catch_up

    database = _open(db)
    catch_up(database)
    name = pick_provider(database, provider)
    items = [s.meta for s in snapshots(database, name)]
    if as_json:
        out.print_json(json.dumps([s.model_dump(mode="json") for s in items]))
        return
    if not items:
        out.print(f"no snapshots of {name} yet: 'recorder snapshot --db {db}' stores the first one")
        return
    for snap in items:
        first = snap.reasons[0] if snap.reasons else ""
        more = f" (+{len(snap.reasons) - 1} more)" if len(snap.reasons) > 1 else ""
        out.print(
            f"{snap.version:<10} {snap.created_at}  {snap.bump:<8} {snap.operations:>3} operations  {first}{more}"
        )


IdleOption = Annotated[
    str,
    typer.Option("--idle", help="Elements not seen for this long are deprecation candidates: 30d, 12h, 15m."),
]


@app.command()
def report(
    db: DbOption = Path("recorder.db"),
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

    database = _open(db)
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
        database_name=str(db),
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
    db: DbOption = Path("recorder.db"),
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
    result = run(_open(db), policy.model_copy(update=updates))
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


# ---------------------------------------------------------------------------------------------------------
# stub


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
        server = stub_from_db(db, seed=seed, options=_options(config, provider))
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


# ---------------------------------------------------------------------------------------------------------
# demo


@app.command()
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the demo's database and exports.")
    ] = Path("demo-out"),
    requests: Annotated[int, typer.Option("--requests", help="Calls the demo consumers make.")] = 300,
) -> None:
    """Run the whole loop on a bundled provider on loopback: record through the proxy, then report."""
    from recorder.demo.run import run_demo

    result = run_demo(out_dir, lambda line: out.print(line), requests=requests)
    data = result.extra["stats"]
    out.print(f"consumers: {', '.join(f'{k} ({v})' for k, v in data['by_consumer'].items())}")
    out.print(f"statuses: {', '.join(f'{k} ({v})' for k, v in data['by_status'].items())}")
    for name, path in result.files.items():
        out.print(f"{name}: {path}")


# ---------------------------------------------------------------------------------------------------------
# entry point


def main(argv: list[str] | None = None) -> None:
    """Console entry: run the app; user errors become one line on stderr and exit code 2."""
    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else argv
    try:
        code = command.main(args=args, prog_name="recorder", standalone_mode=False)
    except RecorderError as exc:
        _fail(str(exc), exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("aborted.", 130)
    except KeyboardInterrupt:
        _fail("interrupted.", 130)
    except typer.TyperException as exc:  # click usage errors: bad option, missing argument, bad value
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(f"{message}{hint}", getattr(exc, "exit_code", 2))
    except Exception as exc:  # a bug of ours: still one line, with a way to get the traceback
        if os.environ.get("RECORDER_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set RECORDER_DEBUG=1 to see the traceback)", 2)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    message = " ".join(str(message).split())
    sys.stderr.write(f"recorder: error: {message}\n")
    sys.stderr.flush()
    sys.exit(code)
