"""`recorder stub` against contracts exported from real recorded traffic: openapi-core (with jsonschema as a
second opinion) judges its answers, a consumer suite passes on v1 and fails on v2, Pact's verifier passes."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from support import RECORDER, db_rows, run_cli, running_proxy

from recorder.contracts.load import load_contract
from recorder.demo.consumer import TOKEN, drive
from recorder.demo.provider import ShopServer, order_id
from recorder.judge.exchange import Checker, make_exchange
from recorder.judge.severity import is_failure
from recorder.verify.stub import Stub, start_stub, stub_from_db, stub_from_file

ORDER = f"/api/v1/orders/{order_id(7, 0)}"
JSON = {"Content-Type": "application/json"}
SERVING = re.compile(r"^stub: serving (\d+) operations of (\S+) on (http://127\.0\.0\.1:\d+)$")


@dataclass(frozen=True)
class Shop:
    v1_db: Path
    v2_db: Path
    v1: Path  # OpenAPI exported from v1 traffic
    v2: Path  # ... from v2 traffic: `name` renamed to `fullName`, an order's `total` a string
    bare: Path  # v1 without examples: every body is generated
    pacts: Path


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Shop:
    """Shop traffic of provider versions 1 and 2, recorded through `recorder proxy` and exported by the CLI."""
    folder = tmp_path_factory.mktemp("stub")
    for version, calls in ((1, 400), (2, 150)):
        db = folder / f"v{version}.db"
        with (
            ShopServer(version=version) as server,
            running_proxy(server.url, db, "--provider", "shop") as proxy,
        ):
            drive(proxy.url, calls, seed=3)
    for args in (
        ("openapi", "--db", "v1.db", "-o", "v1.yaml"),
        ("openapi", "--db", "v2.db", "-o", "v2.yaml"),
        ("openapi", "--db", "v1.db", "-o", "bare.yaml", "--no-examples"),
        ("pact", "--db", "v1.db", "-o", "pacts"),
    ):
        result = run_cli("export", *args, cwd=folder)
        assert result.returncode == 0, result.stderr
    return Shop(
        folder / "v1.db",
        folder / "v2.db",
        folder / "v1.yaml",
        folder / "v2.yaml",
        folder / "bare.yaml",
        folder / "pacts",
    )


class Judge:
    """openapi-core on the OpenAPI document, plus jsonschema on the resolved body schema (openapi-core casts)."""

    def __init__(self, path: Path) -> None:
        self.doc = yaml.safe_load(path.read_text())
        self.api = OpenAPI.from_dict(self.doc)
        self.server = self.doc["servers"][0]["url"]
        self.checker = Checker(load_contract(path))
        resource = Resource.from_contents(self.doc, default_specification=DRAFT202012)
        self.registry = Registry().with_resource("urn:spec", resource)

    def request(
        self, method: str, path: str, query: dict[str, Any], body: bytes | None, ctype: str
    ) -> MockRequest:
        return MockRequest(self.server, method.lower(), path, args=query, data=body, content_type=ctype)

    def response_problems(
        self, method: str, path: str, query: dict[str, Any], resp: httpx.Response
    ) -> list[str]:
        request = self.request(method, path, query, None, "application/json")
        ctype = resp.headers.get("content-type", "")
        mock = MockResponse(
            resp.content, status_code=resp.status_code, headers=dict(resp.headers), content_type=ctype
        )
        try:
            self.api.validate_response(request, mock)
        except Exception as exc:
            return [f"openapi-core: {type(exc).__name__}: {exc} {getattr(exc, '__cause__', '')}"]
        if not resp.content:
            return []
        op, _ = self.checker.match(method, path)
        pointer = "/".join(
            p.replace("~", "~0").replace("/", "~1")
            for p in (
                "paths",
                op.path,
                method.lower(),
                "responses",
                str(resp.status_code),
                "content",
                ctype.split(";")[0],
                "schema",
            )
        )
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"urn:spec#/{pointer}"},
            registry=self.registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        return [
            f"jsonschema: {e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(resp.json())
        ]

    def rejects_request(
        self, method: str, path: str, query: dict[str, Any], body: bytes | None, ctype: str
    ) -> bool:
        try:
            self.api.validate_request(self.request(method, path, query, body, ctype))
        except Exception:
            return True
        return False


def recorded_requests(
    db: Path,
) -> list[tuple[str, str, dict[str, list[str]], list[tuple[str, str]], bytes | None, int]]:
    rows = db_rows(
        db, "SELECT method, path, query, request_headers, request_body, status FROM exchanges ORDER BY id"
    )
    skip = {"host", "content-length", "accept-encoding", "connection"}
    return [
        (
            method,
            path,
            json.loads(query) if query else {},
            [(k, v) for k, v in json.loads(headers or "[]") if k.lower() not in skip],
            body,
            status,
        )
        for method, path, query, headers, body, status in rows
    ]


@pytest.mark.parametrize("source", ["openapi", "db"])
def test_every_recorded_request_gets_an_answer_the_contracts_validator_accepts(shop, source):
    judge = Judge(shop.v1)
    stub = stub_from_file(shop.v1) if source == "openapi" else stub_from_db(shop.v1_db)
    requests = recorded_requests(shop.v1_db)
    assert len(requests) == 400
    problems: list[str] = []
    statuses: dict[int, int] = {}
    with start_stub(stub) as running, httpx.Client(base_url=running.url) as client:
        for method, path, query, headers, body, recorded_status in requests:
            params = [(k, v) for k, values in query.items() for v in values]
            resp = client.request(method, path, params=params, headers=headers, content=body)
            statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
            if resp.status_code in (400, 405, 500) or "no operation" in resp.text:
                problems.append(f"{method} {path} {query}: {resp.status_code} {resp.text[:200]}")
                continue
            if source == "db":  # the database's own answer to this very request
                assert resp.status_code == recorded_status, (method, path)
            problems += [
                f"{method} {path} -> {resp.status_code}: {p}"
                for p in judge.response_problems(method, path, query, resp)
            ]
    assert problems == []
    recorded_404 = sum(1 for r in requests if r[5] == 404)
    assert recorded_404 > 0 and statuses.get(404, 0) == (0 if source == "openapi" else recorded_404)
    assert {200, 201, 204} <= set(statuses)


def test_requests_that_violate_the_contract_get_a_400_that_says_why(shop):
    judge = Judge(shop.v1)
    cases = [
        ("GET", "/api/v1/users/abc", {}, None, "path: userId", "does not fit"),
        ("GET", "/api/v1/stats/daily", {}, None, "query: days", "required query parameter 'days' not sent"),
        (
            "GET",
            "/api/v1/stats/daily",
            {"days": "soon"},
            None,
            "query: days",
            "string where the contract says integer",
        ),
        ("PATCH", ORDER, {}, b'{"status": ', "request body", "not valid JSON"),
        (
            "PATCH",
            ORDER,
            {},
            b'{"status": 5}',
            "request body: /status",
            "integer where the contract says string",
        ),
        ("PATCH", ORDER, {}, b'{"status": "lost"}', "request body: /status", "outside the enum"),
        ("PATCH", ORDER, {}, b"{}", "request body: /status", "required field 'status' missing"),
        ("PATCH", ORDER, {}, None, "request body", "required request body not sent"),
        ("PATCH", "/api/v1/orders/not-a-uuid", {}, b'{"status": "paid"}', "path: orderId", "does not fit"),
        (
            "POST",
            "/api/v1/users",
            {},
            b'{"email": "not-an-email", "password": "x"}',
            "request body: /email",
            "not email",
        ),
    ]
    with start_stub(shop.v1) as running, httpx.Client(base_url=running.url) as client:
        for method, path, query, body, location, reason in cases:
            headers = JSON if body is not None else {}
            resp = client.request(method, path, params=query, content=body, headers=headers)
            assert resp.status_code == 400, (method, path, body, resp.text)
            data = resp.json()
            assert data["error"] == "request violates the contract"
            assert any(v["location"] == location and reason in v["message"] for v in data["violations"]), data
            assert resp.headers["x-contract-violation"].startswith(location)
            assert judge.rejects_request(method, path, query, body, "application/json"), (
                "openapi-core accepts it"
            )
        text = client.patch(ORDER, content=b"hello", headers={"Content-Type": "text/plain"})
        assert text.status_code == 400 and "text/plain" in text.json()["violations"][0]["message"]
        # the same requests, fixed, are answered
        assert client.patch(ORDER, json={"status": "paid"}).status_code == 200
        assert client.get("/api/v1/stats/daily", params={"days": 3}).status_code == 200
        missing = client.get("/api/v1/nothing/here")
        assert missing.status_code == 404
        assert missing.json()["error"] == "no operation of shop matches GET /api/v1/nothing/here"
        wrong = client.put("/api/v1/users/12")
        assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD"
        head = client.head("/api/v1/users/12")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0


def test_prefer_picks_the_status_and_the_database_answers_recorded_requests_as_recorded(shop):
    judge = Judge(shop.v1)
    with start_stub(shop.v1) as running, httpx.Client(base_url=running.url) as client:
        plain = client.get("/api/v1/users/12")
        assert plain.status_code == 200 and plain.json()["id"] == 12  # the path parameter echoed
        gone = client.get("/api/v1/users/12", headers={"Prefer": "code=404"})
        assert gone.status_code == 404 and gone.json()["error"]
        for resp in (plain, gone):
            assert judge.response_problems("GET", "/api/v1/users/12", {}, resp) == []
        teapot = client.get("/api/v1/users/12", headers={"Prefer": "code=418"})
        assert teapot.status_code == 400
        assert teapot.json()["violations"][0]["location"] == "header: Prefer"
        assert teapot.json()["violations"][0]["expected"] == ["200", "404"]
    missing = next(path for method, path, _, _, _, status in recorded_requests(shop.v1_db) if status == 404)
    with start_stub(stub_from_db(shop.v1_db)) as running, httpx.Client(base_url=running.url) as client:
        assert client.get(missing).status_code == 404  # as recorded
        found = client.get(missing, headers={"Prefer": "code=200"})
        assert found.status_code == 200 and found.json()["id"] == int(missing.rsplit("/", 1)[1])


def test_generated_bodies_fit_the_schema_and_depend_only_on_seed_and_path(shop):
    judge = Judge(shop.bare)
    paths = [
        "/api/v1/users/12",
        "/api/v1/users/13",
        "/api/v1/users/12/orders",
        ORDER,
        "/api/v1/products/blue-mug",
    ]

    def bodies(seed: int) -> dict[str, bytes]:
        with start_stub(shop.bare, seed=seed) as running, httpx.Client(base_url=running.url) as client:
            out = {}
            for path in [*paths, "/api/v1/stats/daily?days=2"]:
                resp = client.get(path)
                assert resp.status_code == 200, resp.text
                assert client.get(path).content == resp.content  # the same request, the same body
                query = {"days": "2"} if "?" in path else {}
                assert judge.response_problems("GET", path.split("?")[0], query, resp) == [], path
                out[path] = resp.content
            return out

    first, again, other = bodies(7), bodies(7), bodies(8)
    assert first == again
    assert all(first[p] != other[p] for p in paths)
    assert first["/api/v1/users/12"] != first["/api/v1/users/13"]
    user = json.loads(first["/api/v1/users/12"])
    assert user["id"] == 12 and "@" in user["email"] and user["role"] in ("admin", "guest", "member")
    assert json.loads(first[ORDER])["id"] == ORDER.rsplit("/", 1)[1]
    assert all(o["userId"] == 12 for o in json.loads(first["/api/v1/users/12/orders"]))
    daily = json.loads(first["/api/v1/stats/daily?days=2"])  # a map (`additionalProperties`)
    assert len(daily) == 2 and all(set(day) == {"orders", "revenue"} for day in daily.values())
    # with examples, `Prefer: dynamic=true` asks for a generated body instead
    stub = stub_from_file(shop.v1, seed=7)
    example = stub.respond("GET", "/api/v1/users/12").json()
    generated = stub.respond("GET", "/api/v1/users/12", headers=[("Prefer", "dynamic=true")]).json()
    assert example != generated and generated["id"] == 12


def test_responses_carry_content_type_and_required_headers(shop):
    stub = stub_from_file(shop.v1)
    created = stub.respond(
        "POST",
        "/api/v1/users",
        "",
        [("Content-Type", "application/json")],
        b'{"email": "a@b.io", "password": "pw"}',
    )
    assert created.status == 201
    assert created.header("content-type") == "application/json"
    assert created.header("location") and created.header("x-ratelimit-remaining")
    deleted = stub.respond("DELETE", ORDER)
    assert deleted.status == 204 and deleted.body == b"" and deleted.header("content-type") is None


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], re.Match[str]]:
    proc = subprocess.Popen(
        [*RECORDER, "stub", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    line = proc.stderr.readline().rstrip("\n")
    match = SERVING.match(line)
    if match is None:
        proc.kill()
        pytest.fail(f"no serving line: {line!r} {proc.stderr.read()}")
    return proc, match


def _stop_cli(proc: subprocess.Popen[str], sig: int) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, out, err


@pytest.mark.smoke
def test_cli_serves_prints_its_url_and_stops_cleanly_on_sigterm_and_sigint(shop):
    proc, match = _start_cli("--contract", str(shop.bare), "--port", "0", "--seed", "5")
    assert match.group(1, 2) == ("11", "shop")
    body = httpx.get(match.group(3) + "/api/v1/users/12").content
    code, out, err = _stop_cli(proc, signal.SIGTERM)
    assert (code, out, err) == (0, "", "stub: stopped\n")
    proc, match = _start_cli("--db", str(shop.v1_db), "--port", "0", "--seed", "5")
    assert httpx.get(match.group(3) + "/api/v1/health").json() == {"status": "ok", "version": 1}
    assert _stop_cli(proc, signal.SIGINT) == (0, "", "stub: stopped\n")
    proc, match = _start_cli("--contract", str(shop.bare), "--port", "0", "--seed", "5")
    assert httpx.get(match.group(3) + "/api/v1/users/12").content == body  # --seed: the same bodies
    _stop_cli(proc, signal.SIGTERM)


def test_cli_bad_input_is_one_line_and_exit_2(shop, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = str(taken.getsockname()[1])
    try:
        cases = {
            ("--port", "0"): "give exactly one of --contract FILE or --db DB.",
            ("--contract", str(shop.v1), "--db", str(shop.v1_db), "--port", "0"): "give exactly one of",
            ("--contract", str(tmp_path / "nope.yaml"), "--port", "0"): "nope.yaml: no such file.",
            ("--db", str(tmp_path / "nope.db"), "--port", "0"): "database",
            ("--contract", str(shop.v1), "--port", port): f"port {port} on 127.0.0.1 is in use.",
            (
                "--contract",
                str(shop.v1),
            ): "Missing option '--port'",
            ("--contract", str(shop.v1), "--port", "70000"): "--port",
        }
        for args, expected in cases.items():
            result = run_cli("stub", *args, timeout=60)
            assert result.returncode == 2, (args, result.stderr)
            assert result.stdout == ""
            lines = result.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("recorder: error: "), result.stderr
            assert expected in lines[0], lines[0]
    finally:
        taken.close()


def consumer_suite(base_url: str) -> dict[str, str]:
    """A consumer's tests of its shop client, run against a provider at `base_url`: test -> failure ("" = ok)."""

    def user_profile(client: httpx.Client) -> None:
        user = client.get("/api/v1/users/12").raise_for_status().json()
        first_name = user["name"].split()[0]
        assert user["id"] == 12 and first_name and "@" in user["email"]

    def user_list(client: httpx.Client) -> None:
        page = client.get("/api/v1/users", params={"limit": 5, "offset": 0}).raise_for_status().json()
        assert isinstance(page["total"], int)
        assert all(
            isinstance(u["id"], int) and u["role"] in ("admin", "member", "guest") for u in page["items"]
        )

    def order_totals(client: httpx.Client) -> None:
        orders = client.get("/api/v1/users/12/orders").raise_for_status().json()
        lines = [f"{order['total']:.2f} {order['currency']}" for order in orders]
        assert lines and all(line[0].isdigit() for line in lines)

    def cancel_order(client: httpx.Client) -> None:
        order = client.patch(ORDER, json={"status": "cancelled"}).raise_for_status().json()
        assert isinstance(order["status"], str) and isinstance(order["items"], list)

    def unknown_user(client: httpx.Client) -> None:
        resp = client.get("/api/v1/users/999", headers={"Prefer": "code=404"})
        assert resp.status_code == 404 and resp.json()["error"]

    results = {}
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for test in (user_profile, user_list, order_totals, cancel_order, unknown_user):
            try:
                test(client)
                results[test.__name__] = ""
            except Exception as exc:
                results[test.__name__] = f"{type(exc).__name__}: {exc}"
    return results


