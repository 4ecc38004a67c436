"""OpenAPI 3.1 (or 3.0) export of a `Contract`: deterministic, valid, with `x-evidence` where asked.

Identical object shapes used in several places (or as a whole response body) become named
`components/schemas` (`User`, `Order`, `OrderItem`), with their evidence summed over every place they appear.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from recorder.common.jsonvalues import json_copy
from recorder.model import Body, Contract, Operation, Parameter, Response

MIN_COMPONENT_PROPERTIES = 2


def to_openapi(
    contract: Contract, *, version: str = "3.1", evidence: bool = True, examples: bool = True
) -> dict[str, Any]:
    """The OpenAPI document (a plain dict) for a contract."""
    if version not in ("3.0", "3.1"):
        raise ValueError(f"unsupported OpenAPI version {version!r}")
    info: dict[str, Any] = {"title": contract.title, "version": contract.version}
    info["description"] = (
        f"Draft contract learned by contract-recorder from observed traffic of {contract.provider}."
        if contract.source == "observed"
        else f"Contract loaded from {contract.source}."
    )
    doc: dict[str, Any] = {"openapi": "3.1.0" if version == "3.1" else "3.0.3", "info": info}
    if contract.servers:
        doc["servers"] = [{"url": url} for url in contract.servers]
    paths: dict[str, Any] = {}
    for op in contract.operations:
        item = paths.setdefault(op.path, {})
        item[op.method] = _operation(op, evidence, examples)
    doc["paths"] = paths
    components: dict[str, Any] = {}
    schemas = _extract_components(doc, contract)
    if schemas:
        components["schemas"] = schemas
    if contract.security_schemes:
        components["securitySchemes"] = {
            k: contract.security_schemes[k] for k in sorted(contract.security_schemes)
        }
    if components:
        doc["components"] = components
    if not evidence:
        _strip(doc, "x-evidence")
    if version == "3.0":
        _to_30(doc)
    return doc


def _evidence(ev: Any) -> dict[str, Any] | None:
    return ev.to_json() if ev is not None else None


def _operation(op: Operation, evidence: bool, examples: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if op.summary:
        out["summary"] = op.summary
    if op.operation_id:
        out["operationId"] = op.operation_id
    if op.deprecated:
        out["deprecated"] = True
    if op.parameters:
        out["parameters"] = [_parameter(p) for p in op.parameters]
    if op.request_bodies:
        body: dict[str, Any] = {"content": {b.media_type: _media(b, examples) for b in op.request_bodies}}
        if op.request_body_required:
            body["required"] = True
        out["requestBody"] = body
    out["responses"] = {r.status: _response(r, examples) for r in op.responses} or {
        "default": {"description": "Unknown"}
    }
    if op.security:
        out["security"] = [{name: []} for name in op.security]
    if op.evidence is not None:
        out["x-evidence"] = _evidence(op.evidence)
    return out


def _parameter(p: Parameter) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "in": p.location}
    if p.required or p.location == "path":
        out["required"] = True
    out["schema"] = p.schema_ or {}
    if p.evidence is not None and p.location != "path":
        out["x-evidence"] = _evidence(p.evidence)
    return out


def _media(b: Body, examples: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["schema"] = json_copy(b.schema_) if b.schema_ is not None else {}
    if examples and b.example is not None:
        out["example"] = b.example
    if b.evidence is not None:
        out["x-evidence"] = _evidence(b.evidence)
    return out


def _response(r: Response, examples: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"description": r.description or "Response"}
    if r.headers:
        out["headers"] = {
            h.name: {
                "schema": h.schema_ or {},
                **({"required": True} if h.required else {}),
                **({"x-evidence": _evidence(h.evidence)} if h.evidence else {}),
            }
            for h in r.headers
        }
    if r.bodies:
        out["content"] = {b.media_type: _media(b, examples) for b in r.bodies}
    if r.evidence is not None:
        out["x-evidence"] = _evidence(r.evidence)
    return out


# ---------------------------------------------------------------------------------------------------------
# Components


def _shape_key(schema: dict[str, Any], memo: dict[int, Any] | None = None) -> str:
    """Canonical JSON of a schema without evidence or nullability: identical shapes share a key. `memo`
    (node id -> stripped node) lets the keys of every node of one document cost time linear in its size."""
    return json.dumps(_without(_non_null(schema), ("x-evidence",), memo), sort_keys=True)


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with `null` taken out of its type list (nullability belongs to the place, not the shape)."""
    t = schema.get("type")
    if isinstance(t, list) and "null" in t:
        rest = [x for x in t if x != "null"]
        schema = {**schema, "type": rest[0] if len(rest) == 1 else rest}
    return schema


