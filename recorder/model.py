"""The one internal model: recorded exchanges, contracts (observed or documented) and findings.

Every adapter converts into these values: traffic and HAR/flow files into `Exchange`, OpenAPI and Pact files
and observed evidence into `Contract`; exports, drift and diff are computed from `Contract` values.
Schemas inside a contract are plain JSON Schema 2020-12 dicts (type arrays for nullability).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from recorder.common.jsonvalues import json_body

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Frozen(BaseModel):
    """Base for all models: immutable values that reject unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Exchange(Frozen):
    """One recorded HTTP request/response pair (already redacted), as stored in the `exchanges` table."""

    id: int | None = None
    uid: str
    started: float
    duration_ms: float | None = None
    consumer: str = ""
    provider: str = ""
    method: str
    scheme: str = "http"
    host: str = ""
    port: int = 0
    path: str
    query: dict[str, list[str]] = Field(default_factory=dict)
    http_version: str = "HTTP/1.1"
    request_headers: list[tuple[str, str]] = Field(default_factory=list)
    request_content_type: str | None = None
    request_body: bytes | None = None
    request_size: int = 0
    request_truncated: bool = False
    status: int | None = None
    response_headers: list[tuple[str, str]] = Field(default_factory=list)
    response_content_type: str | None = None
    response_body: bytes | None = None
    response_size: int = 0
    response_truncated: bool = False
    error: str | None = None
    source: str = "proxy"

    def json_body(self, which: Literal["request", "response"]) -> Any:
        """The body parsed as JSON, or `NOT_JSON` when it is absent, truncated or not JSON."""
        if which == "request":
            return json_body(self.request_body, self.request_content_type, self.request_truncated)
        return json_body(self.response_body, self.response_content_type, self.response_truncated)


# ---------------------------------------------------------------------------------------------------------
# Contracts


class Evidence(Frozen):
    """How sure we are of an element: seen `count` times out of `total` observations, when and by whom."""

    count: int = 0
    total: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    consumers: tuple[str, ...] = ()
    confidence: Literal["high", "low"] = "high"

    def to_json(self) -> dict[str, Any]:
        """The `x-evidence` form used in exports."""
        data: dict[str, Any] = {"seen": self.count, "of": self.total}
        if self.first_seen:
            data["firstSeen"] = self.first_seen
        if self.last_seen:
            data["lastSeen"] = self.last_seen
        if self.consumers:
            data["consumers"] = list(self.consumers)
        if self.confidence != "high":
            data["confidence"] = self.confidence
        return data


class Parameter(Frozen):
    """A path, query, header or cookie parameter."""

    name: str
    location: Literal["path", "query", "header", "cookie"]
    required: bool = False
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    evidence: Evidence | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


class Body(Frozen):
    """A body of one media type; `schema` is None for opaque media types."""

    media_type: str
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    example: Any = None
    evidence: Evidence | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


class Response(Frozen):
    """The responses of one status code (`200`, `404`, `4XX` or `default`)."""

    status: str
    description: str = ""
    headers: tuple[Parameter, ...] = ()
    bodies: tuple[Body, ...] = ()
    evidence: Evidence | None = None


class Operation(Frozen):
    """One method + path template, with what it takes and what it answers."""

    method: str
    path: str
    operation_id: str | None = None
    summary: str | None = None
    parameters: tuple[Parameter, ...] = ()
    request_bodies: tuple[Body, ...] = ()
    request_body_required: bool = False
    responses: tuple[Response, ...] = ()
    security: tuple[str, ...] = ()
    deprecated: bool = False
    evidence: Evidence | None = None

    @property
    def key(self) -> str:
        """`GET /users/{userId}`."""
        return f"{self.method.upper()} {self.path}"

    def response(self, status: str) -> Response | None:
        """The response declared for `status`, else its `NXX` class, else `default`."""
        by_status = {r.status: r for r in self.responses}
        return by_status.get(status) or by_status.get(f"{status[:1]}XX") or by_status.get("default")


