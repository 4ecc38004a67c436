"""Score an exported OpenAPI document against the published one (no dependency on `recorder`; stdlib only).

    result = score(published_spec, exported_spec)         # dicts, as loaded from YAML/JSON
    result["operation_recall"], result["field_f1"], ...    # floats in [0, 1], None when undefined
    result["mismatches"]                                   # what was missed or wrong, for debugging

Both documents may be OpenAPI 3.0, 3.1 or Swagger 2.0. Local `$ref`s are followed everywhere.

Operations
    An operation is METHOD + path template. Templates are compared after prefixing the path of the first
    server URL (`servers[0].url`, or Swagger 2's `basePath`), dropping a trailing slash and replacing every
    `{name}` by `{}`: parameter names do not matter (`/users/{id}` == `/users/{userId}`), literal segments
    do (`/pet/findByStatus` != `/pet/{petId}`).
    operation_recall    = matched published operations / published operations
    operation_precision = exported operations whose template matches a published one / exported operations
                          (a second exported spelling of the same template counts as unmatched)

Statuses
    status_recall = over all matched operations, published status codes that the export also documents /
    published status codes. `default` is ignored; a range (`4XX`) on either side covers the codes in it.

Fields
    For every matched operation and every status documented by both, the JSON response body schema (first
    media type that is JSON: `application/json`, `*/*+json`, `*/*`) is flattened into fields keyed by a
    pointer: `/name` for a property (`~0`/`~1` escaped), `/*` for `additionalProperties` values (map
    values), with `/[]` marking array items on the way (`/data/[]/id`). `$ref`s are followed; `allOf`
    members are merged; `oneOf`/`anyOf` branches are merged into one set of fields (a field of any branch
    is a field); `writeOnly` properties are left out (they never appear in responses); recursion stops at a
    `$ref` already being expanded (that node keeps its own type, but gets no fields). A field is a property or a map value;
    array items and the body root are not fields, but their types count (see types).
    field_recall = |published ∩ exported| / |published|, field_precision = |∩| / |exported|,
    field_f1 = harmonic mean, all over (operation, status, pointer) keys.

Types (over matched fields, plus the body root of every matched response)
    A node's type is the set of its non-null JSON types (`integer` and `number` are different types);
    an array is written with its items' types, `array[object]`, so an array of strings and an array of
    integers differ. Null is ignored on both sides (nullability is reported apart), unless null is the
    only published type. Nodes whose published schema has no type at all are skipped.
    type_accuracy = matched nodes whose type sets are equal / matched nodes with a published type.

Required
    A property is required when its object lists it in `required`; through `oneOf`/`anyOf` it is required
    only when every object branch requires it (what a consumer of the merged traffic can count on).
    required_accuracy = matched properties (not map values) whose required flag agrees / matched properties.

Formats
    format_recall = matched fields whose published format is observable and which the export gives the same
    format / matched fields with an observable published format. Not observable in traffic, hence left
    out: int32, int64, float, double, password. `uri` and `url` are treated as the same format.

Enums
    A field's enum is the union of `enum`/`const` values of its non-null alternatives (none when one
    alternative is unconstrained). For matched fields with a published enum, the export "covers" it when it
    has an enum E that (1) is non-empty, (2) invents nothing: E is a subset of the published values, and (3)
    when `observed` is given, contains every published value observed in the traffic for that field.
    enum_recall = covered / matched fields with a published enum.

False enums: matched fields whose export has an enum where the published schema has none (an id, a name,
free text or a measurement taken for a closed set); `extra.false_enums` counts them.

Extras (not judged, for debugging): nullable_accuracy (nullable flags agree on matched fields),
format_precision (exported observable formats that equal the published one), and when `observed` is given,
field_coverage and status_coverage: the share of published fields/statuses the traffic contained at all
(the ceiling for recall). `observed` maps ("METHOD /template-as-published", status) to
{pointer: set of json.dumps(value, sort_keys=True) of enum values seen}; pointers use the syntax above.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
UNOBSERVABLE_FORMATS = frozenset({"int32", "int64", "float", "double", "password"})
FORMAT_ALIASES = {"url": "uri"}
MAX_DEPTH = 16
MAX_ALTERNATIVES = 64


# ---------------------------------------------------------------------------------------------------------
# documents


def _deref(doc: dict[str, Any], node: Any, chain: frozenset[str]) -> tuple[Any, frozenset[str], bool]:
    """Follow `$ref`s: (target, chain + refs followed, cycle). A ref already in `chain` is a cycle."""
    hops = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        cycle = ref in chain
        chain = chain | {ref}
        target: Any = doc
        if not ref.startswith("#"):
            return {}, chain, False  # external refs are not followed: an unconstrained schema
        for part in ref[1:].lstrip("/").split("/") if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
            if target is None:
                return {}, chain, False
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **siblings} if siblings and isinstance(target, dict) else target
        hops += 1
        if cycle or hops > 64:
            return node, chain, True
    return node, chain, False


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    return _deref(doc, node, frozenset())[0]


SCALAR_KEYS = ("type", "nullable", "x-nullable", "format", "enum", "const")


def _base_path(doc: dict[str, Any]) -> str:
    if doc.get("swagger"):
        return (doc.get("basePath") or "").rstrip("/")
    servers = doc.get("servers") or []
    if not servers or not isinstance(servers[0], dict):
        return ""
    return urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")


def normalize_template(template: str, prefix: str = "") -> str:
    """`/users/{userId}/` with prefix `/api` -> `/api/users/{}`."""
    path = re.sub(r"\{[^}]*\}", "{}", prefix + "/" + template.lstrip("/"))
    path = re.sub(r"/+", "/", path)
    return path.rstrip("/") or "/"


@dataclass
class _Op:
    key: str  # normalized: "GET /api/v3/pet/{}"
    label: str  # as written: "GET /pet/{petId}"
    responses: dict[str, Any]


def _operations(doc: dict[str, Any]) -> list[_Op]:
    prefix = _base_path(doc)
    out = []
    for template, item in (doc.get("paths") or {}).items():
        item = _resolve(doc, item) or {}
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            responses = {str(k): v for k, v in (op.get("responses") or {}).items()}
            out.append(
                _Op(
                    key=f"{method.upper()} {normalize_template(template, prefix)}",
                    label=f"{method.upper()} {template}",
                    responses=responses,
                )
            )
    return out


def _body_schema(doc: dict[str, Any], response: Any) -> Any:
    response = _resolve(doc, response)
    if not isinstance(response, dict):
        return None
    if doc.get("swagger"):
        return response.get("schema")
    content = response.get("content") or {}
    for pick in (
        lambda m: m == "application/json",
        lambda m: m.endswith("+json") or "json" in m,
        lambda m: m == "*/*",
    ):
        for media, obj in content.items():
            if pick(media.split(";")[0].strip().lower()) and isinstance(obj, dict):
                return obj.get("schema")
    return None


# ---------------------------------------------------------------------------------------------------------
# schema flattening


@dataclass
class FieldInfo:
    """What one location of a body schema says."""

    types: frozenset[str]  # non-null types, arrays as "array[...]"
    nullable: bool
    formats: frozenset[str]
    enum: frozenset[str] | None  # json-encoded values; None: not an enum
    required: bool | None  # None for map values, array items and the root
    kind: str  # "property" | "map" | "items" | "root"


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif key == "properties" and isinstance(value, dict):
            props = dict(out[key] or {})
            for name, sub in value.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            out[key] = props
        elif key == "required" and isinstance(value, list):
            out[key] = list(out[key] or []) + [r for r in value if r not in (out[key] or [])]
        elif (
            key in ("items", "additionalProperties")
            and isinstance(value, dict)
            and isinstance(out[key], dict)
        ):
            out[key] = {"allOf": [out[key], value]}
        elif key == "type":
            left, right = _type_list(out[key]), _type_list(value)
            both = [t for t in left if t in right or (t == "integer" and "number" in right)]
            both += [t for t in right if t == "integer" and "number" in left and t not in both]
            out[key] = both if both else right
        elif key == "enum" and isinstance(value, list) and isinstance(out[key], list):
            enc = {json.dumps(v, sort_keys=True) for v in value}
            out[key] = [v for v in out[key] if json.dumps(v, sort_keys=True) in enc]
        elif key == "nullable":
            out[key] = bool(out[key] or value)
    return out


def _type_list(t: Any) -> list[str]:
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    return []


def _expand(
    doc: dict[str, Any], schema: Any, chain: frozenset[str], depth: int = 0
) -> list[tuple[dict, frozenset]]:
    """A schema as a list of plain alternatives (no $ref/allOf/oneOf/anyOf at the top), with their ref chains."""
    schema, chain, cycle = _deref(doc, schema, chain)
    if cycle and isinstance(schema, dict):  # recursion: keep the node's own type, do not descend again
        alt = {k: v for k, v in schema.items() if k in SCALAR_KEYS}
        if "type" not in alt and ("properties" in schema or "additionalProperties" in schema):
            alt["type"] = "object"
        return [(alt, chain)]
    if not isinstance(schema, dict):
        return [({} if schema is True else {"not": {}}, chain)]
    if depth > 8:
        return [({}, chain)]
    base = {k: v for k, v in schema.items() if k not in ("allOf", "oneOf", "anyOf", "discriminator")}
    alts: list[tuple[dict, frozenset]] = [(base, chain)]
    for member in schema.get("allOf") or []:
        parts = _expand(doc, member, chain, depth + 1)
        alts = [(_merge(a, b), ca | cb) for a, ca in alts for b, cb in parts][:MAX_ALTERNATIVES]
    for key in ("oneOf", "anyOf"):
        branches = [x for branch in schema.get(key) or [] for x in _expand(doc, branch, chain, depth + 1)]
        if branches:
            alts = [(_merge(a, b), ca | cb) for a, ca in alts for b, cb in branches][:MAX_ALTERNATIVES]
    return alts


def _alt_types(alt: dict[str, Any]) -> set[str]:
    """JSON types of one alternative, null included."""
    types = set(_type_list(alt.get("type")))
    if not types:
        if "properties" in alt or isinstance(alt.get("additionalProperties"), dict):
            types.add("object")
        elif "items" in alt:
            types.add("array")
        elif "enum" in alt and isinstance(alt["enum"], list):
            types |= {_json_type(v) for v in alt["enum"]}
        elif "const" in alt:
            types.add(_json_type(alt["const"]))
    if alt.get("nullable") or alt.get("x-nullable"):
        types.add("null")
    if "enum" in alt and isinstance(alt["enum"], list) and None in alt["enum"]:
        types.add("null")
    return types


def _json_type(value: Any) -> str:
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
    return "array" if isinstance(value, list) else "object"


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def flatten(doc: dict[str, Any], schema: Any) -> dict[str, FieldInfo]:
    """Every location of a response body schema: {pointer: FieldInfo}; the root is ""."""
    out: dict[str, FieldInfo] = {}
    if schema is None:
        return out
    _walk(doc, [(schema, frozenset())], "", None, "root", out, 0)
    return out


def _walk(
    doc: dict[str, Any],
    schemas: list[tuple[Any, frozenset[str]]],
    pointer: str,
    required: bool | None,
    kind: str,
    out: dict[str, FieldInfo],
    depth: int,
) -> frozenset[str]:
    """Record the node at `pointer` and its descendants; returns the node's type set (for array items)."""
    alts = [x for s, chain in schemas for x in _expand(doc, s, chain)]
    types: set[str] = set()
    nullable = False
    formats: set[str] = set()
    enum: set[str] | None = set()
    for alt, _chain in alts:
        t = _alt_types(alt)
        if "null" in t:
            nullable = True
        if t == {"null"}:
            continue
        types |= t - {"null"}
        if isinstance(alt.get("format"), str):
            formats.add(FORMAT_ALIASES.get(alt["format"], alt["format"]))
        if enum is not None:
            if "const" in alt:
                enum.add(json.dumps(alt["const"], sort_keys=True))
            elif isinstance(alt.get("enum"), list):
                enum |= {json.dumps(v, sort_keys=True) for v in alt["enum"] if v is not None}
            else:
                enum = None
    if not enum:
        enum = None

    # children
    if depth < MAX_DEPTH:
        object_alts = [(a, c) for a, c in alts if "object" in _alt_types(a) or "properties" in a]
        names: dict[str, list[tuple[Any, frozenset[str]]]] = {}
        for alt, chain in object_alts:
            for name, sub in (alt.get("properties") or {}).items():
                target = _deref(doc, sub, chain)[0]
                if isinstance(target, dict) and target.get("writeOnly"):
                    continue  # never in a response
                names.setdefault(name, []).append((sub, chain))
        for name, subs in names.items():
            req = all(name in (a.get("required") or []) for a, _ in object_alts)
            _walk(doc, subs, f"{pointer}/{_escape(name)}", req, "property", out, depth + 1)
        maps = [
            (a["additionalProperties"], c)
            for a, c in object_alts
            if isinstance(a.get("additionalProperties"), dict)
        ]
        maps += [(s, c) for a, c in object_alts for s in (a.get("patternProperties") or {}).values()]
        if maps:
            _walk(doc, maps, f"{pointer}/*", None, "map", out, depth + 1)
        items = [(a["items"], c) for a, c in alts if isinstance(a.get("items"), dict)]
        if items:
            item_types = _walk(doc, items, f"{pointer}/[]", None, "items", out, depth + 1)
            if "array" in types:
                types.discard("array")
                types.add("array[" + "|".join(sorted(item_types)) + "]")
    if "array" in types:
        types.discard("array")
        types.add("array[]")
    out[pointer] = FieldInfo(
        types=frozenset(types),
        nullable=nullable,
        formats=frozenset(formats),
        enum=frozenset(enum) if enum is not None else None,
        required=required,
        kind=kind,
    )
    return frozenset(types)


