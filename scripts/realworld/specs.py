"""Spec surgery with our own code: the scored subset of a big published spec, Prism's view of it, and JSON
Schema 2020-12 validators for its response bodies (OpenAPI 3.0 `nullable`, boolean exclusive bounds and
`$ref` siblings handled).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import urlsplit

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
REF_RE = re.compile(r"^#/components/([^/]+)/(.+)$")


def base_path(spec: dict[str, Any]) -> str:
    if spec.get("swagger"):
        return (spec.get("basePath") or "").rstrip("/")
    servers = spec.get("servers") or []
    if not servers or not isinstance(servers[0], dict):
        return ""
    return urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _refs(node: Any, out: set[str]) -> None:
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            ref = cur.get("$ref")
            if isinstance(ref, str):
                out.add(ref)
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)


def subset(spec: dict[str, Any], operation_ids: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """The spec with only the operations named (all when empty) and the components they reach.

    Returns (document, operationIds not found). Path-level parameters are kept; every local `$ref` under
    `#/components/...` reachable from the kept operations is kept (transitively); security schemes are kept
    whole (they are small and named by `security` requirements, not by `$ref`).
    """
    wanted = set(operation_ids)
    found: set[str] = set()
    paths: dict[str, Any] = {}
    for template, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            if wanted and op.get("operationId") not in wanted:
                continue
            found.add(op.get("operationId", ""))
            kept = paths.setdefault(template, {k: v for k, v in item.items() if k not in METHODS})
            kept[method] = op
    out: dict[str, Any] = {
        k: copy.deepcopy(spec[k])
        for k in ("openapi", "swagger", "info", "servers", "security", "basePath", "host", "schemes")
        if k in spec
    }
    out["paths"] = copy.deepcopy(paths)
    components = spec.get("components") or {}
    keep: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    pending: set[str] = set()
    _refs(out["paths"], pending)
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        match = REF_RE.match(ref)
        if not match:
            continue
        kind, name = match.group(1), _unescape(match.group(2))
        target = (components.get(kind) or {}).get(name)
        if target is None:
            continue
        keep.setdefault(kind, {})[name] = copy.deepcopy(target)
        _refs(target, pending)
    if components.get("securitySchemes"):
        keep["securitySchemes"] = copy.deepcopy(components["securitySchemes"])
    if keep:
        out["components"] = {kind: dict(sorted(v.items())) for kind, v in sorted(keep.items())}
    missing = sorted(wanted - found)
    return out, missing


def prism_view(spec: dict[str, Any], optionals: float = 1.0) -> dict[str, Any]:
    """What Prism serves: the same spec with the server base path folded into the paths.

    Prism matches request paths against the path templates only (it serves `/1.0/artist/{mbid}` for a
    spec whose server is `/rest`), while consumers call `/rest/1.0/artist/...` as the published server URL
    says; so Prism gets the paths prefixed and no `servers`.

    `optionals` < 1: the share of optional properties Prism's json-schema-faker puts in each object, through
    Prism's documented `x-json-schema-faker` document extension. Stock Prism sets `alwaysFakeOptionals`, so
    every optional field is always present and "required" cannot be told from traffic at all.

    A property an object lists in `required` without a schema for it (Spotify's `PagingObject` requires
    `items` and defines no `items`) gets the empty schema: json-schema-faker leaves such a property out, so
    Prism's answers would break the very spec it serves; with `{}` it sends one (any value meets `{}`).
    """
    out = _schemas_for_required(copy.deepcopy(spec))
    if optionals < 1:
        out["x-json-schema-faker"] = {
            "alwaysFakeOptionals": False,
            "optionalsProbability": optionals,
            "fixedProbabilities": True,
            "fillProperties": False,
        }
    prefix = base_path(spec)
    out.pop("servers", None)
    paths = {}
    for template, item in (spec.get("paths") or {}).items():
        item = copy.deepcopy(item)
        if isinstance(item, dict):
            item.pop("servers", None)
            for method in METHODS:
                if isinstance(item.get(method), dict):
                    item[method].pop("servers", None)
        paths[(prefix + template) if prefix else template] = item
    out["paths"] = paths
    return out


def _schemas_for_required(node: Any) -> Any:
    """`node` with `properties[name] = {}` for every name an object requires but does not describe."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            required = item.get("required")
            props = item.get("properties")
            if isinstance(required, list) and item.get("additionalProperties") is not False:
                missing = [
                    r for r in required if isinstance(r, str) and not (isinstance(props, dict) and r in props)
                ]
                if missing and (props is None or isinstance(props, dict)):
                    item["properties"] = {**(props or {}), **{name: {} for name in missing}}
            stack.extend(item.values())
    return node