class Contract(Frozen):
    """A whole API contract, observed or documented."""

    title: str = "API"
    version: str = "0.0.0"
    provider: str | None = None
    consumer: str | None = None
    servers: tuple[str, ...] = ()
    operations: tuple[Operation, ...] = ()
    security_schemes: dict[str, dict[str, Any]] = Field(default_factory=dict)
    source: str = "observed"

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation with this method and template, or None."""
        for op in self.operations:
            if op.method == method.lower() and op.path == path:
                return op
        return None


# ---------------------------------------------------------------------------------------------------------
# Findings

Severity = Literal["breaking", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "breaking": 2}


def operation_order(operation: str) -> tuple[str, int, str]:
    """Sort key for operations: by path, then method in HTTP order (`GET /a` before `POST /a`)."""
    method, _, path = operation.partition(" ")
    if not path:
        return (operation, -1, "")
    m = method.lower()
    return (path, HTTP_METHODS.index(m) if m in HTTP_METHODS else len(HTTP_METHODS), method)


def finding_order(f: Finding) -> tuple[Any, ...]:
    """The one order of findings: severity (breaking first), operation (path, then method), location, kind,
    message."""
    return (-SEVERITY_RANK[f.severity], operation_order(f.operation), f.location, f.kind, f.message)


class Finding(Frozen):
    """One difference between observed traffic (or a new contract) and a documented (or old) contract."""

    kind: str
    severity: Severity
    operation: str
    location: str = ""
    message: str = ""
    expected: Any = None
    observed: Any = None
    count: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    consumers: tuple[str, ...] = ()
    examples: tuple[int, ...] = ()


# ---------------------------------------------------------------------------------------------------------
# Reports: what every renderer (text, markdown, json, junit, html) receives


class OperationTraffic(Frozen):
    """Observed traffic of one operation, for report charts."""

    operation: str  # "GET /users/{userId}"
    count: int = 0
    hours: dict[str, int] = Field(default_factory=dict)  # epoch seconds of the hour -> exchanges
    statuses: dict[str, int] = Field(default_factory=dict)
    consumers: tuple[str, ...] = ()


class FieldPresence(Frozen):
    """How often a response field was present, for report charts."""

    operation: str
    status: str
    location: str  # JSON pointer into the body, e.g. /items/*/id
    seen: int
    of: int


class Report(Frozen):
    """Findings plus the context a reader needs: what was compared with what, over which window."""

    kind: Literal["drift", "diff", "replay"] = "drift"
    title: str = "Contract drift"
    generated_at: str = ""
    documented: str = ""  # the contract file (drift) or the old contract (diff)
    observed: str = ""  # the database (drift) or the new contract (diff)
    window: dict[str, str | None] = Field(default_factory=dict)  # since, until, consumer
    fail_on: Literal["breaking", "warning", "any", "never"] = "breaking"
    findings: tuple[Finding, ...] = ()
    operations: tuple[OperationTraffic, ...] = ()
    fields: tuple[FieldPresence, ...] = ()
    version_bump: Literal["major", "minor", "patch", "none"] | None = None
    notes: tuple[str, ...] = ()

    def failing(self) -> tuple[Finding, ...]:
        """Findings at or above `fail_on` (the ones that make the exit code 1)."""
        if self.fail_on == "never":
            return ()
        floor = {"any": 0, "warning": 1, "breaking": 2}[self.fail_on]
        return tuple(f for f in self.findings if SEVERITY_RANK[f.severity] >= floor)

    def counts(self) -> dict[str, int]:
        """Findings per severity."""
        out = {"breaking": 0, "warning": 0, "info": 0}
        for f in self.findings:
            out[f.severity] += 1
        return out


# ---------------------------------------------------------------------------------------------------------
# Health over time: what the dashboard (`recorder report`) shows


class Snapshot(Frozen):
    """A stored version of the observed contract."""

    version: str
    created_at: str
    bump: Literal["major", "minor", "patch", "none", "initial"] = "initial"
    reasons: tuple[str, ...] = ()  # one line per change that decided the bump
    operations: int = 0
    exchanges: int = 0


class DeprecationCandidate(Frozen):
    """An element not observed for a while (or only from some consumers): a candidate for removal."""

    element: Literal["operation", "status", "parameter", "field"]
    operation: str
    location: str = ""
    last_seen: str | None = None
    idle_days: float = 0.0
    last_consumers: tuple[str, ...] = ()


class OperationHealth(Frozen):
    """One operation's traffic, latency, consumers, field coverage, findings and risk."""

    operation: str
    count: int = 0
    hours: dict[str, int] = Field(default_factory=dict)  # epoch seconds of the hour -> exchanges
    statuses: dict[str, int] = Field(default_factory=dict)
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    consumers: dict[str, int] = Field(default_factory=dict)
    fields_seen: int = 0  # response fields of 2xx bodies present in every observation
    fields_total: int = 0  # response fields of 2xx bodies ever observed
    findings: dict[str, int] = Field(default_factory=dict)  # severity -> count
    risk: float = 0.0
    first_seen: str | None = None
    last_seen: str | None = None


class FindingsPoint(Frozen):
    """Findings of one day (drift of that day's traffic against the reference contract)."""

    day: str  # YYYY-MM-DD
    breaking: int = 0
    warning: int = 0
    info: int = 0
    exchanges: int = 0


class Health(Frozen):
    """Everything `recorder report` renders."""

    title: str = "Contract health"
    generated_at: str = ""
    database: str = ""
    provider: str = ""
    reference: str = ""  # what findings are computed against (a snapshot version or a contract file)
    totals: dict[str, int | float] = Field(
        default_factory=dict
    )  # exchanges, operations, consumers, dropped, ...
    operations: tuple[OperationHealth, ...] = ()  # ordered by risk, highest first
    snapshots: tuple[Snapshot, ...] = ()
    deprecations: tuple[DeprecationCandidate, ...] = ()
    findings_over_time: tuple[FindingsPoint, ...] = ()
    findings: tuple[Finding, ...] = ()  # current findings against the reference
