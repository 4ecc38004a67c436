"""Load a contract file (OpenAPI 3.0/3.1 in YAML or JSON; Pact v2, v3 or v4) into the one `Contract` model.

`load_contract("openapi.yaml")` tells the kind from the content, not the file name, and raises `ContractError`
with a one-line message naming the file for anything a user can get wrong: a missing or unreadable file,
broken YAML/JSON, Swagger 2.0, a `$ref` that points nowhere, a file that is no contract at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from recorder.contracts.documents import read_document
from recorder.contracts.openapi_read import contract_from_openapi
from recorder.contracts.pact_read import contract_from_pact
from recorder.errors import ContractError
from recorder.model import Contract

ContractKind = Literal["openapi", "pact"]


def contract_kind(doc: Any, path: Path) -> ContractKind:
    """`openapi` or `pact` for a parsed document; `ContractError` for Swagger 2.0 and anything else."""
    if not isinstance(doc, dict):
        found = "a list" if isinstance(doc, list) else f"a single {type(doc).__name__} value"
        raise ContractError(f"{path} is not a contract: expected an OpenAPI or Pact document, found {found}.")
    if "swagger" in doc:
        raise ContractError(
            f"{path} is Swagger {doc['swagger']}, which is not supported: convert it to OpenAPI 3 first,"
            f" e.g. `npx swagger2openapi {path.name} -o openapi.yaml`."
        )
    if "openapi" in doc:
        return "openapi"
    if "interactions" in doc or "messages" in doc or ("consumer" in doc and "provider" in doc):
        return "pact"
    raise ContractError(
        f"{path} is not a contract: neither an OpenAPI document (no 'openapi' key)"
        " nor a Pact file (no 'interactions')."
    )


def load_contract(path: Path | str) -> Contract:
    """The contract in an OpenAPI or Pact file, as the one internal model."""
    path = Path(path)
    doc = read_document(path)
    kind = contract_kind(doc, path)
    try:
        if kind == "openapi":
            return contract_from_openapi(doc, path)
        return contract_from_pact(doc, path)
    except RecursionError:
        raise ContractError(
            f"{path}: nested too deeply to load (a YAML alias that contains itself?)."
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise ContractError(f"{path}: unexpected value at {where}: {first.get('msg', 'invalid')}.") from None
