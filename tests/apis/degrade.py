"""A deliberately damaged copy of a spec, to prove that `score` notices each kind of damage.

`degrade(spec, seed)` returns (copy, log). Deterministic for a seed. The damage, each at a small rate:
operations dropped, status codes dropped, path parameters renamed (must NOT lower any score), properties
renamed, `integer` turned into `number`, formats dropped, enums dropped, names removed from `required`.
"""

from __future__ import annotations

import copy
import random
import re
from typing import Any

from apis.oas import METHODS

RATES = {
    "drop_operation": 0.08,
    "drop_status": 0.1,
    "rename_property": 0.04,
    "integer_to_number": 0.15,
    "drop_format": 0.2,
    "drop_enum": 0.2,
    "drop_required": 0.1,
}


def _schemas(node: Any, out: list[dict[str, Any]]) -> None:
    """Every dict that looks like a schema, in document order (deterministic)."""
    if isinstance(node, dict):
        if any(k in node for k in ("type", "properties", "enum", "format", "required", "items")):
            out.append(node)
        for key in sorted(node, key=str):
            _schemas(node[key], out)
    elif isinstance(node, list):
        for item in node:
            _schemas(item, out)


def degrade(
    spec: dict[str, Any], seed: int = 0, rates: dict[str, float] | None = None
) -> tuple[dict, list[str]]:
    """A damaged deep copy of `spec` and a log of what was changed."""
    rates = {**RATES, **(rates or {})}
    rnd = random.Random(seed)
    doc = copy.deepcopy(spec)
    log: list[str] = []

    paths = doc.get("paths") or {}
    for template in sorted(paths):
        item = paths[template]
        for method in METHODS:
            if method not in item:
                continue
            if rnd.random() < rates["drop_operation"]:
                del item[method]
                log.append(f"dropped operation {method.upper()} {template}")
                continue
            responses = item[method].get("responses") or {}
            for code in sorted(responses):
                if len(responses) > 1 and rnd.random() < rates["drop_status"]:
                    del responses[code]
                    log.append(f"dropped status {code} of {method.upper()} {template}")
    renamed: dict[str, Any] = {}
    for template in sorted(paths):  # parameter names must not matter
        new = re.sub(r"\{([^}]*)\}", lambda m: "{p_" + m.group(1) + "}", template)
        renamed[new] = paths[template]
    doc["paths"] = {k: v for k, v in renamed.items() if any(m in v for m in METHODS)}

    schemas: list[dict[str, Any]] = []
    _schemas(doc.get("components") or doc.get("definitions") or {}, schemas)
    _schemas(doc["paths"], schemas)
    seen: set[int] = set()
    for schema in schemas:
        if id(schema) in seen:
            continue
        seen.add(id(schema))
        props = schema.get("properties")
        if isinstance(props, dict):
            for name in sorted(props):
                if rnd.random() < rates["rename_property"]:
                    props[name + "_x"] = props.pop(name)
                    req = schema.get("required") or []
                    schema["required"] = [r + "_x" if r == name else r for r in req]
                    log.append(f"renamed property {name} -> {name}_x")
        if (
            schema.get("type") == "integer"
            and "enum" not in schema
            and rnd.random() < rates["integer_to_number"]
        ):
            schema["type"] = "number"
            log.append("integer -> number")
        if "format" in schema and rnd.random() < rates["drop_format"]:
            log.append(f"dropped format {schema.pop('format')}")
        if "enum" in schema and rnd.random() < rates["drop_enum"]:
            schema.pop("enum")
            log.append("dropped enum")
        if (
            isinstance(schema.get("required"), list)
            and schema["required"]
            and rnd.random() < rates["drop_required"]
        ):
            gone = schema["required"].pop(rnd.randrange(len(schema["required"])))
            log.append(f"{gone} no longer required")
            if not schema["required"]:
                del schema["required"]
    return doc, log