def _reference(name: str, place: dict[str, Any]) -> dict[str, Any]:
    """What replaces a shared shape at one place: a `$ref`, made nullable there if it was, keeping evidence."""
    ref: dict[str, Any] = {"$ref": f"#/components/schemas/{name}"}
    t = place.get("type")
    if isinstance(t, list) and "null" in t:
        ref = {"anyOf": [ref, {"type": "null"}]}
    if "x-evidence" in place:
        ref["x-evidence"] = place["x-evidence"]
    return ref


def _without(value: Any, keys: tuple[str, ...], memo: dict[int, Any] | None = None) -> Any:
    if not isinstance(value, (dict, list)):
        return value
    if memo is not None and id(value) in memo:
        return memo[id(value)]
    if isinstance(value, dict):
        out: Any = {k: _without(v, keys, memo) for k, v in value.items() if k not in keys}
    else:
        out = [_without(v, keys, memo) for v in value]
    if memo is not None:
        memo[id(value)] = out
    return out


def _pascal(word: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])", word)
    name = "".join(p[:1].upper() + p[1:] for p in parts if p)
    if not name or name[0].isdigit():
        name = "Schema" + name
    return name


def _singular(word: str) -> str:
    low = word.lower()
    if low.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if low.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def _resource_name(path: str) -> str:
    literals = [
        s
        for s in path.strip("/").split("/")
        if s and not s.startswith("{") and not re.fullmatch(r"v\d+(\.\d+)*|api", s)
    ]
    return _pascal(_singular(literals[-1])) if literals else "Root"


def _extract_components(doc: dict[str, Any], contract: Contract) -> dict[str, Any]:
    """Name object shapes that recur (or are whole bodies) and replace them with `$ref`s."""
    sites: dict[str, list[tuple[dict[str, Any], str, str]]] = {}
    memo: dict[int, Any] = {}  # nodes are not changed while visited: each is stripped once

    def visit(schema: Any, name_hint: str, parent: Any, key: Any) -> None:
        if not isinstance(schema, dict):
            return
        for sub_key in ("properties",):
            for prop, sub in (schema.get(sub_key) or {}).items():
                visit(sub, prop, schema[sub_key], prop)
        if isinstance(schema.get("items"), dict):
            visit(schema["items"], _singular(name_hint), schema, "items")
        if isinstance(schema.get("additionalProperties"), dict):
            visit(schema["additionalProperties"], _singular(name_hint), schema, "additionalProperties")
        for combo in ("anyOf", "oneOf", "allOf"):
            for i, sub in enumerate(schema.get(combo) or []):
                visit(sub, name_hint, schema[combo], i)
        if _is_object(schema) and len(schema.get("properties") or {}) >= MIN_COMPONENT_PROPERTIES:
            sites.setdefault(_shape_key(schema, memo), []).append((parent, key, name_hint))

    for path, item in doc["paths"].items():
        resource = _resource_name(path)
        for op in item.values():
            for code, resp in (op.get("responses") or {}).items():
                for media in (resp.get("content") or {}).values():
                    hint = resource if str(code).startswith("2") else "Error"
                    visit(media.get("schema"), hint, media, "schema")
            for media in ((op.get("requestBody") or {}).get("content") or {}).values():
                visit(media.get("schema"), resource + "Input", media, "schema")

    components: dict[str, Any] = {}
    used: dict[str, str] = {}
    for key in sorted(sites, key=lambda k: (-len(sites[k]), k)):
        places = sites[key]
        whole_body = any(parent_key == "schema" for _, parent_key, _ in places)
        if len(places) < 2 and not whole_body:
            continue
        hints = sorted({_pascal(_singular(h)) for _, _, h in places})
        base = hints[0] if len(hints) == 1 else min(hints, key=lambda h: (len(h), h))
        name = base
        n = 2
        while name in used and used[name] != key:
            name = f"{base}{n}"
            n += 1
        used[name] = key
        schema = _non_null(json_copy(places[0][0][places[0][1]]))
        schema.pop("x-evidence", None)  # evidence of the places stays at the places
        _sum_evidence(schema, [_non_null(p[0][p[1]]) for p in places[1:]])
        components[name] = schema
        for parent, parent_key, _ in places:
            parent[parent_key] = _reference(name, parent[parent_key])
    return {k: components[k] for k in sorted(components)}


