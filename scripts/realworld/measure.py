"""The measurements beyond tests/apis/score.py: observed values, false enums, untemplated paths, pact
verification, replay findings and stub validity. Definitions are in scripts/realworld/README.md.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
from apis.score import (
    MAX_ALTERNATIVES,
    _alt_types,
    _body_schema,
    _expand,
    _operations,
    flatten,
    normalize_template,
)

from realworld.specs import SchemaConverter, json_media, resolve, schema_text, status_entry

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------------------------------------
# what the traffic contained (for score(observed=...))


class Observer:
    """Collects, per (operation as published, status), the pointers present and enum values seen."""

    def __init__(self, published: dict[str, Any]) -> None:
        self.spec = published
        self.ops = {op.label: op for op in _operations(published)}
        self.flat: dict[tuple[str, int], dict[str, Any]] = {}
        self.observed: dict[tuple[str, int], dict[str, set[str]]] = {}

    def _flat(self, operation: str, status: int) -> dict[str, Any]:
        key = (operation, status)
        if key not in self.flat:
            op = self.ops.get(operation)
            entry = status_entry(op.responses, status) if op else None
            schema = _body_schema(self.spec, op.responses[entry]) if op and entry else None
            self.flat[key] = flatten(self.spec, schema) if schema is not None else {}
        return self.flat[key]

    def add(self, operation: str, status: int, content_type: str, body: bytes) -> None:
        pointers = self.observed.setdefault((operation, status), {})
        if "json" not in content_type.lower() or not body:
            return
        try:
            value = json.loads(body)
        except ValueError:
            return
        self._walk(self._flat(operation, status), value, "", pointers, 0)

    def _walk(
        self, flat: dict[str, Any], value: Any, pointer: str, out: dict[str, set[str]], depth: int
    ) -> None:
        if depth > 24:
            return
        bucket = out.setdefault(pointer, set())
        if isinstance(value, dict):
            as_map = (pointer + "/*") in flat and not any(f"{pointer}/{_esc(k)}" in flat for k in value)
            for k, v in value.items():
                self._walk(flat, v, pointer + "/*" if as_map else f"{pointer}/{_esc(k)}", out, depth + 1)
        elif isinstance(value, list):
            for v in value:
                self._walk(flat, v, pointer + "/[]", out, depth + 1)
        else:
            info = flat.get(pointer)
            if info is not None and info.enum is not None and len(bucket) < 200:
                bucket.add(json.dumps(value, sort_keys=True))


def _esc(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


# ---------------------------------------------------------------------------------------------------------
# false enums and untemplated paths

ID_RE = re.compile(
    r"(^|_)(id|ids|sha|uuid|guid|key|mbid|tmid|number|node_id|slug|login|username|handle)$|Id$|Ids$", re.I
)
URL_RE = re.compile(r"(url|uri|href|link)s?$", re.I)
TIME_RE = re.compile(r"(_at|_on|date|time|timestamp|updated|created)$", re.I)
TEXT_HINT = re.compile(
    r"(name|title|body|description|message|text|label|bio|about|info|summary|comment|email|company|location|blog|notes?)$",
    re.I,
)


def field_category(pointer: str, types: frozenset[str], formats: frozenset[str]) -> str:
    """id | url | time | free-text | measurement | boolean | other (what an enum on it would mean)."""
    name = [p for p in pointer.split("/") if p not in ("", "[]", "*")]
    last = name[-1] if name else ""
    if "boolean" in types and len(types) == 1:
        return "boolean"
    if ID_RE.search(last) or formats & {"uuid"}:
        return "id"
    if URL_RE.search(last) or formats & {"uri", "url", "uri-template"}:
        return "url"
    if TIME_RE.search(last) or formats & {"date-time", "date", "time"}:
        return "time"
    if types & {"integer", "number"}:
        return "measurement"
    if "string" in types:
        return "free-text" if TEXT_HINT.search(last) or not formats else "other"
    return "other"


def false_enums(published: dict[str, Any], exported: dict[str, Any]) -> dict[str, Any]:
    """Exported enums on fields whose published schema has no enum/const (matched operations and statuses)."""
    pub_ops = _operations(published)
    exp_by_key: dict[str, Any] = {}
    for op in _operations(exported):
        exp_by_key.setdefault(op.key, op)
    items: list[dict[str, Any]] = []
    on_extra: list[dict[str, Any]] = []
    checked = 0
    for pub in pub_ops:
        exp = exp_by_key.get(pub.key)
        if exp is None:
            continue
        for code in sorted(c for c in pub.responses if c != "default" and c in exp.responses):
            pub_flat = flatten(published, _body_schema(published, pub.responses[code]))
            exp_flat = flatten(exported, _body_schema(exported, exp.responses[code]))
            for pointer, e in exp_flat.items():
                if not pointer or not e.enum:
                    continue
                p = pub_flat.get(pointer)
                where = {
                    "operation": pub.label,
                    "status": code,
                    "field": pointer,
                    "exported_enum": sorted(e.enum)[:8],
                    "enum_size": len(e.enum),
                }
                if p is None:
                    on_extra.append(where)
                    continue
                checked += 1
                if p.enum is None:
                    items.append(
                        {
                            **where,
                            "published_type": "|".join(sorted(p.types)) or "any",
                            "published_format": sorted(p.formats),
                            "category": field_category(pointer, p.types, p.formats),
                        }
                    )
    by_category = Counter(i["category"] for i in items)
    return {
        "count": len(items),
        "on_id_or_text": by_category["id"] + by_category["free-text"] + by_category["url"],
        "by_category": dict(by_category),
        "exported_enums_on_matched_fields": checked,
        "items": items,
        "on_undocumented_fields": on_extra,
    }


def untemplated_paths(published: dict[str, Any], exported: dict[str, Any]) -> dict[str, Any]:
    """Exported operations whose path has a literal where the published template has a parameter."""
    pub_keys = {op.key: op for op in _operations(published)}
    concrete: list[dict[str, str]] = []
    over: list[dict[str, str]] = []
    for op in _operations(exported):
        if op.key in pub_keys:
            continue
        method, _, path = op.key.partition(" ")
        segs = path.split("/")
        for key, pub in pub_keys.items():
            pmethod, _, ppath = key.partition(" ")
            psegs = ppath.split("/")
            if pmethod != method or len(psegs) != len(segs):
                continue
            pairs = list(zip(psegs, segs, strict=True))
            if not all(p == s or p == "{}" or s == "{}" for p, s in pairs):
                continue
            literal_for_param = [s for p, s in pairs if p == "{}" and s != "{}"]
            param_for_literal = [p for p, s in pairs if s == "{}" and p != "{}"]
            if literal_for_param:
                concrete.append(
                    {"exported": op.label, "published": pub.label, "literals": "/".join(literal_for_param)}
                )
            elif param_for_literal:
                over.append(
                    {"exported": op.label, "published": pub.label, "literals": "/".join(param_for_literal)}
                )
            break
    return {"concrete": concrete, "over_templated": over}


def exercised_operations(published: dict[str, Any], raw: list[tuple[str, str]]) -> set[str]:
    """Labels of the published operations that some recorded (method, concrete path) falls under."""
    ops = []
    for op in _operations(published):
        method, _, template = op.key.partition(" ")
        segs = template.split("/")
        literal = sum(1 for s in segs if s and s != "{}")
        pattern = "^" + "/".join("[^/]+" if s == "{}" else re.escape(s) for s in segs) + "/?$"
        ops.append((method, re.compile(pattern), literal, op.label))
    hit: set[str] = set()
    for method, path in raw:
        candidates = [o for o in ops if o[0] == method and o[1].match(path)]
        if candidates:
            hit.add(max(candidates, key=lambda o: o[2])[3])
    return hit


# ---------------------------------------------------------------------------------------------------------
# pacts


def verify_pacts(
    pact_dir: Path,
    url: str,
    headers: list[str],
    timeout: float = 300,
    reset: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every pact file of `pact_dir` through pact_verify.py; per-interaction pass/fail from the results."""
    files = sorted(pact_dir.glob("*.json"))
    total = passed = 0
    out_files = []
    failures: list[dict[str, Any]] = []
    for pact in files:
        try:
            doc = json.loads(pact.read_text())
            interactions = [i.get("description", "") for i in doc.get("interactions") or []]
        except (OSError, ValueError) as exc:
            out_files.append({"file": pact.name, "error": f"not JSON: {exc}", "interactions": 0})
            continue
        args = [sys.executable, str(HERE / "pact_verify.py"), str(pact), url]
        for h in headers:
            args += ["--header", h]
        if reset:
            args += ["--reset", json.dumps(reset)]
        try:
            proc = subprocess.run(
                args,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PACT_DO_NOT_TRACK": "true"},
            )
            report = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else None
            err = (
                ""
                if report
                else f"verifier produced no report (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"
            )
        except subprocess.TimeoutExpired:
            report, err = None, f"verifier timed out after {timeout:.0f} s"
        except ValueError as exc:
            report, err = None, f"verifier output unreadable: {exc}"
        failed: dict[str, str] = {}
        loaded = True
        unmatched: list[str] = []
        if report is None:
            loaded = False
        elif not report["ok"]:
            results = report.get("results") or {}
            errors = results.get("errors") or []
            for e in errors:
                label = str(e.get("interaction") or "")
                why = _mismatch_text(e.get("mismatch"))
                if label == "Failed to load pact" or "Failed to load pact" in why:
                    loaded = False
                    err = why
                    continue
                desc = next((d for d in interactions if label == d or label.endswith(" - " + d)), None)
                if desc is None:
                    unmatched.append(f"{label}: {why}")
                else:
                    failed[desc] = why
            if not errors:
                loaded = False  # failed before any interaction ran
                err = report.get("error", "") + " " + _output_tail(report.get("output", ""))
        n_failed = (
            len(interactions)
            if not loaded
            else len(failed) + min(len(unmatched), len(interactions) - len(failed))
        )
        total += len(interactions)
        passed += len(interactions) - n_failed
        entry = {"file": pact.name, "interactions": len(interactions), "failed": n_failed, "loaded": loaded}
        if not loaded:
            entry["error"] = err.strip()[:1500]
            failures.append(
                {
                    "file": pact.name,
                    "interaction": f"(all {len(interactions)}: the file was not loaded)",
                    "reason": entry["error"],
                }
            )
        for text in unmatched:
            failures.append({"file": pact.name, "interaction": "(unmatched)", "reason": text[:600]})
        for desc, why in failed.items():
            failures.append({"file": pact.name, "interaction": desc, "reason": why})
        out_files.append(entry)
    return {
        "files": out_files,
        "interactions": total,
        "passed": passed,
        "pass_rate": passed / total if total else None,
        "failures": failures,
    }


