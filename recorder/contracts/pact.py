"""Pact v3/v4 export: one file per consumer-provider pair, one interaction per operation and status.

Each interaction replays the most representative observation (the consumer's own when it has one) and
carries matching rules inferred from evidence, so a pact states what the consumer relies on without being
brittle: types rather than values, regexes for formats and path ids, minimum array lengths, map values
whatever their keys; fields that are optional or nullable in the evidence are left out of the expectation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from recorder.common.http import HOP_BY_HOP, vary_names
from recorder.common.jsonvalues import json_type
from recorder.common.redact import Redactor
from recorder.common.schemas import declared_types, merge_schemas
from recorder.contracts import pact_paths
from recorder.learn.strformats import FORMAT_PATTERNS
from recorder.model import Contract, Operation, Parameter, Response
from recorder.version import __version__

_REDACTOR = Redactor()  # only asked which header names hold secrets
PATH_PARAM_REGEX = {
    "integer": r"-?[0-9]+",
    "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "date": r"\d{4}-\d{2}-\d{2}",
}


@dataclass(frozen=True)
class Example:
    """A concrete observation an interaction is built from."""

    path: str
    query: dict[str, list[str]]
    request_headers: dict[str, str]
    request_body: Any  # parsed JSON (None: no JSON body)
    request_content_type: str | None
    status: int
    response_headers: dict[str, str]
    response_body: Any
    response_content_type: str | None
    request_text: str | None = None  # a body that is not JSON (a form), as text
    setup: tuple[dict[str, Any], ...] = ()  # recorded writes to replay first (the provider state)


def pact_file_name(consumer: str, provider: str) -> str:
    """`web-app-shop.json` (names made safe for file systems)."""
    safe = re.compile(r"[^A-Za-z0-9._-]+")
    return f"{safe.sub('_', consumer)}-{safe.sub('_', provider)}.json"


def to_pact(
    contract: Contract,
    consumer: str,
    examples: dict[tuple[str, str, str], Example],
    *,
    version: int = 3,
) -> dict[str, Any]:
    """The pact (a plain dict) between `consumer` and the contract's provider."""
    interactions = []
    for op in contract.operations:
        for resp in op.responses:
            example = examples.get((op.method, op.path, resp.status))
            if example is None:
                continue
            interactions.append(_interaction(op, resp, example, version))
    interactions.sort(key=lambda i: i["description"])
    pact: dict[str, Any] = {
        "consumer": {"name": consumer},
        "provider": {"name": contract.provider or contract.title},
        "interactions": interactions,
        "metadata": {
            "pactSpecification": {"version": "4.0" if version == 4 else "3.0.0"},
            "contractRecorder": {"version": __version__, "contractVersion": contract.version},
        },
    }
    return pact


def _interaction(op: Operation, resp: Response, ex: Example, version: int) -> dict[str, Any]:
    description = f"{op.method.upper()} {op.path} -> {resp.status}"
    request: dict[str, Any] = {"method": op.method.upper(), "path": ex.path}
    req_rules: dict[str, Any] = {}
    path_regex = _path_regex(op)
    if path_regex != "^" + re.escape(ex.path) + "$":
        req_rules["path"] = {"matchers": [{"match": "regex", "regex": path_regex}], "combine": "AND"}
    if ex.query:
        request["query"] = {k: list(v) for k, v in sorted(ex.query.items())}
        query_rules = {}
        for name in ex.query:
            param = _param(op, name, "query")
            regex = _scalar_regex(param.schema_ if param else {})
            if regex:
                query_rules[name] = {"matchers": [{"match": "regex", "regex": regex}], "combine": "AND"}
        if query_rules:
            req_rules["query"] = query_rules
    headers = _request_headers(ex)
    if headers:
        request["headers"] = headers
    if ex.request_body is not None:
        request["body"] = _body(ex.request_body, ex.request_content_type, version)
    elif ex.request_text is not None:
        request["body"] = _body(ex.request_text, ex.request_content_type, version)
    response: dict[str, Any] = {"status": int(resp.status)}
    resp_rules: dict[str, Any] = {}
    body_schema = _json_schema(resp)
    if ex.response_body is not None and body_schema is not None:
        expected = _expected(ex.response_body, body_schema)
        rules: dict[str, Any] = {}
        _rules(expected, body_schema, "$", rules, version)
        response["body"] = _body(expected, ex.response_content_type, version)
        if rules:
            resp_rules["body"] = rules
    if ex.response_content_type and ex.response_body is not None:
        mt = ex.response_content_type.split(";")[0].strip()
        response["headers"] = {"Content-Type": ex.response_content_type}
        resp_rules["header"] = {
            "Content-Type": {
                "matchers": [{"match": "regex", "regex": "^" + re.escape(mt) + "(;.*)?$"}],
                "combine": "AND",
            }
        }
    if req_rules:
        request["matchingRules"] = req_rules
    if resp_rules:
        response["matchingRules"] = resp_rules
    interaction: dict[str, Any] = {"description": description, "request": request, "response": response}
    if version == 4:
        interaction = {
            "type": "Synchronous/HTTP",
            "description": description,
            "pending": False,
            "request": request,
            "response": response,
        }
    if ex.setup:
        interaction["providerStates"] = [provider_state(ex.setup)]
    return interaction


