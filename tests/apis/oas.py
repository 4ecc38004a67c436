"""Small OpenAPI helpers shared by the fake provider and the driver: load, resolve, list operations, validate.

Only what the test providers need: local `$ref`s, OpenAPI 3.0 (`nullable`) and 3.1 (`type: [.., "null"]`)
schemas, `allOf` merging, and a loose validator used to decide whether a request deserves a 400/422.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

SPECS_DIR = Path(__file__).resolve().parent / "specs"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
JSON_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON OpenAPI document."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def spec_paths() -> list[Path]:
    """The hand-written specs of the evaluation, sorted by name."""
    return sorted(SPECS_DIR.glob("*.yaml"))


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (`#/components/schemas/Pet`); 3.1 siblings of `$ref` override the target."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, got {ref!r}")
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **siblings} if siblings else target
        seen += 1
        if seen > 50:
            raise ValueError(f"$ref loop at {ref}")
    return node


def base_path(spec: dict[str, Any]) -> str:
    """The path part of the first server URL (`https://x/api/v3` -> `/api/v3`), or `basePath` in Swagger 2."""
    if spec.get("swagger"):
        return (spec.get("basePath") or "").rstrip("/")
    servers = spec.get("servers") or []
    if not servers:
        return ""
    return urlsplit(servers[0].get("url", "")).path.rstrip("/")


def is_nullable(schema: dict[str, Any]) -> bool:
    """Whether a (resolved) schema admits null, in 3.0 or 3.1 spelling."""
    t = schema.get("type")
    if schema.get("nullable") or schema.get("x-nullable"):
        return True
    if isinstance(t, list) and "null" in t:
        return True
    return t == "null" or ("enum" in schema and None in schema["enum"])


def merge_all_of(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Fold `allOf` members into one schema: properties merge by name, required unions, `nullable` ors."""
    schema = resolve(spec, schema)
    if not isinstance(schema, dict) or "allOf" not in schema:
        return schema
    base = {k: v for k, v in schema.items() if k != "allOf"}
    merged = base
    for member in schema["allOf"]:
        merged = _merge_two(merged, merge_all_of(spec, member))
    return merged


