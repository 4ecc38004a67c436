"""A direct check of one JSON value against a documented schema: certain conformance, fast.

The stub's fast path for request bodies, and the pact export's question "does this example meet its schema";
anything this check cannot be certain of is left to the full checker (`recorder.judge.exchange`), which
says why.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from recorder.common.jsonvalues import json_type
from recorder.common.schemas import schema_types
from recorder.learn.strformats import FORMAT_PATTERNS, matches_format

# assertion keywords this check does not evaluate: a schema with any of them is left to the checker
_NOT_JUDGED = frozenset(
    {
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$ref", "$dynamicRef", "multipleOf",
        "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas", "dependencies",
        "minProperties", "maxProperties", "uniqueItems", "contains", "minContains", "maxContains",
        "prefixItems", "unevaluatedItems", "unevaluatedProperties", "additionalItems",
    }
)  # fmt: skip


Check = Callable[[Any], bool]


def value_conforms(schema: Any, value: Any) -> bool:
    """True when a parsed JSON value certainly meets `schema` on everything drift judges (type, null, format,
    enum and const, pattern, lengths, ranges, required, additionalProperties, items), by JSON Schema's rules.

    False means "not certainly": a violation, or a schema this check leaves to the full checker (combinators,
    references, keywords it does not evaluate, redaction markers, very deep values). Unknown formats match,
    as JSON Schema says; annotations (description, readOnly, ...) are ignored. To check many values against
    one schema, compile it once with `compile_conforms`."""
    return compile_conforms(schema)(value)


def compile_conforms(schema: Any, depth: int = 0) -> Check:
    """`value_conforms` for one schema, compiled: the schema's keywords are read once into closures, and
    subschemas are compiled the first time a value reaches them (a large spec costs only what is used)."""
    if not isinstance(schema, dict) or depth > 64:
        return _never
    if not schema:
        return _always
    if not _NOT_JUDGED.isdisjoint(schema):
        return _never
    types = schema_types(schema)
    firsts: list[Check] = []
    if "const" in schema:
        const = schema["const"]
        firsts.append(lambda v: _same(v, const))
    allowed = schema.get("enum")
    if allowed is not None:
        if not isinstance(allowed, list):
            return _never
        firsts.append(lambda v: any(_same(v, a) for a in allowed))
    null_ok = types is None or "null" in types
    bool_ok = types is None or "boolean" in types
    number = _number_check(schema, types)
    string = _string_check(schema, types)
    obj = _object_check(schema, types, depth)
    array = _array_check(schema, types, depth)

    def check(value: Any) -> bool:
        for first in firsts:
            if not first(value):
                return False
        if value is None:
            return null_ok
        if isinstance(value, bool):
            return bool_ok
        if isinstance(value, (int, float)):
            return number(value)
        if isinstance(value, str):
            return string(value)
        if isinstance(value, dict):
            return obj(value)
        if isinstance(value, list):
            return array(value)
        return False

    return check


def _never(value: Any) -> bool:
    return False


def _always(value: Any) -> bool:
    return True


def _lazy(schema: Any, depth: int) -> Check:
    """A subschema's check, compiled when a value first reaches it."""
    compiled: Check | None = None

    def check(value: Any) -> bool:
        nonlocal compiled
        if compiled is None:
            compiled = compile_conforms(schema, depth)
        return compiled(value)

    return check


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _number_check(schema: dict[str, Any], types: set[str] | None) -> Check:
    any_number = types is None or "number" in types
    integers = types is not None and "integer" in types
    if not any_number and not integers:
        return _never
    low, high = schema.get("minimum"), schema.get("maximum")
    xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    for bound in (low, high, xlow, xhigh):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
            return _never  # OpenAPI 3.0's boolean exclusive bounds, or junk: the checker judges

    def check(value: float) -> bool:
        if not any_number and json_type(value) != "integer":
            return False
        return not (
            (low is not None and value < low)
            or (high is not None and value > high)
            or (xlow is not None and value <= xlow)
            or (xhigh is not None and value >= xhigh)
        )

    return check


def _string_check(schema: dict[str, Any], types: set[str] | None) -> Check:
    if types is not None and "string" not in types:
        return _never
    fmt = schema.get("format")
    fmt = fmt if fmt in FORMAT_PATTERNS else None
    low, high = schema.get("minLength"), schema.get("maxLength")
    pattern = schema.get("pattern")
    regex = None
    if pattern is not None:
        regex = _regex(pattern) if isinstance(pattern, str) else None
        if regex is None:
            return _never

    def check(value: str) -> bool:
        if value.startswith("<redacted:"):
            return False
        if fmt is not None and not matches_format(value, fmt):
            return False
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            return False
        return regex is None or regex.search(value) is not None

    return check


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _object_check(schema: dict[str, Any], types: set[str] | None, depth: int) -> Check:
    if types is not None and "object" not in types:
        return _never
    required = tuple(schema.get("required") or ())
    props = {name: _lazy(sub, depth + 1) for name, sub in (schema.get("properties") or {}).items()}
    extra = schema.get("additionalProperties")
    closed = extra is False
    extra_check = _lazy(extra, depth + 1) if isinstance(extra, dict) else None

    def check(value: dict[str, Any]) -> bool:
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            sub = props.get(name)
            if sub is not None:
                if not sub(item):
                    return False
            elif closed or (extra_check is not None and not extra_check(item)):
                return False
        return True

    return check


def _array_check(schema: dict[str, Any], types: set[str] | None, depth: int) -> Check:
    if types is not None and "array" not in types:
        return _never
    low, high = schema.get("minItems"), schema.get("maxItems")
    items = schema.get("items")
    if items is not None and not isinstance(items, dict):
        return _never
    item_check = _lazy(items, depth + 1) if items is not None else None

    def check(value: list[Any]) -> bool:
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            return False
        return item_check is None or all(item_check(item) for item in value)

    return check