def test_a_consumer_suite_passes_against_v1_and_fails_once_the_contract_changes(shop):
    with start_stub(shop.v1) as running:
        assert consumer_suite(running.url) == dict.fromkeys(
            ("user_profile", "user_list", "order_totals", "cancel_order", "unknown_user"), ""
        )
    with start_stub(shop.v2) as running:
        failures = {name: why for name, why in consumer_suite(running.url).items() if why}
    assert failures["user_profile"] == "KeyError: 'name'"  # renamed to fullName
    assert failures["order_totals"].startswith("ValueError")  # total is a string now
    assert set(failures) == {"user_profile", "order_totals"}


def _verify(source: Path, url: str, token: str = TOKEN) -> None:
    from pact import Verifier

    verifier = Verifier("shop", host="127.0.0.1").add_source(str(source)).add_transport(url=url)
    verifier.add_custom_header("Authorization", f"Bearer {token}")
    verifier.verify()


@pytest.mark.slow
def test_the_official_pact_verifier_passes_our_pacts_against_the_stub(shop, tmp_path):
    files = sorted(shop.pacts.iterdir())
    assert [f.name for f in files] == [
        "billing-service-shop.json",
        "mobile-app-shop.json",
        "web-app-shop.json",
    ]
    for pact in files:  # the stub of a pact is a valid provider for that pact
        with start_stub(pact) as running:
            _verify(pact, running.url)
    with start_stub(stub_from_db(shop.v1_db)) as running:  # ... and the stub of the recorded traffic for all
        _verify(shop.pacts, running.url)
    with start_stub(stub_from_db(shop.v2_db)) as running, pytest.raises(Exception, match=r"(?i)verif|fail"):
        _verify(shop.pacts, running.url)  # the verifier does fail a stub that answers otherwise
    v4 = tmp_path / "v4"
    result = run_cli("export", "pact", "--db", str(shop.v1_db), "-o", str(v4), "--pact-version", "4")
    assert result.returncode == 0, result.stderr
    pact = v4 / "web-app-shop.json"
    assert json.loads(pact.read_text())["metadata"]["pactSpecification"]["version"] == "4.0"
    with start_stub(pact) as running:  # v4 bodies (`content`, `contentType`) answered as recorded
        _verify(pact, running.url)


