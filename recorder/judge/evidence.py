"""Schemas against evidence: walking one documented schema alongside one evidence summary, collecting problems.

A summary (`recorder.learn.infer`) holds counts per type, presence of fields, nulls, formats, a capped set
of distinct values and ranges; the walker turns every difference from the documented schema into a
`Problem` with a count, and a probe that tells whether one exchange's value shows it (for examples, and for
checks a summary cannot answer).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recorder.common.jsonvalues import json_type, type_accepts
from recorder.common.schemas import merge_all_of, schema_types, union_schema
from recorder.learn.finalize import subschemas
from recorder.learn.strformats import FORMAT_PATTERNS, matches_format, string_formats

# A value predicate over one exchange: does this exchange show the problem? (for examples)
Probe = Callable[[Any], bool]


@dataclass
class Problem:
    """A difference found while walking a schema and its evidence, before it becomes a `Finding`."""

    kind: str
    location: str
    message: str
    expected: Any
    observed: Any
    count: int
    pointer: tuple[str, ...] = ()  # where in the body (with "*" for items/map values)
    probe: Probe | None = None  # applied to the value at `pointer` (or to the parent for missing fields)
    probe_parent: bool = False
    which: str = "response"  # response | request | query | header | operation
    status: str | None = None
    param: str | None = None  # the parameter, for query and header problems


def _ptr(pointer: tuple[str, ...]) -> str:
    return "/" + "/".join(pointer) if pointer else "/"


class SchemaWalker:
    """Walks one documented schema alongside one evidence summary and collects problems."""

    def __init__(
        self, which: str, status: str | None, prefix: str, param: str | None = None, text: bool | None = None
    ) -> None:
        self.which = which
        self.status = status
        self.prefix = prefix
        self.param = param
        # values that were text on the wire (parameters, forms): `5` is a fine value where a string is due
        self.text = which in ("query", "header") if text is None else text
        self.problems: list[Problem] = []

    def add(
        self,
        kind: str,
        pointer: tuple[str, ...],
        message: str,
        expected: Any,
        observed: Any,
        count: int,
        probe: Probe | None = None,
        probe_parent: bool = False,
    ) -> None:
        self.problems.append(
            Problem(
                kind=kind,
                location=self.prefix
                + (_ptr(pointer) if pointer or self.which in ("request", "response") else ""),
                message=message,
                expected=expected,
                observed=observed,
                count=count,
                pointer=pointer,
                probe=probe,
                probe_parent=probe_parent,
                which=self.which,
                status=self.status,
                param=self.param,
            )
        )

    def walk(
        self, doc: dict[str, Any] | None, summary: dict[str, Any], pointer: tuple[str, ...] = ()
    ) -> None:
        if not doc or not summary:
            return
        if "allOf" in doc:
            doc = merge_all_of(doc)
        branches = doc.get("anyOf") or doc.get("oneOf")
        for part in subschemas(summary):
            if branches:
                self._part_in_branches(branches, doc, part, pointer)
            else:
                self._part(doc, part, pointer)

    def _part_in_branches(
        self,
        branches: list[dict[str, Any]],
        doc: dict[str, Any],
        part: dict[str, Any],
        pointer: tuple[str, ...],
    ) -> None:
        kind = part["type"]
        n = part.get("x-stats", {}).get("n", 0)
        fitting = [
            b for b in branches if (schema_types(b) is None or type_accepts(schema_types(b) or set(), kind))
        ]
        if kind == "null" and (doc.get("nullable") or "null" in (schema_types(doc) or set())):
            return
        if not fitting:
            allowed = sorted({t for b in branches for t in (schema_types(b) or {"any"})})
            self.add(
                "type-mismatch",
                pointer,
                f"{kind} where the contract allows {' or '.join(allowed)}",
                allowed,
                kind,
                n,
                _type_probe(kind),
            )
            return
        # evidence merges every value seen here, whichever branch it belonged to: judge it on the union
        self._part(union_schema([merge_all_of(b) for b in fitting]), part, pointer)

    def _part(self, doc: dict[str, Any], part: dict[str, Any], pointer: tuple[str, ...]) -> None:
        kind = part["type"]
        stats = part.get("x-stats", {})
        n = stats.get("n", 0)
        types = schema_types(doc)
        if self.which in ("query", "header") and types == {"array"} and kind != "array":
            # `?tag=a` is a one-item array of a parameter documented as an array; `?ids=a,b` a joined one
            items = doc.get("items") or {}
            split = _split_commas(part) if kind == "string" else part
            if split is None:  # joined values too long to have been remembered: ask recent exchanges
                kind_name = "format-mismatch" if items.get("format") else "type-mismatch"
                self.add(
                    kind_name,
                    pointer,
                    "items that do not fit the documented array items",
                    items,
                    "joined values",
                    -1,
                    lambda v, sch=items: not scalar_fits(sch, v),
                )
                return
            self._part(items, split, pointer)
            return
        if self.text and kind in ("integer", "number", "boolean") and types and "string" in types:
            # parameters and forms are text on the wire: 5 is a fine value for a string parameter
            if kind == "boolean":
                vals = [["true", stats.get("t", 0)], ["false", n - stats.get("t", 0)]]
            else:
                vals = None if stats.get("vals") is None else [[str(v), c] for v, c in stats["vals"]]
            self._values(doc, vals, n, pointer, text=True)
            return
        if kind == "null":
            if types is not None and "null" not in types:
                self.add(
                    "null-violation",
                    pointer,
                    "null where the contract does not allow null",
                    sorted(types),
                    None,
                    n,
                    lambda v: v is None,
                )
            return
        integral_numbers = (
            kind == "number" and types is not None and "integer" in types and not stats.get("nf")
        )
        if types is not None and not type_accepts(types, kind) and not integral_numbers:
            self.add(
                "type-mismatch",
                pointer,
                f"{kind} where the contract says {' or '.join(sorted(types - {'null'}))}",
                sorted(types),
                kind,
                n,
                _type_probe(kind),
            )
            return
        if (
            kind == "number"
            and types is not None
            and "integer" in types
            and "number" not in types
            and stats.get("nf")
        ):
            self.add(
                "type-mismatch",
                pointer,
                "decimal numbers where the contract says integer",
                "integer",
                "number",
                stats["nf"],
                _is_float,
            )
        if kind == "string":
            self._string(doc, stats, n, pointer)
        elif kind in ("integer", "number"):
            self._number(doc, stats, n, pointer)
        elif kind == "boolean":
            self._values(doc, [[True, stats.get("t", 0)], [False, n - stats.get("t", 0)]], n, pointer)
        elif kind == "object":
            self._object(doc, part, stats, n, pointer)
        elif kind == "array":
            self._array(doc, part, stats, n, pointer)

    def _string(self, doc: dict[str, Any], stats: dict[str, Any], n: int, pointer: tuple[str, ...]) -> None:
        redacted = stats.get("red", 0)
        fmt = doc.get("format")
        if fmt in FORMAT_PATTERNS:
            bad = n - stats.get("fmt", {}).get(fmt, 0) - redacted
            if bad > 0:
                self.add(
                    "format-mismatch",
                    pointer,
                    f"values that are not {fmt}",
                    fmt,
                    "other strings",
                    bad,
                    lambda v, f=fmt: (
                        isinstance(v, str) and not v.startswith("<redacted:") and not matches_format(v, f)
                    ),
                )
        self._values(doc, stats.get("vals"), n - redacted, pointer)
        pattern = doc.get("pattern")
        if pattern:
            try:
                regex = re.compile(pattern)
            except re.error:
                regex = None
            if regex is not None:
                vals = stats.get("vals")

                def probe(v: Any, r: re.Pattern[str] = regex) -> bool:
                    return isinstance(v, str) and not v.startswith("<redacted:") and r.search(v) is None

                if vals is None or stats.get("long"):
                    self.add(
                        "pattern-mismatch",
                        pointer,
                        f"values checked against {pattern} in recent exchanges",
                        pattern,
                        None,
                        -1,
                        probe,
                    )
                else:
                    bad = [[v, c] for v, c in vals if regex.search(str(v)) is None]
                    if bad:
                        self.add(
                            "pattern-mismatch",
                            pointer,
                            f"values not matching {pattern}",
                            pattern,
                            [v for v, _ in bad][:5],
                            sum(c for _, c in bad),
                            probe,
                        )
        low, high = doc.get("minLength"), doc.get("maxLength")
        if (low is not None and (stats.get("minL") or 0) < low) or (
            high is not None and (stats.get("maxL") or 0) > high
        ):
            self.add(
                "range-violation",
                pointer,
                f"length {stats.get('minL')}..{stats.get('maxL')} outside {low}..{high}",
                {"minLength": low, "maxLength": high},
                {"min": stats.get("minL"), "max": stats.get("maxL")},
                -1,
                lambda v, lo=low, hi=high: (
                    isinstance(v, str)
                    and ((lo is not None and len(v) < lo) or (hi is not None and len(v) > hi))
                ),
            )

    def _number(self, doc: dict[str, Any], stats: dict[str, Any], n: int, pointer: tuple[str, ...]) -> None:
        self._values(doc, stats.get("vals"), n, pointer)
        low, high = doc.get("minimum"), doc.get("maximum")
        xlow, xhigh = doc.get("exclusiveMinimum"), doc.get("exclusiveMaximum")
        omin, omax = stats.get("min"), stats.get("max")
        if omin is None:
            return
        bad = (
            (low is not None and omin < low)
            or (high is not None and omax > high)
            or (isinstance(xlow, (int, float)) and not isinstance(xlow, bool) and omin <= xlow)
            or (isinstance(xhigh, (int, float)) and not isinstance(xhigh, bool) and omax >= xhigh)
        )
        if bad:

            def probe(v: Any, lo=low, hi=high, xl=xlow, xh=xhigh) -> bool:
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    return False
                return bool(
                    (lo is not None and v < lo)
                    or (hi is not None and v > hi)
                    or (isinstance(xl, (int, float)) and not isinstance(xl, bool) and v <= xl)
                    or (isinstance(xh, (int, float)) and not isinstance(xh, bool) and v >= xh)
                )

            self.add(
                "range-violation",
                pointer,
                f"values {omin}..{omax} outside the documented range",
                {"minimum": low, "maximum": high},
                {"min": omin, "max": omax},
                -1,
                probe,
            )

    def _values(
        self,
        doc: dict[str, Any],
        vals: list[list[Any]] | None,
        n: int,
        pointer: tuple[str, ...],
        text: bool = False,
    ) -> None:
        if "const" in doc:
            allowed, kind = [doc["const"]], "const-mismatch"
        elif isinstance(doc.get("enum"), list):
            allowed, kind = [v for v in doc["enum"] if v is not None], "enum-violation"
        else:
            return
        if text:
            allowed = [str(v).lower() if isinstance(v, bool) else str(v) for v in allowed]

        def probe(v: Any, a: list[Any] = allowed) -> bool:
            if text and v is not None:
                v = str(v).lower() if isinstance(v, bool) else str(v)
            return v is not None and not (isinstance(v, str) and v.startswith("<redacted:")) and v not in a

        if vals is None:
            if n > len(allowed):
                self.add(
                    kind,
                    pointer,
                    f"more distinct values than the {len(allowed)} allowed",
                    allowed,
                    "many values",
                    -1,
                    probe,
                )
            return
        outside = [
            [v, c]
            for v, c in vals
            if c and v not in allowed and not (isinstance(v, str) and v.startswith("<redacted:"))
        ]
        if outside:
            what = (
                "values outside the enum" if kind == "enum-violation" else "a value other than the constant"
            )
            self.add(
                kind, pointer, what, allowed, [v for v, _ in outside][:10], sum(c for _, c in outside), probe
            )

    def _object(
        self,
        doc: dict[str, Any],
        part: dict[str, Any],
        stats: dict[str, Any],
        n: int,
        pointer: tuple[str, ...],
    ) -> None:
        props = doc.get("properties") or {}
        present = stats.get("p", {})
        observed_props = part.get("properties") or {}
        keys = _map_key_counts(part)  # names evidence filed as map keys ("-1", "2024-05-01") still count
        for name in doc.get("required") or []:
            seen = present.get(name, 0) + keys.get(name, 0)
            if seen < n:
                self.add(
                    "field-missing",
                    (*pointer, name),
                    f"required field {name!r} missing",
                    "present",
                    "missing",
                    n - seen,
                    lambda v, k=name: isinstance(v, dict) and k not in v,
                    probe_parent=True,
                )
        extra = doc.get("additionalProperties")
        for name in sorted(observed_props):
            sub = observed_props[name]
            if name in props:
                self.walk(props[name], sub, (*pointer, name))
            elif isinstance(extra, dict):
                self.walk(extra, sub, (*pointer, "*"))
            elif extra is False:
                self.add(
                    "field-not-allowed",
                    (*pointer, name),
                    f"field {name!r} where the contract allows no other fields",
                    sorted(props),
                    name,
                    present.get(name, 0),
                    lambda v, k=name: isinstance(v, dict) and k in v,
                    probe_parent=True,
                )
            elif props or doc.get("type") == "object":
                self.add(
                    "field-undocumented",
                    (*pointer, name),
                    f"undocumented field {name!r}",
                    None,
                    name,
                    present.get(name, 0),
                    lambda v, k=name: isinstance(v, dict) and k in v,
                    probe_parent=True,
                )
        if isinstance(part.get("additionalProperties"), dict):
            if isinstance(extra, dict):
                self.walk(extra, part["additionalProperties"], (*pointer, "*"))
            elif extra is False:
                self.add(
                    "field-not-allowed",
                    (*pointer, "*"),
                    "keys where the contract allows no other fields",
                    sorted(props),
                    "dynamic keys",
                    stats.get("mapN", 0),
                )
            elif props:
                self.add(
                    "field-undocumented",
                    (*pointer, "*"),
                    "undocumented dynamic keys (a map)",
                    None,
                    "dynamic keys",
                    stats.get("mapN", 0),
                )

    def _array(
        self,
        doc: dict[str, Any],
        part: dict[str, Any],
        stats: dict[str, Any],
        n: int,
        pointer: tuple[str, ...],
    ) -> None:
        items = doc.get("items")
        if isinstance(items, dict) and part.get("items"):
            self.walk(items, part["items"], (*pointer, "*"))
        low, high = doc.get("minItems"), doc.get("maxItems")
        omin, omax = stats.get("min"), stats.get("max")
        if omin is not None and ((low is not None and omin < low) or (high is not None and omax > high)):
            self.add(
                "range-violation",
                pointer,
                f"arrays of {omin}..{omax} items outside {low}..{high}",
                {"minItems": low, "maxItems": high},
                {"min": omin, "max": omax},
                -1,
                lambda v, lo=low, hi=high: (
                    isinstance(v, list)
                    and ((lo is not None and len(v) < lo) or (hi is not None and len(v) > hi))
                ),
            )


def scalar_fits(schema: dict[str, Any], value: Any) -> bool:
    """Does a scalar query/header value (text on the wire) fit a scalar schema: type, format, enum, pattern?"""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    types = schema_types(schema) or {"string"}
    if "string" not in types:
        ok = False
        if types & {"integer", "number"}:
            try:
                number = float(text)
                ok = "number" in types or number.is_integer()
            except ValueError:
                ok = False
        if "boolean" in types and text in ("true", "false"):
            ok = True
        if not ok:
            return False
    if schema.get("format") in FORMAT_PATTERNS and not matches_format(text, schema["format"]):
        return False
    allowed = schema.get("enum")
    if isinstance(allowed, list) and text not in [
        str(v).lower() if isinstance(v, bool) else str(v) for v in allowed
    ]:
        return False
    pattern = schema.get("pattern")
    if pattern:
        try:
            return re.search(pattern, text) is not None
        except re.error:
            return True
    return True


def _split_commas(part: dict[str, Any]) -> dict[str, Any] | None:
    """Evidence of a comma-joined array parameter (`ids=a,b,c`) as evidence of its items."""
    stats = part.get("x-stats", {})
    vals = stats.get("vals")
    if vals is None or stats.get("long"):
        return None
    if not any("," in str(v) for v, _ in vals):
        return part
    pieces: dict[str, int] = {}
    for value, count in vals:
        for piece in str(value).split(","):
            pieces[piece] = pieces.get(piece, 0) + count
    formats: dict[str, int] = {}
    for piece, count in pieces.items():
        for fmt in string_formats(piece):
            formats[fmt] = formats.get(fmt, 0) + count
    n = sum(pieces.values())
    new_stats = {"n": n, "fmt": formats, "vals": [[k, c] for k, c in sorted(pieces.items())]}
    return {"type": "string", "x-stats": new_stats}


def _map_key_counts(part: dict[str, Any]) -> dict[str, int]:
    """How often each key was seen among an object's map entries (when few enough to be remembered)."""
    names = part.get("propertyNames")
    out: dict[str, int] = {}
    for sub in subschemas(names) if isinstance(names, dict) else ():
        for value, count in sub.get("x-stats", {}).get("vals") or []:
            out[str(value)] = out.get(str(value), 0) + count
    return out


def _type_probe(kind: str) -> Probe:
    return lambda v: json_type(v) == kind


def _is_float(v: Any) -> bool:
    return json_type(v) == "number"
