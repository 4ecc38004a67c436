"""`recorder export openapi|pact|jsonschema`: the observed contract as files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recorder.cli.app import (
    ConfigOption,
    DbOption,
    EvidenceOption,
    ProviderOption,
    SnapshotOption,
    app,
    observed_options,
    open_db,
    out,
)
from recorder.errors import RecorderError

export_app = typer.Typer(
    help="Write draft contracts learned from the recorded traffic.", no_args_is_help=True
)
app.add_typer(export_app, name="export")


@export_app.command("openapi")
def export_openapi(
    db: DbOption = None,
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
    from recorder import export_openapi as run

    if openapi_version not in ("3.0", "3.1"):
        raise typer.BadParameter("use 3.0 or 3.1", param_hint="--openapi-version")
    contract = run(
        open_db(db),
        output,
        openapi_version=openapi_version,
        examples=examples,
        snapshot=version,
        options=observed_options(config, provider, evidence),
    )
    out.print(
        f"wrote {output}: OpenAPI {openapi_version}, {len(contract.operations)} operations of"
        f" {contract.provider or contract.title}, version {contract.version}"
    )


@export_app.command("pact")
def export_pact(
    db: DbOption = None,
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
    from recorder import export_pacts

    if pact_version not in (3, 4):
        raise typer.BadParameter("use 3 or 4", param_hint="--pact-version")
    written = export_pacts(
        open_db(db),
        output,
        pact_version=pact_version,
        consumer=consumer,
        snapshot=version,
        options=observed_options(config, provider),
    )
    for name, path in written.items():
        out.print(f"wrote {path} (consumer {name})")
    if not written:
        raise RecorderError("no pact written: no consumer has replayable interactions.")


@export_app.command("jsonschema")
def export_jsonschema(
    db: DbOption = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the schema files.")] = Path(
        "schemas"
    ),
    provider: ProviderOption = None,
    evidence: EvidenceOption = True,
    version: SnapshotOption = None,
    config: ConfigOption = None,
) -> None:
    """Export one JSON Schema (2020-12) per operation body."""
    from recorder import export_jsonschema as run

    written = run(open_db(db), output, snapshot=version, options=observed_options(config, provider, evidence))
    out.print(f"wrote {len(written)} schemas into {output}")