def test_start_stub_serves_a_contract_on_a_background_thread_and_stops(shop):
    contract = load_contract(shop.v1)
    with start_stub(contract, port=0) as running:
        assert running.url.startswith("http://127.0.0.1:") and running.running
        assert httpx.get(running.url + "/api/v1/health").status_code == 200
        port = running.port
    assert not running.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/api/v1/health")
    stub = Stub(contract)  # no server needed: the same answers in-process
    assert stub.respond("GET", "/api/v1/users/abc").status == 400


def test_verdicts_shared_by_request_shape_agree_with_the_checker(shop):
    """The stub remembers a verdict per request shape (fitting path parameters, typed query values): every
    verdict it gives must be the one `Checker.check` gives for that very request."""
    contract = load_contract(shop.v1)
    stub, checker = Stub(contract), Checker(contract)
    values = ["5", "7", "0", "-3", "1.5", "2.0", "1e3", "true", "abc", "", "05", "12345678901234567"]
    requests = [("/api/v1/users", f"limit={a}&offset={b}") for a in values for b in values[:4]]
    requests += [("/api/v1/users", f"limit=5&role={v}&extra={v}") for v in values]
    requests += [("/api/v1/users", "limit=5&limit=6"), ("/api/v1/users", "offset=1")]
    requests += [(f"/api/v1/users/{v}", "") for v in values if v]
    requests += [(f"/api/v1/orders/{v}", "") for v in (order_id(1, 0), order_id(2, 1), "abc", "12")]
    for path, query in requests:
        answer = stub.respond("GET", path, query)
        direct = make_exchange("GET", path, query=_parse(query))
        expected = [
            (f.location, f.message) for f in checker.check(direct, request_only=True) if is_failure(f)
        ]
        got = (
            [(v["location"], v["message"]) for v in answer.json()["violations"]]
            if answer.status == 400
            else []
        )
        assert sorted(got) == sorted(expected), (path, query)


