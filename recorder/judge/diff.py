"""Diff: an old contract against a new one, classified like oasdiff's checks, with a suggested version bump.

Breaking: removed operations, status codes, response content types and response fields; response fields
becoming optional or nullable; request fields or parameters becoming required; type and format changes;
enum values removed from responses or added to requests. Additions are non-breaking (`info`); narrowing that
may surprise someone is a `warning`.
"""

from __future__ import annotations

from typing import Any

from recorder.common.http import media_type
from recorder.common.schemas import schema_types
from recorder.judge.severity import DIFF
from recorder.model import Contract, Finding, Operation, Parameter, finding_order


def _norm(path: str) -> str:
    return "/".join("{}" if seg.startswith("{") and seg.endswith("}") else seg for seg in path.split("/"))


class _Diff:
    def __init__(self, op: str) -> None:
        self.op = op
        self.findings: list[Finding] = []

    def add(self, kind: str, location: str, message: str, old: Any = None, new: Any = None) -> None:
        self.findings.append(
            Finding(
                kind=kind,
                severity=DIFF[kind],
                operation=self.op,
                location=location,
                message=message,
                expected=old,
                observed=new,
            )  # type: ignore[arg-type]
        )

    def schema(
        self, old: dict[str, Any] | None, new: dict[str, Any] | None, loc: str, request: bool, depth: int = 0
    ) -> None:
        if not old or not new or depth > 40:
            return
        old_t, new_t = (
            (schema_types(old, branches=True) or set()),
            (schema_types(new, branches=True) or set()),
        )
        if old_t and new_t and (old_t - {"null"}) != (new_t - {"null"}):
            widened_number = (
                (old_t - {"null"}) == {"integer"} and (new_t - {"null"}) == {"number"} and request
            )
            narrowed_number = (
                (old_t - {"null"}) == {"number"} and (new_t - {"null"}) == {"integer"} and not request
            )
            if not (widened_number or narrowed_number):
                self.add("type-changed", loc, f"type {_t(old_t)} -> {_t(new_t)}", _t(old_t), _t(new_t))
                return
        if "null" in new_t and "null" not in old_t and old_t and not request:
            self.add("nullable-added", loc, "may now be null", False, True)
        if "null" in old_t and "null" not in new_t and new_t and not request:
            self.add("nullable-removed", loc, "no longer null", True, False)
        self._format(old, new, loc, request)
        self._enum(old, new, loc, request)
        if old.get("pattern") != new.get("pattern") and (old.get("pattern") or new.get("pattern")):
            self.add("pattern-changed", loc, "pattern changed", old.get("pattern"), new.get("pattern"))
        if "object" in old_t or "object" in new_t:
            self._object(old, new, loc, request, depth)
        if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
            self.schema(old["items"], new["items"], f"{loc.rstrip('/')}/*", request, depth + 1)

    def _format(self, old: dict[str, Any], new: dict[str, Any], loc: str, request: bool) -> None:
        a, b = old.get("format"), new.get("format")
        if a == b:
            return
        if a and b:
            self.add("format-changed", loc, f"format {a} -> {b}", a, b)
        elif b:  # a constraint appears: stricter for requests
            self.add("format-changed" if request else "format-added", loc, f"format {b} added", None, b)
        else:  # a constraint disappears: looser responses surprise consumers
            self.add("format-removed" if request else "format-changed", loc, f"format {a} removed", a, None)

    def _enum(self, old: dict[str, Any], new: dict[str, Any], loc: str, request: bool) -> None:
        a = old.get("enum") if isinstance(old.get("enum"), list) else None
        b = new.get("enum") if isinstance(new.get("enum"), list) else None
        if a is None or b is None:
            return
        removed = [v for v in a if v not in b]
        added = [v for v in b if v not in a]
        if removed:
            kind = "enum-value-removed-request" if request else "enum-value-removed"
            self.add(kind, loc, f"enum values removed: {_values(removed)}", a, b)
        if added:
            kind = "enum-value-added" if request else "enum-value-added-response"
            self.add(kind, loc, f"enum values added: {_values(added)}", a, b)

    def _object(self, old: dict[str, Any], new: dict[str, Any], loc: str, request: bool, depth: int) -> None:
        op, np_ = old.get("properties") or {}, new.get("properties") or {}
        oreq, nreq = set(old.get("required") or []), set(new.get("required") or [])
        base = loc.rstrip("/")
        for name in sorted(set(op) | set(np_)):
            where = f"{base}/{name}"
            if name in op and name not in np_:
                if request:
                    self.add(
                        "request-field-removed",
                        where,
                        f"request field {name!r} removed",
                        "present",
                        "removed",
                    )
                else:
                    self.add("field-removed", where, f"response field {name!r} removed", "present", "removed")
                continue
            if name not in op:
                if request and name in nreq:
                    self.add(
                        "field-added-required",
                        where,
                        f"new required request field {name!r}",
                        None,
                        "required",
                    )
                else:
                    self.add("field-added", where, f"new field {name!r}", None, "added")
                continue
            if not request and name in oreq and name not in nreq:
                self.add(
                    "field-became-optional",
                    where,
                    f"response field {name!r} is no longer required",
                    "required",
                    "optional",
                )
            if request and name in nreq and name not in oreq:
                self.add(
                    "field-became-required",
                    where,
                    f"request field {name!r} is now required",
                    "optional",
                    "required",
                )
            self.schema(op[name], np_[name], where, request, depth + 1)
        if isinstance(old.get("additionalProperties"), dict) and isinstance(
            new.get("additionalProperties"), dict
        ):
            self.schema(
                old["additionalProperties"], new["additionalProperties"], f"{base}/*", request, depth + 1
            )


