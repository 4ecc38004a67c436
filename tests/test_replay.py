"""`recorder replay`: recorded requests re-sent to a provider build, answers judged."""

from __future__ import annotations

import json

import pytest
import yaml
from support import run_cli, running_proxy

from recorder.demo.consumer import TOKEN, drive
from recorder.demo.provider import ShopServer


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("replay")
    with (
        ShopServer(version=1) as shop,
        running_proxy(shop.url, folder / "t.db", "--provider", "shop") as proxy,
    ):
        drive(proxy.url, 300, seed=5)
    return folder / "t.db"


def _replay(db, target, *extra):
    return run_cli("replay", "--db", str(db), "--target", target, "--format", "json", *extra, timeout=300)


def test_replay_against_the_same_provider_is_clean(recorded):
    with ShopServer(version=1) as shop:
        result = _replay(recorded, shop.url, "--header", f"Authorization: Bearer {TOKEN}")
    assert result.returncode == 0, result.stdout
    data = json.loads(result.stdout)
    assert [f for f in data["findings"] if f["severity"] == "breaking"] == []
    assert (
        "replayed" in result.stderr and "skipped" in result.stderr
    )  # unsafe methods are not sent by default
    replayed = int(result.stderr.split("replayed ")[1].split()[0])
    operations = int(result.stderr.split("covering ")[1].split()[0])
    assert replayed >= 8 and operations == 8  # every safe operation of the shop was replayed


def test_replay_finds_each_change_with_the_right_severity(recorded):
    with ShopServer(version=3) as shop:  # renamed field, retyped field, new enum value, health 503
        result = _replay(recorded, shop.url, "--header", f"Authorization: Bearer {TOKEN}", "--sample", "5")
    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    got = {(f["kind"], f["operation"], f["location"]): f for f in findings}
    assert got[("server-error", "GET /api/v1/health", "status")]["severity"] == "breaking"
    assert got[("server-error", "GET /api/v1/health", "status")]["observed"] == 503
    # judged against the contract observed in the same database: `name` was always there, so it is required
    assert (
        got[("field-missing", "GET /api/v1/users/{userId}", "response 200: /name")]["severity"] == "breaking"
    )
    assert (
        got[("type-mismatch", "GET /api/v1/orders/{orderId}", "response 200: /total")]["severity"]
        == "breaking"
    )
    # the new enum value of a response field is drift too
    assert (
        got[("enum-violation", "GET /api/v1/orders/{orderId}", "response 200: /status")]["severity"]
        == "breaking"
    )
    # the recorded answer is no longer compared field by field: one judgement per difference
    assert not {k for k in got if k[0] in ("field-disappeared", "field-retyped")}
    assert all(f["examples"] for f in findings if f["severity"] == "breaking")


def test_a_violation_the_recorded_answer_had_too_is_a_warning_what_the_build_broke_is_breaking(
    recorded, tmp_path
):
    exported = tmp_path / "observed.yaml"
    assert run_cli("export", "openapi", "--db", str(recorded), "-o", str(exported)).returncode == 0
    doc = yaml.safe_load(exported.read_text())
    schema = doc["paths"]["/api/v1/users/{userId}"]["get"]["responses"]["200"]["content"]["application/json"]
    user = schema["schema"]
    while "$ref" in user:
        user = doc["components"]["schemas"][user["$ref"].rsplit("/", 1)[1]]
    user["properties"]["nickname"] = {"type": "string"}  # a contract the provider never met
    user["required"] = [*user.get("required", []), "nickname"]
    contract = tmp_path / "contract.yaml"
    contract.write_text(yaml.safe_dump(doc))
    key = ("field-missing", "GET /api/v1/users/{userId}", "response 200: /nickname")

    with ShopServer(version=1) as shop:  # the same build that answered the recorded requests
        same = _replay(
            recorded, shop.url, "--contract", str(contract), "--header", f"Authorization: Bearer {TOKEN}"
        )
    assert same.returncode == 0, same.stdout
    got = {(f["kind"], f["operation"], f["location"]): f for f in json.loads(same.stdout)["findings"]}
    assert got[key]["severity"] == "warning" and "the recorded answer had it too" in got[key]["message"]

    with ShopServer(version=3) as shop:  # `name` renamed: the recorded answers had it
        changed = _replay(
            recorded, shop.url, "--contract", str(contract), "--header", f"Authorization: Bearer {TOKEN}"
        )
    assert changed.returncode == 1
    got = {(f["kind"], f["operation"], f["location"]): f for f in json.loads(changed.stdout)["findings"]}
    assert (
        got[("field-missing", "GET /api/v1/users/{userId}", "response 200: /name")]["severity"] == "breaking"
    )
    assert got[key]["severity"] == "warning"


def test_credentials_come_from_headers_never_from_the_recording(recorded):
    with ShopServer(version=1) as shop:
        anonymous = _replay(recorded, shop.url, "--operation", "GET /api/v1/users/me")
    # the recorded token was redacted: the provider now says 401, a warning (another documented status)
    changed = [f for f in json.loads(anonymous.stdout)["findings"] if f["kind"] == "status-changed"]
    assert changed and changed[0]["expected"] == 200 and changed[0]["observed"] == 401
    assert changed[0]["severity"] == "warning"
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEMO_TOKEN": TOKEN}
    with ShopServer(version=1) as shop:
        ok = subprocess.run(
            [
                sys.executable,
                "-m",
                "recorder",
                "replay",
                "--db",
                str(recorded),
                "--target",
                shop.url,
                "--operation",
                "GET /api/v1/users/me",
                "--header",
                "Authorization: Bearer $DEMO_TOKEN",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    assert ok.returncode == 0, ok.stdout  # the token from the environment made it through
    assert all(f["severity"] != "breaking" for f in json.loads(ok.stdout)["findings"])


def test_unsafe_requests_need_consent_and_redacted_secrets_are_never_sent(recorded):
    with ShopServer(version=1) as shop:
        result = _replay(recorded, shop.url, "--include-unsafe", "--header", f"Authorization: Bearer {TOKEN}")
    assert (
        "redacted secret" in result.stderr
    )  # POST /users bodies carried a (redacted) password: not replayed
    assert "unsafe" not in result.stderr


def test_replay_bad_input(recorded):
    bad = run_cli("replay", "--db", str(recorded), "--target", "ftp://nowhere")
    assert bad.returncode == 2 and "--target" in bad.stderr
    op = run_cli(
        "replay", "--db", str(recorded), "--target", "http://127.0.0.1:9", "--operation", "GET /nope"
    )
    assert op.returncode == 2 and "no operation" in op.stderr
    header = run_cli("replay", "--db", str(recorded), "--target", "http://127.0.0.1:9", "--header", "nocolon")
    assert header.returncode == 2 and "--header" in header.stderr
