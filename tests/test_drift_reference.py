"""Drift judged against independent references: published specs served by a spec-driven provider.

Conforming traffic must yield no breaking findings, and jsonschema (a second opinion on the spec's own
schemas) must agree with drift exchange by exchange: every response it rejects is covered by a breaking
finding of that operation, and operations whose responses it accepts get no breaking findings.
"""

from __future__ import annotations

import copy
import json
import sqlite3

import jsonschema
import pytest
from apis.driver import plan_requests, send
from apis.fakeserver import FakeProvider
from apis.oas import load_spec
from support import ROOT, running_proxy

from recorder.contracts.load import load_contract
from recorder.judge.runs import run_drift
from recorder.model import Contract
from recorder.store import open_store

SPECS = ROOT / "tests" / "apis" / "specs"


def _record(spec: dict, db, per_op: int = 8, seed: int = 5) -> None:
    provider = FakeProvider(spec, seed=seed)
    url = provider.start()
    try:
        with running_proxy(url, db, "--provider", "api") as proxy:
            send(plan_requests(spec, per_op, seed=seed), proxy.url)
    finally:
        provider.stop()


def _second_opinion(db, contract: Contract) -> dict[str, int]:
    """Per operation: how many recorded JSON responses fail jsonschema validation against the contract."""
    rejected: dict[str, int] = {}
    from recorder.judge.drift import match_operations
    from recorder.learn.summaries import load_summaries

    with open_store(db) as store:
        matched, _ = match_operations(contract, load_summaries(store, "api"))
    database = sqlite3.connect(db)  # the second opinion reads the recorded file itself
    for op in contract.operations:
        shapes = [s.shape for s in matched[op.key]]
        if not shapes:
            continue
        marks = ",".join("?" for _ in shapes)
        rows = database.execute(
            f"SELECT status, response_body, response_content_type FROM exchanges WHERE method = ? AND shape IN ({marks})",
            [op.method.upper(), *shapes],
        ).fetchall()
        for status, body, ctype in rows:
            resp = op.response(str(status))
            schema = next(
                (b.schema_ for b in (resp.bodies if resp else ()) if b.media_type.endswith("json")), None
            )
            if not schema or not body or "json" not in (ctype or ""):
                continue
            validator = jsonschema.Draft202012Validator(
                schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
            )
            errors = [e for e in validator.iter_errors(json.loads(body)) if _honest(e)]
            if errors:  # a redacted secret keeps its shape, not its content: it cannot fail honestly
                rejected[op.key] = rejected.get(op.key, 0) + 1
    return rejected


@pytest.mark.parametrize("name", ["petstore", "stripe", "shop", "github"])
def test_conforming_traffic_yields_no_breaking_findings(tmp_path, name):
    spec = load_spec(SPECS / f"{name}.yaml")
    db = tmp_path / "t.db"
    _record(spec, db)
    contract = load_contract(SPECS / f"{name}.yaml")
    report = run_drift(open_store(db), contract, contract_name=name, db_name="t.db")
    # the provider conforms: nothing breaking on its side (the consumers here also send deliberately invalid
    # requests to reach 400/422; those are request-side findings, judged separately below)
    breaking = [
        f"{f.operation} {f.location}: {f.message}"
        for f in report.findings
        if f.severity == "breaking" and not _request_side(f)
    ]
    assert breaking == []
    for finding in report.findings:
        if _request_side(finding) and finding.severity == "breaking":
            assert finding.examples, (
                finding
            )  # a request-side claim always comes with the exchanges that show it
    assert _second_opinion(db, contract) == {}  # the independent validator agrees: everything conforms


def _redacted(value) -> bool:
    return isinstance(value, str) and value.startswith("<redacted:")


def _honest(error) -> bool:
    """A validation error not caused by redaction (a redacted secret keeps its shape, not its content).
    For anyOf/oneOf, the value is fine when some branch fails only on redacted values."""
    if not error.context:
        return not _redacted(error.instance)
    branches: dict = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
    return all(any(_honest(sub) for sub in subs) for subs in branches.values())


def _request_side(finding) -> bool:
    return finding.location.startswith(("query:", "header:", "request body"))


def _mutate(spec: dict) -> tuple[dict, list[str]]:
    """The provider drifts: a required field dropped, a type changed, a new enum value, a new status."""
    spec = copy.deepcopy(spec)
    done = []
    schemas = spec["components"]["schemas"]
    pet = schemas["Pet"]
    pet["required"] = [r for r in pet["required"] if r != "name"]
    pet["properties"].pop("name")
    done.append("Pet.name removed")
    pet["properties"]["id"] = (
        {"type": "string", "x-gen": "slug"} if False else {"type": "string", "format": "uuid"}
    )
    done.append("Pet.id integer -> string")
    status = pet["properties"]["status"]
    status["enum"] = [*status["enum"], "reserved"]
    done.append("Pet.status gains 'reserved'")
    return spec, done


def test_every_injected_breaking_change_is_found_and_agrees_with_jsonschema(tmp_path):
    original = load_spec(SPECS / "petstore.yaml")
    mutated, _ = _mutate(original)
    db = tmp_path / "t.db"
    _record(mutated, db, per_op=12)
    contract = load_contract(SPECS / "petstore.yaml")
    report = run_drift(open_store(db), contract, contract_name="petstore", db_name="t.db")
    breaking = [f for f in report.findings if f.severity == "breaking"]
    kinds = {(f.kind, f.location.split(": ", 1)[-1]) for f in breaking}
    assert any(k == "field-missing" and loc.endswith("/name") for k, loc in kinds), kinds
    assert any(k == "type-mismatch" and loc.endswith("/id") for k, loc in kinds), kinds
    assert any(k in ("enum-violation",) and loc.endswith("/status") for k, loc in kinds), kinds
    rejected = _second_opinion(db, contract)
    assert rejected, "the mutated provider must produce responses the spec rejects"
    flagged = {f.operation for f in breaking}
    for operation, count in rejected.items():
        assert operation in flagged, (
            f"{operation}: jsonschema rejected {count} responses but drift found nothing"
        )
        assert sum(f.count for f in breaking if f.operation == operation) >= 1
    # and nothing breaking where the independent validator accepted every response
    for operation in flagged:
        assert operation in rejected, (
            f"{operation} flagged by drift but jsonschema accepted all its responses"
        )
