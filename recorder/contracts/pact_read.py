"""Pact v2 / v3 / v4 file -> `Contract`: one operation per (method, path template), schemas from examples.

A pact holds concrete examples; what it promises is the example as constrained by its matching rules. So a
body schema is inferred from the example: a value under no matcher must be equal (`const`, arrays of the same
length), under `type` it must have the example's type, `regex` becomes `pattern` (or `format` for well-known
patterns), `integer`/`decimal`/`number`/`boolean`/`date`/`time`/`timestamp` become types and formats, `values`
and `eachKey`/`eachValue` turn an object into a map (`additionalProperties`). Like Pact itself, a matcher on
an object or array also governs everything below it unless a more specific path has its own. Every key of an
expected object is required; unexpected keys are allowed (no `additionalProperties: false`).

A concrete path (`/users/42`) becomes a template (`/users/{param1}`, integer) when the interaction has a path
regex rule whose `/`-separated pieces line up with the path; the parameter names of our own exports are read
back from the interaction description (`GET /users/{userId} -> 200`).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from recorder.common.http import is_json_media_type, media_type
from recorder.contracts.openapi_read import status_order
from recorder.contracts.pact import PATH_PARAM_REGEX
from recorder.contracts.pact_rules import (
    FORMAT_BY_PATTERN,
    BodySchema,
    Rules,
    one_of,
    parse_rules,
    text_schema,
)
from recorder.errors import ContractError
from recorder.model import HTTP_METHODS, Body, Contract, Operation, Parameter, Response

_METHOD_ORDER = {m: i for i, m in enumerate(HTTP_METHODS)}
_SEGMENT_SCHEMAS = {
    PATH_PARAM_REGEX["integer"]: {"type": "integer"},
    "[0-9]+": {"type": "integer"},
    r"\d+": {"type": "integer"},
    r"-?\d+": {"type": "integer"},
    PATH_PARAM_REGEX["uuid"]: {"type": "string", "format": "uuid"},
    PATH_PARAM_REGEX["date"]: {"type": "string", "format": "date"},
    "[^/]+": {"type": "string"},
    ".+": {"type": "string"},
    ".*": {"type": "string"},
}
_STATUS_CLASSES = {
    "information": "1XX",
    "success": "2XX",
    "redirect": "3XX",
    "clientError": "4XX",
    "serverError": "5XX",
}
_SKIPPED_HEADERS = frozenset({"content-type", "accept", "authorization", "content-length"})
# ---------------------------------------------------------------------------------------------------------
# Paths


def _split_regex(body: str) -> list[str] | None:
    """A path regex cut at its `/` separators (outside classes and groups); None when that is ambiguous."""
    parts, current = [], ""
    depth = 0
    in_class = False
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            if body[i + 1] == "/" and not in_class:
                if depth:
                    return None
                parts.append(current)
                current = ""
            else:
                current += body[i : i + 2]
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if body[i + 1 : i + 2] == "]":  # `[]...]`: a literal ] first
                current += c + "]"
                i += 2
                continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "/":
            if depth:
                return None
            parts.append(current)
            current = ""
            i += 1
            continue
        current += c
        i += 1
    parts.append(current)
    return parts


def _literal(regex: str) -> str | None:
    """The text a regex matches when it is a plain (possibly escaped) literal, else None."""
    out = ""
    i = 0
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            if i + 1 >= len(regex) or regex[i + 1].isalnum():
                return None
            out += regex[i + 1]
            i += 2
            continue
        if c in ".^$*+?{}[]|()":
            return None
        out += c
        i += 1
    return out


def _segment_schema(regex: str) -> dict[str, Any]:
    known = _SEGMENT_SCHEMAS.get(regex)
    if known is not None:
        return dict(known)
    fmt = FORMAT_BY_PATTERN.get(f"^{regex}$")
    if fmt:
        return {"type": "string", "format": fmt}
    return {"type": "string", "pattern": f"^{regex}$"}


def path_template(path: str, regex: str | None) -> tuple[str, list[tuple[str, dict[str, Any], str]]]:
    """`/users/42` + `^/users/[0-9]+$` -> (`/users/{param1}`, [(`param1`, integer schema, `[0-9]+`)])."""
    if not regex:
        return path, []
    try:
        if re.fullmatch(regex, path) is None:
            return path, []
    except re.error:
        return path, []
    body = regex[1:] if regex.startswith("^") else regex
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    pieces = _split_regex(body)
    segments = path.split("/")
    if pieces is None or len(pieces) != len(segments):
        return path, []
    out, params = [], []
    for piece, segment in zip(pieces, segments, strict=True):
        literal = _literal(piece)
        if literal is not None:
            if literal != segment:
                return path, []
            out.append(segment)
            continue
        try:
            if re.fullmatch(piece, segment) is None:
                return path, []
        except re.error:
            return path, []
        name = f"param{len(params) + 1}"
        params.append((name, _segment_schema(piece), piece))
        out.append("{" + name + "}")
    return "/".join(out), params


def _names_from_description(
    description: str, method: str, template: str, params: list[tuple[str, dict[str, Any], str]]
) -> list[tuple[str, dict[str, Any], str]]:
    """Our exports describe interactions as `GET /users/{userId} -> 200`: take the parameter names from there."""
    m = re.fullmatch(r"([A-Z]+) (/\S*) -> \S+", description)
    if not m or m.group(1).lower() != method or not params:
        return params
    theirs, ours = m.group(2).split("/"), template.split("/")
    if len(theirs) != len(ours):
        return params
    names = []
    for a, b in zip(theirs, ours, strict=True):
        a_param, b_param = a.startswith("{") and a.endswith("}"), b.startswith("{") and b.endswith("}")
        if a_param != b_param or (not a_param and a != b):
            return params
        if a_param:
            names.append(a[1:-1])
    if len(set(names)) != len(names):
        return params
    return [(name, schema, piece) for name, (_, schema, piece) in zip(names, params, strict=True)]


# ---------------------------------------------------------------------------------------------------------
# Interactions


@dataclass
class _Http:
    """One HTTP interaction, converted."""

    description: str
    method: str
    template: str
    segment_regexes: dict[str, str]
    parameters: list[Parameter]
    security: list[tuple[str, dict[str, Any]]]
    request_body: Body | None
    status: str
    headers: list[Parameter]
    response_body: Body | None


def _headers(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    out = {}
    for name, value in raw.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        out[str(name)] = str(value)
    return out


def _query(raw: Any) -> dict[str, list[str]]:
    if isinstance(raw, str):
        return {k: v for k, v in parse_qs(raw, keep_blank_values=True).items()}
    if isinstance(raw, dict):
        return {str(k): [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in raw.items()}
    return {}


def _body(side: dict[str, Any], headers: dict[str, str], rules: Rules) -> Body | None:
    if "body" not in side or side["body"] is None:
        return None
    raw = side["body"]
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    opaque = False
    if isinstance(raw, dict) and "content" in raw and ("contentType" in raw or "encoded" in raw):  # v4
        content_type = raw.get("contentType") or content_type
        encoded = raw.get("encoded")
        value = raw.get("content")
        if isinstance(encoded, str) and encoded.lower() == "json" and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                opaque = True
        elif encoded not in (None, False):
            opaque = True
            if isinstance(value, str):
                try:
                    value = base64.b64decode(value, validate=True).decode("utf-8")
                except ValueError:
                    value = None
    else:
        value = raw
    mt = media_type(content_type) or (
        "application/json" if isinstance(value, (dict, list, int, float, bool)) else "text/plain"
    )
    if opaque or not is_json_media_type(mt):
        return Body(media_type=mt, schema=None, example=value)
    return Body(media_type=mt, schema=BodySchema(rules.body).schema(value), example=value)


def _security(headers: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if value is None:
        return []
    scheme = value.split(" ", 1)[0].lower()
    if scheme in ("bearer", "basic", "digest"):
        return [(f"{scheme}Auth", {"type": "http", "scheme": scheme})]
    return [("apiKeyAuthorization", {"type": "apiKey", "in": "header", "name": "Authorization"})]


def _interaction(raw: Any, index: int, path: Path) -> _Http:
    where = f"interaction {index + 1}"
    if not isinstance(raw, dict):
        raise ContractError(f"{path}: {where} is not a mapping.")
    description = str(raw.get("description") or "")
    if description:
        where += f" ({description!r})"
    request, response = raw.get("request"), raw.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise ContractError(f"{path}: {where} lacks a request or a response.")
    method = str(request.get("method") or "").lower()
    concrete = request.get("path")
    if method not in _METHOD_ORDER or not isinstance(concrete, str):
        raise ContractError(f"{path}: {where} needs a request method and path.")
    status = response.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        raise ContractError(f"{path}: {where} needs a numeric response status.")
    req_rules, resp_rules = (
        parse_rules(request.get("matchingRules")),
        parse_rules(response.get("matchingRules")),
    )
    path_regex = None
    for m in req_rules.path.matchers if req_rules.path else ():
        if isinstance(m.get("regex"), str):
            path_regex = m["regex"]
    template, path_params = path_template(concrete, path_regex)
    path_params = _names_from_description(description, method, template, path_params)
    if path_params and template.count("{") == len(path_params):
        names = iter(name for name, _, _ in path_params)
        template = re.sub(r"\{[^{}]+\}", lambda _: "{" + next(names) + "}", template)
    params = [Parameter(name=n, location="path", required=True, schema=s) for n, s, _ in path_params]
    for name, values in sorted(_query(request.get("query")).items()):
        rule = req_rules.query.get(name)
        if len(values) == 1:
            schema = text_schema(values[0], rule, typed=True)
        else:
            schema = {"type": "array", "items": text_schema(values[0], rule, typed=True)}
            if rule is None:
                schema = {"type": "array", "const": values}
        params.append(Parameter(name=name, location="query", required=True, schema=schema))
    req_headers = _headers(request.get("headers"))
    for name, value in sorted(req_headers.items(), key=lambda kv: kv[0].lower()):
        if name.lower() in _SKIPPED_HEADERS:
            continue
        schema = text_schema(value, req_rules.header.get(name.lower()), typed=False)
        params.append(Parameter(name=name, location="header", required=True, schema=schema))
    code = str(status)
    for m in resp_rules.status.matchers if resp_rules.status else ():
        if m.get("match") == "statusCode" and m.get("status") in _STATUS_CLASSES:
            code = _STATUS_CLASSES[m["status"]]
    resp_headers = _headers(response.get("headers"))
    headers = [
        Parameter(
            name=name,
            location="header",
            required=True,
            schema=text_schema(value, resp_rules.header.get(name.lower()), typed=False),
        )
        for name, value in sorted(resp_headers.items(), key=lambda kv: kv[0].lower())
        if name.lower() not in _SKIPPED_HEADERS
    ]
    return _Http(
        description=description,
        method=method,
        template=template,
        segment_regexes={name: piece for name, _, piece in path_params},
        parameters=params,
        security=_security(req_headers),
        request_body=_body(request, req_headers, req_rules),
        status=code,
        headers=headers,
        response_body=_body(response, resp_headers, resp_rules),
    )


_GENERIC_SEGMENTS = frozenset({"[^/]+", ".+", ".*", "[^/]*"})


def _fold_concrete_paths(http: list[_Http]) -> None:
    """Interactions without a path rule join an operation whose template fits them: `/users/7` -> `/users/{id}`.

    Only id-like parameters take in a concrete segment (the segment must match a regex narrower than "any
    segment"), so `/users/me` stays its own operation next to `/users/{name}`.
    """
    templated = [it for it in http if it.segment_regexes]
    for it in http:
        if it.segment_regexes:
            continue
        segments = it.template.split("/")
        for other in templated:
            if other.method != it.method:
                continue
            path_params = _fit(segments, other)
            if path_params is not None:
                it.template = other.template
                it.segment_regexes = dict(other.segment_regexes)
                it.parameters = path_params + [p for p in it.parameters if p.location != "path"]
                break


def _fit(segments: list[str], other: _Http) -> list[Parameter] | None:
    pieces = other.template.split("/")
    if len(pieces) != len(segments):
        return None
    for piece, segment in zip(pieces, segments, strict=True):
        if piece.startswith("{") and piece.endswith("}"):
            regex = other.segment_regexes.get(piece[1:-1])
            if regex is None or regex in _GENERIC_SEGMENTS:
                return None
            try:
                if re.fullmatch(regex, segment) is None:
                    return None
            except re.error:
                return None
        elif piece != segment:
            return None
    return [p for p in other.parameters if p.location == "path"]


def _merge_parameters(groups: list[list[Parameter]]) -> list[Parameter]:
    """Parameters of several interactions: required when every one has them, schemas as alternatives."""
    order: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], list[Parameter]] = {}
    for group in groups:
        for p in group:
            key = (p.name.lower() if p.location == "header" else p.name, p.location)
            if key not in seen:
                order.append(key)
                seen[key] = []
            seen[key].append(p)
    out = []
    for key in order:
        found = seen[key]
        out.append(
            Parameter(
                name=found[0].name,
                location=found[0].location,
                required=found[0].location == "path" or len(found) == len(groups),
                schema=one_of([p.schema_ for p in found]),
            )
        )
    rank = {"path": 0, "query": 1, "header": 2, "cookie": 3}
    out.sort(key=lambda p: (rank[p.location], 0 if p.location == "path" else 1, p.name.lower()))
    return out


def _merge_bodies(bodies: list[Body]) -> list[Body]:
    by_type: dict[str, list[Body]] = {}
    for b in bodies:
        by_type.setdefault(b.media_type, []).append(b)
    out = []
    for mt in sorted(by_type):
        found = by_type[mt]
        schemas = [b.schema_ for b in found if b.schema_ is not None]
        out.append(Body(media_type=mt, schema=one_of(schemas) if schemas else None, example=found[0].example))
    return out


def _operation(method: str, template: str, items: list[_Http]) -> tuple[Operation, dict[str, Any]]:
    params = _merge_parameters([it.parameters for it in items])
    path_params = {p.name: p for p in params if p.location == "path"}
    ordered_path = [path_params[n] for n in re.findall(r"\{([^{}]+)\}", template) if n in path_params]
    params = ordered_path + [p for p in params if p.location != "path"]
    requests = [it.request_body for it in items if it.request_body is not None]
    responses = []
    for status in sorted({it.status for it in items}, key=status_order):
        mine = [it for it in items if it.status == status]
        responses.append(
            Response(
                status=status,
                description=mine[0].description,
                headers=tuple(_merge_parameters([it.headers for it in mine])),
                bodies=tuple(_merge_bodies([it.response_body for it in mine if it.response_body])),
            )
        )
    schemes: dict[str, Any] = {}
    for it in items:
        for name, scheme in it.security:
            schemes.setdefault(name, scheme)
    op = Operation(
        method=method,
        path=template,
        parameters=tuple(params),
        request_bodies=tuple(_merge_bodies(requests)),
        request_body_required=bool(requests) and len(requests) == len(items),
        responses=tuple(responses),
        security=tuple(schemes),
    )
    return op, schemes


def _name(value: Any) -> str | None:
    if isinstance(value, dict) and value.get("name") is not None:
        return str(value["name"])
    return None


def contract_from_pact(doc: dict[str, Any], path: Path) -> Contract:
    """The contract a Pact file (v2, v3 or v4; already parsed from `path`) holds for its HTTP interactions."""
    raw = doc.get("interactions")
    if raw is None and "messages" in doc:
        raise ContractError(f"{path} is a message pact: it has no HTTP interactions to load.")
    if not isinstance(raw, list):
        raise ContractError(f"{path}: 'interactions' must be a list of Pact interactions.")
    http = []
    skipped = 0
    for index, interaction in enumerate(raw):
        kind = interaction.get("type") if isinstance(interaction, dict) else None
        if isinstance(kind, str) and not kind.endswith("/HTTP"):
            skipped += 1  # v4 message interactions
            continue
        http.append(_interaction(interaction, index, path))
    if skipped and not http:
        raise ContractError(f"{path} holds only message interactions: it has no HTTP interactions to load.")
    _fold_concrete_paths(http)
    groups: dict[tuple[str, str], list[_Http]] = {}
    for it in http:
        groups.setdefault((it.method, it.template), []).append(it)
    operations = []
    schemes: dict[str, Any] = {}
    for (method, template), items in groups.items():
        op, op_schemes = _operation(method, template, items)
        operations.append(op)
        for name, scheme in op_schemes.items():
            schemes.setdefault(name, scheme)
    operations.sort(key=lambda o: (o.path, _METHOD_ORDER.get(o.method, 9), o.method))
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    recorder_meta = (
        metadata.get("contractRecorder") if isinstance(metadata.get("contractRecorder"), dict) else {}
    )
    provider, consumer = _name(doc.get("provider")), _name(doc.get("consumer"))
    return Contract(
        title=provider or "API",
        version=str(recorder_meta.get("contractVersion") or "0.0.0"),
        provider=provider,
        consumer=consumer,
        operations=tuple(operations),
        security_schemes={k: schemes[k] for k in sorted(schemes)},
        source=str(path),
    )