# ---------------------------------------------------------------------------------------------------------
# scoring


def _covers(codes: set[str], code: str) -> bool:
    if code in codes:
        return True
    if re.fullmatch(r"\d{3}", code):
        return f"{code[0]}XX" in {c.upper() for c in codes}
    if re.fullmatch(r"\dXX", code.upper()):
        return any(c.startswith(code[0]) and c.isdigit() for c in codes)
    return False


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass
class _Tally:
    hit: int = 0
    total: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    def add(self, ok: bool, miss: dict[str, Any] | None = None) -> None:
        self.total += 1
        if ok:
            self.hit += 1
        elif miss is not None:
            self.misses.append(miss)

    @property
    def value(self) -> float | None:
        return _ratio(self.hit, self.total)


def _show(types: frozenset[str], nullable: bool) -> str:
    text = "|".join(sorted(types)) or "any"
    return text + ("|null" if nullable else "")


def score(
    published_spec: dict[str, Any],
    exported_spec: dict[str, Any],
    observed: dict[tuple[str, int], dict[str, set[str]]] | None = None,
) -> dict[str, Any]:
    """Compare an exported spec with the published one; see the module docstring for every definition."""
    pub_ops = _operations(published_spec)
    exp_ops = _operations(exported_spec)
    exp_by_key: dict[str, _Op] = {}
    for op in exp_ops:
        exp_by_key.setdefault(op.key, op)
    pub_keys = {op.key for op in pub_ops}
    matched = [(p, exp_by_key[p.key]) for p in pub_ops if p.key in exp_by_key]
    exp_matched = sum(1 for k in exp_by_key if k in pub_keys)

    observed_norm: dict[tuple[str, str], dict[str, set[str]]] = {}
    if observed is not None:
        prefix = _base_path(published_spec)
        for (label, status), pointers in observed.items():
            method, _, template = label.partition(" ")
            observed_norm[(f"{method.upper()} {normalize_template(template, prefix)}", str(status))] = (
                pointers
            )

    statuses = _Tally()
    fields_pub: dict[tuple[str, str, str], FieldInfo] = {}
    fields_exp: dict[tuple[str, str, str], FieldInfo] = {}
    labels: dict[str, str] = {}
    roots: list[tuple[str, str, FieldInfo, FieldInfo]] = []
    for pub, exp in matched:
        labels[pub.key] = pub.label
        exp_codes = {c for c in exp.responses if c != "default"}
        for code in sorted(c for c in pub.responses if c != "default"):
            statuses.add(_covers(exp_codes, code), {"operation": pub.label, "status": code})
            if code not in exp.responses:
                continue
            pub_flat = flatten(published_spec, _body_schema(published_spec, pub.responses[code]))
            exp_flat = flatten(exported_spec, _body_schema(exported_spec, exp.responses[code]))
            for pointer, info in pub_flat.items():
                if pointer:
                    fields_pub[(pub.key, code, pointer)] = info
            for pointer, info in exp_flat.items():
                if pointer:
                    fields_exp[(pub.key, code, pointer)] = info
            if "" in pub_flat and "" in exp_flat:
                roots.append((pub.key, code, pub_flat[""], exp_flat[""]))

    def where(key: tuple[str, str, str]) -> dict[str, str]:
        return {"operation": labels.get(key[0], key[0]), "status": key[1], "field": key[2]}

    common = sorted(set(fields_pub) & set(fields_exp))
    types = _Tally()
    required = _Tally()
    formats = _Tally()
    format_precision = _Tally()
    enums = _Tally()
    false_enums: list[dict[str, Any]] = []
    nullable = _Tally()
    nodes = [((k, c, ""), p, e) for k, c, p, e in roots] + [
        (key, fields_pub[key], fields_exp[key]) for key in common
    ]
    for key, p, e in nodes:
        if not p.types and not p.nullable:
            continue  # the published schema does not say
        # null is ignored on both sides, unless it is the only published type
        agree = p.types == e.types if p.types else (not e.types and e.nullable)
        types.add(
            agree,
            {**where(key), "published": _show(p.types, p.nullable), "exported": _show(e.types, e.nullable)},
        )
    for key in common:
        p, e = fields_pub[key], fields_exp[key]
        nullable.add(
            p.nullable == e.nullable, {**where(key), "published": p.nullable, "exported": e.nullable}
        )
        if p.kind == "property":
            required.add(
                p.required == e.required, {**where(key), "published": p.required, "exported": e.required}
            )
        pub_formats = {f for f in p.formats if f not in UNOBSERVABLE_FORMATS}
        exp_formats = {f for f in e.formats if f not in UNOBSERVABLE_FORMATS}
        if pub_formats:
            formats.add(
                bool(pub_formats & exp_formats),
                {**where(key), "published": sorted(pub_formats), "exported": sorted(exp_formats)},
            )
        if exp_formats:
            format_precision.add(bool(pub_formats & exp_formats))
        if p.enum is None and e.enum is not None:
            false_enums.append({**where(key), "exported": sorted(e.enum)})
        if p.enum is not None:
            seen = (
                observed_norm.get((key[0], key[1]), {}).get(key[2], set()) if observed is not None else set()
            )
            needed = seen & p.enum
            ok = bool(e.enum) and e.enum <= p.enum and needed <= (e.enum or frozenset())
            enums.add(
                ok,
                {
                    **where(key),
                    "published": sorted(p.enum),
                    "exported": sorted(e.enum) if e.enum is not None else None,
                    "observed": sorted(needed),
                },
            )

    n_pub, n_exp, n_common = len(fields_pub), len(fields_exp), len(common)
    recall, precision = _ratio(n_common, n_pub), _ratio(n_common, n_exp)
    f1 = 2 * recall * precision / (recall + precision) if recall and precision else (0.0 if n_pub else None)
    result: dict[str, Any] = {
        "operation_recall": _ratio(len(matched), len(pub_ops)),
        "operation_precision": _ratio(exp_matched, len(exp_ops)),
        "status_recall": statuses.value,
        "field_recall": recall,
        "field_precision": precision,
        "field_f1": f1,
        "type_accuracy": types.value,
        "required_accuracy": required.value,
        "format_recall": formats.value,
        "enum_recall": enums.value,
        "extra": {
            "false_enums": len(false_enums),
            "nullable_accuracy": nullable.value,
            "format_precision": format_precision.value,
        },
        "counts": {
            "operations": {"published": len(pub_ops), "exported": len(exp_ops), "matched": len(matched)},
            "statuses": {"published": statuses.total, "matched": statuses.hit},
            "fields": {"published": n_pub, "exported": n_exp, "matched": n_common},
            "types": {"checked": types.total, "agree": types.hit},
            "required": {"checked": required.total, "agree": required.hit},
            "formats": {"checked": formats.total, "agree": formats.hit},
            "enums": {"checked": enums.total, "covered": enums.hit},
        },
        "mismatches": {
            "operations_missing": sorted(p.label for p in pub_ops if p.key not in exp_by_key),
            "operations_extra": sorted(e.label for e in exp_ops if e.key not in pub_keys),
            "statuses_missing": statuses.misses,
            "fields_missing": [where(k) for k in sorted(set(fields_pub) - set(fields_exp))],
            "fields_extra": [where(k) for k in sorted(set(fields_exp) - set(fields_pub))],
            "types": types.misses,
            "required": required.misses,
            "formats": formats.misses,
            "enums": enums.misses,
            "false_enums": false_enums,
        },
    }
    if observed is not None:
        seen_fields = sum(
            1 for (op, code, pointer) in fields_pub if pointer in observed_norm.get((op, code), {})
        )
        all_pub_fields = 0
        seen_all = 0
        for op in pub_ops:
            for code, response in op.responses.items():
                for pointer in flatten(published_spec, _body_schema(published_spec, response)):
                    if pointer:
                        all_pub_fields += 1
                        seen_all += pointer in observed_norm.get((op.key, code), {})
        published_statuses = [(op.key, c) for op in pub_ops for c in op.responses if c != "default"]
        result["extra"]["field_coverage"] = _ratio(seen_all, all_pub_fields)
        result["extra"]["matched_field_coverage"] = _ratio(seen_fields, n_pub)
        result["extra"]["status_coverage"] = _ratio(
            sum(1 for k in published_statuses if k in observed_norm), len(published_statuses)
        )
    return result


JUDGED = (
    "operation_recall",
    "operation_precision",
    "status_recall",
    "field_recall",
    "field_precision",
    "field_f1",
    "type_accuracy",
    "required_accuracy",
    "format_recall",
    "enum_recall",
)
