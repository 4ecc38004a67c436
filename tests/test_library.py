"""The library API (`import recorder`) and the rooms behind it, called directly: record, import, export,
drift, replay, stub; merge, retention and history; decoding and metrics."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import zlib
from pathlib import Path

import brotli
import httpx
import pytest
import yaml
import zstandard

import recorder
from recorder.capture.decode import DecodeError, decode_body
from recorder.capture.metrics import OperationStats, ProxyMetrics
from recorder.config import RetentionSettings
from recorder.demo.consumer import TOKEN, drive
from recorder.demo.provider import ShopServer
from recorder.errors import RecorderError
from recorder.health.history import latest, snapshots, take_snapshot
from recorder.health.merge import merge
from recorder.health.retention import prune
from recorder.learn.observed import ObservedOptions
from recorder.store import open_store

GOLDEN = Path(__file__).resolve().parent / "data" / "golden" / "demo.db.gz"


@pytest.fixture
def demo_db(tmp_path) -> Path:
    db = tmp_path / "demo.db"
    with gzip.open(GOLDEN) as src, db.open("wb") as out:
        shutil.copyfileobj(src, out)
    return db


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Shop traffic recorded with `recorder.record` (the proxy on a background thread)."""
    db = tmp_path_factory.mktemp("library") / "shop.db"
    with ShopServer(version=1) as shop, recorder.record(shop.url, db, provider="shop") as proxy:
        drive(proxy.url, 200, seed=9)
    assert proxy.counters["recorded"] == 200 and proxy.counters["dropped"] == 0
    return db


def test_record_export_and_drift_through_the_library(recorded, tmp_path):
    contract = recorder.export_openapi(recorded, tmp_path / "openapi.yaml")
    doc = yaml.safe_load((tmp_path / "openapi.yaml").read_text())
    assert "/api/v1/users/{userId}" in doc["paths"] and len(contract.operations) == len(
        [m for p in doc["paths"].values() for m in p if m in ("get", "post", "patch", "delete")]
    )
    pacts = recorder.export_pacts(recorded, tmp_path / "pacts")
    assert set(pacts) == {"web-app", "mobile-app", "billing-service"}
    schemas = recorder.export_jsonschema(recorded, tmp_path / "schemas")
    assert any(name.startswith("getApiV1UsersByUserId.response.200") for name in schemas)
    report = recorder.drift(recorded, tmp_path / "openapi.yaml")
    assert report.counts()["breaking"] == 0 and report.kind == "drift"
    assert recorder.render(report).splitlines()[-1].endswith("fails on breaking: no")
    assert recorder.diff(tmp_path / "openapi.yaml", tmp_path / "openapi.yaml").version_bump == "none"
    with pytest.raises(RecorderError, match=r"\.yaml, \.yml or \.json"):
        recorder.export_openapi(recorded, tmp_path / "openapi.txt")


def test_replay_against_a_conforming_and_a_changed_provider(recorded):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with ShopServer(version=1) as same:
        clean = recorder.replay(recorded, same.url, headers=auth, rate=500.0)
    assert clean.counts()["breaking"] == 0 and clean.kind == "replay"
    with ShopServer(version=2) as changed:  # `name` renamed, `total` a string
        report = recorder.replay(recorded, changed.url, headers=auth, rate=500.0)
    kinds = {(f.kind, f.location) for f in report.findings if f.severity == "breaking"}
    assert ("field-missing", "response 200: /name") in kinds
    assert ("type-mismatch", "response 200: /total") in kinds


def test_stub_of_the_learned_contract(recorded):
    with recorder.stub(db=recorded) as stub:
        answer = httpx.get(stub.url + "/api/v1/users/3", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200 and isinstance(answer.json()["id"], int)
        assert httpx.get(stub.url + "/nowhere").status_code == 404
    with pytest.raises(RecorderError, match="exactly one"):
        recorder.stub()


def test_import_traffic_through_the_same_redaction(tmp_path):
    har = tmp_path / "session.har"
    entry = {
        "startedDateTime": "2024-05-01T10:00:00.000Z",
        "time": 12,
        "request": {
            "method": "GET", "url": "http://api.test/users/7?token=abc123abc123abc", "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Authorization", "value": "Bearer secretsecretsecret"}], "queryString": [],
        },
        "response": {
            "status": 200, "httpVersion": "HTTP/1.1", "headers": [{"name": "Content-Type", "value": "application/json"}],
            "content": {"mimeType": "application/json", "text": json.dumps({"id": 7, "password": "hunter2hunter2"})},
        },
    }  # fmt: skip
    har.write_text(json.dumps({"log": {"entries": [entry]}}))
    counters = recorder.import_traffic([har], tmp_path / "t.db", workers=0)
    assert counters["recorded"] == 1
    assert recorder.import_traffic([har], tmp_path / "t.db", workers=0)["recorded"] == 0  # imported once
    with open_store(tmp_path / "t.db") as store:
        stored = store.exchange(1)
    text = json.dumps(
        [stored.request_headers, stored.query, (stored.response_body or b"").decode()], ensure_ascii=False
    )
    assert "secretsecretsecret" not in text and "hunter2hunter2" not in text and "abc123abc123abc" not in text