def _parse(query: str) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    return parse_qs(query, keep_blank_values=True)


SCHEMAS = [
    {"type": "integer", "minimum": 10, "maximum": 12},
    {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 5},
    {"type": "number", "minimum": -1.5, "maximum": -1.0},
    {"type": ["string", "null"], "minLength": 12, "maxLength": 14},
    {"type": "string", "maxLength": 3},
    {"type": "string", "pattern": "^usr_[A-Za-z0-9]+$"},
    {"type": "string", "pattern": "^[0-9a-fA-F]{8}$"},
    {"type": "string", "pattern": r"^(ab|cd)+-\d{2,3}(\.[a-z]{1,2})?$"},
    {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"},
    *(
        {"type": "string", "format": f}
        for f in ("date-time", "date", "time", "email", "uuid", "uri", "ipv4", "ipv6")
    ),
    {"enum": ["a", "b", None]},
    {"const": {"k": [1, 2]}},
    {"type": "array", "items": {"type": "integer", "enum": [1, 2, 3]}, "minItems": 3, "uniqueItems": True},
    {"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}], "maxItems": 2},
    {"type": "array", "items": {"type": "string"}, "maxItems": 0},
    {
        "type": "object",
        "additionalProperties": {"type": "integer"},
        "propertyNames": {"pattern": "^[a-z]{3}$"},
        "minProperties": 3,
    },
    {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["id", "name"],
    },
    {
        "anyOf": [
            {"type": "null"},
            {"type": "object", "properties": {"a": {"type": "string", "format": "date"}}},
        ]
    },
    {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}}, {"required": ["a", "b"]}]},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: json.dumps(s)[:60])
