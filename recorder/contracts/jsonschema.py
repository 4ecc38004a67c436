"""JSON Schema 2020-12 export: one schema file per operation body (request, and response per status)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from recorder.model import Contract

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_files(contract: Contract, *, evidence: bool = True) -> dict[str, dict[str, Any]]:
    """File name -> schema, e.g. `getApiV1UsersByUserId.response.200.schema.json`."""
    files: dict[str, dict[str, Any]] = {}
    for op in contract.operations:
        base = op.operation_id or _safe(f"{op.method}_{op.path}")
        for body in op.request_bodies:
            if body.schema_ is None:
                continue
            name = f"{base}.request{_media_suffix(body.media_type, len(op.request_bodies))}.schema.json"
            files[name] = _document(body.schema_, f"{op.key} request body ({body.media_type})", evidence)
        for resp in op.responses:
            for body in resp.bodies:
                if body.schema_ is None:
                    continue
                name = f"{base}.response.{resp.status}{_media_suffix(body.media_type, len(resp.bodies))}.schema.json"
                files[name] = _document(
                    body.schema_, f"{op.key} -> {resp.status} response body ({body.media_type})", evidence
                )
    return dict(sorted(files.items()))


def _media_suffix(media_type: str, count: int) -> str:
    return "" if count == 1 else "." + _safe(media_type)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def _document(schema: dict[str, Any], title: str, evidence: bool) -> dict[str, Any]:
    doc = {"$schema": DIALECT, "title": title, **copy.deepcopy(schema)}
    if not evidence:
        _strip(doc)
    return doc


def _strip(value: Any) -> None:
    if isinstance(value, dict):
        value.pop("x-evidence", None)
        for v in value.values():
            _strip(v)
    elif isinstance(value, list):
        for v in value:
            _strip(v)


def dumps(schema: dict[str, Any]) -> str:
    """Stable JSON text."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
