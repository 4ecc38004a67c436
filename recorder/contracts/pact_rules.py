"""Pact matching rules read into JSON Schemas: which rule applies at a body path, and the schema a body example
stands for under its rules (types, regexes, formats, arrays, maps, combined matchers)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from recorder.common.jsonvalues import json_type
from recorder.common.schemas import merge_schemas
from recorder.contracts import pact_paths
from recorder.contracts.pact_paths import ANY_INDEX, STAR
from recorder.learn.strformats import FORMAT_PATTERNS

FORMAT_BY_PATTERN = {pattern: fmt for fmt, pattern in FORMAT_PATTERNS.items()}
_FORMAT_BY_MATCHER = {"date": "date", "time": "time", "datetime": "date-time", "timestamp": "date-time"}
_SCALAR_BY_REGEX = {
    r"^-?[0-9]+$": {"type": "integer"},
    r"^[0-9]+$": {"type": "integer"},
    r"^-?\d+$": {"type": "integer"},
    r"^\d+$": {"type": "integer"},
    r"^-?[0-9]+(\.[0-9]+)?$": {"type": "number"},
    r"^(true|false)$": {"type": "boolean"},
}
_SEMVER = r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
_CONTAINER_MATCHERS = frozenset({"values", "eachValue", "eachKey", "arrayContains"})


@dataclass(frozen=True)
class _RuleSet:
    matchers: tuple[dict[str, Any], ...]
    combine: str = "AND"


@dataclass
class Rules:
    """The matching rules of one request or response, whatever the pact version wrote them like."""

    body: list[tuple[tuple[Any, ...], _RuleSet]] = field(default_factory=list)
    path: _RuleSet | None = None
    query: dict[str, _RuleSet] = field(default_factory=dict)
    header: dict[str, _RuleSet] = field(default_factory=dict)
    status: _RuleSet | None = None


def _rule_set(value: Any) -> _RuleSet | None:
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("matchers"), list):
        matchers = tuple(m for m in value["matchers"] if isinstance(m, dict))
        combine = str(value.get("combine") or "AND").upper()
        return _RuleSet(matchers, combine) if matchers else None
    return _RuleSet((value,))  # v2: the matcher itself


def parse_rules(raw: Any) -> Rules:
    out = Rules()
    if not isinstance(raw, dict):
        return out
    if any(isinstance(k, str) and k.startswith("$") for k in raw):  # v2: flat, keyed by `$.body.x`
        for key, value in raw.items():
            tokens = pact_paths.parse(key)
            ruleset = _rule_set(value)
            if not tokens or ruleset is None:
                continue
            where, rest = tokens[0], tokens[1:]
            if where == "body":
                out.body.append((rest, ruleset))
            elif where == "path":
                out.path = ruleset
            elif where == "query" and rest and isinstance(rest[0], str):
                out.query[rest[0]] = ruleset
            elif where in ("header", "headers") and rest and isinstance(rest[0], str):
                out.header[rest[0].lower()] = ruleset
        return out
    for category, entries in raw.items():  # v3/v4: by category
        if not isinstance(entries, dict):
            continue
        if category in ("path", "status"):
            ruleset = _rule_set(entries if "matchers" in entries else next(iter(entries.values()), None))
            setattr(out, category, ruleset)
        elif category == "body":
            for key, value in entries.items():
                tokens = pact_paths.parse(key)
                ruleset = _rule_set(value)
                if tokens is not None and ruleset is not None:
                    out.body.append((tokens, ruleset))
        elif category in ("query", "header", "headers"):
            target = out.query if category == "query" else out.header
            for key, value in entries.items():
                ruleset = _rule_set(value)
                if ruleset is not None:
                    target[key if category == "query" else key.lower()] = ruleset
    return out


def _weight(tokens: tuple[Any, ...], path: tuple[Any, ...]) -> int:
    """How specifically a rule path covers `path` (a rule also covers everything below it); 0 = not at all."""
    if len(tokens) > len(path):
        return 0
    weight = 1
    for token, step in zip(tokens, path, strict=False):
        if token is ANY_INDEX:
            if not isinstance(step, int):
                return 0
        elif token == STAR:
            continue
        elif type(token) is type(step) and token == step:
            weight *= 2
        else:
            return 0
    return weight


# ---------------------------------------------------------------------------------------------------------
# Schemas from examples + rules


def _dedupe(schemas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in schemas:
        if s not in out:
            out.append(s)
    return out


def one_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    unique = _dedupe(schemas)
    return unique[0] if len(unique) == 1 else {"anyOf": unique}


def _string_regex_schema(regex: str) -> dict[str, Any]:
    fmt = FORMAT_BY_PATTERN.get(regex)
    return {"type": "string", "format": fmt} if fmt else {"type": "string", "pattern": regex}


class BodySchema:
    """Infers the JSON Schema a body example stands for under a set of body matching rules."""

    def __init__(self, rules: list[tuple[tuple[Any, ...], _RuleSet]]) -> None:
        self.rules = rules

    def schema(
        self, value: Any, path: tuple[Any, ...] = (), forced: _RuleSet | None = None
    ) -> dict[str, Any]:
        exact = True
        ruleset = forced
        if ruleset is None:
            best = None
            best_key = (0, 0)
            for tokens, candidate in self.rules:
                w = _weight(tokens, path)
                if w and (w, len(tokens)) > best_key:
                    best, best_key = (tokens, candidate), (w, len(tokens))
            if best is None:
                return self._equal(value, path)
            exact = len(best[0]) == len(path)
            ruleset = best[1]
        schemas = [self._apply(m, value, path, exact) for m in ruleset.matchers]
        if len(schemas) == 1:
            return schemas[0]
        if ruleset.combine == "OR":
            return one_of(schemas)
        return merge_schemas(schemas)

    def _equal(self, value: Any, path: tuple[Any, ...]) -> dict[str, Any]:
        """Pact without a matcher: equal values, same-length arrays, objects with (at least) these keys."""
        if isinstance(value, dict):
            return self._object(value, path)
        if isinstance(value, list):
            out: dict[str, Any] = {"type": "array", "minItems": len(value), "maxItems": len(value)}
            items = [self.schema(v, (*path, i)) for i, v in enumerate(value)]
            if items and all(s == items[0] for s in items):
                out["items"] = items[0]
            elif items:
                out["prefixItems"] = items
            return out
        if value is None:
            return {"type": "null"}
        return {"type": json_type(value), "const": value}

    def _object(self, value: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "object"}
        if value:
            out["properties"] = {k: self.schema(v, (*path, k)) for k, v in value.items()}
            out["required"] = sorted(value)
        return out

    def _typed(self, value: Any, path: tuple[Any, ...], matcher: dict[str, Any]) -> dict[str, Any]:
        """Pact `type`: the example's type; array items like the example's items, `min`/`max` as lengths."""
        if isinstance(value, dict):
            return self._object(value, path)
        if isinstance(value, list):
            out: dict[str, Any] = {"type": "array"}
            if value:
                out["items"] = one_of([self.schema(v, (*path, i)) for i, v in enumerate(value)])
            if isinstance(matcher.get("min"), int) and matcher["min"] > 0:
                out["minItems"] = matcher["min"]
            if isinstance(matcher.get("max"), int):
                out["maxItems"] = matcher["max"]
            return out
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"type": "number"}  # Pact's type matcher takes any number for a number
        return {"type": json_type(value)}

    def _map(self, value: Any, path: tuple[Any, ...], values: _RuleSet | None) -> dict[str, Any]:
        if isinstance(value, list):
            out: dict[str, Any] = {"type": "array"}
            if value:
                out["items"] = one_of([self.schema(v, (*path, i), values) for i, v in enumerate(value)])
            return out
        out = {"type": "object"}
        if isinstance(value, dict) and value:
            out["additionalProperties"] = one_of(
                [self.schema(v, (*path, k), values) for k, v in value.items()]
            )
        return out

    def _apply(
        self, matcher: dict[str, Any], value: Any, path: tuple[Any, ...], exact: bool
    ) -> dict[str, Any]:
        kind = matcher.get("match") or ("regex" if "regex" in matcher else "type")
        if not exact:  # inherited from an ancestor: governs types, not the ancestor's own shape
            if kind in _CONTAINER_MATCHERS or kind in ("type", "notEmpty"):
                kind = "type"
            matcher = {}
        container = isinstance(value, (dict, list))
        if kind == "equality":
            return self._equal(value, path)
        if kind in ("values", "eachValue"):
            rules = matcher.get("rules") if kind == "eachValue" else None
            values = (
                _RuleSet(tuple(r for r in rules if isinstance(r, dict))) if isinstance(rules, list) else None
            )
            return self._map(value, path, values or None)
        if kind == "eachKey":
            out = self._map(value, path, None)
            keys = [r for r in matcher.get("rules") or () if isinstance(r, dict)]
            patterns = [r.get("regex") for r in keys if isinstance(r.get("regex"), str)]
            if patterns and out.get("type") == "object":
                out["propertyNames"] = _string_regex_schema(patterns[0])
            return out
        if kind == "arrayContains" and isinstance(value, list):
            out = {"type": "array"}
            contains = []
            for variant in matcher.get("variants") or ():
                index = variant.get("index") if isinstance(variant, dict) else None
                if isinstance(index, int) and 0 <= index < len(value):
                    sub = BodySchema(parse_rules({"body": variant.get("rules") or {}}).body)
                    contains.append({"contains": sub.schema(value[index])})
            if contains:
                out["allOf"] = contains
            return out
        if container or kind == "type":
            out = self._typed(value, path, matcher)
            if kind == "notEmpty":
                out["minItems" if isinstance(value, list) else "minProperties"] = 1
            return out
        if kind == "integer":
            return {"type": "integer"}
        if kind in ("decimal", "number"):
            return {"type": "number"}
        if kind == "boolean":
            return {"type": "boolean"}
        if kind == "null":
            return {"type": "null"}
        if kind in _FORMAT_BY_MATCHER:
            return {"type": "string", "format": _FORMAT_BY_MATCHER[kind]}
        if kind == "regex" and isinstance(matcher.get("regex"), str):
            if isinstance(value, str):
                return _string_regex_schema(matcher["regex"])
            return self._typed(value, path, matcher)
        if kind == "include":
            return {"type": "string", "pattern": re.escape(str(matcher.get("value", "")))}
        if kind == "semver":
            return {"type": "string", "pattern": _SEMVER}
        if kind == "notEmpty":
            return (
                {"type": "string", "minLength": 1} if isinstance(value, str) else self._typed(value, path, {})
            )
        return self._typed(value, path, matcher)  # contentType, statusCode, unknown: lenient


def text_schema(value: str, ruleset: _RuleSet | None, typed: bool) -> dict[str, Any]:
    """Schema of a query value or header: equal unless a rule says otherwise (`typed`: numeric regexes -> types)."""
    if ruleset is None:
        return {"type": "string", "const": value}
    schemas = []
    for m in ruleset.matchers:
        kind = m.get("match") or ("regex" if "regex" in m else "type")
        regex = m.get("regex")
        if kind == "regex" and isinstance(regex, str):
            scalar = _SCALAR_BY_REGEX.get(regex) if typed else None
            schemas.append(dict(scalar) if scalar else _string_regex_schema(regex))
        elif kind == "equality":
            schemas.append({"type": "string", "const": value})
        elif kind in _FORMAT_BY_MATCHER:
            schemas.append({"type": "string", "format": _FORMAT_BY_MATCHER[kind]})
        elif kind == "integer" and typed:
            schemas.append({"type": "integer"})
        elif kind in ("decimal", "number") and typed:
            schemas.append({"type": "number"})
        elif kind == "include":
            schemas.append({"type": "string", "pattern": re.escape(str(m.get("value", "")))})
        else:
            schemas.append({"type": "string"})
    if len(schemas) == 1:
        return schemas[0]
    return one_of(schemas) if ruleset.combine == "OR" else merge_schemas(schemas)
