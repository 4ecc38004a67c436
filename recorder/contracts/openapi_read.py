"""OpenAPI 3.0 / 3.1 document -> `Contract`, with every schema inlined as plain JSON Schema 2020-12.

`$ref`s are followed inside the document and into relative files (`common.yaml#/components/schemas/User`);
a recursive schema is cut where it would repeat, leaving `{}` (anything) at the point of recursion.
OpenAPI 3.0 keywords are rewritten: `nullable` becomes a `"null"` type, boolean `exclusiveMinimum` a number,
`oneOf` becomes `anyOf`, `allOf` is merged into one schema, `example` is dropped. Template paths get the path
of the first server prepended (`https://api.x.com/v1` + `/users` -> `/v1/users`), so they match request paths;
`Contract.servers` then keeps the servers' origins (`https://api.x.com`), as observed contracts do, so that an
export of the loaded contract does not prepend the base path twice.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from recorder.common.http import is_json_media_type, media_type
from recorder.common.schemas import ANNOTATIONS, BOOLEAN_OR_SCHEMA, declared_types, merge_schemas, type_value
from recorder.contracts.documents import read_document
from recorder.errors import ContractError
from recorder.model import HTTP_METHODS, Body, Contract, Evidence, Operation, Parameter, Response

# Keywords that hold one schema, a mapping of schemas, or a list of schemas.
_SCHEMA_KEYWORDS = (
    "items",
    "additionalItems",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "contentSchema",
)
_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
# OpenAPI-only or reference-plumbing keywords with no meaning once everything is inlined.
_DROPPED = frozenset(
    {
        "$defs",
        "definitions",
        "$schema",
        "$id",
        "$anchor",
        "$dynamicAnchor",
        "$dynamicRef",
        "$comment",
        "$vocabulary",
        "discriminator",
        "xml",
        "externalDocs",
        "example",
    }
)
_IGNORED_HEADER_PARAMETERS = frozenset({"accept", "content-type", "authorization"})
_METHOD_ORDER = {m: i for i, m in enumerate(HTTP_METHODS)}
_LOCATION_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}


def contract_from_openapi(doc: dict[str, Any], path: Path) -> Contract:
    """The contract an OpenAPI 3.0/3.1 document (already parsed from `path`) describes."""
    version = str(doc.get("openapi", ""))
    if not re.match(r"3\.\d", version):
        raise ContractError(f"{path}: OpenAPI version {version!r} is not supported (expected 3.0 or 3.1).")
    return _OpenApi(doc, path, oas30=version.startswith("3.0")).contract()


class _Refs:
    """Finds what a `$ref` points at, loading relative files once."""

    def __init__(self, doc: dict[str, Any], path: Path) -> None:
        self.root = path
        self.docs: dict[Path, Any] = {self._key(path): doc}

    @staticmethod
    def _key(path: Path) -> Path:
        return Path(path).resolve()

    def target(self, ref: str, file: Path) -> tuple[Any, Path, str]:
        """(node, file it lives in, canonical `file#pointer`) for a `$ref` found in `file`."""
        location, _, fragment = ref.partition("#")
        if location:
            if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", location):
                raise ContractError(
                    f"{file}: $ref {ref!r} points to a remote document, which is not supported;"
                    " download it and refer to it by a relative path."
                )
            target_file = file.parent / unquote(location)
            key = self._key(target_file)
            if key not in self.docs:
                if not target_file.is_file():
                    raise ContractError(f"{file}: $ref {ref!r} points nowhere: no file {target_file}.")
                self.docs[key] = read_document(target_file)
        else:
            target_file = file
            key = self._key(file)
        node = self.docs[key]
        fragment = unquote(fragment)
        if fragment and not fragment.startswith("/"):
            raise ContractError(
                f"{file}: $ref {ref!r} uses an anchor, which is not supported; use a JSON pointer (#/...)."
            )
        walked = ""
        for raw in fragment.split("/")[1:] if fragment else ():
            token = raw.replace("~1", "/").replace("~0", "~")
            walked += "/" + raw
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                parent = walked.rsplit("/", 1)[0] or "/"
                raise ContractError(f"{file}: $ref {ref!r} points nowhere: no {token!r} in #{parent}.")
        return node, target_file, f"{key}#{fragment}"

    def deref(self, node: Any, file: Path) -> tuple[Any, Path]:
        """Follow `$ref`s of a non-schema object (parameter, response, ...) to the object itself."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            node, file, key = self.target(node["$ref"], file)
            if key in seen:
                raise ContractError(f"{file}: $ref {key.split('#', 1)[-1]!r} refers to itself.")
            seen.add(key)
        return node, file


