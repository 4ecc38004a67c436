"""`recorder demo`: the whole loop on a bundled provider, on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recorder.cli.app import app, out


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
