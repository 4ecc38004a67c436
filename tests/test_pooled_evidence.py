"""Evidence pooled across an API: a nested object seen a few times in each of many operations is judged on all
of them (its enums), with each operation keeping its own values."""

from __future__ import annotations

import random
from pathlib import Path

import yaml
from support import har_entry, har_file

import recorder


def _entry(path: str, body: object, second: int) -> dict:
    started = f"2024-05-01T10:{second // 60:02d}:{second % 60:02d}.000Z"
    return har_entry("GET", f"https://api.example.com{path}", 200, body, started)


def _export(tmp_path: Path, entries: list[dict]) -> dict:
    db = tmp_path / "traffic.db"
    recorder.import_traffic([har_file(tmp_path / "traffic.har", entries)], db)
    out = tmp_path / "openapi.yaml"
    recorder.export_openapi(db, out)
    return yaml.safe_load(out.read_text())


def _schema(doc: dict, path: str) -> dict:
    schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_a_nested_object_seen_rarely_per_operation_gets_its_enums_from_all_of_them(tmp_path):
    rnd = random.Random(7)
    resources = ["charges", "refunds", "payouts", "transfers", "invoices"]
    entries = []
    for i in range(5 * len(resources)):
        resource = resources[i % len(resources)]
        body = {
            "id": f"{resource[:3]}_{rnd.randrange(10**9)}",
            f"{resource}_total": rnd.randrange(100),  # each resource's body is of its own structure
            "check": {
                "result": rnd.choice(["passed", "failed", "unavailable"]),
                "note": f"checked by agent {rnd.randrange(10**6)}",
                "reference": f"REF{rnd.randrange(10**8)}",
            },
        }
        entries.append(_entry(f"/v1/{resource}/{body['id']}", body, i))
    doc = _export(tmp_path, entries)
    for resource in resources:
        check = _resolve(doc, _schema(doc, f"/v1/{resource}/{{{resource[:-1]}Id}}")["properties"]["check"])
        props = check["properties"]
        # five observations here are too few for an enum; twenty-five of the same object across the API are not
        assert set(props["result"]["enum"]) <= {"passed", "failed", "unavailable"}
        assert "enum" not in props["note"] and "enum" not in props["reference"]  # text and ids never


def test_a_list_envelope_fetched_again_and_again_learns_its_constant_only_across_collections(tmp_path):
    entries = []
    second = 0
    for resource in ("coupons", "prices", "products"):
        for page in range(12):
            body = {
                "object": "list",
                "url": f"/v1/{resource}",
                "has_more": page % 2 == 0,
                "data": [{"n": page}],
            }
            entries.append(_entry(f"/v1/{resource}", body, second))
            second += 1
    doc = _export(tmp_path, entries)
    for resource in ("coupons", "prices", "products"):
        props = _schema(doc, f"/v1/{resource}")["properties"]
        assert props["object"]["enum"] == ["list"]
        assert "enum" not in props["url"]  # one value per collection: its own identity, not a closed set

    alone = tmp_path / "alone"
    alone.mkdir()
    doc = _export(alone, entries[:12])  # one collection only: the same entity, nothing to tell a constant by
    assert "enum" not in _schema(doc, "/v1/coupons")["properties"]["object"]


def test_a_field_always_present_in_a_few_objects_here_but_missing_elsewhere_is_not_required(tmp_path):
    rnd = random.Random(3)
    entries = []

    def card(present: bool) -> dict:
        out = {"brand": rnd.choice(["visa", "amex"]), "last4": f"{rnd.randrange(10000):04d}"}
        if present:
            out["wallet"] = "apple_pay"
        return out

    def uid(prefix: str) -> str:
        return prefix + "_" + "".join(rnd.choice("abcdefghijkLMNOPQRSTUVWXYZ0123456789") for _ in range(14))

    second = 0
    # (each resource's body is of its own structure: only the nested card object is shared)
    for _ in range(60):  # the card object across the API: `wallet` in about 70% of them
        key = uid("ch")
        body = {"id": key, "charge_total": 1, "card": card(rnd.random() < 0.7)}
        entries.append(_entry(f"/v1/charges/{key}", body, second))
        second += 1
    for _ in range(4):  # here it happened to be there every time: 0.7^4 = 24% by chance alone
        key = uid("re")
        entries.append(
            _entry(f"/v1/refunds/{key}", {"id": key, "refund_total": 1, "card": card(True)}, second)
        )
        second += 1
    for _ in range(30):  # here always, thirty times: 0.7^30 is no chance, the field is required here
        key = uid("po")
        entries.append(
            _entry(f"/v1/payouts/{key}", {"id": key, "payout_total": 1, "card": card(True)}, second)
        )
        second += 1
    doc = _export(tmp_path, entries)

    def card_required(collection: str) -> list[str]:
        (path,) = [p for p in doc["paths"] if p.startswith(f"/v1/{collection}/{{")]
        return _resolve(doc, _schema(doc, path)["properties"]["card"]).get("required", [])

    assert "wallet" not in card_required("charges")
    assert "wallet" not in card_required("refunds")
    assert "wallet" in card_required("payouts")
    assert {"brand", "last4"} <= set(card_required("refunds"))
