"""`recorder drift` and `recorder diff` as users run them: files in, reports out, exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from support import run_cli, running_proxy

from recorder.demo.consumer import drive
from recorder.demo.provider import ShopServer


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The contract learned from v1 traffic (OpenAPI + pacts), more v1 traffic, and v2 traffic."""
    folder = tmp_path_factory.mktemp("drift-cli")
    with ShopServer(version=1) as shop:
        with running_proxy(shop.url, folder / "v1.db", "--provider", "shop") as proxy:
            drive(proxy.url, 400, seed=1)
        with running_proxy(shop.url, folder / "same.db", "--provider", "shop") as proxy:
            drive(proxy.url, 120, seed=2)
        shop.set_version(2)
        with running_proxy(shop.url, folder / "v2.db", "--provider", "shop") as proxy:
            drive(proxy.url, 150, seed=3)
    for args in (
        ("export", "openapi", "--db", str(folder / "v1.db"), "-o", str(folder / "v1.yaml")),
        ("export", "openapi", "--db", str(folder / "v2.db"), "-o", str(folder / "v2.yaml")),
        ("export", "pact", "--db", str(folder / "v1.db"), "-o", str(folder / "pacts")),
    ):
        assert run_cli(*args).returncode == 0
    return folder


def _drift(folder, db, *extra, contract="v1.yaml"):
    return run_cli("drift", "--db", str(folder / db), "--contract", str(folder / contract), *extra)


def test_conforming_traffic_exits_0(recorded):
    result = _drift(recorded, "same.db")
    assert result.returncode == 0, result.stdout
    assert "0 breaking" in result.stdout


def test_drift_text_report_exits_1_on_breaking_changes(recorded):
    result = _drift(recorded, "v2.db")
    assert result.returncode == 1
    assert "GET /api/v1/orders/{orderId}" in result.stdout and "breaking" in result.stdout
    assert "type-mismatch" in result.stdout and "field-missing" in result.stdout
    assert result.stderr == ""


def test_fail_on_never_and_warning(recorded):
    assert _drift(recorded, "v2.db", "--fail-on", "never").returncode == 0
    assert _drift(recorded, "same.db", "--fail-on", "any").returncode in (0, 1)


def test_markdown_json_junit_reports(recorded, tmp_path):
    md = tmp_path / "drift.md"
    assert _drift(recorded, "v2.db", "--format", "markdown", "-o", str(md)).returncode == 1
    text = md.read_text()
    assert text.startswith("## ") and "fail" in text.lower() and "`recorder show " in text

    out = tmp_path / "drift.json"
    assert _drift(recorded, "v2.db", "-o", str(out)).returncode == 1  # format from the extension
    data = json.loads(out.read_text())
    assert data["schema"] == "contract-recorder/report/v1" and data["verdict"] == "fail"
    kinds = {(f["kind"], f["operation"], f["location"]) for f in data["findings"]}
    assert ("type-mismatch", "GET /api/v1/orders/{orderId}", "response 200: /total") in kinds
    finding = next(f for f in data["findings"] if f["kind"] == "type-mismatch")
    assert finding["count"] > 0 and finding["examples"] and finding["consumers"] and finding["first_seen"]

    xml = tmp_path / "drift.xml"
    assert _drift(recorded, "v2.db", "--format", "junit", "-o", str(xml)).returncode == 1
    suite = ET.parse(xml).getroot()
    cases = suite.findall(".//testcase")
    failures = suite.findall(".//failure")
    assert cases and failures
    assert any(
        c.get("name") == "GET /api/v1/orders/{orderId}" and c.find("failure") is not None for c in cases
    )


def test_html_report_renders_in_chromium(recorded, tmp_path):
    from test_reports import run_chromium

    page = tmp_path / "drift.html"
    assert _drift(recorded, "v2.db", "--format", "html", "-o", str(page)).returncode == 1
    html = page.read_text()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    for chart in ("chart-severity", "chart-operations", "chart-traffic", "chart-fields"):
        assert f'id="{chart}"' in dom, chart
    assert 'data-verdict="fail"' in dom
    assert "GET /api/v1/orders/{orderId}" in dom


def test_drift_against_a_pact_judges_that_consumer(recorded):
    result = _drift(recorded, "v2.db", "--format", "json", contract="pacts/web-app-shop.json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["window"]["consumer"] == "web-app"
    assert all(set(f["consumers"]) <= {"web-app"} for f in data["findings"] if f["consumers"])
    assert any(f["kind"] == "type-mismatch" and f["location"].endswith("/total") for f in data["findings"])


def test_several_contract_versions_tell_which_one_each_consumer_conforms_to(recorded):
    result = run_cli(
        "drift",
        "--db",
        str(recorded / "v2.db"),
        "--contract",
        str(recorded / "v1.yaml"),
        "--contract",
        str(recorded / "v2.yaml"),
        "--format",
        "json",
    )
    data = json.loads(result.stdout)
    verdicts = {f["operation"]: f for f in data["findings"] if f["kind"] == "consumer-version"}
    assert set(verdicts) == {"consumer billing-service", "consumer mobile-app", "consumer web-app"}
    for finding in verdicts.values():
        assert finding["observed"] == ["v2.yaml"]
        assert "conforms to v2.yaml" in finding["message"]


def test_diff_cli_suggests_a_major_bump(recorded, tmp_path):
    result = run_cli("diff", str(recorded / "v1.yaml"), str(recorded / "v2.yaml"), "--format", "json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["version_bump"] == "major"
    assert any(f["kind"] == "field-removed" and f["location"].endswith("/name") for f in data["findings"])
    same = run_cli("diff", str(recorded / "v1.yaml"), str(recorded / "v1.yaml"))
    assert same.returncode == 0 and "none" in same.stdout.lower()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n", "Swagger 2.0"),
        ("openapi: 3.0.3\npaths: [unclosed\n", "line"),
        ('{"hello": "world"}', "not"),
        (
            "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Nope'}\n",
            "Nope",
        ),
    ],
)
def test_bad_contracts_are_one_line_exit_2(recorded, tmp_path, content, fragment):
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    result = run_cli("drift", "--db", str(recorded / "v2.db"), "--contract", str(bad))
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "bad.yaml" in lines[0]


def test_bad_options_are_one_line_exit_2(recorded, tmp_path):
    for args, fragment in (
        (("--since", "yesterday-ish"), "--since"),
        (("--format", "pdf"), "--format"),
        (("--fail-on", "sometimes"), "--fail-on"),
    ):
        result = _drift(recorded, "v2.db", *args)
        assert (
            result.returncode == 2
            and fragment in result.stderr
            and len(result.stderr.strip().splitlines()) == 1
        )
    missing = run_cli("drift", "--db", str(recorded / "v2.db"), "--contract", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr
