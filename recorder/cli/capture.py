"""Capture commands: `recorder proxy` and `recorder import`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from recorder.cli.app import ConfigOption, DbOption, app, err, out
from recorder.config import load_settings
from recorder.errors import RecorderError
from recorder.store import display_name


@app.command()
def proxy(
    upstream: Annotated[
        str | None,
        typer.Option("--upstream", help="Provider URL in reverse mode, e.g. http://127.0.0.1:8000."),
    ] = None,
    db: DbOption = None,
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
            help="Keep evidence, retention and live drift current in the store process, when traffic is light.",
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
            f"recorder: listening on {where}{target}; recording into {display_name(db)}"
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
    db: DbOption = None,
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
        f"imported {result['recorded']} exchanges into {display_name(db)}"
        + (f" ({result['dropped']} lost to store errors)" if result["dropped"] else "")
    )
    if result["dropped"]:
        raise RecorderError(f"{result['dropped']} exchanges could not be stored: {result.get('last_error')}")
