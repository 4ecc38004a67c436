"""Drift and diff on real recorded traffic: conforming traffic is quiet, every injected change is found."""

from __future__ import annotations

import json

import pytest
from support import running_proxy

from recorder.demo.consumer import drive
from recorder.demo.provider import ShopServer
from recorder.judge.diff import bump, diff_contracts, version_bump
from recorder.judge.runs import run_diff, run_drift
from recorder.learn.observed import ObservedOptions, observed_contract
from recorder.model import Body, Contract, Operation, Parameter, Response
from recorder.store import Window, open_store


@pytest.fixture(scope="module")
def traffic(tmp_path_factory):
    """v1 traffic (the contract is learned from it), more v1 traffic, and v2 traffic (the provider drifted)."""
    folder = tmp_path_factory.mktemp("drift")
    with ShopServer(version=1) as shop:
        for name, seed, count in (("v1.db", 1, 400), ("v1-later.db", 2, 150)):
            with running_proxy(shop.url, folder / name, "--provider", "shop") as proxy:
                drive(proxy.url, count, seed=seed)
        shop.set_version(2)
        with running_proxy(shop.url, folder / "v2.db", "--provider", "shop") as proxy:
            drive(proxy.url, 150, seed=3)
    contract = observed_contract(open_store(folder / "v1.db"), ObservedOptions()).contract
    return folder, contract


def _drift(folder, name, contract, **kw):
    return run_drift(open_store(folder / name), contract, contract_name="v1.yaml", db_name=name, **kw)


def test_conforming_traffic_has_no_breaking_findings(traffic):
    folder, contract = traffic
    report = _drift(folder, "v1-later.db", contract)
    assert [f for f in report.findings if f.severity == "breaking"] == []
    assert report.failing() == ()


def test_a_renamed_field_a_changed_type_and_a_new_enum_value_are_breaking(traffic):
    folder, contract = traffic
    report = _drift(folder, "v2.db", contract)
    by = {(f.kind, f.operation, f.location): f for f in report.findings}
    missing = by[("field-missing", "GET /api/v1/users/{userId}", "response 200: /name")]
    assert missing.severity == "breaking" and missing.count > 10
    assert missing.examples and missing.consumers and missing.first_seen and missing.last_seen
    retyped = by[("type-mismatch", "GET /api/v1/orders/{orderId}", "response 200: /total")]
    assert (retyped.expected, retyped.observed) == (["number"], "string")
    assert by[("enum-violation", "GET /api/v1/orders/{orderId}", "response 200: /status")].observed == [
        "refunded"
    ]
    assert ("field-undocumented", "GET /api/v1/users/{userId}", "response 200: /fullName") in by
    assert (
        by[("field-undocumented", "GET /api/v1/users/{userId}", "response 200: /fullName")].severity == "info"
    )
    assert report.failing()


def test_every_example_shows_its_finding(traffic):
    folder, contract = traffic
    report = _drift(folder, "v2.db", contract)
    database = open_store(folder / "v2.db")
    finding = next(
        f
        for f in report.findings
        if f.kind == "type-mismatch" and f.operation == "GET /api/v1/orders/{orderId}"
    )
    for exchange_id in finding.examples:
        exchange = database.exchange(exchange_id)
        assert exchange.method == "GET" and exchange.path.startswith("/api/v1/orders/")
        assert isinstance(json.loads(exchange.response_body)["total"], str)


def test_undocumented_operations_and_statuses_and_unobserved_ones(traffic):
    folder, contract = traffic
    ops = [op for op in contract.operations if op.path != "/api/v1/stats/daily"]
    users = next(op for op in ops if op.key == "GET /api/v1/users/{userId}")
    shrunk = users.model_copy(update={"responses": tuple(r for r in users.responses if r.status != "404")})
    extra = Operation(method="get", path="/api/v1/never", responses=(Response(status="200"),))
    smaller = contract.model_copy(
        update={"operations": (*tuple(op if op is not users else shrunk for op in ops), extra)}
    )
    report = _drift(folder, "v1-later.db", smaller)
    kinds = {(f.kind, f.operation) for f in report.findings}
    assert ("operation-undocumented", "GET /api/v1/stats/daily") in kinds
    assert ("status-undocumented", "GET /api/v1/users/{userId}") in kinds
    assert ("operation-unobserved", "GET /api/v1/never") in kinds
    severities = {f.kind: f.severity for f in report.findings}
    assert severities["operation-undocumented"] == "warning" and severities["operation-unobserved"] == "info"


