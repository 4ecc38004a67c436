"""From evidence to a clean JSON Schema 2020-12: types, formats, enums, required, maps, `x-evidence`.

A summary (`recorder.learn.infer`) says what was seen; `finalize_schema` decides what a draft contract asserts
from it, with the thresholds of `Thresholds`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from recorder.config import InferenceSettings
from recorder.learn.infer import merge_summaries
from recorder.learn.strformats import STRICT_FORMATS

FREE_FORM_NAMES = frozenset(
    {"metadata", "attributes", "properties", "extra", "custom_fields", "params", "variables", "context"}
)
MAP_NAMES = frozenset(
    {"labels", "annotations", "headers", "selector", "matchlabels", "nodeselector", "env_vars"}
)


# ---------------------------------------------------------------------------------------------------------
# From evidence to a clean schema


@dataclass(frozen=True)
class Thresholds:
    """How much evidence a rule needs before a draft asserts it (defaults: `config.InferenceSettings`)."""

    min_required: int = InferenceSettings().min_required
    min_format: int = InferenceSettings().min_format
    min_format_weak: int = InferenceSettings().min_format_weak
    min_enum: int = InferenceSettings().min_enum
    max_enum: int = InferenceSettings().max_enum
    low_confidence: int = InferenceSettings().low_confidence
    evidence: bool = True

    @property
    def min_enum_category(self) -> int:
        """Observations before an enum on a field whose name says category (`status`, `type`): 3/5 of
        `min_enum`, rounded up (6 of 10)."""
        return (self.min_enum * 3 + 4) // 5


def subschemas(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-type parts of a summary."""
    if not summary:
        return []
    return list(summary["anyOf"]) if "anyOf" in summary else [summary]


def observations(summary: dict[str, Any]) -> int:
    """How many values a summary has seen (all types)."""
    return sum(part.get("x-stats", {}).get("n", 0) for part in subschemas(summary))


def finalize_schema(
    summary: dict[str, Any],
    th: Thresholds,
    name: str = "",
    constant: bool = False,
    entities: int | None = None,
    item: bool = False,
    *,
    pool: FieldPool | None = None,
    pooled: Pooled | None = None,
) -> dict[str, Any]:
    """A clean JSON Schema 2020-12 for a summary: types, formats, enums, required, maps, evidence.

    `constant` says the enclosing object never varied (the same entity observed again and again): its
    fields then never become single-value enums, however often they were seen. `entities` is how many
    different objects the enclosing object's identifiers told apart (None: many, or no identifier): a value
    tied to its entity is not an enum value (see `_is_enum`). `item`: the summary is of the items of an
    array called `name` (the items of `labels: [...]` are labels, not a map of labels). `pool`: the evidence
    of objects of the same structure across the API, which decides enums of fields seen too rarely here;
    `pooled`: that evidence for this very field.
    """
    parts = subschemas(summary)
    if not parts:
        return {}
    nulls = [p for p in parts if p["type"] == "null"]
    typed = [p for p in parts if p["type"] != "null"]
    if not typed:
        return {"type": "null"}
    schemas = [_finalize_part(p, th, name, constant, entities, item, pool, pooled) for p in typed]
    if len(schemas) == 1:
        schema = schemas[0]
        if nulls:
            schema["type"] = [schema["type"], "null"]
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
        return schema
    merged_scalar = _merge_scalar_types(schemas)
    if merged_scalar is not None:
        if nulls:
            merged_scalar["type"] = [*merged_scalar["type"], "null"]
        return merged_scalar
    if nulls:
        schemas.append({"type": "null"})
    return {"anyOf": schemas}


def _merge_scalar_types(schemas: list[dict[str, Any]]) -> dict[str, Any] | None:
    """`{"type": ["integer", "string"]}` when no part carries more than a type."""
    if all(set(s) <= {"type", "format"} for s in schemas) and not any("format" in s for s in schemas):
        return {"type": [s["type"] for s in schemas]}
    return None


def _finalize_part(
    part: dict[str, Any],
    th: Thresholds,
    name: str,
    constant: bool = False,
    entities: int | None = None,
    item: bool = False,
    pool: FieldPool | None = None,
    pooled: Pooled | None = None,
) -> dict[str, Any]:
    kind = part["type"]
    stats = part.get("x-stats", {})
    n = stats.get("n", 0)
    if kind == "string":
        schema = _finalize_string(stats, n, th, name, constant, entities)
        if pooled is not None and "enum" not in schema and "format" not in schema:
            schema = _pooled_enum(schema, stats, pooled, th, name, constant, entities)
        return schema
    if kind in ("integer", "number"):
        schema = {"type": kind}
        if kind == "integer" and _unix_time(stats, n, name, th):
            schema["format"] = "unix-time"
        return schema
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "array":
        schema: dict[str, Any] = {"type": "array"}
        if (stats.get("min") or 0) >= 1 and n >= th.min_enum:
            schema["minItems"] = 1  # never seen empty in many observations
        if part.get("items"):
            schema["items"] = finalize_schema(part["items"], th, name, constant, item=True, pool=pool)
        else:
            schema["items"] = {}
        return schema
    if kind == "object":
        return _finalize_object(part, stats, n, th, "" if item else name, constant, pool)
    return {"type": kind}


