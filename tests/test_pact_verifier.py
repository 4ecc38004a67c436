"""Pacts the official verifier (pact-python) loads and passes: keys that are not plain identifiers, and
providers that negotiate the content type."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from support import run_cli, running_proxy, serve

from recorder.contracts import pact_paths

# Keys GitHub, Kubernetes and friends really send, and the ones that need the bracket form
AWKWARD = ["+1", "-1", "a.b", "foo bar", "ünï", "$ref", "2024", "007", "x-y", "@type", "tab\tkey", "it's", ""]


class _Provider(BaseHTTPRequestHandler):
    """JSON with awkward keys when asked for JSON (Accept), XML otherwise; `Vary: Accept, X-Api-Version`."""

    protocol_version = "HTTP/1.1"
    broken = False  # the negative control: `+1` becomes a string
    calls = 0  # values change with every answer, as real data does: only matchers can pass them

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        number = int(self.path.rsplit("/", 1)[-1]) if self.path.rsplit("/", 1)[-1].isdigit() else 0
        if "json" not in (self.headers.get("Accept") or ""):
            body, ctype = b"<issue><id>1</id></issue>", "application/xml"
        else:
            type(self).calls += 1
            reactions = {key: number * 1000 + type(self).calls * 10 + i for i, key in enumerate(AWKWARD)}
            if type(self).broken:
                reactions["+1"] = "many"
            version = self.headers.get("X-Api-Version") or "1"
            body = json.dumps({"id": number, "version": version, "reactions": reactions}).encode()
            ctype = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Vary", "Accept, X-Api-Version")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def provider():
    with serve(_Provider) as url:
        try:
            yield url
        finally:
            _Provider.broken = False


def _verify(pacts: Path, url: str) -> None:
    from pact import Verifier

    Verifier("issues", host="127.0.0.1").add_source(str(pacts)).add_transport(url=url).verify()


def test_rule_paths_name_every_key_the_way_the_verifier_reads_them():
    assert pact_paths.child("$", "id") == "$.id"
    assert pact_paths.child("$.reactions", "+1") == "$.reactions['+1']"
    assert pact_paths.child("$", "ünï") == "$['ünï']" and pact_paths.child("$", "2024") == "$['2024']"
    assert pact_paths.child("$", "it's") is None and pact_paths.child("$", "") is None
    for key in AWKWARD:
        path = pact_paths.child("$.a", key)
        if path is not None:
            assert pact_paths.parse(path) == ("a", key)


@pytest.mark.parametrize("version", [3, 4])
def test_pacts_with_awkward_keys_and_content_negotiation_pass_the_official_verifier(
    provider, tmp_path, version
):
    db = tmp_path / "t.db"
    with running_proxy(provider, db, "--provider", "issues") as proxy:
        for n in range(1, 13):
            headers = {"Accept": "application/json", "X-Api-Version": "2", "X-Consumer": "web"}
            assert httpx.get(f"{proxy.url}/issues/{n}", headers=headers).status_code == 200
    pacts = tmp_path / "pacts"
    result = run_cli("export", "pact", "--db", str(db), "-o", str(pacts), "--pact-version", str(version))
    assert result.returncode == 0, result.stderr
    (pact_file,) = pacts.iterdir()
    pact = json.loads(pact_file.read_text())
    (interaction,) = pact["interactions"]
    # the request keeps what changes the answer: Accept, and the header the provider varies on
    assert interaction["request"]["headers"] == {"Accept": "application/json", "X-Api-Version": "2"}
    rules = interaction["response"]["matchingRules"]["body"]
    assert (
        "$.reactions['-1']" in rules and "$.reactions['foo bar']" in rules and "$.reactions.-1" not in rules
    )
    assert "$.reactions['+1']" not in rules and "$.reactions" in rules  # the verifier reads +1 as index 1
    assert not any(".['" in path for path in rules)
    body = interaction["response"]["body"]
    body = body["content"] if version == 4 else body
    assert "it's" not in body["reactions"] and "" not in body["reactions"]  # no path could name them
    _verify(pacts, provider)
    _Provider.broken = True  # the provider changes the type of `+1`: the pact must catch it
    with pytest.raises(Exception, match=r"(?i)verif|fail|mismatch"):
        _verify(pacts, provider)


class _Tracker(BaseHTTPRequestHandler):
    """Issues whose `labels` mix names and label objects, whose `assignees` carry optional keys, a form
    endpoint that needs its Content-Type, and one endpoint that failed once while it was recorded."""

    protocol_version = "HTTP/1.1"
    calls = 0
    failures = 1  # the first health check fails
    broken = False  # the negative control: `labels` stops being a list

    def log_message(self, format, *args):
        pass

    def _send(self, status: int, value: object) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/health"):
            if type(self).failures:
                type(self).failures -= 1
                return self._send(500, {"error": "warming up"})
            return self._send(200, {"status": "ok"})
        type(self).calls += 1
        n = type(self).calls
        labels: list[object] = [f"bug-{n}", {"name": f"p{n}", "description": None if n % 2 else "urgent"}]
        if n % 3 == 0:
            labels.reverse()
        assignees = [{"login": f"u{n}", **({"email": f"u{n}@example.com"} if n % 4 else {})}]
        if n % 5 == 0:
            assignees.append({"login": "ops"})
        issue = {"id": n, "labels": "bug" if type(self).broken else labels, "assignees": assignees}
        self._send(200, issue)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return self._send(415, {"error": "send a form"})
        type(self).calls += 1
        self._send(201, {"id": type(self).calls, "fields": len(raw.split("&"))})


@pytest.fixture
def tracker():
    with serve(_Tracker) as url:
        try:
            yield url
        finally:
            _Tracker.broken = False
            _Tracker.calls = 0
            _Tracker.failures = 1


@pytest.mark.parametrize("version", [3, 4])
def test_pacts_with_mixed_items_forms_and_a_failure_pass_the_official_verifier(tracker, tmp_path, version):
    db = tmp_path / "t.db"
    headers = {"Accept": "application/json", "X-Consumer": "web"}
    with running_proxy(tracker, db, "--provider", "issues") as proxy:
        assert httpx.get(f"{proxy.url}/health", headers=headers).status_code == 500
        assert httpx.get(f"{proxy.url}/health", headers=headers).status_code == 200
        for n in range(1, 16):
            assert httpx.get(f"{proxy.url}/issues/{n}", headers=headers).status_code == 200
            form = {"title": f"issue {n}", "labels[]": ["bug", "p1"]}
            assert httpx.post(f"{proxy.url}/issues", data=form, headers=headers).status_code == 201
    pacts = tmp_path / "pacts"
    result = run_cli("export", "pact", "--db", str(db), "-o", str(pacts), "--pact-version", str(version))
    assert result.returncode == 0, result.stderr
    (pact_file,) = pacts.iterdir()
    interactions = {i["description"]: i for i in json.loads(pact_file.read_text())["interactions"]}
    # a provider's failure is no part of its contract: no verification could reproduce it
    assert "GET /health -> 500" not in interactions and "GET /health -> 200" in interactions
    post = interactions["POST /issues -> 201"]["request"]
    assert post["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    _Tracker.calls = 0
    _verify(pacts, tracker)
    _Tracker.broken = True  # `labels` becomes a string: the pact must catch it
    with pytest.raises(Exception, match=r"(?i)verif|fail|mismatch"):
        _verify(pacts, tracker)


class _Store(BaseHTTPRequestHandler):
    """A stateful provider: documents under /buckets/{b} and /buckets/{b}/docs/{d}, with ETags and
    `If-Match`/`If-None-Match`, as Kinto keeps them: what a verification meets depends on earlier writes."""

    protocol_version = "HTTP/1.1"
    data: dict[str, dict] = {}
    version = 0

    def log_message(self, format, *args):
        pass

    def _send(self, status: int, value: object = None) -> None:
        body = json.dumps(value).encode() if value is not None else b""
        self.send_response(status)
        if value is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _parent_missing(self) -> bool:
        parent = self.path.rsplit("/docs/", 1)[0] if "/docs/" in self.path else None
        return parent is not None and parent not in self.data

    def do_GET(self):
        if self.path in self.data:
            return self._send(200, {"data": self.data[self.path], "etag": self.data[self.path]["v"]})
        return self._send(404, {"error": "missing", "path": self.path})

    def do_PUT(self):
        length = int(self.headers.get("Content-Length") or 0)
        doc = json.loads(self.rfile.read(length) or b"{}")
        if self._parent_missing():
            return self._send(403, {"error": "no such bucket"})
        exists = self.path in self.data
        if self.headers.get("If-None-Match") == "*" and exists:
            return self._send(412, {"error": "exists", "path": self.path})
        match = self.headers.get("If-Match")
        if match is not None and (not exists or str(self.data[self.path]["v"]) != match.strip('"')):
            return self._send(412, {"error": "changed", "path": self.path})
        type(self).version += 1
        self.data[self.path] = {"id": self.path.rsplit("/", 1)[1], "v": type(self).version, **doc}
        self._send(200 if exists else 201, {"data": self.data[self.path]})

    def do_DELETE(self):
        if self.path not in self.data:
            return self._send(404, {"error": "missing", "path": self.path})
        for key in [k for k in self.data if k == self.path or k.startswith(self.path + "/")]:
            del self.data[key]
        self._send(200, {"deleted": True})


@pytest.fixture
def store_provider():
    with serve(_Store) as url:
        try:
            yield url
        finally:
            _Store.data = {}


def test_provider_states_replay_the_recorded_writes_an_answer_depended_on(store_provider, tmp_path):
    """Each interaction carries, as its provider state, the writes recorded before it on its path and the
    paths above it; a state handler that empties the provider and sends them makes every interaction pass,
    conditional requests included. Without it, the same pact fails on a fresh provider."""
    db = tmp_path / "t.db"
    json_headers = {"Accept": "application/json", "X-Consumer": "web"}
    with running_proxy(store_provider, db, "--provider", "docs") as proxy, httpx.Client() as client:
        for b in ("red", "blue"):
            assert (
                client.put(f"{proxy.url}/buckets/{b}", json={"title": b}, headers=json_headers).status_code
                == 201
            )
            doc = f"{proxy.url}/buckets/{b}/docs/d1"
            create = {**json_headers, "If-None-Match": "*"}
            assert client.put(doc, json={"n": 1}, headers=create).status_code == 201
            etag = client.get(doc, headers=json_headers).json()["etag"]
            assert (
                client.put(doc, json={"n": 2}, headers={**json_headers, "If-Match": f'"{etag}"'}).status_code
                == 200
            )
            assert (
                client.put(doc, json={"n": 3}, headers={**json_headers, "If-Match": '"1"'}).status_code == 412
            )
            assert client.put(doc, json={"n": 4}, headers=create).status_code == 412
            assert client.delete(doc, headers=json_headers).status_code == 200
            assert client.get(doc, headers=json_headers).status_code == 404
    pacts = tmp_path / "pacts"
    assert run_cli("export", "pact", "--db", str(db), "-o", str(pacts)).returncode == 0
    (pact_file,) = pacts.iterdir()
    interactions = {i["description"]: i for i in json.loads(pact_file.read_text())["interactions"]}
    got = interactions["GET /buckets/{bucketSlug}/docs/d1 -> 200"]["providerStates"][0]
    assert [(r["method"], r["path"]) for r in got["params"]["requests"]] == [
        ("PUT", "/buckets/blue"),
        ("PUT", "/buckets/blue/docs/d1"),
    ] or [(r["method"], r["path"]) for r in got["params"]["requests"]] == [
        ("PUT", "/buckets/red"),
        ("PUT", "/buckets/red/docs/d1"),
    ]
    assert got["name"].startswith("recorded: PUT /buckets/")
    created = interactions["PUT /buckets/{bucketSlug}/docs/d1 -> 201"]
    assert created["request"]["headers"]["If-None-Match"] == "*"  # a condition that holds on any data
    assert [r["path"].count("/") for r in created["providerStates"][0]["params"]["requests"]] == [2]
    assert "If-Match" not in interactions["PUT /buckets/{bucketSlug}/docs/d1 -> 200"]["request"].get(
        "headers", {}
    )  # an ETag that passed against recorded data would fail against other data

    from pact import Verifier

    def replay_state(state: str, action: str = "setup", parameters: dict | None = None) -> None:
        if action != "setup":
            return
        _Store.data = {}  # the provider's reset
        for request in (parameters or {}).get("requests", []):
            httpx.request(request["method"], store_provider + request["path"], json=request.get("body"))

    _Store.data = {}
    Verifier("docs", host="127.0.0.1").add_source(str(pacts)).add_transport(url=store_provider).state_handler(
        replay_state
    ).verify()
    _Store.data = {}
    with pytest.raises(Exception, match=r"(?i)verif|fail|mismatch"):  # the same pact, no states applied
        Verifier("docs", host="127.0.0.1").add_source(str(pacts)).add_transport(url=store_provider).verify()