def _mismatch_text(mismatch: Any) -> str:
    if not isinstance(mismatch, dict):
        return schema_text(mismatch, 600)
    parts = []
    if mismatch.get("type") == "error":
        return str(mismatch.get("message", ""))[:600]
    for m in mismatch.get("mismatches") or []:
        text = m.get("mismatch") or m.get("description") or json.dumps(m, sort_keys=True)
        path = m.get("path") or m.get("key") or m.get("type") or ""
        parts.append(f"{path}: {text}" if path else str(text))
    return " ; ".join(parts)[:600] or schema_text(mismatch, 600)


def _output_tail(text: str, n: int = 6) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return " | ".join(lines[-n:])


# ---------------------------------------------------------------------------------------------------------
# replay


class _ContractFields:
    """Whether the contract has the field a finding names, and whether it is required there: walked along that
    one pointer only (flattening whole responses does not end on a spec like Stripe's, where every object
    reaches hundreds of others)."""

    def __init__(self, contract: dict[str, Any]) -> None:
        self.contract = contract
        self.responses = {
            (op.key, code): response
            for op in _operations(contract)
            for code, response in op.responses.items()
        }

    def status(self, key: str, code: str, pointer: str) -> str | None:
        """'required' / 'optional' (some property on the way is optional), '' when the operation and status
        are not in the contract, None when the field is not."""
        response = self.responses.get((key, code))
        if response is None:
            return ""
        schema = _body_schema(self.contract, response)
        if schema is None:
            return None
        alts = _expand(self.contract, schema, frozenset())
        optional = False
        for raw in [p for p in pointer.split("/")[1:]]:
            part = raw.replace("~1", "/").replace("~0", "~")
            objects = [(a, c) for a, c in alts if "object" in _alt_types(a) or "properties" in a]
            holders = [(a, c) for a, c in objects if part in (a.get("properties") or {})]
            if holders:
                optional = optional or not all(part in (a.get("required") or []) for a, _ in objects)
                subs = [(a["properties"][part], c) for a, c in holders]
            else:  # an array's items or a map's values (both `*` in findings)
                subs = [(a["items"], c) for a, c in alts if isinstance(a.get("items"), dict)]
                subs += [
                    (a["additionalProperties"], c)
                    for a, c in objects
                    if isinstance(a.get("additionalProperties"), dict)
                ]
                subs += [(v, c) for a, c in objects for v in (a.get("patternProperties") or {}).values()]
            alts = [x for sub, chain in subs for x in _expand(self.contract, sub, chain)][:MAX_ALTERNATIVES]
            if not alts:
                return None
        return "optional" if optional else "required"