def _is_object(schema: dict[str, Any]) -> bool:
    t = schema.get("type")
    return t == "object" or (
        isinstance(t, list) and "object" in t and len([x for x in t if x != "null"]) == 1
    )


def _sum_evidence(target: Any, others: list[Any]) -> None:
    """Evidence of a shared schema: counts summed over every place it appears."""
    if not isinstance(target, dict):
        return
    ev = target.get("x-evidence")
    if isinstance(ev, dict):
        for other in others:
            oe = other.get("x-evidence") if isinstance(other, dict) else None
            if isinstance(oe, dict):
                ev["seen"] = ev.get("seen", 0) + oe.get("seen", 0)
                ev["of"] = ev.get("of", 0) + oe.get("of", 0)
    for key, value in target.items():
        if key == "x-evidence":
            continue
        if isinstance(value, dict):
            _sum_evidence(
                value, [o.get(key) for o in others if isinstance(o, dict) and isinstance(o.get(key), dict)]
            )


def _strip(value: Any, key: str) -> None:
    if isinstance(value, dict):
        value.pop(key, None)
        for v in value.values():
            _strip(v, key)
    elif isinstance(value, list):
        for v in value:
            _strip(v, key)


def _to_30(value: Any) -> None:
    """Rewrite 3.1 type arrays as 3.0 `nullable` (and drop what 3.0 does not know)."""
    if isinstance(value, dict):
        branches = value.get("anyOf")
        if isinstance(branches, list) and {"type": "null"} in branches:
            rest = [b for b in branches if b != {"type": "null"}]
            del value["anyOf"]
            value["nullable"] = True
            if len(rest) == 1 and "$ref" in rest[0]:
                value["allOf"] = rest
            else:
                value["anyOf"] = rest
        if "$ref" in value and len(value) > 1:  # 3.0 ignores siblings of $ref: wrap it
            value["allOf"] = [{"$ref": value.pop("$ref")}]
        t = value.get("type")
        if isinstance(t, list):
            non_null = [x for x in t if x != "null"]
            if "null" in t:
                value["nullable"] = True
            if len(non_null) == 1:
                value["type"] = non_null[0]
            else:
                del value["type"]
                value["anyOf"] = [{"type": x} for x in non_null]
        if t == "null":
            value.pop("type")
            value["nullable"] = True
        if "enum" in value and None in value["enum"]:
            value["enum"] = [v for v in value["enum"] if v is not None]
            value["nullable"] = True
        value.pop("propertyNames", None)
        for v in value.values():
            _to_30(v)
    elif isinstance(value, list):
        for v in value:
            _to_30(v)


# ---------------------------------------------------------------------------------------------------------
# Files


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml's emitter: the same bytes, faster
    """A stable YAML dumper: keys in insertion order, no aliases, long lines kept."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def dumps(doc: dict[str, Any], path: Path | str) -> str:
    """Serialise for a file: YAML for .yaml/.yml, JSON otherwise (both byte-stable)."""
    if str(path).endswith((".yaml", ".yml")):
        return yaml.dump(
            doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False
        )
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