def test_generated_values_fit_their_schema(schema):
    import random

    from recorder.verify.stub import BodyGenerator

    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for seed in range(20):
        value = BodyGenerator(random.Random(seed)).value(schema, "field")
        assert list(validator.iter_errors(value)) == [], (seed, value)


# -- request bodies: the direct schema check (fast path) --------------------------------------------------

_NAMES = ["id", "name", "tags", "note"]
_PATTERNS = ["^[a-z]+$", "^[A-Z]{3}$", r"\d", "^(ab)+$"]


def _random_schema(rng: Any, depth: int = 0) -> dict[str, Any]:
    from recorder.learn.strformats import FORMAT_PATTERNS

    kind = rng.choice(["integer", "number", "string", "boolean", "null", "any", "enum", "const"]
                      + (["object", "array"] * 2 if depth < 3 else []))  # fmt: skip
    schema: dict[str, Any] = {}
    if kind in ("integer", "number"):
        schema["type"] = kind
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if rng.random() < 0.25:
                schema[key] = rng.choice([-2, 0, 1, 2.5, 10])
    elif kind == "string":
        schema["type"] = kind if rng.random() < 0.8 else [kind, "null"]
        if rng.random() < 0.3:
            schema["minLength"] = rng.randint(0, 3)
        if rng.random() < 0.3:
            schema["maxLength"] = rng.randint(1, 60)
        if rng.random() < 0.3:
            schema["pattern"] = rng.choice(_PATTERNS)
        if rng.random() < 0.3:
            schema["format"] = rng.choice([*sorted(FORMAT_PATTERNS), "made-up"])
    elif kind in ("boolean", "null"):
        schema["type"] = kind
    elif kind == "enum":
        schema["enum"] = rng.sample(["a", "ABC", 1, 1.0, True, None, 0, [1], {"k": 1}], 3)
    elif kind == "const":
        schema["const"] = rng.choice(["a", 1, True, None, {"k": [1, 2]}])
    elif kind == "object":
        schema["type"] = "object"
        names = rng.sample(_NAMES, rng.randint(0, 3))
        schema["properties"] = {n: _random_schema(rng, depth + 1) for n in names}
        schema["required"] = rng.sample(_NAMES, rng.randint(0, 2))
        extra = rng.random()
        if extra < 0.3:
            schema["additionalProperties"] = False
        elif extra < 0.5:
            schema["additionalProperties"] = _random_schema(rng, depth + 1)
    elif kind == "array":
        schema["type"] = "array"
        schema["items"] = _random_schema(rng, depth + 1)
        if rng.random() < 0.3:
            schema["minItems"] = rng.randint(0, 2)
        if rng.random() < 0.3:
            schema["maxItems"] = rng.randint(0, 4)
    return schema


