"""The observed contract: evidence summaries -> path templates -> a `Contract` with evidence on every element."""

from __future__ import annotations

import dataclasses
import http
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from recorder.common.redact import Redactor
from recorder.common.routes import split_path
from recorder.common.times import iso
from recorder.config import InferenceSettings, Settings
from recorder.errors import StoreError
from recorder.learn.finalize import FieldPool, Thresholds, finalize_schema, observations, subschemas
from recorder.learn.infer import EvidenceNode, merge_summaries
from recorder.learn.paths import ShapeInfo, Template, path_shape, template_paths
from recorder.learn.summaries import OperationSummary, catch_up, load_summaries, providers
from recorder.model import Body, Contract, Evidence, Operation, Parameter, Response
from recorder.store import Store

CONSUMER_HEADERS = frozenset({"x-consumer", "x-client-name", "x-service-name"})
SECURITY_HEADER_NAMES = ("x-api-key", "api-key", "apikey", "x-auth-token", "x-access-token")


@dataclass(frozen=True)
class ObservedOptions:
    """How to build the observed contract."""

    provider: str | None = None
    title: str | None = None
    version: str = "0.1.0"
    evidence: bool = True
    pinned: tuple[str, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> ObservedOptions:
        inf: InferenceSettings = settings.infer
        th = Thresholds(**inf.model_dump(), evidence=kw.pop("evidence", True))
        return cls(pinned=tuple(settings.paths), thresholds=th, **kw)


def pick_provider(store: Store, provider: str | None) -> str:
    """The provider to export: the one asked for, or the only one recorded."""
    names = providers(store)
    if provider is not None:
        if provider not in names:
            known = ", ".join(names) or "none"
            raise StoreError(f"no traffic recorded for provider {provider!r} (recorded: {known}).")
        return provider
    if not names:
        raise StoreError("no exchanges recorded yet: nothing to infer a contract from.")
    if len(names) > 1:
        raise StoreError(
            f"the database holds several providers ({', '.join(names)}): choose one with --provider."
        )
    return names[0]


@dataclass(frozen=True)
class Observed:
    """The observed contract and, per operation (method, template), the path shapes it was learned from."""

    contract: Contract
    shapes: dict[tuple[str, str], tuple[str, ...]]


def observed_contract(store: Store, options: ObservedOptions) -> Observed:
    """Catch up the summaries, then build the observed contract of one provider."""
    catch_up(store)
    provider = pick_provider(store, options.provider)
    summaries = load_summaries(store, provider)
    servers = _servers(store, provider)
    return contract_from_summaries(summaries, options, provider=provider, servers=servers)


def _servers(store: Store, provider: str) -> tuple[str, ...]:
    # the most recent exchanges say where the provider lives (bounded: export time must not grow with traffic)
    rows = store.recent_origins(provider, recent=2000, top=3)
    out = []
    for scheme, host, port in rows:
        if not host:
            continue
        default = (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
        out.append(f"{scheme}://{host}" + ("" if default or not port else f":{port}"))
    return tuple(out)


def shape_info(summary: OperationSummary) -> ShapeInfo:
    """What path templating needs to know of one (method, shape): counts, response fields, success, names,
    and whether it was only ever refused as invalid."""
    return ShapeInfo(
        summary.method,
        summary.shape,
        summary.n,
        response_fields(summary),
        _succeeded(summary),
        _names(summary),
        bool(summary.statuses) and all(code in ("400", "422") for code in summary.statuses),
    )


_NAME_KEYS = frozenset({"id", "uuid", "key", "slug", "name", "login", "username", "handle", "code"})


def _names(summary: OperationSummary) -> frozenset[str]:
    """Identifier values (`id`, `name`, `login`...) that every 2xx JSON answer carried alike, at the top or
    one object down (`{"data": {"id": "abc"}}`): what a resource answering at this path calls itself."""
    names: set[str] = set()
    for body in summary.success_bodies():
        tops = [p for p in subschemas(body) if p["type"] == "object"]
        levels = tops + [
            q
            for top in tops
            for sub in (top.get("properties") or {}).values()
            for q in subschemas(sub)
            if q["type"] == "object"
        ]
        for part in levels:
            for key, sub in (part.get("properties") or {}).items():
                if key.lower() not in _NAME_KEYS:
                    continue
                for scalar in subschemas(sub):
                    values = scalar.get("x-stats", {}).get("vals")
                    if scalar["type"] in ("string", "integer") and values and len(values) == 1:
                        names.add(str(values[0][0]))
    return frozenset(names)


def response_fields(summary: OperationSummary) -> frozenset[str]:
    """Field paths of 2xx JSON responses (a fingerprint used to tell slugs from resources)."""
    fields: set[str] = set()
    for body in summary.success_bodies():
        _field_paths(body, "", fields, 0)
    return frozenset(fields)


def _merge_members(method: str, members: list[tuple[OperationSummary, Template]]) -> OperationSummary:
    first = members[0][0]
    merged = OperationSummary(first.provider, method, members[0][1].path)
    for summary, _ in members:
        merged.load(summary.dump())
    return merged


def _structure(summary: dict[str, Any]) -> Any:
    """A body's structure: the kinds it took and, for objects (or arrays of objects), their field names."""
    key = []
    for part in subschemas(summary):
        if part["type"] == "object":
            key.append(("object", tuple(sorted(part.get("properties") or {}))))
        elif part["type"] == "array" and part.get("items"):
            key.append(("array", _structure(part["items"])))
        else:
            key.append((part["type"],))
    return tuple(key)


def _own_enums(schema: Any, summary: dict[str, Any]) -> Any:
    """A schema decided on pooled evidence keeps, in each enum, only the values this body's own evidence saw
    (Stripe's `{id, object, deleted}` is one structure for coupons, customers and products: each one's
    `object` is its own value, not all three)."""
    if not isinstance(schema, dict):
        return schema
    if isinstance(schema.get("enum"), list):
        own = {
            json.dumps(v, sort_keys=True)
            for part in subschemas(summary)
            for v, _ in (part.get("x-stats", {}).get("vals") or [])
        }
        kept = [v for v in schema["enum"] if v is None or json.dumps(v, sort_keys=True) in own]
        schema = {k: v for k, v in schema.items() if k != "enum"}
        if [v for v in kept if v is not None]:
            schema["enum"] = kept
        return schema
    out = dict(schema)
    objects = [p for p in subschemas(summary) if p["type"] == "object"]
    arrays = [p for p in subschemas(summary) if p["type"] == "array" and p.get("items")]
    if isinstance(schema.get("properties"), dict):
        own_props = objects[0].get("properties") or {} if objects else {}
        out["properties"] = {
            k: _own_enums(v, own_props[k]) if k in own_props else _no_enums(v)
            for k, v in schema["properties"].items()
        }
    if isinstance(schema.get("items"), dict):
        out["items"] = (
            _own_enums(schema["items"], arrays[0]["items"]) if arrays else _no_enums(schema["items"])
        )
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            out[key] = [_own_enums(b, summary) for b in schema[key]]
    return out


def _no_enums(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if k != "enum"}
    for key in ("properties",):
        if isinstance(out.get(key), dict):
            out[key] = {k: _no_enums(v) for k, v in out[key].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = _no_enums(out["items"])
    return out


def _body_summaries(
    summaries: Iterable[OperationSummary],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The evidence of every response body and of every request body of every operation."""
    responses, requests = [], []
    for summary in summaries:
        answers = [b for st in summary.statuses.values() for b in st.bodies.values()]
        responses += [body.node.to_schema() for body in answers if body.node is not None]
        requests += [body.node.to_schema() for body in summary.requests.values() if body.node is not None]
    return responses, requests


def _pool_bodies(bodies: Iterable[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Merged evidence of all request and response bodies sharing one structure (with fields)."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for schema in bodies:
        key = _structure(schema)
        if "object" in repr(key):
            groups.setdefault(key, []).append(schema)
    return {key: merge_summaries(*schemas) for key, schemas in groups.items() if len(schemas) > 1}


def redirect_hops(summaries: Iterable[OperationSummary]) -> set[tuple[str, str]]:
    """(method, shape) of the hops on the way to another operation: every answer a redirect whose `Location`
    is a path the same API answered, without redirecting, for the same method (Kinto's `PUT /accounts/user`
    -> 307 `/v1/accounts/user`; a trailing-slash redirect). The consumer's interaction is the target's; the
    hop is transport, not an operation of the contract. A redirect anywhere else (another host, a login
    page nobody recorded, too many targets to list) stays an operation."""
    summaries = list(summaries)
    answered = {(s.method, s.shape) for s in summaries if any(code[:1] != "3" for code in s.statuses)}
    hops = set()
    for summary in summaries:
        if not summary.statuses or any(code[:1] != "3" for code in summary.statuses):
            continue
        targets = [_locations(status.headers.to_schema()) for status in summary.statuses.values()]
        if all(t and all((summary.method, path_shape(p)[0]) in answered for p in t) for t in targets):
            hops.add((summary.method, summary.shape))
    return hops


def _locations(headers: dict[str, Any]) -> list[str] | None:
    """The paths of the `Location` values a status's header evidence saw (None: absent, or too many)."""
    location = (headers.get("properties") or {}).get("location") or {}
    values = location.get("x-stats", {}).get("vals")
    if not values:
        return None
    paths = [urlsplit(str(value)).path for value, _ in values]
    return paths if all(p.startswith("/") for p in paths) else None


def _succeeded(summary: OperationSummary) -> bool:
    return any(code[:1] in ("2", "3") for code in summary.statuses)


def _field_paths(summary: dict[str, Any], prefix: str, out: set[str], depth: int) -> None:
    if depth > 4:
        return
    for part in subschemas(summary):
        if part["type"] == "object":
            for key, sub in (part.get("properties") or {}).items():
                path = f"{prefix}/{key}"
                out.add(path)
                _field_paths(sub, path, out, depth + 1)
        elif part["type"] == "array" and part.get("items"):
            _field_paths(part["items"], prefix + "[]", out, depth + 1)


def contract_from_summaries(
    summaries: Iterable[OperationSummary],
    options: ObservedOptions,
    *,
    provider: str,
    servers: tuple[str, ...] = (),
) -> Observed:
    """Templates, merged evidence and a `Contract` from summaries."""
    summaries = list(summaries)
    hops = redirect_hops(summaries)
    summaries = [s for s in summaries if (s.method, s.shape) not in hops]
    infos = [shape_info(s) for s in summaries]
    templates = template_paths(infos, options.pinned)
    groups: dict[tuple[str, str], list[tuple[OperationSummary, Template]]] = {}
    for summary in summaries:
        template = templates[(summary.method, summary.shape)]
        groups.setdefault((summary.method, template.path), []).append((summary, template))
    builder = _OperationBuilder(options.thresholds)
    merged = {key: _merge_members(key[0], members) for key, members in groups.items()}
    responses, requests = _body_summaries(merged.values())
    builder.pool = _pool_bodies(responses + requests)
    # what providers answer: requests may be deliberately incomplete (a test of a 400)
    builder.fields = FieldPool(responses)
    operations = [
        builder.build(method, path, members, merged[(method, path)])
        for (method, path), members in groups.items()
    ]
    operations.sort(key=lambda op: (op.path, _METHOD_ORDER.get(op.method, 9), op.method))
    contract = Contract(
        title=options.title or provider,
        version=options.version,
        provider=provider,
        servers=servers,
        operations=tuple(operations),
        security_schemes=builder.security_schemes,
        source="observed",
    )
    shapes = {
        (m.lower(), p): tuple(sorted(s.shape for s, _ in members)) for (m, p), members in groups.items()
    }
    return Observed(contract, shapes)


_METHOD_ORDER = {
    m: i for i, m in enumerate(("get", "put", "post", "delete", "options", "head", "patch", "trace"))
}


class _OperationBuilder:
    def __init__(self, th: Thresholds) -> None:
        self.th = th
        self.security_schemes: dict[str, dict[str, Any]] = {}
        self.redactor = Redactor()
        self.pool: dict[Any, dict[str, Any]] = {}
        self.fields: FieldPool | None = None

    def _body_schema(self, summary: dict[str, Any]) -> dict[str, Any]:
        """A body's schema; when its own evidence is thin, decided on the evidence of every body of the same
        structure across the API (an error envelope seen twice here but sixty times elsewhere)."""
        n = observations(summary)
        if n < max(self.th.min_enum, self.th.min_required):
            pooled = self.pool.get(_structure(summary))
            if pooled is not None and observations(pooled) > n:
                return _own_enums(finalize_schema(pooled, self.th, pool=self.fields), summary)
        return finalize_schema(summary, self.th, pool=self.fields)

    def _evidence(
        self, count: int, total: int, first: float | None, last: float | None, consumers: dict[str, int]
    ) -> Evidence | None:
        if not self.th.evidence:
            return None
        return Evidence(
            count=count,
            total=total,
            first_seen=iso(first),
            last_seen=iso(last),
            consumers=tuple(sorted(c for c in consumers if c)),
            confidence="low" if total < self.th.low_confidence else "high",
        )

    def build(
        self,
        method: str,
        path: str,
        members: list[tuple[OperationSummary, Template]],
        merged: OperationSummary,
    ) -> Operation:
        n = merged.n
        params = self._path_params(members)
        params += self._query_params(merged)
        params += self._header_params(merged)
        security = self._security(merged)
        request_bodies, body_required = self._request_bodies(merged)
        responses = tuple(
            self._response(code, merged.statuses[code], n) for code in sorted(merged.statuses, key=_code_key)
        )
        return Operation(
            method=method.lower(),
            path=path,
            operation_id=_operation_id(method, path),
            parameters=tuple(params),
            request_bodies=request_bodies,
            request_body_required=body_required,
            responses=responses,
            security=security,
            evidence=self._evidence(n, n, merged.first, merged.last, merged.consumers),
        )

    # -- parameters -----------------------------------------------------------------------------------------

    def _path_params(self, members: list[tuple[OperationSummary, Template]]) -> list[Parameter]:
        template = members[0][1]
        if not template.params:
            return []
        nodes = [EvidenceNode() for _ in template.params]
        total = 0
        for summary, tmpl in members:
            total += summary.n
            segments = split_path(summary.shape)
            typed_index = 0
            param_index = 0
            tmpl_segments = [s for s in tmpl.path.strip("/").split("/") if s]
            for seg, tseg in zip(segments, tmpl_segments, strict=False):
                is_typed = seg.startswith("{") and seg.endswith("}")
                if tseg.startswith("{"):
                    if is_typed:
                        part = _prop(summary.path.to_schema(), str(typed_index))
                        if part:
                            nodes[param_index].add_schema(part)
                    elif _succeeded(summary):  # values only ever rejected are not values of the parameter
                        for _ in range(min(summary.n, 50)):
                            nodes[param_index].add_object(seg)
                    param_index += 1
                if is_typed:
                    typed_index += 1
        params = []
        for (name, kind), node in zip(template.params, nodes, strict=True):
            schema = _path_param_schema(kind, node.to_schema(), self.th)
            params.append(
                Parameter(
                    name=name,
                    location="path",
                    required=True,
                    schema=schema,
                    evidence=self._evidence(total, total, None, None, {}),
                )
            )
        return params

    def _param(
        self, name: str, location: str, sub: dict[str, Any], seen: int, n: int, th: Thresholds | None = None
    ) -> Parameter:
        """A query or header parameter from its evidence: required when present in enough observations."""
        header = location == "header"
        return Parameter(
            name=_header_case(name) if header else name,
            location=location,  # type: ignore[arg-type]
            required=seen == n and n >= self.th.min_required,
            schema=_param_schema(sub, th or self.th, name, typed=not header),
            evidence=self._evidence(seen, n, None, None, {}),
        )

    def _query_params(self, merged: OperationSummary) -> list[Parameter]:
        # consumers choose query values: an enum there needs three times the usual evidence
        strict = dataclasses.replace(self.th, min_enum=self.th.min_enum * 3)
        out = []
        for name, sub, seen, n in _fields_of(merged.query.to_schema()):
            if self.redactor.is_secret_name(name):
                self._api_key(name, "query")
            else:
                out.append(self._param(name, "query", sub, seen, n, strict))
        return out

    def _header_params(self, merged: OperationSummary) -> list[Parameter]:
        out = []
        for name, sub, seen, n in _fields_of(merged.headers.to_schema()):
            if name in ("content-type", "accept") or name in CONSUMER_HEADERS:
                continue  # media types are expressed by bodies; consumer identification is ours
            if name in SECURITY_HEADER_NAMES or self.redactor.is_secret_name(name):
                self._api_key(name, "header")
            elif seen * 2 >= n:  # only headers present on most requests
                out.append(self._param(name, "header", sub, seen, n))
        return out

    def _api_key(self, name: str, where: str) -> str:
        key = f"{where}_{name}".replace("-", "_").lower()
        key = {"header_authorization": "apiKeyAuthorization"}.get(key, key)
        self.security_schemes[key] = {
            "type": "apiKey",
            "in": where,
            "name": _header_case(name) if where == "header" else name,
        }
        return key

    def _security(self, merged: OperationSummary) -> tuple[str, ...]:
        used = []
        for kind, _count in sorted(merged.auth.items()):
            if kind.startswith("http:"):
                scheme = kind[5:]
                if scheme in ("bearer", "basic", "digest"):
                    key = f"{scheme}Auth"
                    scheme_def: dict[str, Any] = {"type": "http", "scheme": scheme}
                    if scheme == "bearer":
                        scheme_def["bearerFormat"] = "JWT" if self._jwt_seen(merged) else "token"
                    self.security_schemes[key] = scheme_def
                else:
                    key = self._api_key("Authorization", "header")
                used.append(key)
            elif kind.startswith("cookie:"):
                continue  # cookies are session state; listed only when nothing else authenticates
        for part in subschemas(merged.headers.to_schema()):
            for name in part.get("properties") or {}:
                if name in SECURITY_HEADER_NAMES or (
                    self.redactor.is_secret_name(name) and name not in ("content-type", "accept")
                ):
                    used.append(self._api_key(name, "header"))
        for part in subschemas(merged.query.to_schema()):
            for name in part.get("properties") or {}:
                if self.redactor.is_secret_name(name):
                    used.append(self._api_key(name, "query"))
        return tuple(sorted(set(used)))

    def _jwt_seen(self, merged: OperationSummary) -> bool:
        for status in merged.statuses.values():
            example = status.example or {}
            auth = (example.get("request_headers") or {}).get("authorization", "")
            if "jwt" in auth:
                return True
        return True

    # -- bodies ---------------------------------------------------------------------------------------------

    def _request_bodies(self, merged: OperationSummary) -> tuple[tuple[Body, ...], bool]:
        bodies = []
        total = 0
        for mt in sorted(merged.requests):
            body = merged.requests[mt]
            total += body.n
            schema = self._body_schema(body.node.to_schema()) if body.node is not None else None
            if schema is not None and mt.startswith("multipart/"):
                for prop in (schema.get("properties") or {}).values():
                    prop.pop("type", None)
            example = None
            for status in merged.statuses.values():
                if status.example and status.example.get("request_body") is not None:
                    example = status.example["request_body"]
                    break
            bodies.append(
                Body(
                    media_type=mt,
                    schema=schema,
                    example=example,
                    evidence=self._evidence(body.n, merged.n, None, None, {}),
                )
            )
        required = bool(bodies) and total == merged.n and merged.n >= self.th.min_required
        return tuple(bodies), required

    def _response(self, code: str, status: Any, op_total: int) -> Response:
        headers = [
            self._param(name, "header", sub, seen, n)
            for name, sub, seen, n in _fields_of(status.headers.to_schema())
            if seen * 2 >= n  # headers that recur
        ]
        bodies = []
        example = status.example or {}
        for mt in sorted(status.bodies):
            body = status.bodies[mt]
            schema = self._body_schema(body.node.to_schema()) if body.node is not None else None
            ex_value = (
                example.get("response_body")
                if (example.get("response_content_type") or "").startswith(mt)
                else None
            )
            bodies.append(
                Body(
                    media_type=mt,
                    schema=schema,
                    example=ex_value,
                    evidence=self._evidence(body.n, status.n, None, None, {}),
                )
            )
        return Response(
            status=code,
            description=_reason(code),
            headers=tuple(headers),
            bodies=tuple(bodies),
            evidence=self._evidence(status.n, op_total, status.first, status.last, status.consumers),
        )


def _fields_of(summary: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any], int, int]]:
    """(name, evidence, times present, observations) for each field of an object summary, by name."""
    for part in subschemas(summary):
        if part["type"] != "object":
            continue
        present = part.get("x-stats", {}).get("p", {})
        n = part.get("x-stats", {}).get("n", 0)
        for name in sorted(part.get("properties") or {}):
            yield name, part["properties"][name], present.get(name, 0), n


def _prop(summary: dict[str, Any], name: str) -> dict[str, Any] | None:
    for part in subschemas(summary):
        if part["type"] == "object":
            return (part.get("properties") or {}).get(name)
    return None


def _param_schema(summary: dict[str, Any], th: Thresholds, name: str, typed: bool = True) -> dict[str, Any]:
    """A parameter's schema: repeated keys as arrays (single values count as one-item arrays)."""
    parts = subschemas(summary)
    arrays = [p for p in parts if p["type"] == "array"]
    if arrays:
        items = EvidenceNode()
        for part in parts:
            if part["type"] == "array":
                if part.get("items"):
                    items.add_schema(part["items"])
            else:
                items.add_schema(part)
        return {"type": "array", "items": _strip_evidence(finalize_schema(items.to_schema(), th, name))}
    schema = _strip_evidence(finalize_schema(summary, th, name))
    if not typed:
        schema.pop("enum", None)  # header values: types and formats, never enums
    return schema


def _strip_evidence(schema: dict[str, Any]) -> dict[str, Any]:
    return json.loads(
        json.dumps(schema), object_hook=lambda d: {k: v for k, v in d.items() if k != "x-evidence"}
    )


def _path_param_schema(kind: str, summary: dict[str, Any], th: Thresholds) -> dict[str, Any]:
    if kind == "int":
        schema: dict[str, Any] = {"type": "integer"}
        for part in subschemas(summary):
            if part["type"] == "integer" and (part.get("x-stats", {}).get("max") or 0) > 2**31 - 1:
                schema["format"] = "int64"
        return schema
    if kind == "uuid":
        return {"type": "string", "format": "uuid"}
    if kind == "date":
        return {"type": "string", "format": "date"}
    if kind == "datetime":
        return {"type": "string", "format": "date-time"}
    if kind == "email":
        return {"type": "string", "format": "email"}
    if kind == "semver":
        return {"type": "string", "pattern": r"^v?\d+\.\d+\.\d+([-+][\w.]+)?$"}
    if kind == "digest":
        return {"type": "string", "pattern": r"^[a-z0-9]+:[0-9a-fA-F]{32,128}$"}
    if kind == "hex":
        lengths = _lengths(summary)
        size = (
            f"{{{lengths[0]}}}"
            if len(set(lengths)) == 1
            else f"{{{min(lengths)},{max(lengths)}}}"
            if lengths
            else "+"
        )
        return {"type": "string", "pattern": f"^[0-9a-fA-F]{size}$"}
    if kind == "prefixed":
        prefixes = sorted({str(v).split("_", 1)[0] for v in _values(summary)})
        if len(prefixes) == 1:
            return {"type": "string", "pattern": f"^{prefixes[0]}_[A-Za-z0-9]+$"}
        return {"type": "string", "pattern": "^[a-z]+_[A-Za-z0-9]+$"}
    if kind == "opaque":
        return {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}
    schema = _strip_evidence(finalize_schema(summary, th))
    if schema.get("type") != "string" or "enum" in schema:
        return {"type": "string"}
    return schema


def _lengths(summary: dict[str, Any]) -> list[int]:
    out = []
    for part in subschemas(summary):
        stats = part.get("x-stats", {})
        if part["type"] == "string" and stats.get("minL") is not None:
            out += [stats["minL"], stats["maxL"]]
    return out


def _values(summary: dict[str, Any]) -> list[Any]:
    out = []
    for part in subschemas(summary):
        for value, _ in part.get("x-stats", {}).get("vals") or []:
            out.append(value)
    return out


def _header_case(name: str) -> str:
    return "-".join(p[:1].upper() + p[1:] for p in name.split("-"))


def _reason(code: str) -> str:
    try:
        return http.HTTPStatus(int(code)).phrase
    except ValueError:
        return "Response"


def _code_key(code: str) -> tuple[int, str]:
    return (int(code), code) if code.isdigit() else (999, code)


def _operation_id(method: str, path: str) -> str:
    words = [method.lower()]
    for seg in path.strip("/").split("/"):
        if not seg:
            continue
        if seg.startswith("{"):
            words.append("by" + seg[1:-1][:1].upper() + seg[1:-1][1:])
        else:
            clean = "".join(ch if ch.isalnum() else " " for ch in seg).split()
            words.extend(clean)
    head, *rest = words
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def common(values: Iterable[str]) -> str | None:
    """The most common value."""
    counter = Counter(values)
    return counter.most_common(1)[0][0] if counter else None