def classify_finding(finding: dict[str, Any], fields: _ContractFields) -> str:
    """response: field optional/required/undocumented in the contract; or request-side; or status."""
    location = str(finding.get("location", ""))
    match = re.match(r"response (\d{3}): (.*)$", location)
    if not match:
        return (
            "request-side"
            if location.split(":")[0] in ("query", "request body", "path", "header")
            else location.split(":")[0]
        )
    method, _, path = str(finding.get("operation", "")).partition(" ")
    key = f"{method} {normalize_template(path)}"
    status = fields.status(key, match.group(1), match.group(2).strip())
    if status == "":
        return "response: operation/status not in the contract"
    return "response: " + ("field " + status + " in the contract" if status else "field not in the contract")


def replay_summary(report: dict[str, Any], contract: dict[str, Any] | None = None) -> dict[str, Any]:
    findings = report.get("findings") or []
    breaking = [f for f in findings if f.get("severity") == "breaking"]
    fields = _ContractFields(contract) if contract else None
    classes = (
        Counter(f"{f.get('kind')} / {classify_finding(f, fields)}" for f in breaking)
        if contract
        else Counter()
    )
    kinds = Counter(f.get("kind", "?") for f in breaking)
    examples: dict[str, list[dict[str, Any]]] = {}
    for f in breaking:
        bucket = examples.setdefault(f.get("kind", "?"), [])
        if len(bucket) < 3:
            bucket.append(
                {k: f.get(k) for k in ("operation", "location", "message", "expected", "observed", "count")}
            )
    return {
        "counts": report.get("counts"),
        "breaking": len(breaking),
        "breaking_kinds": dict(kinds.most_common()),
        "breaking_by_contract": dict(classes.most_common()),
        "all_kinds": dict(Counter(f"{f.get('severity')}:{f.get('kind')}" for f in findings).most_common()),
        "examples": examples,
        "notes": report.get("notes") or [],
        "findings": findings,
    }