def test_merge_retention_and_history_directly(demo_db, tmp_path):
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    shutil.copy(demo_db, first)  # the demo's traffic split into two shards by consumer
    shutil.copy(demo_db, second)
    for db, keep in ((first, ("web-app",)), (second, ("mobile-app", "billing-service"))):
        conn = sqlite3.connect(db)
        conn.execute(f"DELETE FROM exchanges WHERE consumer NOT IN ({','.join('?' * len(keep))})", keep)
        conn.execute("DELETE FROM summaries")
        conn.execute("DELETE FROM meta")
        conn.execute("DELETE FROM snapshots")
        conn.commit()
        conn.close()
    result = merge([first, second], tmp_path / "merged.db")
    assert result.shards == 2 and result.exchanges == 400
    with pytest.raises(RecorderError, match="exists"):
        merge([first, second], tmp_path / "merged.db")
    whole = recorder.observed_contract(demo_db)
    merged = recorder.observed_contract(tmp_path / "merged.db")
    assert [op.key for op in merged.operations] == [op.key for op in whole.operations]
    assert [op.evidence.count for op in merged.operations] == [op.evidence.count for op in whole.operations]

    with open_store(tmp_path / "merged.db") as store:
        pruned = prune(store, RetentionSettings(enabled=True, keep_first=2, keep_last=2))
        assert pruned.deleted > 0 and pruned.kept == 400 - pruned.deleted
        assert pruned.bytes_after < pruned.bytes_before
        options = ObservedOptions()
        snap, stored = take_snapshot(store, options)
        assert stored and snap.version == "1.0.0" and snap.bump == "initial"
        again, stored_again = take_snapshot(store, options)
        assert not stored_again and again.version == "1.0.0"  # nothing changed: no new version
        assert [s.meta.version for s in snapshots(store, "shop")] == ["1.0.0"]
        assert latest(store, "shop").contract.operations == recorder.observed_contract(store).operations


def test_decoding_every_content_encoding_with_a_cap():
    raw = json.dumps({"items": list(range(2000))}).encode()
    for encoding, data in (
        ("gzip", gzip.compress(raw)),
        ("deflate", zlib.compress(raw)),
        ("br", brotli.compress(raw)),
        ("zstd", zstandard.ZstdCompressor().compress(raw)),
        ("gzip, br", brotli.compress(gzip.compress(raw))),
        (None, raw),
    ):
        assert decode_body(data, encoding, 1 << 20) == (raw, False), encoding
    body, truncated = decode_body(gzip.compress(b"x" * 5_000_000), "gzip", 1000)
    assert truncated and body == b"x" * 1000  # a compression bomb stops at the cap
    with pytest.raises(DecodeError):
        decode_body(b"not gzip at all", "gzip", 1000)
    with pytest.raises(DecodeError, match="unsupported"):
        decode_body(raw, "compress", 1000)


def test_metrics_count_requests_per_operation_and_serve_them():
    stats = OperationStats()
    for status, ms in ((200, 3.0), (200, 40.0), (404, 1.0), (None, None)):
        stats.add("GET /users/{userId}", status, ms)
    metrics = ProxyMetrics(lambda: {"dropped": 2, "queue_depth": 0})
    metrics.update_store({"recorded": 4, "errors": 0, "store_dropped": 0, **stats.snapshot()})
    metrics.serve(0)
    try:
        text = httpx.get(f"http://127.0.0.1:{metrics.port}/metrics").text
    finally:
        metrics.stop()
    assert 'recorder_requests_total{operation="GET /users/{userId}",status="200"} 2.0' in text
    assert 'recorder_requests_total{operation="GET /users/{userId}",status="404"} 1.0' in text
    assert "recorder_exchanges_dropped_total 2.0" in text
