"""Exports from traffic recorded through the real proxy: OpenAPI, Pact (verified by pact's own verifier), JSON Schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate
from support import db_rows, run_cli, running_proxy

from recorder.demo.consumer import TOKEN, drive
from recorder.demo.provider import ShopServer


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Shop traffic recorded through `recorder proxy`: a small early database and a bigger one."""
    folder = tmp_path_factory.mktemp("export")
    with ShopServer(version=1) as shop:
        early = folder / "early.db"
        with running_proxy(shop.url, early, "--provider", "shop") as proxy:
            drive(proxy.url, 12, seed=3)
        full = folder / "full.db"
        with running_proxy(shop.url, full, "--provider", "shop") as proxy:
            drive(proxy.url, 400, seed=3)
    return folder, early, full


def _export(db, out, *extra):
    result = run_cli("export", "openapi", "--db", str(db), "-o", str(out), *extra)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.smoke
def test_openapi_export_is_valid_and_has_templates_statuses_and_evidence(recorded):
    folder, _, full = recorded
    doc = yaml.safe_load(_export(full, folder / "openapi.yaml").read_text())
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    paths = doc["paths"]
    assert set(paths) >= {
        "/api/v1/users",
        "/api/v1/users/me",
        "/api/v1/users/{userId}",
        "/api/v1/users/{userId}/orders",
        "/api/v1/orders/{orderId}",
        "/api/v1/products/{productSlug}",
        "/api/v1/stats/daily",
    }
    get_user = paths["/api/v1/users/{userId}"]["get"]
    assert set(get_user["responses"]) == {"200", "404"}
    assert get_user["parameters"][0] == {
        "name": "userId",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
    order = paths["/api/v1/orders/{orderId}"]
    assert order["get"]["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}
    assert set(order) == {"get", "patch", "delete"}
    assert "204" in order["delete"]["responses"]
    ev = get_user["x-evidence"]
    assert ev["seen"] > 50 and set(ev["consumers"]) == {"billing-service", "mobile-app", "web-app"}
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert paths["/api/v1/users/me"]["get"]["security"] == [{"bearerAuth": []}]
    created = paths["/api/v1/users"]["post"]["responses"]["201"]
    assert "Location" in created["headers"]
    # a map keyed by dates
    daily = paths["/api/v1/stats/daily"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    daily = doc["components"]["schemas"][daily["$ref"].split("/")[-1]] if "$ref" in daily else daily
    assert "additionalProperties" in daily and "properties" not in daily


def _resolve(doc, schema):
    """Follow `$ref`s (also `anyOf: [$ref, null]`), keeping nullability in the type as the export meant it."""
    nullable = False
    while True:
        if "anyOf" in schema and {"type": "null"} in schema["anyOf"]:
            nullable = True
            schema = next(b for b in schema["anyOf"] if b != {"type": "null"})
        elif "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
        else:
            break
    if nullable:
        schema = {**schema, "type": [schema["type"], "null"]}
    return schema


def test_openapi_schemas_learn_formats_enums_required_and_nullability(recorded):
    folder, _, full = recorded
    doc = yaml.safe_load(_export(full, folder / "o.yaml").read_text())
    user = _resolve(
        doc,
        doc["paths"]["/api/v1/users/{userId}"]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ],
    )
    props = user["properties"]
    assert props["createdAt"]["format"] == "date-time"
    assert props["email"]["format"] == "email"
    assert props["role"]["enum"] == ["admin", "guest", "member"]
    assert "null" in _resolve(doc, props["address"])["type"]
    assert "nickname" not in user["required"] and "id" in user["required"]
    order = _resolve(
        doc,
        doc["paths"]["/api/v1/orders/{orderId}"]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ],
    )
    assert order["properties"]["id"]["format"] == "uuid"
    assert order["properties"]["total"]["type"] == "number"
    assert order["properties"]["status"]["enum"] == ["cancelled", "paid", "pending", "shipped"]
    item = _resolve(doc, order["properties"]["items"]["items"])
    assert item["properties"]["quantity"]["type"] == "integer"


def test_the_draft_grows_richer_and_never_contradicts_its_confident_claims(recorded):
    folder, early, full = recorded
    small = yaml.safe_load(_export(early, folder / "early.yaml").read_text())
    big = yaml.safe_load(_export(full, folder / "full.yaml").read_text())
    assert set(small["paths"]) <= set(big["paths"])

    def facts(doc):
        out = {}

        def walk(schema, where):
            schema = _resolve(doc, schema)
            for key in ("format", "enum"):
                if key in schema:
                    out[(where, key)] = schema[key]
            for name, sub in (schema.get("properties") or {}).items():
                ev = sub.get("x-evidence", {}) if isinstance(sub, dict) else {}
                if name in (schema.get("required") or []):
                    out[(f"{where}/{name}", "required")] = True
                if ev.get("confidence") != "low":
                    walk(sub, f"{where}/{name}")
            if isinstance(schema.get("items"), dict):
                walk(schema["items"], f"{where}/*")

        statuses = 0
        for path, item in doc["paths"].items():
            for method, op in item.items():
                for code, resp in op["responses"].items():
                    statuses += 1
                    for mt, media in (resp.get("content") or {}).items():
                        walk(media["schema"], f"{method} {path} {code} {mt}")
        return out, statuses

    early_facts, early_statuses = facts(small)
    late_facts, late_statuses = facts(big)
    assert late_statuses > early_statuses
    assert len([k for k in late_facts if k[1] == "format"]) > len(
        [k for k in early_facts if k[1] == "format"]
    )
    assert any(k[1] == "enum" for k in late_facts) and not any(k[1] == "enum" for k in early_facts)
    for key, value in early_facts.items():
        if key[0].split(" ")[1] in {p for p in big["paths"]}:
            assert late_facts.get(key) == value, key


def test_exports_are_deterministic_bytes(recorded, tmp_path):
    _, _, full = recorded
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"o{seed}.yaml"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-m", "recorder", "export", "openapi", "--db", str(full), "-o", str(out)],
            check=True,
            env=env,
            capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_openapi_30_json_and_no_evidence(recorded, tmp_path):
    _, _, full = recorded
    out = _export(full, tmp_path / "o.json", "--openapi-version", "3.0", "--no-evidence", "--no-examples")
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["openapi"].startswith("3.0")
    text = out.read_text()
    assert "x-evidence" not in text and '"example"' not in text
    assert '"nullable": true' in text


def test_endpoints_lists_templates_with_counts_and_statuses(recorded):
    _, _, full = recorded
    result = run_cli("endpoints", "--db", str(full))
    assert result.returncode == 0
    line = next(line for line in result.stdout.splitlines() if "/api/v1/users/{userId} " in line)
    method, path, count, statuses = line.split()
    assert (method, path, statuses) == ("GET", "/api/v1/users/{userId}", "200,404")
    assert int(count.replace(",", "")) > 50


def test_json_schema_export_validates_every_recorded_body(recorded, tmp_path):
    _, _, full = recorded
    result = run_cli("export", "jsonschema", "--db", str(full), "-o", str(tmp_path / "schemas"))
    assert result.returncode == 0, result.stderr
    files = {p.name: json.loads(p.read_text()) for p in (tmp_path / "schemas").glob("*.json")}
    assert "getApiV1UsersByUserId.response.200.schema.json" in files
    schema = files["getApiV1UsersByUserId.response.200.schema.json"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    bodies = db_rows(
        full,
        "SELECT response_body FROM exchanges WHERE method = 'GET' AND shape = '/api/v1/users/{int}' AND status = 200",
    )
    assert len(bodies) > 50
    for (body,) in bodies:
        validator.validate(json.loads(body))
    # and every other body, against its own file
    checked = 0
    for name, schema in files.items():
        _op, _, rest = name.partition(".response.")
        if not rest:
            continue
        status = int(rest.split(".")[0])
        for (body,) in db_rows(
            full,
            "SELECT response_body FROM exchanges WHERE status = ? AND response_content_type LIKE 'application/json%'",
            (status,),
        ):
            if body:
                try:
                    jsonschema.Draft202012Validator(schema).validate(json.loads(body))
                    checked += 1
                except jsonschema.ValidationError:
                    pass  # bodies of other operations may not fit this one
    assert checked > 100


def _verify(pact_dir, url, token=TOKEN):
    from pact import Verifier

    host, _port = url.split("//")[1].split(":")
    verifier = Verifier("shop", host=host).add_source(str(pact_dir)).add_transport(url=url)
    verifier.add_custom_header("Authorization", f"Bearer {token}")
    verifier.verify()


def test_pact_export_passes_the_official_verifier_and_fails_when_the_provider_changes(recorded, tmp_path):
    _, _, full = recorded
    pacts = tmp_path / "pacts"
    result = run_cli("export", "pact", "--db", str(full), "-o", str(pacts))
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in pacts.iterdir())
    assert files == ["billing-service-shop.json", "mobile-app-shop.json", "web-app-shop.json"]
    pact = json.loads((pacts / "web-app-shop.json").read_text())
    assert pact["metadata"]["pactSpecification"]["version"] == "3.0.0"
    interaction = next(
        i for i in pact["interactions"] if i["description"] == "GET /api/v1/users/{userId} -> 200"
    )
    assert (
        interaction["request"]["matchingRules"]["path"]["matchers"][0]["regex"] == "^/api/v1/users/-?[0-9]+$"
    )
    assert interaction["response"]["matchingRules"]["body"]["$.id"]["matchers"] == [{"match": "integer"}]
    with ShopServer(version=1) as shop:
        _verify(pacts, shop.url)
        shop.set_version(2)  # a field renamed, a type changed
        with pytest.raises(Exception, match=r"(?i)verif|fail"):
            _verify(pacts, shop.url)


def test_pact_v4_export(recorded, tmp_path):
    _, _, full = recorded
    result = run_cli(
        "export",
        "pact",
        "--db",
        str(full),
        "-o",
        str(tmp_path),
        "--pact-version",
        "4",
        "--consumer",
        "web-app",
    )
    assert result.returncode == 0, result.stderr
    pact = json.loads((tmp_path / "web-app-shop.json").read_text())
    assert pact["metadata"]["pactSpecification"]["version"] == "4.0"
    body = next(i for i in pact["interactions"] if i["response"].get("body"))["response"]["body"]
    assert body["contentType"] == "application/json" and body["encoded"] is False
    with ShopServer(version=1) as shop:
        _verify(tmp_path, shop.url)


def test_export_errors_are_one_line(recorded, tmp_path):
    _, _, full = recorded
    bad = run_cli("export", "openapi", "--db", str(full), "-o", str(tmp_path / "o.txt"))
    assert bad.returncode == 2 and "must end in .yaml" in bad.stderr
    missing = run_cli("export", "pact", "--db", str(full), "-o", str(tmp_path), "--consumer", "nobody")
    assert missing.returncode == 2 and "no traffic from consumer 'nobody'" in missing.stderr
    version = run_cli(
        "export", "openapi", "--db", str(full), "-o", str(tmp_path / "x.yaml"), "--openapi-version", "2.0"
    )
    assert version.returncode == 2 and "--openapi-version" in version.stderr


def test_pinned_templates_apply_to_what_is_already_recorded(recorded, tmp_path):
    _, _, full = recorded
    before = yaml.safe_load(_export(full, tmp_path / "before.yaml").read_text())
    assert "/api/v1/products/{productSlug}" in before["paths"]
    (tmp_path / "recorder.toml").write_text(
        'paths = ["/api/v1/products/{sku}", "/api/v1/users/{id}/orders"]\n'
    )
    result = run_cli("export", "openapi", "--db", str(full), "-o", str(tmp_path / "after.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    after = yaml.safe_load((tmp_path / "after.yaml").read_text())
    assert (
        "/api/v1/products/{sku}" in after["paths"] and "/api/v1/products/{productSlug}" not in after["paths"]
    )
    assert "/api/v1/users/{id}/orders" in after["paths"]
    assert (
        after["paths"]["/api/v1/products/{sku}"]["get"]["x-evidence"]["seen"]
        == before["paths"]["/api/v1/products/{productSlug}"]["get"]["x-evidence"]["seen"]
    )


def test_summaries_are_incremental_and_rederivation_gives_the_same_contract(recorded, tmp_path):
    import shutil

    _, _, full = recorded
    db = tmp_path / "copy.db"
    shutil.copy(full, db)
    first = _export(db, tmp_path / "a.yaml").read_bytes()
    again = run_cli("summarize", "--db", str(db))
    assert again.returncode == 0 and "summarised 0 exchanges" in again.stdout  # nothing new since the export
    rebuilt = run_cli("summarize", "--db", str(db), "--rederive")
    total = db_rows(db, "SELECT count(*) FROM exchanges")[0][0]
    assert rebuilt.returncode == 0 and f"re-derived {total:,} exchanges" in rebuilt.stdout
    assert _export(db, tmp_path / "b.yaml").read_bytes() == first