def provider_state(setup: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """The provider state of an interaction: the recorded writes before it, named by what they touched
    (`"recorded: PUT /v1/buckets/b, PUT /v1/buckets/b/collections/c"`), the requests as parameters."""
    named = [f"{r['method']} {r['path']}" for r in setup]
    name = "recorded: " + ", ".join(named[:4]) + (f" and {len(named) - 4} more" if len(named) > 4 else "")
    return {"name": name, "params": {"requests": list(setup)}}


CONDITIONAL = frozenset({"if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range"})


def _request_headers(ex: Example) -> dict[str, str]:
    """The recorded request headers that change the answer: `Accept`, `Content-Type` (with a body), every
    header the response says it `Vary`s on, and the conditions of a conditional request where they, not the
    data, decided the answer (`If-None-Match: *` always; an ETag or a date when the answer was 412 or 304:
    on a provider with other data a condition that passed against the recorded ETag would fail); never a
    secret, never one about the connection."""
    wanted = {"accept", *vary_names(ex.response_headers.items())} - HOP_BY_HOP - {"accept-encoding"}
    headers = {}
    for name, value in sorted(ex.request_headers.items()):
        low = name.lower()
        if low in CONDITIONAL:
            if value.strip() != "*" and ex.status not in (304, 412):
                continue
        elif low not in wanted:
            continue
        if _REDACTOR.is_secret_name(low) or "<redacted:" in value:
            continue
        headers[_header_case(low)] = value
    if (ex.request_body is not None or ex.request_text is not None) and ex.request_content_type:
        headers["Content-Type"] = ex.request_content_type  # a form without it is no form to the provider
    return headers


def _header_case(name: str) -> str:
    """`x-api-version` -> `X-Api-Version`."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def _body(value: Any, content_type: str | None, version: int) -> Any:
    if version == 4:
        return {
            "content": value,
            "contentType": (content_type or "application/json").split(";")[0],
            "encoded": False,
        }
    return value


def _json_schema(resp: Response) -> dict[str, Any] | None:
    for body in resp.bodies:
        if body.media_type.endswith("json") and body.schema_ is not None:
            return body.schema_
    return None


def _param(op: Operation, name: str, location: str) -> Parameter | None:
    for p in op.parameters:
        if p.name == name and p.location == location:
            return p
    return None


def _path_regex(op: Operation) -> str:
    parts = []
    for seg in op.path.split("/"):
        if seg.startswith("{") and seg.endswith("}"):
            param = _param(op, seg[1:-1], "path")
            schema = param.schema_ if param else {}
            regex = _segment_regex(schema)
            parts.append(regex)
        else:
            parts.append(re.escape(seg))
    return "^" + "/".join(parts) + "$"


def _segment_regex(schema: dict[str, Any]) -> str:
    if schema.get("type") == "integer":
        return PATH_PARAM_REGEX["integer"]
    fmt = schema.get("format")
    if fmt in PATH_PARAM_REGEX:
        return PATH_PARAM_REGEX[fmt]
    pattern = schema.get("pattern")
    if pattern:
        return pattern.lstrip("^").rstrip("$")
    return "[^/]+"


def _scalar_regex(schema: dict[str, Any]) -> str | None:
    t = schema.get("type")
    if t == "integer":
        return r"^-?[0-9]+$"
    if t == "number":
        return r"^-?[0-9]+(\.[0-9]+)?$"
    if t == "boolean":
        return r"^(true|false)$"
    return None


def _expected(value: Any, schema: dict[str, Any]) -> Any:
    """What the consumer can rely on: required, non-null fields (recursively), arrays cut to one item (none
    when the items are of several kinds: the verifier matches every item against the first)."""
    fitting = _fitting(value, schema)
    if fitting is None:  # one of several shapes of the same type: only the type can be relied on
        return {} if isinstance(value, dict) else [] if isinstance(value, list) else value
    schema = fitting
    types = set(declared_types(schema))
    if isinstance(value, dict) and "object" in types:
        props = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        out = {}
        for key, sub in value.items():
            sub_schema = props.get(key)
            if sub_schema is None:
                if isinstance(schema.get("additionalProperties"), dict) and sub is not None:
                    out[key] = _expected(sub, schema["additionalProperties"])
                continue
            if key not in required or sub is None or "null" in set(declared_types(sub_schema)):
                continue
            if _kinds(sub_schema) != 1:
                continue  # a value of one of several types: no matcher says "string or integer"
            if pact_paths.child(pact_paths.ROOT, key) is None:
                continue  # no matching rule could name it: an expected value would have to match exactly
            out[key] = _expected(sub, sub_schema)
        return out
    if isinstance(value, list) and "array" in types:
        items = schema.get("items") or {}
        if _kinds(items) != 1:
            return []
        return [_expected(v, items) for v in value[:1]]
    return value


def _kinds(schema: dict[str, Any]) -> int:
    """How many kinds of value (JSON types, or branches of an `anyOf`) a schema admits; 0: unknown."""
    branches = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(branches, list):
        return len(branches)
    types = set(declared_types(schema))
    if types == {"integer", "number"}:
        return 1  # an integer is a number: the `number` matcher takes both
    return len(types)


def _fitting(value: Any, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The branch of an `anyOf`/`oneOf` that a value's JSON type selects (the schema itself without one);
    None when several branches take values of that type."""
    branches = schema.get("anyOf") or schema.get("oneOf")
    if not isinstance(branches, list):
        return schema
    kind = json_type(value)
    fits = [b for b in branches if isinstance(b, dict) and _admits(b, kind)]
    if len(fits) != 1:
        return None
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
    return merge_schemas([rest, fits[0]]) if rest else fits[0]


def _admits(schema: dict[str, Any], kind: str) -> bool:
    types = set(declared_types(schema))
    return not types or kind in types or (kind == "integer" and "number" in types)


def _rules(value: Any, schema: dict[str, Any], path: str, out: dict[str, Any], version: int) -> None:
    fitting = _fitting(value, schema)
    if fitting is None:
        matcher = {"match": "type", "min": 0} if isinstance(value, list) else {"match": "type"}
        out[path] = {"matchers": [matcher], "combine": "AND"}
        return
    schema = fitting
    types = set(declared_types(schema)) - {"null"}
    if isinstance(value, dict):
        if isinstance(schema.get("additionalProperties"), dict) and not schema.get("properties"):
            if version == 4:
                out[path] = {
                    "matchers": [{"match": "eachValue", "rules": [{"match": "type"}]}],
                    "combine": "AND",
                }
            else:
                out[path] = {"matchers": [{"match": "values"}], "combine": "AND"}
            for sub in list(value.values())[:1]:
                _rules(sub, schema["additionalProperties"], pact_paths.values(path), out, version)
            return
        props = schema.get("properties") or {}
        for key, sub in value.items():
            sub_schema = props.get(key) or schema.get("additionalProperties") or {}
            sub_path = pact_paths.child(path, key)
            if sub_path is not None and not pact_paths.read_as_index(key):
                _rules(sub, sub_schema, sub_path, out, version)
            elif sub_path is not None:  # the verifier reads `+1` as index 1: a type rule here covers it
                out.setdefault(path, {"matchers": [{"match": "type"}], "combine": "AND"})
        return
    if isinstance(value, list):
        # the items' type, not their number: arrays seen non-empty may be empty tomorrow
        out[path] = {"matchers": [{"match": "type", "min": 0}], "combine": "AND"}
        items = schema.get("items") or {}
        for sub in value[:1]:
            _rules(sub, items, pact_paths.items(path), out, version)
        return
    if value is None:
        return
    fmt = schema.get("format")
    if isinstance(value, str) and fmt in FORMAT_PATTERNS:
        out[path] = {"matchers": [{"match": "regex", "regex": FORMAT_PATTERNS[fmt]}], "combine": "AND"}
    elif types == {"integer"} and type(value) is int:
        # (not json_type: Pact's integer matcher wants an integer token, so an example `2.0` gets `type`)
        out[path] = {"matchers": [{"match": "integer"}], "combine": "AND"}
    elif types == {"number"} and json_type(value) in ("integer", "number"):
        out[path] = {"matchers": [{"match": "number"}], "combine": "AND"}
    else:
        out[path] = {"matchers": [{"match": "type"}], "combine": "AND"}


def dumps(pact: dict[str, Any]) -> str:
    """Stable JSON text of a pact."""
    return json.dumps(pact, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