class _Schemas:
    """Converts OpenAPI schema objects into inlined JSON Schema 2020-12."""

    def __init__(self, refs: _Refs, oas30: bool) -> None:
        self.refs = refs
        self.oas30 = oas30
        # canonical ref -> expansions, each with the outer references it had to cut (see `_reference`)
        self.cache: dict[str, list[tuple[frozenset[str], dict[str, Any]]]] = {}
        self.active: list[str] = []
        self.cut: list[set[str]] = [set()]  # per open expansion: outer references cut inside it

    def convert(self, node: Any, file: Path) -> dict[str, Any]:
        """One schema, `$ref`-free. Expansions of a reference are shared, not copied: treat them as read-only."""
        if node is True or node is None:
            return {}
        if node is False:
            return {"not": {}}
        if not isinstance(node, dict):
            raise ContractError(f"{file}: a schema must be a mapping, found {_kind(node)}.")
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = self._reference(ref, file)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if self.oas30:  # 3.0 ignores siblings of $ref; `nullable` and annotations are honoured anyway
                siblings = {k: v for k, v in siblings.items() if k in ANNOTATIONS or k == "nullable"}
            if not siblings:
                return target
            nullable = siblings.pop("nullable", None) is True
            out = merge_schemas([target, self.convert(siblings, file)]) if siblings else dict(target)
            if nullable:
                _allow_null(out)
            return out
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED or (key.startswith("x-") and key != "x-evidence"):
                continue
            if key in _SCHEMA_KEYWORDS:
                if key == "items" and isinstance(value, list):  # draft-4 tuple form
                    out["prefixItems"] = [self.convert(v, file) for v in value]
                else:
                    out[key] = self.convert(value, file)
            elif key in BOOLEAN_OR_SCHEMA:
                out[key] = value if isinstance(value, bool) else self.convert(value, file)
            elif key in _SCHEMA_MAPS:
                out[key] = {name: self.convert(sub, file) for name, sub in _mapping(value, key, file).items()}
            elif key in _SCHEMA_LISTS:
                out[key] = [self.convert(sub, file) for sub in _sequence(value, key, file)]
            elif key == "dependencies" and isinstance(value, dict):  # draft-7 form
                for name, dep in value.items():
                    if isinstance(dep, list):
                        out.setdefault("dependentRequired", {})[name] = list(dep)
                    else:
                        out.setdefault("dependentSchemas", {})[name] = self.convert(dep, file)
            elif key == "required" and not isinstance(value, list):
                continue  # draft-3 boolean `required` inside a property
            else:
                out[key] = copy.deepcopy(value)
        return _normalise(out)

    def _reference(self, ref: str, file: Path) -> dict[str, Any]:
        """The expansion of `ref`, cut to `{}` (anything) where it would recurse into a reference being expanded.

        An expansion depends on its context only through the outer references it cut, so one made under an
        outer chain is reused wherever all of those are being expanded too: each reference is expanded a few
        times, not once per path that reaches it (exponentially many in a spec like Stripe's), and the
        expansions are shared rather than copied.
        """
        target, target_file, key = self.refs.target(ref, file)
        if key in self.active:
            self.cut[-1].add(key)
            return {}  # recursion: the placeholder accepts anything
        open_refs = set(self.active)
        for cuts, out in self.cache.get(key, ()):
            if cuts <= open_refs:
                self.cut[-1] |= cuts
                return out
        self.active.append(key)
        self.cut.append(set())
        try:
            out = self.convert(target, target_file)
        finally:
            self.active.pop()
            inner = self.cut.pop()
        cuts = frozenset(inner - {key})
        self.cut[-1] |= cuts
        self.cache.setdefault(key, []).append((cuts, out))
        return out