def _t(types: set[str]) -> str:
    return " or ".join(sorted(types - {"null"})) or "any"


def _values(values: list[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:8])
    return shown + (f" and {len(values) - 8} more" if len(values) > 8 else "")


def _params(op: Operation) -> dict[tuple[str, str], Parameter]:
    return {
        (p.location, p.name.lower() if p.location == "header" else p.name): p
        for p in op.parameters
        if p.location != "path"
    }


def diff_operation(old: Operation, new: Operation, key: str) -> list[Finding]:
    """Findings between two versions of one operation."""
    d = _Diff(key)
    oparams, nparams = _params(old), _params(new)
    for pkey in sorted(set(oparams) | set(nparams)):
        where = f"{pkey[0]}: {pkey[1]}"
        a, b = oparams.get(pkey), nparams.get(pkey)
        if a and not b:
            d.add("parameter-removed", where, f"{pkey[0]} parameter {pkey[1]!r} removed")
        elif b and not a:
            if b.required:
                d.add(
                    "parameter-added-required",
                    where,
                    f"new required {pkey[0]} parameter {pkey[1]!r}",
                    None,
                    "required",
                )
            else:
                d.add(
                    "parameter-added",
                    where,
                    f"new optional {pkey[0]} parameter {pkey[1]!r}",
                    None,
                    "optional",
                )
        elif a and b:
            if b.required and not a.required:
                d.add(
                    "parameter-became-required",
                    where,
                    f"{pkey[0]} parameter {pkey[1]!r} is now required",
                    "optional",
                    "required",
                )
            d.schema(a.schema_, b.schema_, where, request=True)
    opath = {p.name: p for p in old.parameters if p.location == "path"}
    npath = [p for p in new.parameters if p.location == "path"]
    for a, b in zip(opath.values(), npath, strict=False):
        d.schema(a.schema_, b.schema_, f"path: {b.name}", request=True)
    if new.request_body_required and not old.request_body_required:
        d.add(
            "request-body-became-required",
            "request body",
            "request body is now required",
            "optional",
            "required",
        )
    obodies = {media_type(b.media_type): b for b in old.request_bodies}
    nbodies = {media_type(b.media_type): b for b in new.request_bodies}
    for mt in sorted(set(obodies) & set(nbodies)):
        d.schema(obodies[mt].schema_, nbodies[mt].schema_, "request body: /", request=True)
    for mt in sorted(set(obodies) - set(nbodies)):
        if nbodies:
            d.add(
                "content-type-removed",
                f"request body ({mt})",
                f"request content type {mt} no longer accepted",
                mt,
                None,
            )
    oresp = {r.status: r for r in old.responses}
    nresp = {r.status: r for r in new.responses}
    for code in sorted(set(oresp) | set(nresp)):
        a, b = oresp.get(code), nresp.get(code)
        if a and not b:
            d.add("status-removed", f"status {code}", f"status {code} removed", code, None)
            continue
        if b and not a:
            d.add("status-added", f"status {code}", f"new status {code}", None, code)
            continue
        assert a is not None and b is not None
        ab = {media_type(x.media_type): x for x in a.bodies}
        bb = {media_type(x.media_type): x for x in b.bodies}
        for mt in sorted(set(ab) | set(bb)):
            if mt in ab and mt not in bb:
                d.add("content-type-removed", f"response {code} ({mt})", f"{mt} responses removed", mt, None)
            elif mt in bb and mt not in ab:
                d.add("content-type-added", f"response {code} ({mt})", f"new {mt} responses", None, mt)
            else:
                d.schema(ab[mt].schema_, bb[mt].schema_, f"response {code}: /", request=False)
    if new.deprecated and not old.deprecated:
        d.add("deprecated", "operation", "operation deprecated", False, True)
    return d.findings


def diff_contracts(old: Contract, new: Contract) -> list[Finding]:
    """Every change from `old` to `new`, breaking first."""
    oops = {(op.method, _norm(op.path)): op for op in old.operations}
    nops = {(op.method, _norm(op.path)): op for op in new.operations}
    findings: list[Finding] = []
    for key in sorted(set(oops) | set(nops)):
        a, b = oops.get(key), nops.get(key)
        label = (b or a).key  # type: ignore[union-attr]
        if a and not b:
            findings.append(
                Finding(
                    kind="operation-removed",
                    severity="breaking",
                    operation=label,
                    message="operation removed",
                )
            )
        elif b and not a:
            findings.append(
                Finding(kind="operation-added", severity="info", operation=label, message="new operation")
            )
        else:
            assert a is not None and b is not None
            findings.extend(diff_operation(a, b, label))
    findings.sort(key=finding_order)
    return findings


def version_bump(findings: list[Finding], evidence_changed: bool = False) -> str:
    """major for breaking changes, minor for additions, patch for evidence-only changes, else none."""
    if any(f.severity == "breaking" for f in findings):
        return "major"
    if findings:
        return "minor"
    return "patch" if evidence_changed else "none"


def bump(version: str, level: str) -> str:
    """`1.4.2` bumped by `minor` -> `1.5.0` (non-numeric versions restart at 0.1.0)."""
    parts = version.split(".")
    try:
        major, minor, patch = (int(p) for p in [*parts, "0", "0", "0"][:3])
    except ValueError:
        major, minor, patch = 0, 0, 0
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    if level == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return f"{major}.{minor}.{patch}"