# ---------------------------------------------------------------------------------------------------------
# stub responses against the published spec


class StubChecker:
    """Validates answers against the published operation: status documented, JSON body valid."""

    def __init__(self, published: dict[str, Any]) -> None:
        self.spec = published
        self.converter = SchemaConverter(published)
        self.validators: dict[tuple[str, str], Any] = {}
        paths = published.get("paths") or {}
        self.ops: dict[str, dict[str, Any]] = {}
        for template, item in paths.items():
            for method, op in (item or {}).items():
                if isinstance(op, dict) and method.upper() in (
                    "GET",
                    "PUT",
                    "POST",
                    "DELETE",
                    "PATCH",
                    "HEAD",
                    "OPTIONS",
                ):
                    self.ops[f"{method.upper()} {template}"] = op

    def check(self, operation: str, status: int, content_type: str, body: bytes) -> tuple[bool, str, str]:
        """(valid, kind of failure, detail)."""
        op = self.ops.get(operation)
        if op is None:
            return False, "unknown-operation", operation
        responses = {str(k): v for k, v in (op.get("responses") or {}).items()}
        entry = status_entry(responses, status)
        if entry is None:
            return False, "undocumented-status", f"{status} (documented: {', '.join(sorted(responses))})"
        response = resolve(self.spec, responses[entry]) or {}
        media = json_media(response.get("content"))
        if media is None or media[1] is None:
            return True, "", ""  # nothing to validate (no JSON body documented)
        if not body.strip():
            return False, "empty-body", f"{status}: documented {media[0]}, got no body"
        try:
            value = json.loads(body)
        except ValueError:
            return False, "not-json", f"{status} {content_type}: {body[:80]!r}"
        key = (operation, entry)
        if key not in self.validators:
            doc = self.converter.document(media[1])
            try:
                self.validators[key] = jsonschema.Draft202012Validator(
                    doc, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
                )
            except jsonschema.SchemaError as exc:
                self.validators[key] = exc
        validator = self.validators[key]
        if isinstance(validator, Exception):
            return False, "published-schema-invalid", str(validator)[:200]
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is None:
            return True, "", ""
        keyword = str(error.validator)
        path = "/" + "/".join(str(p) for p in error.absolute_path)
        composed = [str(p) for p in error.absolute_schema_path if p in ("oneOf", "anyOf", "allOf")]
        kind = (
            keyword
            if keyword in ("oneOf", "anyOf", "allOf")
            else (f"{composed[-1]}>{keyword}" if composed else keyword)
        )
        return False, f"schema:{kind}", f"{status} at {path}: {error.message[:220]}"