def _normalise(schema: dict[str, Any]) -> dict[str, Any]:
    """3.0 keywords -> 2020-12, `allOf` merged, `oneOf` -> `anyOf`, `anyOf` of bare types -> a type array."""
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = schema.get(bound)
        if isinstance(flag, bool):
            del schema[bound]
            if flag and limit in schema:
                schema[bound] = schema.pop(limit)
    nullable = schema.pop("nullable", None) is True
    if "oneOf" in schema:
        branches = schema.pop("oneOf")
        if "anyOf" in schema:
            schema.setdefault("allOf", []).append({"anyOf": branches})
        else:
            schema["anyOf"] = branches
    if "allOf" in schema:
        parts = schema.pop("allOf")
        schema = merge_schemas([*parts, schema])
    if nullable:
        _allow_null(schema)
    _collapse_any_of(schema)
    return schema


def _collapse_any_of(schema: dict[str, Any]) -> None:
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or not branches or "type" in schema:
        return
    if all(isinstance(b, dict) and set(b) == {"type"} for b in branches):
        types: list[str] = []
        for b in branches:
            for t in declared_types(b):
                if t not in types:
                    types.append(t)
        del schema["anyOf"]
        schema["type"] = type_value(types)
        return
    nulls = [b for b in branches if b == {"type": "null"}]
    others = [b for b in branches if b != {"type": "null"}]
    if nulls and len(others) == 1 and "type" in others[0]:
        del schema["anyOf"]
        merged = merge_schemas([others[0], schema])
        schema.clear()
        schema.update(merged)
        _allow_null(schema)


def _allow_null(schema: dict[str, Any]) -> None:
    """Let `null` through, the 2020-12 way: a `"null"` type (and `None` in `enum`)."""
    if "type" in schema:
        types = declared_types(schema)
        if "null" not in types:
            schema["type"] = type_value([*types, "null"])
    elif isinstance(schema.get("anyOf"), list) and {"type": "null"} not in schema["anyOf"]:
        schema["anyOf"] = [*schema["anyOf"], {"type": "null"}]  # new lists: the old ones may be shared
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    if "const" in schema and schema["const"] is not None:
        schema["enum"] = [schema.pop("const"), None]


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _mapping(value: Any, where: str, file: Path) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ContractError(f"{file}: {where} must be a mapping, found {_kind(value)}.")
    return value


def _sequence(value: Any, where: str, file: Path) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ContractError(f"{file}: {where} must be a list, found {_kind(value)}.")
    return value


def evidence_from_json(data: Any) -> Evidence | None:
    """The `Evidence` of an `x-evidence` value (as written by our exports), or None."""
    if not isinstance(data, dict):
        return None
    try:
        return Evidence(
            count=int(data.get("seen", 0)),
            total=int(data.get("of", 0)),
            first_seen=data.get("firstSeen"),
            last_seen=data.get("lastSeen"),
            consumers=tuple(str(c) for c in data.get("consumers") or ()),
            confidence="low" if data.get("confidence") == "low" else "high",
        )
    except (TypeError, ValueError):
        return None


def server_url(server: Any) -> str | None:
    """A server's URL with its variables replaced by their defaults."""
    if not isinstance(server, dict) or not isinstance(server.get("url"), str):
        return None
    variables = server.get("variables") or {}

    def default(match: re.Match[str]) -> str:
        var = variables.get(match.group(1)) if isinstance(variables, dict) else None
        return str(var.get("default", "")) if isinstance(var, dict) else match.group(0)

    return re.sub(r"\{([^{}]+)\}", default, server["url"])


