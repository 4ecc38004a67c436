"""Drift: observed traffic (evidence summaries) compared with a documented contract -> findings.

The comparison walks each documented schema alongside the evidence summary of the same location, so counts
come from the summaries (type counts, presence, nulls, formats, distinct values) and cost is proportional to
operations, not exchanges. Checks that need values a summary no longer holds (a pattern over more distinct
values than it keeps) and the example exchange ids of each finding come from a bounded scan of the most
recent matching exchanges, through an `ExampleSource`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from recorder.common.http import media_type
from recorder.common.jsonvalues import json_type, type_accepts
from recorder.common.routes import Routes
from recorder.common.schemas import merge_all_of, schema_types, union_schema
from recorder.common.times import iso
from recorder.learn.infer import subschemas
from recorder.learn.strformats import FORMAT_PATTERNS, matches_format, string_formats
from recorder.learn.summaries import OperationSummary
from recorder.model import Contract, Finding, Operation, Response, finding_order

# severities of drift findings
SEVERITY = {
    "operation-undocumented": "warning",
    "operation-unobserved": "info",
    "status-undocumented": "warning",
    "content-type-undocumented": "warning",
    "field-missing": "breaking",
    "field-undocumented": "info",
    "field-not-allowed": "breaking",
    "type-mismatch": "breaking",
    "null-violation": "breaking",
    "format-mismatch": "breaking",
    "enum-violation": "breaking",
    "const-mismatch": "breaking",
    "pattern-mismatch": "breaking",
    "range-violation": "breaking",
    "parameter-undocumented": "warning",
    "parameter-missing": "breaking",
    "request-body-undocumented": "warning",
    "request-body-missing": "breaking",
}

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


@dataclass
class ExampleHit:
    """What a bounded scan found for one problem."""

    ids: list[int] = field(default_factory=list)
    consumers: set[str] = field(default_factory=set)
    first: float | None = None
    last: float | None = None
    matched: int = 0
    rejected: int = 0  # matched exchanges the provider answered with 4xx


class ExampleRow(NamedTuple):
    """One recorded exchange as the example scan sees it."""

    id: int
    started: float
    consumer: str
    request: Any  # parsed JSON request body (or None)
    response: Any  # parsed JSON response body (or None)
    query: dict[str, Any]  # typed query parameters
    headers: dict[str, str]  # request headers (lower-case names)
    status: int | None = None


class ExampleSource:
    """Where examples come from; the default finds none (pure comparisons, tests without a database)."""

    def exchanges(self, method: str, shapes: tuple[str, ...], status: str | None) -> Iterable[ExampleRow]:
        """Recent exchanges of these shapes (and status), newest first, bounded."""
        return ()


# ---------------------------------------------------------------------------------------------------------
# Matching observed shapes to documented operations


def match_operations(
    contract: Contract, summaries: Iterable[OperationSummary]
) -> tuple[dict[str, list[OperationSummary]], list[OperationSummary]]:
    """Observed summaries grouped by the documented operation they belong to, plus the unmatched ones.

    Literal segments win over parameters (`/users/me` is not `/users/{id}`); a typed placeholder of a shape
    (`{int}`) matches only a documented parameter (`recorder.common.routes`)."""
    routes = Routes(contract.operations)
    matched: dict[str, list[OperationSummary]] = {op.key: [] for op in contract.operations}
    unmatched = []
    for summary in summaries:
        op = routes.match_shape(summary.method, summary.shape)
        if op is None:
            unmatched.append(summary)
        else:
            matched[op.key].append(summary)
    return matched, unmatched


# ---------------------------------------------------------------------------------------------------------
# Schema vs evidence


def _ptr(pointer: tuple[str, ...]) -> str:
    return "/" + "/".join(pointer) if pointer else "/"


class _Walker:
    """Walks one documented schema alongside one evidence summary and collects problems."""

    def __init__(self, which: str, status: str | None, prefix: str, param: str | None = None) -> None:
        self.which = which
        self.status = status
        self.prefix = prefix
        self.param = param
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
        if (
            self.which in ("query", "header")
            and kind in ("integer", "number", "boolean")
            and types
            and "string" in types
        ):
            # parameters are text on the wire: 5 is a fine value for a string parameter
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


# ---------------------------------------------------------------------------------------------------------
# Operations


def _response_for(op: Operation, status: str) -> Response | None:
    return op.response(status)


def compare_operation(op: Operation, summary: OperationSummary) -> list[Problem]:
    """Every problem of one documented operation against the merged evidence of its observed shapes."""
    problems: list[Problem] = []
    # parameters
    query_parts = [p for p in subschemas(summary.query.to_schema()) if p["type"] == "object"]
    header_parts = [p for p in subschemas(summary.headers.to_schema()) if p["type"] == "object"]
    for location, parts in (("query", query_parts), ("header", header_parts)):
        documented = {
            p.name.lower() if location == "header" else p.name: p
            for p in op.parameters
            if p.location == location
        }
        for part in parts:
            n = part.get("x-stats", {}).get("n", 0)
            present = part.get("x-stats", {}).get("p", {})
            for name, param in documented.items():
                if param.required and present.get(name, 0) < n:
                    problems.append(
                        Problem(
                            "parameter-missing",
                            f"{location}: {param.name}",
                            f"required {location} parameter {param.name!r} not sent",
                            "present",
                            "missing",
                            n - present.get(name, 0),
                            which=location,
                            probe=_param_probe(location, param.name, missing=True),
                        )
                    )
            for name, sub in sorted((part.get("properties") or {}).items()):
                param = documented.get(name)
                if param is None and "[" in name and name.split("[", 1)[0] in documented:
                    continue  # `created[gte]`: a member of a deepObject parameter
                if param is None:
                    if location == "header" and not _interesting_header(name, op):
                        continue
                    problems.append(
                        Problem(
                            "parameter-undocumented",
                            f"{location}: {name}",
                            f"undocumented {location} parameter {name!r}",
                            None,
                            name,
                            present.get(name, 0),
                            which=location,
                            probe=_param_probe(location, name, missing=False),
                        )
                    )
                    continue
                walker = _Walker(location, None, f"{location}: {param.name}", param.name)
                walker.walk(_param_schema_for_text(param.schema_), sub)
                problems.extend(walker.problems)
    # request bodies
    documented_bodies = {media_type(b.media_type) or b.media_type: b for b in op.request_bodies}
    total_requests = sum(b.n for b in summary.requests.values())
    if op.request_body_required and total_requests < summary.n and summary.n:
        problems.append(
            Problem(
                "request-body-missing",
                "request body",
                "required request body not sent",
                "body",
                "none",
                summary.n - total_requests,
                which="request",
            )
        )
    for mt, body in sorted(summary.requests.items()):
        doc_body = documented_bodies.get(mt) or _wildcard_media(documented_bodies, mt)
        if doc_body is None:
            if documented_bodies or body.n:
                problems.append(
                    Problem(
                        "request-body-undocumented" if not documented_bodies else "content-type-undocumented",
                        f"request body ({mt})",
                        f"request body of type {mt} not documented",
                        sorted(documented_bodies),
                        mt,
                        body.n,
                        which="request",
                    )
                )
            continue
        if body.node is not None and doc_body.schema_:
            walker = _Walker("request", None, "request body: ")
            walker.walk(doc_body.schema_, body.node.to_schema())
            problems.extend(walker.problems)
    # responses
    for code, status in sorted(summary.statuses.items()):
        resp = _response_for(op, code)
        if resp is None:
            problems.append(
                Problem(
                    "status-undocumented",
                    f"status {code}",
                    f"status {code} is not documented",
                    sorted(r.status for r in op.responses),
                    code,
                    status.n,
                    which="operation",
                    status=code,
                )
            )
            continue
        documented = {media_type(b.media_type) or b.media_type: b for b in resp.bodies}
        for mt, body in sorted(status.bodies.items()):
            doc_body = documented.get(mt) or _wildcard_media(documented, mt)
            if doc_body is None:
                if documented:
                    problems.append(
                        Problem(
                            "content-type-undocumented",
                            f"response {code} ({mt})",
                            f"{mt} responses are not documented for {code}",
                            sorted(documented),
                            mt,
                            body.n,
                            which="response",
                            status=code,
                        )
                    )
                continue
            if body.node is not None and doc_body.schema_:
                walker = _Walker("response", code, f"response {code}: ")
                walker.walk(doc_body.schema_, body.node.to_schema())
                problems.extend(walker.problems)
    return problems


def _wildcard_media(documented: dict[str, Any], mt: str) -> Any:
    major = mt.split("/")[0]
    return documented.get(f"{major}/*") or documented.get("*/*")


_NOISE_HEADERS = re.compile(
    r"(?i)^(accept|content-type|authorization|x-consumer|x-request-id|x-correlation-id|x-b3-.*|x-amzn-.*|x-cloud-trace-context|traceparent|tracestate|sec-.*|if-.*|x-forwarded-.*)$"
)


def _interesting_header(name: str, op: Operation) -> bool:
    """Undocumented request headers worth a finding: custom ones, not tracing or transport noise."""
    return not _NOISE_HEADERS.match(name)


def _param_schema_for_text(schema: dict[str, Any]) -> dict[str, Any]:
    return schema or {}


def _param_probe(location: str, name: str, missing: bool) -> Probe:
    def probe(params: Any) -> bool:
        if not isinstance(params, dict):
            return False
        keys = {k.lower() for k in params} if location == "header" else set(params)
        key = name.lower() if location == "header" else name
        return (key not in keys) if missing else (key in keys)

    return probe


# ---------------------------------------------------------------------------------------------------------
# Whole contracts


@dataclass
class DriftResult:
    """Findings and what they were computed from."""

    findings: list[Finding]
    matched: dict[str, list[OperationSummary]]
    unmatched: list[OperationSummary]


def compare(
    contract: Contract,
    summaries: list[OperationSummary],
    source: ExampleSource | None = None,
    *,
    undocumented_templates: Callable[[list[OperationSummary]], dict[str, list[OperationSummary]]]
    | None = None,
    max_examples: int = 3,
) -> DriftResult:
    """Drift of observed summaries against a documented contract."""
    source = source or ExampleSource()
    matched, unmatched = match_operations(contract, summaries)
    findings: list[Finding] = []
    for op in contract.operations:
        members = matched[op.key]
        if not members:
            findings.append(
                Finding(
                    kind="operation-unobserved",
                    severity="info",
                    operation=op.key,
                    message="documented but never observed (coverage)",
                    expected="observed",
                    observed="no traffic",
                )
            )
            continue
        merged = OperationSummary(members[0].provider, op.method.upper(), op.path)
        for m in members:
            merged.load(m.dump())
        shapes = tuple(sorted(m.shape for m in members))
        for problem in compare_operation(op, merged):
            finding = _finding(op.key, op.method.upper(), shapes, problem, merged, source, max_examples)
            if problem.count < 0 and finding.count == 0:
                continue  # a check only recent exchanges could answer, and none showed the problem
            findings.append(finding)
    groups = (
        undocumented_templates(unmatched)
        if undocumented_templates
        else {f"{s.method} {s.shape}": [s] for s in unmatched}
    )
    for key, members in sorted(groups.items()):
        total = sum(m.n for m in members)
        consumers = sorted({c for m in members for c in m.consumers if c})
        first = min((m.first for m in members if m.first is not None), default=None)
        last = max((m.last for m in members if m.last is not None), default=None)
        method = members[0].method
        ids = [
            row.id
            for row in _take(
                source.exchanges(method, tuple(sorted(m.shape for m in members)), None), max_examples
            )
        ]
        statuses = sorted({c for m in members for c in m.statuses})
        findings.append(
            Finding(
                kind="operation-undocumented",
                severity="warning",
                operation=key,
                message=f"observed but not documented (statuses {', '.join(statuses) or 'none'})",
                expected="documented",
                observed="observed",
                count=total,
                first_seen=iso(first),
                last_seen=iso(last),
                consumers=tuple(consumers),
                examples=tuple(ids),
            )
        )
    findings.sort(key=finding_order)
    return DriftResult(findings, matched, unmatched)


def _take(items: Iterable[Any], n: int) -> list[Any]:
    out = []
    for item in items:
        out.append(item)
        if len(out) >= n:
            break
    return out


def _finding(
    op_key: str,
    method: str,
    shapes: tuple[str, ...],
    problem: Problem,
    merged: OperationSummary,
    source: ExampleSource,
    max_examples: int,
) -> Finding:
    hit = _examples(problem, method, shapes, source, max_examples)
    count = problem.count if problem.count >= 0 else hit.matched
    status = merged.statuses.get(problem.status or "") if problem.status else None
    first = hit.first if hit.first is not None else (status.first if status else merged.first)
    last = hit.last if hit.last is not None else (status.last if status else merged.last)
    consumers = hit.consumers or set(status.consumers if status else merged.consumers)
    message = (
        problem.message if problem.count >= 0 else f"{problem.message} ({hit.matched} in recent exchanges)"
    )
    severity = SEVERITY[problem.kind]
    if problem.which in ("query", "header", "request") and hit.matched and hit.rejected == hit.matched:
        # the consumer sent what the contract forbids and the provider refused it: the contract holds
        severity = "warning" if severity == "breaking" else severity
        message += " (the provider rejected these requests with 4xx)"
    return Finding(
        kind=problem.kind,
        severity=severity,  # type: ignore[arg-type]
        operation=op_key,
        location=problem.location,
        message=message,
        expected=problem.expected,
        observed=problem.observed,
        count=count,
        first_seen=iso(first),
        last_seen=iso(last),
        consumers=tuple(sorted(c for c in consumers if c)),
        examples=tuple(hit.ids),
    )


def _examples(
    problem: Problem, method: str, shapes: tuple[str, ...], source: ExampleSource, limit: int
) -> ExampleHit:
    hit = ExampleHit()
    if problem.probe is None and problem.which not in ("operation",):
        return hit
    for row in source.exchanges(method, shapes, problem.status):
        if not shows_problem(problem, row):
            continue
        hit.matched += 1
        if row.status is not None and 400 <= row.status < 500:
            hit.rejected += 1
        if len(hit.ids) < limit:
            hit.ids.append(row.id)
        hit.consumers.add(row.consumer)
        hit.first = row.started if hit.first is None else min(hit.first, row.started)
        hit.last = row.started if hit.last is None else max(hit.last, row.started)
    return hit


def shows_problem(problem: Problem, row: ExampleRow) -> bool:
    """Does this exchange show the problem (its probe holds for a value at the problem's place)?"""
    if problem.which == "operation":
        return True
    if problem.which in ("query", "header"):
        return _param_hit(problem, row)
    if problem.probe is None:
        return False
    body = row.response if problem.which == "response" else row.request
    return any(problem.probe(v) for v in _values_at(body, problem.pointer, problem.probe_parent))


def _param_hit(problem: Problem, row: ExampleRow) -> bool:
    """Does this exchange's query or header value show the problem?"""
    if problem.probe is None:
        return False
    params = row.query if problem.which == "query" else row.headers
    if problem.param is None:  # presence checks look at all parameters
        return problem.probe(params)
    key = problem.param if problem.which == "query" else problem.param.lower()
    if key not in params:
        return False
    value = params[key]
    values = value if isinstance(value, list) else [value]
    if problem.pointer == () and any(isinstance(v, str) and "," in v for v in values):
        values = [p for v in values for p in (v.split(",") if isinstance(v, str) else [v])]
    return any(problem.probe(v) for v in values)


def _values_at(body: Any, pointer: tuple[str, ...], parent: bool) -> Iterator[Any]:
    """Values at a pointer with `*` wildcards (or the objects holding the last key, for missing fields)."""
    path = pointer[:-1] if parent else pointer
    current = [body]
    for key in path:
        nxt = []
        for value in current:
            if key == "*":
                if isinstance(value, list):
                    nxt.extend(value)
                elif isinstance(value, dict):
                    nxt.extend(value.values())
            elif isinstance(value, dict) and key in value:
                nxt.append(value[key])
        current = nxt
        if not current:
            return
    yield from current