def unexpanded(spec: dict[str, Any]) -> dict[str, Any]:
    """Stripe-style expandable fields answered the way the API answers by default: as the id string.

    Stripe's spec writes an expandable field as `anyOf: [string id, {$ref: Object}]` with
    `x-expansionResources`; the object is only sent when the request asks `expand[]=...`. Keeping only the
    string branch for the provider is still valid under the published spec (the branch is part of it), and it
    cuts the reference cycles (customer -> subscription -> customer ...) Prism cannot start with.
    Components no longer reachable are dropped.
    """

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(x) for x in node]
        if not isinstance(node, dict):
            return node
        if "x-expansionResources" in node and isinstance(node.get("anyOf"), list):
            strings = [b for b in node["anyOf"] if isinstance(b, dict) and b.get("type") == "string"]
            if strings:
                keep = {k: v for k, v in node.items() if k not in ("anyOf", "x-expansionResources")}
                return {**keep, **strings[0]}
        return {k: walk(v) for k, v in node.items()}

    out = walk(spec)
    components = out.get("components") or {}
    keep: dict[str, dict[str, Any]] = {}
    pending: set[str] = set()
    seen: set[str] = set()
    _refs(out.get("paths"), pending)
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        match = REF_RE.match(ref)
        if not match:
            continue
        kind, name = match.group(1), _unescape(match.group(2))
        target = (components.get(kind) or {}).get(name)
        if target is not None:
            keep.setdefault(kind, {})[name] = target
            _refs(target, pending)
    if components.get("securitySchemes"):
        keep["securitySchemes"] = components["securitySchemes"]
    out["components"] = keep
    return out


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, template, operation) for every operation, in document order."""
    out = []
    for template, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            if isinstance(item.get(method), dict):
                out.append((method.upper(), template, item[method]))
    return out


def resolve(spec: dict[str, Any], node: Any) -> Any:
    hops = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target.get(_unescape(part)) if isinstance(target, dict) else None
        if target is None:
            return {}
        node = target
        hops += 1
        if hops > 50:
            return {}
    return node


def json_media(content: dict[str, Any] | None) -> tuple[str, Any] | None:
    """The first JSON media type of a `content` map (application/json, then *+json, then */*)."""
    content = content or {}
    for pick in (
        lambda m: m == "application/json",
        lambda m: m.endswith("+json") or "json" in m,
        lambda m: m == "*/*",
    ):
        for media, obj in content.items():
            if pick(media.split(";")[0].strip().lower()) and isinstance(obj, dict):
                return media, obj.get("schema")
    return None


def status_entry(responses: dict[str, Any], status: int) -> str | None:
    """The key of `responses` that documents `status`: the code, its range (`4XX`), else `default`."""
    keys = {str(k).upper(): str(k) for k in responses}
    if str(status) in keys:
        return keys[str(status)]
    if f"{str(status)[0]}XX" in keys:
        return keys[f"{str(status)[0]}XX"]
    return keys.get("DEFAULT")


# ---------------------------------------------------------------------------------------------------------
# OpenAPI schema -> JSON Schema 2020-12

DROP = {"nullable", "discriminator", "example", "examples", "xml", "externalDocs", "x-nullable"}


class SchemaConverter:
    """Turns OpenAPI schemas of one document into self-contained JSON Schema 2020-12 documents.

    `#/components/schemas/X` becomes `#/$defs/X` (converted once, on demand), so recursive schemas stay
    finite. OpenAPI 3.0: `nullable` adds null (to `type`, `enum`, or as an `anyOf` branch around
    composition), boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers, `$ref` siblings are
    ignored (3.0 says so). 3.1 documents are JSON Schema already, only refs are rewritten.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.v30 = str(spec.get("openapi", "")).startswith("3.0") or bool(spec.get("swagger"))
        self.defs: dict[str, Any] = {}
        self._pending: list[str] = []

    def document(self, schema: Any) -> dict[str, Any]:
        self.defs = {}
        root = self._convert(schema)
        while self._pending:
            name = self._pending.pop()
            if name in self.defs and self.defs[name] is not None:
                continue
            target = ((self.spec.get("components") or {}).get("schemas") or {}).get(name)
            if target is None and self.spec.get("swagger"):
                target = (self.spec.get("definitions") or {}).get(name)
            self.defs[name] = self._convert(target if target is not None else {})
        if not isinstance(root, dict):
            root = {"allOf": [root]} if root is not True else {}
        doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", **root}
        if self.defs:
            doc["$defs"] = dict(self.defs)
        return doc

    def _ref(self, ref: str) -> Any:
        match = re.match(r"^#/(?:components/schemas|definitions)/(.+)$", ref)
        if match:
            name = _unescape(match.group(1))
            if name not in self.defs:
                self.defs[name] = None  # placeholder: being converted
                self._pending.append(name)
            return {"$ref": "#/$defs/" + name.replace("~", "~0").replace("/", "~1")}
        return self._convert(resolve(self.spec, {"$ref": ref}))

    def _convert(self, node: Any) -> Any:
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            return {}
        if isinstance(node.get("$ref"), str):
            ref = self._ref(node["$ref"])
            if self.v30:
                return ref
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**ref, **self._convert(rest)} if rest else ref
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in DROP or key.startswith("x-"):
                continue
            if key in ("properties", "patternProperties", "$defs", "dependentSchemas"):
                out[key] = {k: self._convert(v) for k, v in (value or {}).items()}
            elif key in (
                "items",
                "additionalProperties",
                "not",
                "contains",
                "propertyNames",
                "if",
                "then",
                "else",
            ):
                out[key] = (
                    [self._convert(v) for v in value] if isinstance(value, list) else self._convert(value)
                )
            elif key in ("allOf", "oneOf", "anyOf", "prefixItems"):
                out[key] = [self._convert(v) for v in value or []]
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
                bound = "minimum" if key == "exclusiveMinimum" else "maximum"
                if value and bound in node:
                    out[key] = node[bound]
            elif key == "required" and isinstance(value, bool):
                continue  # a Swagger 2 / broken spelling
            else:
                out[key] = copy.deepcopy(value)
        for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if node.get(key) is True and bound in out:
                del out[bound]
        if self.v30 and (node.get("nullable") or node.get("x-nullable")):
            t = out.get("type")
            if isinstance(t, str):
                out["type"] = [t, "null"]
            elif isinstance(t, list) and "null" not in t:
                out["type"] = [*t, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
            if "type" not in out and any(k in out for k in ("allOf", "oneOf", "anyOf", "$ref")):
                out = {"anyOf": [out, {"type": "null"}]}
        return out


def schema_text(schema: Any, limit: int = 160) -> str:
    text = json.dumps(schema, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