def origin(url: str) -> str | None:
    """`https://api.x.com/v1` -> `https://api.x.com`; None for a relative URL such as `/v1`."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def base_path(url: str | None) -> str:
    """The path part of a server URL without its trailing slash: `https://x.io/v1/` -> `/v1`."""
    if not url:
        return ""
    path = urlsplit(url).path if "://" in url or url.startswith("//") else url.split("?", 1)[0]
    path = path.rstrip("/")
    if path and not path.startswith("/"):
        path = "/" + path
    return path


def _status(code: str) -> str | None:
    code = code.strip()
    if code == "default" or re.fullmatch(r"[1-5][0-9][0-9]", code):
        return code
    if re.fullmatch(r"[1-5][xX][xX]", code):
        return code.upper()
    return None


def status_order(status: str) -> tuple[int, int, str]:
    """Numeric codes first, then `NXX` classes, then `default`."""
    if status.isdigit():
        return (0, int(status), status)
    if status.endswith("XX"):
        return (1, int(status[0]), status)
    return (2, 0, status)


class _OpenApi:
    def __init__(self, doc: dict[str, Any], path: Path, oas30: bool) -> None:
        self.doc = doc
        self.path = path
        self.refs = _Refs(doc, path)
        self.schemas = _Schemas(self.refs, oas30)

    def contract(self) -> Contract:
        doc, path = self.doc, self.path
        info = _mapping(doc.get("info"), "info", path)
        servers = [server_url(s) for s in _sequence(doc.get("servers"), "servers", path)]
        servers_found = [s for s in servers if s]
        base = base_path(servers_found[0] if servers_found else None)
        components = _mapping(doc.get("components"), "components", path)
        schemes = {}
        for name, scheme in _mapping(components.get("securitySchemes"), "securitySchemes", path).items():
            node, _ = self.refs.deref(scheme, path)
            schemes[name] = copy.deepcopy(_mapping(node, f"securitySchemes.{name}", path))
        global_security = _requirement_names(doc.get("security"), path)
        operations = []
        for template, item in _mapping(doc.get("paths"), "paths", path).items():
            if not template.startswith("/"):
                continue  # x- extensions
            item, item_file = self.refs.deref(item, path)
            item = _mapping(item, f"paths.{template}", item_file)
            item_base = base
            if item.get("servers"):
                item_base = base_path(server_url(_sequence(item["servers"], "servers", item_file)[0]))
            shared = self._parameters(item.get("parameters"), item_file, f"paths.{template}")
            for method, op in item.items():
                if method not in _METHOD_ORDER:
                    continue
                where = f"{method.upper()} {template}"
                op = _mapping(op, where, item_file)
                op_base = item_base
                if op.get("servers"):
                    op_base = base_path(server_url(_sequence(op["servers"], "servers", item_file)[0]))
                operations.append(
                    self._operation(method, template, op_base, op, item_file, shared, global_security)
                )
        operations.sort(key=lambda o: (o.path, _METHOD_ORDER.get(o.method, 9), o.method))
        return Contract(
            title=str(info.get("title") or "API"),
            version=str(info.get("version") or "0.0.0"),
            servers=tuple(dict.fromkeys(o for o in map(origin, servers_found) if o)),
            operations=tuple(operations),
            security_schemes=schemes,
            source=str(path),
        )

    def _parameters(self, nodes: Any, file: Path, where: str) -> list[Parameter]:
        out = []
        for node in _sequence(nodes, f"{where}.parameters", file):
            param = self._parameter(node, file, where)
            if param is not None:
                out.append(param)
        return out

    def _parameter(self, node: Any, file: Path, where: str) -> Parameter | None:
        node, file = self.refs.deref(node, file)
        node = _mapping(node, f"{where} parameter", file)
        name, location = node.get("name"), node.get("in")
        if not isinstance(name, str) or location not in ("path", "query", "header", "cookie"):
            raise ContractError(
                f"{file}: {where}: parameter {name!r} has `in: {location}`; OpenAPI 3 allows path, query,"
                " header or cookie (request bodies go in requestBody)."
            )
        if location == "header" and name.lower() in _IGNORED_HEADER_PARAMETERS:
            return None  # OpenAPI: such parameter definitions are ignored
        return Parameter(
            name=name,
            location=location,
            required=location == "path" or node.get("required") is True,
            schema=self._schema_or_content(node, file),
            evidence=evidence_from_json(node.get("x-evidence")),
        )

    def _schema_or_content(self, node: dict[str, Any], file: Path) -> dict[str, Any]:
        if "schema" in node:
            return self.schemas.convert(node["schema"], file)
        for media in _mapping(node.get("content"), "content", file).values():
            if isinstance(media, dict) and "schema" in media:
                return self.schemas.convert(media["schema"], file)
        return {}

    def _operation(
        self,
        method: str,
        template: str,
        base: str,
        op: dict[str, Any],
        file: Path,
        shared: list[Parameter],
        global_security: tuple[str, ...],
    ) -> Operation:
        where = f"{method.upper()} {template}"
        own = self._parameters(op.get("parameters"), file, where)
        keys = {_param_key(p) for p in own}
        params = own + [p for p in shared if _param_key(p) not in keys]
        full_path = base + template
        declared = {p.name for p in params if p.location == "path"}
        for name in re.findall(r"\{([^{}]+)\}", full_path):
            if name not in declared:
                params.append(Parameter(name=name, location="path", required=True, schema={}))
                declared.add(name)
        params.sort(key=lambda p: _LOCATION_ORDER[p.location])
        bodies: list[Body] = []
        body_required = False
        if op.get("requestBody") is not None:
            body, body_file = self.refs.deref(op["requestBody"], file)
            body = _mapping(body, f"{where} requestBody", body_file)
            bodies = self._bodies(body.get("content"), body_file, f"{where} requestBody")
            body_required = body.get("required") is True
        responses = []
        for code, node in _mapping(op.get("responses"), f"{where} responses", file).items():
            status = _status(str(code))
            if status is None:
                continue
            responses.append(self._response(status, node, file, f"{where} {status}"))
        responses.sort(key=lambda r: status_order(r.status))
        security = _requirement_names(op["security"], file) if "security" in op else global_security
        return Operation(
            method=method,
            path=full_path,
            operation_id=_text(op.get("operationId")),
            summary=_text(op.get("summary")),
            parameters=tuple(params),
            request_bodies=tuple(bodies),
            request_body_required=body_required,
            responses=tuple(responses),
            security=security,
            deprecated=op.get("deprecated") is True,
            evidence=evidence_from_json(op.get("x-evidence")),
        )

    def _response(self, status: str, node: Any, file: Path, where: str) -> Response:
        node, file = self.refs.deref(node, file)
        node = _mapping(node, where, file)
        headers = []
        for name, header in _mapping(node.get("headers"), f"{where} headers", file).items():
            if name.lower() == "content-type":
                continue  # OpenAPI: ignored; media types are the content keys
            header, header_file = self.refs.deref(header, file)
            header = _mapping(header, f"{where} header {name}", header_file)
            headers.append(
                Parameter(
                    name=name,
                    location="header",
                    required=header.get("required") is True,
                    schema=self._schema_or_content(header, header_file),
                    evidence=evidence_from_json(header.get("x-evidence")),
                )
            )
        return Response(
            status=status,
            description=str(node.get("description") or ""),
            headers=tuple(headers),
            bodies=tuple(self._bodies(node.get("content"), file, where)),
            evidence=evidence_from_json(node.get("x-evidence")),
        )

    def _bodies(self, content: Any, file: Path, where: str) -> list[Body]:
        out: list[Body] = []
        seen = set()
        for key, media in _mapping(content, f"{where} content", file).items():
            mt = media_type(key)
            if mt is None or mt in seen:
                continue
            seen.add(mt)
            media, media_file = self.refs.deref(media, file)
            media = _mapping(media, f"{where} {key}", media_file)
            schema = self.schemas.convert(media["schema"], media_file) if "schema" in media else None
            if schema == {} and not is_json_media_type(mt):
                schema = None  # an opaque body, as the model writes it
            out.append(
                Body(
                    media_type=mt,
                    schema=schema,
                    example=self._example(media, media_file),
                    evidence=evidence_from_json(media.get("x-evidence")),
                )
            )
        return out

    def _example(self, media: dict[str, Any], file: Path) -> Any:
        if "example" in media:
            return copy.deepcopy(media["example"])
        examples = media.get("examples")
        if isinstance(examples, dict):
            for example in examples.values():
                node, _ = self.refs.deref(example, file)
                if isinstance(node, dict) and "value" in node:
                    return copy.deepcopy(node["value"])
        return None


def _param_key(p: Parameter) -> tuple[str, str]:
    return (p.name.lower() if p.location == "header" else p.name, p.location)


def _requirement_names(value: Any, file: Path) -> tuple[str, ...]:
    """Scheme names of a security requirement list (alternatives and combinations flattened)."""
    names: list[str] = []
    for requirement in _sequence(value, "security", file):
        for name in _mapping(requirement, "security requirement", file):
            if name not in names:
                names.append(name)
    return tuple(names)


def _text(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None