def _random_value(rng: Any, depth: int = 0) -> Any:
    kind = rng.choice(["int", "float", "str", "bool", "null"] + (["obj", "list"] if depth < 3 else []))
    if kind == "int":
        return rng.choice([-3, 0, 1, 2, 10, 11, 1 << 40])
    if kind == "float":
        return rng.choice([-2.0, 0.5, 1.0, 2.5, 10.0, 1e300])
    if kind == "str":
        return rng.choice(["", "a", "abc", "ABC", "abab", "x1", "2024-05-01", "2024-05-01T10:00:00Z",
                           "a@example.com", "6f1c2b7e-0042-4a8b-9c3d-2e5f7a9b1c42", "http://x.test/a",
                           "10.0.0.1", "z" * 61, "<redacted:token>"])  # fmt: skip
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "obj":
        return {n: _random_value(rng, depth + 1) for n in rng.sample(_NAMES, rng.randint(0, 4))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def test_body_check_agrees_with_json_schema_on_the_keywords_it_judges():
    """`value_conforms` (compiled once per schema by `compile_conforms`) is the stub's fast path for request
    bodies: for schemas made of the keywords it judges, it must say exactly what a JSON Schema 2020-12
    validator says (with formats as ours)."""
    import random

    from recorder.judge.conform import compile_conforms, value_conforms
    from recorder.learn.strformats import FORMAT_PATTERNS, matches_format
    from recorder.verify.stub import BodyGenerator

    formats = jsonschema.FormatChecker(formats=())
    for fmt in FORMAT_PATTERNS:
        formats.checks(fmt)(lambda v, f=fmt: not isinstance(v, str) or matches_format(v, f))
    rng = random.Random(7)
    agree = {True: 0, False: 0}
    for i in range(4000):
        schema = _random_schema(rng)
        # odd rounds: values generated for the schema (mostly fitting); even rounds: any JSON value
        value = BodyGenerator(random.Random(i)).value(schema, "field") if i % 2 else _random_value(rng)
        if "<redacted:" in json.dumps(value):
            continue  # redaction markers are left to the checker (checked below)
        validator = jsonschema.Draft202012Validator(schema, format_checker=formats)
        expected = validator.is_valid(value)
        assert value_conforms(schema, value) == expected, (schema, value)
        agree[expected] += 1
        # the stub compiles a schema once and checks every body with it: the same answers, value after value
        check = compile_conforms(schema)
        for other in (value, _random_value(rng), value):
            if "<redacted:" not in json.dumps(other):
                assert check(other) == validator.is_valid(other), (schema, other)
    assert agree[True] > 800 and agree[False] > 800  # both answers were exercised
    # keywords it does not judge are left to the checker, even when the value is fine
    assert not value_conforms({"type": "integer", "multipleOf": 2}, 4)
    assert not value_conforms({"anyOf": [{"type": "string"}]}, "a")
    assert value_conforms({"type": "integer", "description": "an annotation"}, 4)
    assert not value_conforms({"type": "string"}, "<redacted:token>")


def test_bodies_that_meet_their_schema_share_a_verdict_and_others_are_still_judged(shop):
    contract = load_contract(shop.v1)
    stub, checker = Stub(contract), Checker(contract)
    headers = [("Content-Type", "application/json")]
    for i in range(50):  # new users: one verdict judged once, then shared
        body = json.dumps({"email": f"new{i}@example.com", "password": f"pw-{i}"}).encode()
        assert stub.respond("POST", "/api/v1/users", "", headers, body).status == 201
        direct = make_exchange("POST", "/api/v1/users", request_headers=headers, request_body=body)
        assert not [f for f in checker.check(direct, request_only=True) if is_failure(f)]
    assert len(stub._verdicts) == 1
    bad = stub.respond("POST", "/api/v1/users", "", headers, b'{"email": "nope", "password": "x"}')
    assert bad.status == 400 and bad.json()["violations"][0]["location"] == "request body: /email"
    # a fitting body does not hide what is wrong elsewhere in the request
    order = {"status": "paid"}
    wrong_path = stub.respond("PATCH", "/api/v1/orders/abc", "", headers, json.dumps(order).encode())
    assert wrong_path.status == 400 and wrong_path.json()["violations"][0]["location"] == "path: orderId"


def test_long_strings_are_checked_against_their_pattern_by_value(tmp_path):
    """Evidence keeps no values of strings longer than 48 characters, so the evidence alone cannot tell
    whether they match a pattern: a single request is then judged by its own value."""
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "notes", "version": "1"},
        "paths": {
            "/notes": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["note"],
                                    "properties": {
                                        "note": {"type": "string", "pattern": "^[a-z ]+$"},
                                        "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"201": {"description": "created"}},
                }
            }
        },
    }
    path = tmp_path / "notes.yaml"
    path.write_text(yaml.safe_dump(doc))
    contract = load_contract(path)
    stub, checker = Stub(contract), Checker(contract)
    headers = [("Content-Type", "application/json")]
    long_ok, long_bad = "a quiet note " * 5, "a quiet note 42 " * 4
    assert len(long_ok) > 48 and len(long_bad) > 48

    def failures(body: dict[str, Any]) -> list[str]:
        ex = make_exchange("POST", "/notes", request_headers=headers, request_body=json.dumps(body).encode())
        return [f.location for f in checker.check(ex, request_only=True) if is_failure(f)]

    assert failures({"note": long_ok}) == []
    assert failures({"note": long_bad}) == ["request body: /note"]
    assert failures({"note": long_ok, "code": "abc"}) == ["request body: /code"]
    assert stub.respond("POST", "/notes", "", headers, json.dumps({"note": long_ok}).encode()).status == 201
    answer = stub.respond(
        "POST", "/notes", "", headers, json.dumps({"note": long_ok, "code": "abc"}).encode()
    )
    assert answer.status == 400 and [v["location"] for v in answer.json()["violations"]] == [
        "request body: /code"
    ]
    answer = stub.respond("POST", "/notes", "", headers, json.dumps({"note": long_bad}).encode())
    assert answer.status == 400 and [v["location"] for v in answer.json()["violations"]] == [
        "request body: /note"
    ]


