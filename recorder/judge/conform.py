"""A direct check of one JSON value against a documented schema: certain conformance, fast.

The stub's fast path for request bodies, and the pact export's question "does this example meet its schema";
anything this check cannot be certain of is left to the full checker (`recorder.judge.exchange`), which
says why.
"""

from __future__ import annotations

import functools
import re
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


def value_conforms(schema: Any, value: Any, depth: int = 0) -> bool:
    """True when a parsed JSON value certainly meets `schema` on everything drift judges (type, null, format,
    enum and const, pattern, lengths, ranges, required, additionalProperties, items), by JSON Schema's rules.

    False means "not certainly": a violation, or a schema this check leaves to the full checker (combinators,
    references, keywords it does not evaluate, redaction markers, very deep values). Unknown formats match,
    as JSON Schema says; annotations (description, readOnly, ...) are ignored."""
    if not isinstance(schema, dict) or depth > 64:
        return False
    if not schema:
        return True
    if not _NOT_JUDGED.isdisjoint(schema):
        return False
    types = schema_types(schema)
    if "const" in schema and not _same(value, schema["const"]):
        return False
    allowed = schema.get("enum")
    if allowed is not None and (not isinstance(allowed, list) or not any(_same(value, a) for a in allowed)):
        return False
    if value is None:
        return types is None or "null" in types
    if isinstance(value, bool):
        return types is None or "boolean" in types
    if isinstance(value, (int, float)):
        return _number_conforms(schema, types, value)
    if isinstance(value, str):
        return _string_conforms(schema, types, value)
    if isinstance(value, dict):
        return _object_conforms(schema, types, value, depth)
    if isinstance(value, list):
        return _array_conforms(schema, types, value, depth)
    return False


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


def _number_conforms(schema: dict[str, Any], types: set[str] | None, value: float) -> bool:
    integral = json_type(value) == "integer"
    if types is not None and "number" not in types and not ("integer" in types and integral):
        return False
    low, high = schema.get("minimum"), schema.get("maximum")
    xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    for bound in (low, high, xlow, xhigh):
        if bound is not None and not isinstance(bound, (int, float)):
            return False  # OpenAPI 3.0's boolean exclusive bounds, or junk: the checker judges
    if isinstance(xlow, bool) or isinstance(xhigh, bool):
        return False
    return not (
        (low is not None and value < low)
        or (high is not None and value > high)
        or (xlow is not None and value <= xlow)
        or (xhigh is not None and value >= xhigh)
    )


def _string_conforms(schema: dict[str, Any], types: set[str] | None, value: str) -> bool:
    if types is not None and "string" not in types:
        return False
    if value.startswith("<redacted:"):
        return False
    fmt = schema.get("format")
    if fmt in FORMAT_PATTERNS and not matches_format(value, fmt):
        return False
    low, high = schema.get("minLength"), schema.get("maxLength")
    if (low is not None and len(value) < low) or (high is not None and len(value) > high):
        return False
    pattern = schema.get("pattern")
    if pattern is not None:
        regex = _regex(pattern) if isinstance(pattern, str) else None
        if regex is None or regex.search(value) is None:
            return False
    return True


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _object_conforms(
    schema: dict[str, Any], types: set[str] | None, value: dict[str, Any], depth: int
) -> bool:
    if types is not None and "object" not in types:
        return False
    required = schema.get("required") or ()
    if any(name not in value for name in required):
        return False
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        sub = props.get(name)
        if sub is not None:
            if not value_conforms(sub, item, depth + 1):
                return False
        elif extra is False or (isinstance(extra, dict) and not value_conforms(extra, item, depth + 1)):
            return False
    return True


def _array_conforms(schema: dict[str, Any], types: set[str] | None, value: list[Any], depth: int) -> bool:
    if types is not None and "array" not in types:
        return False
    low, high = schema.get("minItems"), schema.get("maxItems")
    if (low is not None and len(value) < low) or (high is not None and len(value) > high):
        return False
    items = schema.get("items")
    if items is None:
        return True
    if not isinstance(items, dict):
        return False
    return all(value_conforms(items, item, depth + 1) for item in value)
