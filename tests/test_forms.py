"""Form bodies with the bracket convention (Stripe, Rails, PHP), recorded through the proxy and learned as the
nested objects and arrays they stand for."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import httpx
import pytest
import yaml
from support import run_cli, running_proxy

from recorder.common.jsonvalues import form_object


class _Prices(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"id": "price_1", "object": "price"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def prices():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Prices)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _form(n: int) -> list[tuple[str, str]]:
    """A Stripe price: tiers as `tiers[][...]` (the second tier has no flat amount), metadata as a map."""
    return [
        ("currency", "usd"),
        ("tiers[][flat_amount]", str(100 + n)),
        ("tiers[][up_to]", str(10 * n)),
        ("tiers[][unit_amount]", "5"),
        ("tiers[][up_to]", "inf"),
        ("tiers[][unit_amount]", "3"),
        ("metadata[order]", f"o{n}"),
        ("expand[]", "product"),
        ("expand[]", "tiers"),
    ]


def test_items_of_a_bracketed_list_are_grouped_the_way_rack_reads_them():
    assert form_object(_form(2)) == {
        "currency": "usd",
        "tiers": [{"flat_amount": 102, "up_to": 20, "unit_amount": 5}, {"up_to": "inf", "unit_amount": 3}],
        "metadata": {"order": "o2"},
        "expand": ["product", "tiers"],
    }
    assert form_object([("a", "1"), ("a[b]", "2")]) == {"a": 1, "a[b]": 2}  # clashing keys stay flat


def test_bracketed_forms_are_learned_as_nested_bodies_and_judged_clean(prices, tmp_path):
    db = tmp_path / "t.db"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Consumer": "billing"}
    with running_proxy(prices, db, "--provider", "stripe") as proxy:
        for n in range(1, 9):
            response = httpx.post(f"{proxy.url}/v1/prices", content=urlencode(_form(n)), headers=headers)
            assert response.status_code == 200
    out = tmp_path / "openapi.yaml"
    result = run_cli("export", "openapi", "--db", str(db), "-o", str(out))
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(out.read_text())
    body = doc["paths"]["/v1/prices"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    schema = body["schema"]
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    tier = schema["properties"]["tiers"]["items"]
    assert set(tier["properties"]) == {"flat_amount", "up_to", "unit_amount"}
    # every tier has these two; the last has no flat amount
    assert sorted(tier["required"]) == ["unit_amount", "up_to"]
    assert schema["properties"]["metadata"]["type"] == "object"
    result = run_cli("drift", "--db", str(db), "--contract", str(out), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert not [f for f in findings if f["severity"] in ("breaking", "warning")], findings