def test_generated_bodies_meet_one_of_any_of_and_all_of():
    """Every body the stub generates for schemas with combinators validates against the contract's schema
    (jsonschema, Draft 2020-12, formats asserted): exactly one `oneOf` branch, some `anyOf` branch, all of
    `allOf`."""
    contract_file = Path(__file__).parent / "data" / "contracts" / "combinators.yaml"
    contract = load_contract(contract_file)
    for seed in range(3):
        stub = Stub(contract, seed=seed)
        kinds = set()
        for n in range(40):
            for path in (f"/pets/{n}", f"/events/e{n}", f"/things/{n + 1}"):
                answer = stub.respond("GET", path)
                assert answer.status == 200, (path, answer.body)
                op, _ = stub.checker.match("GET", path)
                schema = op.response("200").bodies[0].schema_
                body = json.loads(answer.body)
                validator = jsonschema.Draft202012Validator(
                    schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
                )
                errors = [e.message for e in validator.iter_errors(body)]
                assert not errors, (path, body, errors)
                if path.startswith("/pets/"):
                    kinds.add(body["pet_type"])
        assert kinds == {"cat", "dog"}  # both branches come up, not always the first


def test_generated_bodies_of_recursive_schemas_meet_the_spec_itself(tmp_path):
    """Stripe's shape: objects that refer back to themselves, optional and nullable. The loader cuts the
    recursion (to `{}`); the stub leaves such fields out or null rather than invent a value there, so every
    body validates against the spec with its real `$ref`s."""
    node = {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "integer"},
            "parent": {"anyOf": [{"$ref": "#/components/schemas/Node"}], "nullable": True},
            "owner": {"$ref": "#/components/schemas/Owner"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    }
    owner = {
        "type": "object",
        "required": ["name", "default_node"],
        "properties": {
            "name": {"type": "string"},
            "default_node": {"anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/Node"}]},
            # Stripe's `external_accounts`: a list of either kind, both already open here (cut to `{}`)
            "accounts": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "data": {
                        "type": "array",
                        "items": {
                            "anyOf": [
                                {"$ref": "#/components/schemas/Node"},
                                {"$ref": "#/components/schemas/Owner"},
                            ]
                        },
                    }
                },
            },
        },
    }
    response = {
        "200": {
            "description": "x",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}},
        }
    }
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "tree", "version": "1"},
        "paths": {
            "/nodes/{id}": {
                "get": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                    ],
                    "responses": response,
                }
            }
        },
        "components": {"schemas": {"Node": node, "Owner": owner}},
    }
    spec = tmp_path / "tree.json"
    spec.write_text(json.dumps(doc))
    # the spec's own schemas, as JSON Schema with `nullable` spelled the 2020-12 way
    defs = json.loads(json.dumps(doc["components"]["schemas"]).replace("#/components/schemas/", "#/$defs/"))
    defs["Node"]["properties"]["parent"] = {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}
    validator = jsonschema.Draft202012Validator({"$ref": "#/$defs/Node", "$defs": defs})
    stub = stub_from_file(spec)
    for n in range(30):
        for prefer in ((), (("Prefer", "dynamic=true"),)):
            answer = stub.respond("GET", f"/nodes/{n}", headers=list(prefer))
            assert answer.status == 200, answer.body
            body = json.loads(answer.body)
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
            assert not errors, (body, errors)