def _merge_two(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif key == "properties":
            props = dict(out[key])
            for name, sub in value.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            out[key] = props
        elif key == "required":
            out[key] = list(out[key]) + [r for r in value if r not in out[key]]
        elif (
            key in ("items", "additionalProperties")
            and isinstance(value, dict)
            and isinstance(out[key], dict)
        ):
            out[key] = {"allOf": [out[key], value]}
        elif key == "nullable":
            out[key] = bool(out[key] or value)
    return out


def schema_types(schema: dict[str, Any]) -> list[str]:
    """The non-null JSON types a (merged) schema allows; guessed from its keywords when `type` is absent."""
    t = schema.get("type")
    if isinstance(t, str):
        return [] if t == "null" else [t]
    if isinstance(t, list):
        return [x for x in t if x != "null"]
    if "properties" in schema or "additionalProperties" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    if "enum" in schema:
        values = [v for v in schema["enum"] if v is not None]
        return sorted({json_type(v) for v in values})
    if "const" in schema:
        return [json_type(schema["const"])]
    return []


def json_type(value: Any) -> str:
    """The JSON Schema type name of a Python value (bool before int, int is not number)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass
class Operation:
    """One method + path template of a spec, with its parameters, body and responses resolved."""

    method: str
    template: str
    op: dict[str, Any]
    parameters: list[dict[str, Any]]
    regex: re.Pattern[str]
    literal_segments: int
    request_body: dict[str, Any] | None = None
    responses: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.template}"

    def params(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.parameters if p.get("in") == where]

    def statuses(self) -> list[int]:
        return sorted(int(s) for s in self.responses if s.isdigit())

    def success_statuses(self) -> list[int]:
        return [s for s in self.statuses() if 200 <= s < 300]


def operations(spec: dict[str, Any]) -> list[Operation]:
    """Every operation of the spec, sorted so that literal segments match before parameters."""
    ops: list[Operation] = []
    for template, item in (spec.get("paths") or {}).items():
        item = resolve(spec, item)
        shared = [resolve(spec, p) for p in item.get("parameters") or []]
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            own = [resolve(spec, p) for p in op.get("parameters") or []]
            names = {(p["in"], p["name"]) for p in own}
            params = own + [p for p in shared if (p["in"], p["name"]) not in names]
            pattern = "".join(
                "/(?P<" + _group(seg) + ">[^/]+)"
                if seg.startswith("{") and seg.endswith("}")
                else "/" + re.escape(seg)
                for seg in template.strip("/").split("/")
                if seg
            )
            body = resolve(spec, op["requestBody"]) if "requestBody" in op else None
            responses = {str(k): resolve(spec, v) for k, v in (op.get("responses") or {}).items()}
            literal = sum(1 for s in template.split("/") if s and not s.startswith("{"))
            ops.append(
                Operation(
                    method=method,
                    template=template,
                    op=op,
                    parameters=params,
                    regex=re.compile("^" + (pattern or "/") + "/?$"),
                    literal_segments=literal,
                    request_body=body,
                    responses=responses,
                )
            )
    ops.sort(key=lambda o: (-o.literal_segments, o.template, o.method))
    return ops


def _group(segment: str) -> str:
    return "p_" + re.sub(r"\W", "_", segment[1:-1])


def path_params(op: Operation, match: re.Match[str]) -> dict[str, str]:
    """Path parameter values by their spec name."""
    out = {}
    for seg in op.template.strip("/").split("/"):
        if seg.startswith("{") and seg.endswith("}"):
            out[seg[1:-1]] = unquote(match.group(_group(seg)))
    return out


def json_media(content: dict[str, Any] | None) -> tuple[str, dict[str, Any]] | None:
    """The first JSON-ish media type of a `content` map and its media object."""
    for media, obj in (content or {}).items():
        if media == "application/json" or media.endswith("+json") or media == "*/*":
            return media, obj
    return None


# ---------------------------------------------------------------------------------------------------------
# validation (loose: enough to decide on a 400/422 and to self-check the generators)


def conforms(spec: dict[str, Any], schema: dict[str, Any], value: Any, depth: int = 0) -> bool:
    """Whether `value` satisfies `schema` (types, required, enums, nullability, unions; not formats)."""
    if depth > 30:
        return True
    schema = merge_all_of(spec, schema)
    if value is None:
        return is_nullable(schema) or any(
            conforms(spec, s, None, depth + 1) for s in schema.get("oneOf", []) + schema.get("anyOf", [])
        )
    for key in ("oneOf", "anyOf"):
        if key in schema:
            base = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "discriminator")}
            return any(conforms(spec, {"allOf": [base, s]}, value, depth + 1) for s in schema[key])
    if "const" in schema and value != schema["const"]:
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    types = schema_types(schema)
    actual = json_type(value)
    if types and actual not in types and not (actual == "integer" and "number" in types):
        return False
    if actual == "object":
        for name in schema.get("required") or []:
            if name not in value:
                return False
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        for name, sub in value.items():
            if name in props:
                if not conforms(spec, props[name], sub, depth + 1):
                    return False
            elif isinstance(extra, dict) and not conforms(spec, extra, sub, depth + 1):
                return False
    if actual == "array" and isinstance(schema.get("items"), dict):
        return all(conforms(spec, schema["items"], v, depth + 1) for v in value)
    return True


def to_json_schema(spec: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    """Inline refs and turn OpenAPI 3.0 spellings into plain JSON Schema (2020-12), for `jsonschema` checks."""
    if depth > 40:
        return {}
    if isinstance(schema, list):
        return [to_json_schema(spec, s, depth + 1) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = resolve(spec, schema)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in ("nullable", "discriminator", "example", "readOnly", "writeOnly"):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {k: to_json_schema(spec, v, depth + 1) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "propertyNames", "not"):
            out[key] = to_json_schema(spec, value, depth + 1)
        elif key in ("allOf", "oneOf", "anyOf"):
            out[key] = [to_json_schema(spec, v, depth + 1) for v in value]
        else:
            out[key] = copy.deepcopy(value)
    if schema.get("nullable"):
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        for key in ("oneOf", "anyOf"):
            if key in out:
                out[key] = [*out[key], {"type": "null"}]
        if "allOf" in out and "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    if "oneOf" in out:  # generated polymorphic values may match two branches: anyOf is the honest check
        out["anyOf"] = out.pop("oneOf")
    return out
