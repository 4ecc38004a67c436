"""Schema helpers every room shares: which types a schema allows, merging `allOf`, uniting branches.

Schemas are plain JSON Schema 2020-12 dicts (OpenAPI 3.0's `nullable` is still understood where it appears).
"""

from __future__ import annotations

from typing import Any

ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "x-evidence"}
)
BOOLEAN_OR_SCHEMA = ("additionalProperties", "unevaluatedProperties", "unevaluatedItems")
LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean"})


def declared_types(schema: dict[str, Any]) -> list[str]:
    """The types a schema's `type` keyword names, in its order: `{"type": ["string", "null"]}` -> both."""
    t = schema.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    return []


def type_value(types: list[str]) -> str | list[str]:
    """The `type` keyword for some types: one name, or a list with `null` last."""
    ordered = [t for t in types if t != "null"] + (["null"] if "null" in types else [])
    return ordered[0] if len(ordered) == 1 else ordered


def schema_types(schema: dict[str, Any], *, branches: bool = False) -> set[str] | None:
    """The JSON types a schema allows, or None when it does not say: the `type` keyword (with 3.0's
    `nullable`), else `object` for properties and `array` for items; with `branches`, the union of the types
    of `anyOf`/`oneOf` branches when the schema itself names none."""
    t = schema.get("type")
    if t is None:
        if "properties" in schema or "additionalProperties" in schema:
            types = {"object"}
        elif "items" in schema:
            types = {"array"}
        elif branches and (schema.get("anyOf") or schema.get("oneOf")):
            types = set()
            for branch in schema.get("anyOf") or schema.get("oneOf"):
                sub = schema_types(branch, branches=True) if isinstance(branch, dict) else None
                if sub is None:
                    return None
                types |= sub
        else:
            return None
    else:
        types = set(declared_types(schema))
    if schema.get("nullable"):
        types.add("null")
    return types


def main_type(schema: dict[str, Any]) -> str | None:
    """The one type a value for this schema should have: the first non-null type, else what its keywords
    imply (properties: object, items: array, format or pattern: string), else None."""
    kind = schema.get("type")
    if isinstance(kind, list):
        real = [k for k in kind if k != "null"]
        return real[0] if real else ("null" if kind else None)
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if "format" in schema or "pattern" in schema:
        return "string"
    return None


def merge_schemas(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One schema that means all of `parts` (an `allOf`): properties and required united, bounds tightened.

    Keywords that cannot be combined into one (two different `anyOf`s, say) are kept under `allOf`.
    Annotations (description, title, ...) of later parts win. The result is a new mapping whose sub-schemas
    may be shared with `parts` (copied only where merging changes them): treat both as read-only.
    """
    out: dict[str, Any] = {}
    owned: set[str] = set()  # keys of `out` whose container was made here, and may be changed in place
    rest: list[dict[str, Any]] = []

    def own(key: str) -> Any:
        if key not in owned:
            current = out[key]
            out[key] = dict(current) if isinstance(current, dict) else list(current)
            owned.add(key)
        return out[key]

    for part in parts:
        for key, value in part.items():
            if key not in out:
                out[key] = value
                continue
            current = out[key]
            if current == value:
                continue
            if key == "properties":
                current = own(key)
                for name, sub in value.items():
                    current[name] = merge_schemas([current[name], sub]) if name in current else sub
            elif key == "required":
                current = own(key)
                current.extend(x for x in value if x not in current)
            elif key == "type":
                common = _common_types(declared_types(out), declared_types(part))
                if common:
                    out["type"] = type_value(common)
                else:
                    rest.append({"type": value})
            elif key == "enum" and isinstance(current, list) and isinstance(value, list):
                out["enum"] = [v for v in current if v in value]
            elif key in LOWER_BOUNDS and _is_number(current) and _is_number(value):
                out[key] = max(current, value)
            elif key in UPPER_BOUNDS and _is_number(current) and _is_number(value):
                out[key] = min(current, value)
            elif key in BOOLEAN_OR_SCHEMA or key in ("items", "propertyNames"):
                if current is False or value is False:
                    out[key] = False
                elif current is True or current == {}:
                    out[key] = value
                elif value is True or value == {}:
                    pass
                else:
                    out[key] = merge_schemas([current, value])
            elif key == "allOf":
                own(key).extend(value)
            elif key in ANNOTATIONS:
                if key != "x-evidence":
                    out[key] = value
            else:
                rest.append({key: value})
    if rest:
        if "allOf" in out:
            own("allOf").extend(rest)
        else:
            out["allOf"] = rest
    return out


def merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its `allOf` merged into it (the schema itself when it has none)."""
    if "allOf" not in schema:
        return schema
    parts = schema["allOf"]
    rest = {k: v for k, v in schema.items() if k != "allOf"}
    merged = merge_schemas([*(p for p in parts if isinstance(p, dict)), rest])
    if merged.get("allOf") == parts:  # nothing could be combined: do not come back here
        merged.pop("allOf")
    return merged


def union_schema(branches: list[dict[str, Any]]) -> dict[str, Any]:
    """One schema accepting what any branch accepts, as far as evidence can tell: properties of all object
    branches (required only when every branch requires them), enums joined, formats kept when shared."""
    if len(branches) == 1:
        return branches[0]
    types: set[str] = set()
    for b in branches:
        t = schema_types(b)
        if t is None:
            return {}
        types |= t
    out: dict[str, Any] = {"type": sorted(types)}
    objects = [b for b in branches if "object" in (schema_types(b) or set())]
    if objects:
        names = sorted({k for b in objects for k in (b.get("properties") or {})})
        out["properties"] = {
            k: union_schema([b["properties"][k] for b in objects if k in (b.get("properties") or {})])
            for k in names
        }
        required = set.intersection(*(set(b.get("required") or []) for b in objects))
        if required:
            out["required"] = sorted(required)
        extras = [b.get("additionalProperties") for b in objects]
        if any(isinstance(e, dict) for e in extras):
            out["additionalProperties"] = union_schema([e for e in extras if isinstance(e, dict)])
        elif all(e is False for e in extras):
            out["additionalProperties"] = False
    arrays = [
        b for b in branches if "array" in (schema_types(b) or set()) and isinstance(b.get("items"), dict)
    ]
    if arrays and len(arrays) == len([b for b in branches if "array" in (schema_types(b) or set())]):
        out["items"] = union_schema([b["items"] for b in arrays])
    scalars = [b for b in branches if (schema_types(b) or set()) & SCALAR_TYPES]
    if scalars and all("enum" in b or "const" in b for b in scalars):
        values: list[Any] = []
        for b in scalars:
            for v in b.get("enum", [b.get("const")]) if "enum" in b else [b["const"]]:
                if v not in values:
                    values.append(v)
        out["enum"] = values
    formats = {b.get("format") for b in scalars}
    if len(formats) == 1 and None not in formats:
        out["format"] = formats.pop()
    return out


def _common_types(a: list[str], b: list[str]) -> list[str]:
    out = [t for t in a if t in b]
    if "integer" in a and "number" in b and "integer" not in out:
        out.append("integer")
    if "number" in a and "integer" in b and "integer" not in out:
        out.append("integer")
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