_TIME_NAME = re.compile(
    r"(?i)(created|updated|deleted|modified|expires?|_at$|At$|time|date|timestamp|period_(start|end)|since|until)"
)
EPOCH_MIN, EPOCH_MAX = 946_684_800, 4_102_444_800  # 2000-01-01 .. 2100-01-01 in seconds


def _unix_time(stats: dict[str, Any], n: int, name: str, th: Thresholds) -> bool:
    """Integers named like times whose every value is a plausible epoch second (Stripe's `unix-time`)."""
    low, high = stats.get("min"), stats.get("max")
    if low is None or high is None or n < th.min_format or stats.get("nf"):
        return False
    return low >= EPOCH_MIN and high < EPOCH_MAX and bool(_TIME_NAME.search(name or ""))


def _finalize_string(
    stats: dict[str, Any],
    n: int,
    th: Thresholds,
    name: str,
    constant: bool = False,
    entities: int | None = None,
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    fmt = _format(stats, n, th)
    if fmt:
        schema["format"] = fmt
        return schema
    values = stats.get("vals")
    if values and not (constant and len(values) == 1) and _is_enum(values, n, stats, th, name, entities):
        schema["enum"] = sorted(v for v, _ in values)
    return schema


def _format(stats: dict[str, Any], n: int, th: Thresholds) -> str | None:
    """The format every observed value matched, given enough observations."""
    for fmt, count in sorted(stats.get("fmt", {}).items()):
        if count == n and n >= (th.min_format if fmt in STRICT_FORMATS else th.min_format_weak):
            return fmt
    return None


_ID_NAME = re.compile(
    r"(?i)(^id$|_id$|Id$|^uuid$|^guid$|^key$|token|hash|sha|digest|name$|url|uri$|href|email|slug|login|handle"
    r"|nick)"
)
_TEXT_NAME = re.compile(
    r"(?i)(title|description|message|summary|comment|note|text|body)$"
)  # prose, unless codes
_CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")  # PR_TITLE, MERGE_MESSAGE, OWNER: values of a closed set
_IDENTIFIER_TEXT = re.compile(r"[^:@\s]+[:@].*")  # account:alice, spotify:track:4iV5, x@y: names of things
# open sets: contacts, places, codes with hundreds of values, times
_OPEN_NAME = re.compile(
    r"(?i)(phone|zip|postal|postcode|website|address|street|city|suite|country|currency|locale|language$|lang$"
    r"|timezone|date$|time$|_at$|At$|latitude|longitude|^lat$|^lng$|^lon$)"
)
_NUMBER_TEXT = re.compile(r"[-+]?\d+(\.\d+)?")


_CATEGORICAL = re.compile(
    r"(?i)(status|state|type|kind|role|mode|category|level|tier|plan|interval|unit|currency|visibility|direction"
    r"|order|sort|reason|outcome|result|method|format|policy|stage|phase|severity|priority|gender|channel|source"
    r"|platform|environment|env|scope|action|event|object)$"
)
_TITLE_WORDS = re.compile(r"[A-Z][a-z]+(?: [A-Z][a-z]+)*")


def _is_enum(
    values: list[list[Any]],
    n: int,
    stats: dict[str, Any],
    th: Thresholds,
    name: str,
    entities: int | None = None,
) -> bool:
    """A closed set of string values: few distinct values that keep recurring, never ids or free text.

    Closure is judged the Good-Turing way: the share of observations whose value was seen only once estimates
    the chance that the next value is a new one. An enum needs enough observations (`min_enum`), at most
    `max_enum` values, three observations per value on average, and that chance at most 10% (20% for names
    that say "category": status, type, kind, role...). A value must also be shared by different objects:
    when the enclosing object's identifiers tell `entities` objects apart, there must be at most half as
    many values (the same ten users fetched again and again repeat their names, not an enum). Never for
    names of identifiers, names, contacts, places, codes from open sets (country, currency, language) or
    times, nor prose fields (title, description...) unless every value is an upper-case code (`PR_TITLE`);
    never long or redacted strings, text with spaces, numbers in text, names of things (`account:alice`,
    `x@y`) or proper nouns."""
    distinct = len(values)
    categorical = bool(_CATEGORICAL.search(name or ""))
    if n < (th.min_enum_category if categorical else th.min_enum) or distinct == 0 or distinct > th.max_enum:
        return False
    if stats.get("long") or stats.get("red"):
        return False
    texts = [str(v) for v, _ in values]
    codes = all(_CODE.fullmatch(t) for t in texts)  # upper-case codes say "closed set" whatever the name
    if _ID_NAME.search(name or "") or _OPEN_NAME.search(name or ""):
        return False
    if _TEXT_NAME.search(name or "") and not codes:
        return False
    if entities is not None and distinct * 2 > entities:
        return False
    if any(_IDENTIFIER_TEXT.fullmatch(t) for t in texts):
        return False
    if any(" " in t and len(t) > 24 for t in texts):
        return False
    if distinct > 1 and all(_NUMBER_TEXT.fullmatch(t) for t in texts):
        return False
    if distinct * 3 > n:
        return False
    unseen = sum(1 for _, c in values if c == 1) / n  # Good-Turing: the chance the next value is new
    if codes or categorical:
        return unseen <= 0.2
    if distinct > 1 and all(_TITLE_WORDS.fullmatch(t) for t in texts):
        return False  # "Berlin", "Oslo": free text that happened to repeat
    return unseen <= 0.1


def _finalize_object(
    part: dict[str, Any],
    stats: dict[str, Any],
    n: int,
    th: Thresholds,
    name: str,
    constant: bool = False,
    pool: FieldPool | None = None,
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    props = part.get("properties") or {}
    present = stats.get("p", {})
    map_values = part.get("additionalProperties")
    if props and _looks_like_map(props, present, n, name):
        merged = merge_summaries(*props.values(), map_values or {})
        map_values = merged
        props = {}
    if props:
        out: dict[str, Any] = {}
        required = []
        still = constant or not _varies(props)
        entities = _entities(props)
        fields = pool.fields(props) if pool is not None else None
        total, presence = pool.presence(props) if pool is not None else (0, {})
        for key in sorted(props):
            pooled = fields.get(key) if fields else None
            if pooled is not None and observations(pooled[0]) <= observations(props[key]):
                pooled = None  # nothing more than here
            sub = finalize_schema(props[key], th, key, still, entities, pool=pool, pooled=pooled)
            seen = present.get(key, 0)
            if th.evidence:
                evidence: dict[str, Any] = {"seen": seen, "of": n}
                if n < th.low_confidence:
                    evidence["confidence"] = "low"
                sub["x-evidence"] = evidence
            out[key] = sub
            if seen == n and n >= th.min_required and not _by_chance(n, presence.get(key, 0), total):
                required.append(key)
        schema["properties"] = out
        if required:
            schema["required"] = required
    if map_values:
        schema["additionalProperties"] = finalize_schema(map_values, th, name, constant, pool=pool)
    return schema


# a field's pooled evidence, and the entities its objects told apart
Pooled = tuple[dict[str, Any], int | None]
_SCALARS = ("string", "integer", "number", "boolean")


class FieldPool:
    """The evidence of the scalar fields of every object in an API's bodies, pooled by the object's structure
    (its field names): a field seen four times in one operation is judged on the forty times objects of the
    same structure carried it anywhere (GitHub's `security_and_analysis.*.status`, Stripe's
    `three_d_secure.result`). Enums are decided on it, with this field's own values only (Stripe's
    `{id, object, deleted}` says `object: coupon` for coupons and `customer` for customers); and a field seen in
    every one of a few objects here but missing from others of the same structure is not required (see
    `_by_chance`)."""

    def __init__(self, summaries: Iterable[dict[str, Any]]) -> None:
        self._groups: dict[tuple[str, ...], dict[str, list[dict[str, Any]]]] = {}
        self._merged: dict[tuple[str, ...], dict[str, Pooled] | None] = {}
        self._presence: dict[tuple[str, ...], tuple[int, dict[str, int]]] = {}
        stack = [s for s in summaries if s]
        while stack:
            for part in subschemas(stack.pop()):
                if part["type"] == "object":
                    props = part.get("properties") or {}
                    structure = tuple(sorted(props))
                    fields = self._groups.setdefault(structure, {}) if props else {}
                    counts = part.get("x-stats", {}).get("p") or {}
                    if counts:
                        # objects counted: those with a field at all (GitHub's commit `author` is a user or
                        # `{}`: the empty ones are another kind of object, not users without their fields)
                        total, present = self._presence.get(structure, (0, {}))
                        for key, count in counts.items():
                            present[key] = present.get(key, 0) + count
                        self._presence[structure] = (total + max(counts.values()), present)
                    for key, sub in props.items():
                        scalars = [p for p in subschemas(sub) if p["type"] in _SCALARS]
                        if scalars:
                            fields.setdefault(key, []).append(
                                scalars[0] if len(scalars) == 1 else {"anyOf": scalars}
                            )
                        stack.append(sub)
                    if part.get("additionalProperties"):
                        stack.append(part["additionalProperties"])
                elif part["type"] == "array" and part.get("items"):
                    stack.append(part["items"])

    def fields(self, props: dict[str, Any]) -> dict[str, Pooled] | None:
        """The pooled evidence of the fields of objects with these field names (None: seen only once)."""
        key = tuple(sorted(props))
        if key not in self._merged:
            group = self._groups.get(key) or {}
            merged = {k: merge_summaries(*parts) for k, parts in group.items() if len(parts) > 1}
            entities = _entities(merged)
            self._merged[key] = {k: (v, entities) for k, v in merged.items()} or None
        return self._merged[key]

    def presence(self, props: dict[str, Any]) -> tuple[int, dict[str, int]]:
        """How many objects with these field names were seen across the API, and how many had each field."""
        return self._presence.get(tuple(sorted(props)), (0, {}))


CHANCE = 0.05  # a field always present here is required unless that was this likely by chance (`_by_chance`)


def _by_chance(seen: int, present: int, total: int) -> bool:
    """A field present in each of `seen` objects here, and in `present` of the `total` objects of the same
    structure across the API: would an optional field present that often have filled all `seen` by chance?
    (present in 8 of 10 elsewhere: 0.8^9 = 13% for 9 here, so not required; 0.8^14 = 4% for 14 here: it is)"""
    if total <= seen or present >= total:
        return False
    return (present / total) ** seen > CHANCE


def _pooled_enum(
    schema: dict[str, Any],
    stats: dict[str, Any],
    pooled: Pooled,
    th: Thresholds,
    name: str,
    constant: bool,
    entities: int | None,
) -> dict[str, Any]:
    """`schema` with an enum of this field's own values when its own evidence is too thin to tell (too few
    observations, or all of one entity: the same list envelope fetched again) and the pooled evidence says the
    field is one."""
    own = stats.get("vals")
    if not own or (constant and len(own) == 1):
        return schema
    thin = stats.get("n", 0) < th.min_enum or (entities is not None and len(own) * 2 > entities)
    if not thin:
        return schema
    summary, pooled_entities = pooled
    part = next((p for p in subschemas(summary) if p["type"] == "string"), None)
    pstats = part.get("x-stats", {}) if part is not None else {}
    values = pstats.get("vals")
    if values and _is_enum(values, pstats.get("n", 0), pstats, th, name, pooled_entities):
        schema["enum"] = sorted(v for v, _ in own)
    return schema


_IDENTIFIER_KEY = re.compile(
    r"(?i)^(id|uuid|guid|key|uri|url|href|login|username|email|number|slug)$|_id$|Id$"
)


def _entities(props: dict[str, Any]) -> int | None:
    """How many different objects were observed, by their identifier fields (`id`, `uuid`, `login`...):
    the most distinct values any of them took; None when one took too many to count, or there is none."""
    counts = []
    for key, sub in props.items():
        if not _IDENTIFIER_KEY.search(key):
            continue
        for part in subschemas(sub):
            if part["type"] in ("string", "integer", "number"):
                vals = part.get("x-stats", {}).get("vals")
                if vals is None:
                    return None
                counts.append(len(vals))
    return max(counts) if counts else None


def _varies(props: dict[str, Any]) -> bool:
    """True when some scalar field of an object took more than one value (not one entity seen repeatedly)."""
    for sub in props.values():
        for part in subschemas(sub):
            if part["type"] in ("object", "array", "null"):
                continue
            stats = part.get("x-stats", {})
            if part["type"] == "boolean":
                if 0 < stats.get("t", 0) < stats.get("n", 0):
                    return True
                continue
            vals = stats.get("vals", [])
            if vals is None or len(vals) > 1 or stats.get("long"):
                return True
        if len(subschemas(sub)) > 1:
            return True
    return False


def _looks_like_map(props: dict[str, Any], present: dict[str, int], n: int, name: str) -> bool:
    """Objects keyed by data: named like a map (`labels`), or many keys each present in few objects."""
    if name.lower() in MAP_NAMES:
        return True
    if name.lower() in FREE_FORM_NAMES and props and n:
        # `metadata`, `attributes`...: a map when every value is a string (or every one a number) and no key
        # is always there (a structured object, like Kubernetes' metadata, mixes types and has fixed keys)
        kinds = {tuple(sorted(p["type"] for p in subschemas(sub))) for sub in props.values()}
        return (
            len(kinds) == 1
            and kinds.pop() in (("string",), ("integer",), ("number",))
            and all(count < n for count in present.values())
        )
    if len(props) >= 12 and n:
        typical = sorted(present.values())[len(present) // 2] if present else 0
        return typical / n < 0.25
    return False