def test_request_side_findings(traffic):
    folder, contract = traffic
    users = next(op for op in contract.operations if op.key == "GET /api/v1/users")
    required = Parameter(name="tenant", location="query", required=True, schema={"type": "string"})
    typed = tuple(
        p.model_copy(update={"schema_": {"type": "string", "enum": ["5"]}}) if p.name == "limit" else p
        for p in users.parameters
        if p.name != "role"
    )
    strict = users.model_copy(update={"parameters": (*typed, required)})
    post = next(op for op in contract.operations if op.key == "POST /api/v1/users")
    body = Body(
        media_type="application/json",
        schema={
            "type": "object",
            "properties": {"email": {"type": "integer"}},
            "required": ["email", "name"],
        },
    )
    post = post.model_copy(update={"request_bodies": (body,)})
    changed = contract.model_copy(
        update={
            "operations": tuple(
                strict if op is users else post if op.key == post.key else op for op in contract.operations
            )
        }
    )
    report = _drift(folder, "v1-later.db", changed)
    by = {(f.kind, f.operation, f.location) for f in report.findings}
    assert ("parameter-missing", "GET /api/v1/users", "query: tenant") in by
    assert ("parameter-undocumented", "GET /api/v1/users", "query: role") in by
    assert ("enum-violation", "GET /api/v1/users", "query: limit") in by  # 10 sent where only "5" is allowed
    assert not any(k == "type-mismatch" and loc.startswith("query") for k, _, loc in by)  # text on the wire
    assert ("type-mismatch", "POST /api/v1/users", "request body: /email") in by
    assert ("field-missing", "POST /api/v1/users", "request body: /name") in by


def test_time_window_and_consumer_filters(traffic):
    folder, contract = traffic
    everything = _drift(folder, "v2.db", contract)
    web = _drift(folder, "v2.db", contract, window=Window(consumer="web-app"))
    future = _drift(folder, "v2.db", contract, window=Window(since=4_000_000_000))
    count = lambda r, kind: sum(f.count for f in r.findings if f.kind == kind)  # noqa: E731
    assert 0 < count(web, "field-missing") < count(everything, "field-missing")
    assert all(set(f.consumers) <= {"web-app"} for f in web.findings if f.kind == "field-missing")
    assert [f for f in future.findings if f.severity == "breaking"] == []
    assert future.notes == ("no traffic in the selected window",)


def test_diff_classifies_changes_and_suggests_the_bump(traffic):
    folder, v1 = traffic
    v2 = observed_contract(open_store(folder / "v2.db"), ObservedOptions()).contract
    findings = diff_contracts(v1, v2)
    kinds = {(f.kind, f.operation, f.location): f.severity for f in findings}
    assert kinds[("field-removed", "GET /api/v1/users/{userId}", "response 200: /name")] == "breaking"
    assert kinds[("type-changed", "GET /api/v1/orders/{orderId}", "response 200: /total")] == "breaking"
    assert kinds[("field-added", "GET /api/v1/users/{userId}", "response 200: /fullName")] == "info"
    assert version_bump(findings) == "major"
    assert diff_contracts(v1, v1) == [] and version_bump([]) == "none"
    assert (
        bump("1.4.2", "major") == "2.0.0"
        and bump("1.4.2", "minor") == "1.5.0"
        and bump("1.4.2", "patch") == "1.4.3"
    )
    report = run_diff(v1, v2, old_name="v1.yaml", new_name="v2.yaml")
    assert report.version_bump == "major" and report.failing()


def _op(path="/things", responses=(), parameters=(), bodies=(), method="get"):
    return Operation(
        method=method,
        path=path,
        responses=tuple(responses),
        parameters=tuple(parameters),
        request_bodies=tuple(bodies),
    )


def _json(schema):
    return (Body(media_type="application/json", schema=schema),)


def test_diff_rules_one_by_one():
    obj = {
        "type": "object",
        "properties": {"a": {"type": "string", "enum": ["x", "y"]}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    old = Contract(
        operations=(
            _op(responses=[Response(status="200", bodies=_json(obj)), Response(status="404")]),
            _op("/gone"),
        )
    )
    optional = {
        **obj,
        "required": ["a"],
        "properties": {**obj["properties"], "a": {"type": "string", "enum": ["x"]}},
    }
    new = Contract(operations=(_op(responses=[Response(status="200", bodies=_json(optional))]), _op("/new")))
    got = {(f.kind, f.location): f.severity for f in diff_contracts(old, new)}
    assert got[("operation-removed", "")] == "breaking"
    assert got[("operation-added", "")] == "info"
    assert got[("status-removed", "status 404")] == "breaking"
    assert got[("field-became-optional", "response 200: /b")] == "breaking"
    assert got[("enum-value-removed", "response 200: /a")] == "breaking"
    req_old = Contract(
        operations=(
            _op(
                method="post",
                bodies=_json({"type": "object", "properties": {"k": {"type": "string", "enum": ["a"]}}}),
            ),
        )
    )
    req_new = Contract(
        operations=(
            _op(
                method="post",
                bodies=_json(
                    {
                        "type": "object",
                        "properties": {"k": {"type": "string", "enum": ["a", "b"]}, "n": {"type": "integer"}},
                        "required": ["n"],
                    }
                ),
                parameters=[Parameter(name="q", location="query", required=True, schema={"type": "string"})],
            ),
        )
    )
    got = {(f.kind, f.location): f.severity for f in diff_contracts(req_old, req_new)}
    assert got[("enum-value-added", "request body: /k")] == "breaking"
    assert got[("field-added-required", "request body: /n")] == "breaking"
    assert got[("parameter-added-required", "query: q")] == "breaking"
