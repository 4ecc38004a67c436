"""The fake provider and the driver of the evaluation harness: conforming data, documented statuses only."""

from __future__ import annotations

import json
import random
import re

import jsonschema
import pytest

from apis.driver import plan_requests, send
from apis.fakeserver import FakeProvider, parse_form
from apis.oas import json_media, load_spec, operations, spec_paths, to_json_schema
from apis.values import from_pattern

CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


@pytest.mark.parametrize("path", spec_paths(), ids=lambda p: p.stem)
def test_every_answer_is_documented_and_conforms(path):
    spec = load_spec(path)
    provider = FakeProvider(spec, seed=5)  # answered in-process: no sockets needed
    ops = {op.key: op for op in operations(spec)}
    validators: dict[tuple[str, int], jsonschema.Draft202012Validator] = {}
    seen_errors = 0
    for req in plan_requests(spec, requests_per_op=6, seed=5):
        status, _headers, body = provider.respond(req.method, req.target, dict(req.headers), req.body)
        op = ops[req.operation]
        assert status in op.statuses(), (req, status)
        if req.intent == "valid":
            assert status < 400 or status == 404, (req, status)
        else:
            seen_errors += 1
        found = json_media(op.responses[str(status)].get("content"))
        if found is None:
            assert body == b""
            continue
        key = (req.operation, status)
        if key not in validators:
            schema = to_json_schema(spec, found[1]["schema"])
            validators[key] = jsonschema.Draft202012Validator(schema, format_checker=CHECKER)
        errors = list(validators[key].iter_errors(json.loads(body)))
        assert not errors, (req, errors[0].message, list(errors[0].absolute_path))
    assert seen_errors or path.stem == "slack"


def test_same_request_same_answer_and_literal_segments_win():
    spec = load_spec(next(p for p in spec_paths() if p.stem == "petstore"))
    one = FakeProvider(spec, seed=1)
    two = FakeProvider(spec, seed=1)
    target = "/api/v3/pet/findByStatus?status=sold&status=pending"
    a = one.respond("GET", target, {}, b"")
    assert a == two.respond("GET", target, {}, b"")
    assert a[0] == 200 and isinstance(json.loads(a[2]), list)
    assert one.respond("GET", "/api/v3/pet/abc", {}, b"")[0] == 400
    assert one.respond("GET", "/api/v3/pet/findByStatus", {}, b"")[0] == 400  # required query missing


def test_driver_over_http_with_keep_alive():
    spec = load_spec(next(p for p in spec_paths() if p.stem == "stripe"))
    with FakeProvider(spec, seed=2) as provider:
        stats = send(plan_requests(spec, requests_per_op=3, seed=2), provider.url)
    assert stats.failures == 0
    assert stats.sent == 3 * len(operations(spec))
    assert set(stats.by_status) <= {200, 400, 404}


def test_stripe_style_form_bodies():
    assert parse_form("amount=500&metadata[order_id]=42&expand[]=customer&expand[]=latest_charge") == {
        "amount": "500",
        "metadata": {"order_id": "42"},
        "expand": ["customer", "latest_charge"],
    }


@pytest.mark.parametrize(
    "pattern",
    [
        r"^cus_[A-Za-z0-9]{14}$",
        r"^[0-9a-f]{40}$",
        r"^sha256:[0-9a-f]{64}$",
        r"^1[5-7][0-9]{8}\.[0-9]{6}$",
        r"^(default|kube-system|team-[a-z]{3,6})$",
        r"^ip-10-0-[0-9]{1,3}-[0-9]{1,3}\.ec2\.internal$",
        r"^(v[0-9]\.[0-9]{1,2}\.[0-9]|latest|sha256:[0-9a-f]{64})$",
    ],
)
def test_patterns_generate_matching_values(pattern):
    rnd = random.Random(0)
    for _ in range(20):
        assert re.search(pattern, from_pattern(pattern, rnd))
