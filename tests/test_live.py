"""The proxy with a contract (live drift) and Prometheus metrics, and its follower keeping evidence current."""

from __future__ import annotations

import socket
import sqlite3
import time

import httpx
from support import db_rows, har_entry, har_file, run_cli, running_proxy, wait_for

from recorder.demo.consumer import drive
from recorder.demo.provider import ShopServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_live_drift_logs_each_new_finding_once_and_metrics_count_it(tmp_path):
    learned = tmp_path / "learned.db"
    with ShopServer(version=1) as shop:
        with running_proxy(shop.url, learned, "--provider", "shop") as proxy:
            drive(proxy.url, 300, seed=1)
        contract = tmp_path / "openapi.yaml"
        assert run_cli("export", "openapi", "--db", str(learned), "-o", str(contract)).returncode == 0
        shop.set_version(2)
        port = _free_port()
        db = tmp_path / "live.db"
        with running_proxy(
            shop.url, db, "--provider", "shop", "--contract", str(contract), "--metrics-port", str(port)
        ) as proxy:
            drive(proxy.url, 150, seed=2)
            assert wait_for(lambda: "recorder: drift: breaking" in proxy.stderr, timeout=30)
            metrics = ""

            def scraped() -> bool:
                nonlocal metrics
                metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
                return (
                    'recorder_live_findings_total{severity="breaking"}' in metrics
                    and "recorder_exchanges_recorded_total 150.0" in metrics
                )

            assert wait_for(scraped, timeout=30), metrics
    lines = [line for line in proxy.stderr.splitlines() if line.startswith("recorder: drift: ")]
    assert any("type-mismatch GET /api/v1/orders/{orderId} response 200: /total" in line for line in lines)
    assert any("field-missing GET /api/v1/users/{userId} response 200: /name" in line for line in lines)
    assert len(lines) == len(set(line.split(" (exchanges")[0] for line in lines))  # each finding once
    breaking = float(metrics.split('recorder_live_findings_total{severity="breaking"} ')[1].split()[0])
    assert breaking > 0
    assert 'recorder_requests_total{operation="GET /api/v1/users/{userId}",status="200"}' in metrics
    assert (
        'recorder_request_duration_seconds_bucket{le="+Inf",operation="GET /api/v1/users/{userId}"}'
        in metrics
    )
    assert "recorder_exchanges_dropped_total 0.0" in metrics and "recorder_queue_depth 0.0" in metrics
    # the follower folded everything into the evidence before the proxy exited
    summarised = db_rows(db, "SELECT value FROM meta WHERE key = 'summarized_through'")[0][0]
    assert int(summarised) == db_rows(db, "SELECT max(id) FROM exchanges")[0][0]


def test_follower_applies_retention_while_recording(tmp_path):
    (tmp_path / "recorder.toml").write_text(
        "[retention]\nkeep_first = 1\nkeep_last = 2\ninterval_seconds = 1\n"
    )
    db = tmp_path / "r.db"
    with (
        ShopServer(version=1) as shop,
        running_proxy(shop.url, db, "--config", str(tmp_path / "recorder.toml")) as proxy,
    ):
        for i in range(60):
            httpx.get(f"{proxy.url}/api/v1/users/{i % 5 + 1}")
        assert wait_for(lambda: db_rows(db, "SELECT count(*) FROM exchanges")[0][0] <= 3, timeout=30)
        time.sleep(0.2)
    stats = run_cli("endpoints", "--db", str(db))
    line = next(line for line in stats.stdout.splitlines() if "/api/v1/users/{userId}" in line)
    assert line.split()[2] == "60"  # the evidence counts every exchange, although only 3 are stored


def test_bad_contract_for_the_proxy_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("swagger: '2.0'\n")
    result = run_cli(
        "proxy",
        "--upstream",
        "http://127.0.0.1:9",
        "--listen-port",
        "0",
        "--db",
        str(tmp_path / "x.db"),
        "--contract",
        str(bad),
    )
    assert (
        result.returncode == 2
        and "Swagger 2.0" in result.stderr
        and len(result.stderr.strip().splitlines()) == 1
    )


def test_live_drift_leaves_the_evidence_as_folding_without_it(tmp_path):
    """Live drift compares each batch's own summaries before they are merged into the stored evidence: the
    comparison must not change what is stored."""
    import shutil

    from recorder.contracts.load import load_contract
    from recorder.health.follower import LiveDrift
    from recorder.learn.summaries import catch_up
    from recorder.store import open_store

    recorded = tmp_path / "recorded.db"
    with ShopServer(version=1) as shop:
        with running_proxy(shop.url, tmp_path / "v1.db", "--provider", "shop", "--no-follow") as proxy:
            drive(proxy.url, 120, seed=3)
        contract = tmp_path / "openapi.yaml"
        assert (
            run_cli("export", "openapi", "--db", str(tmp_path / "v1.db"), "-o", str(contract)).returncode == 0
        )
        shop.set_version(2)
        with running_proxy(shop.url, recorded, "--provider", "shop", "--no-follow") as proxy:
            drive(proxy.url, 120, seed=4)
    stored = {}
    logged: list[str] = []
    for live in (False, True):
        copy = tmp_path / f"copy-{live}.db"
        shutil.copy(recorded, copy)
        with open_store(copy) as store:
            store.reset_summaries()
            drift = LiveDrift(load_contract(str(contract)), logged.append)
            assert catch_up(store, batch=25, on_batch=drift.batch if live else None) == 120
        with sqlite3.connect(copy) as db:  # what is stored, read from the file itself
            stored[live] = db.execute(
                "SELECT provider, method, shape, count, data FROM summaries ORDER BY 1, 2, 3"
            ).fetchall()
    assert any("type-mismatch GET /api/v1/orders/{orderId}" in line for line in logged)
    assert drift.counts["breaking"] > 0
    assert stored[True] == stored[False] and len(stored[True]) >= 3


def test_folding_waits_while_traffic_is_busy_and_catches_up_when_it_is_light(tmp_path):
    """The store process's follower: the proxy's tail latency rises with any work on its cores, so folding
    waits while exchanges arrive fast, folds one slice at a time once the evidence lags too far, and catches
    up fully when traffic is light."""
    import recorder
    from recorder.health.follower import BATCH, Follower
    from recorder.store import open_store

    entries = [
        har_entry("GET", f"https://api.example.com/things/{i}", 200, {"id": i}, "2024-05-01T10:00:00.000Z")
        for i in range(250)
    ]
    har = har_file(tmp_path / "t.har", entries)
    db = tmp_path / "t.db"
    recorder.import_traffic([har], db)
    store = open_store(db)
    events: list[dict] = []

    busy = Follower(db, retention=None, contract=None, emit=events.append, log=print)
    busy.arrived(250)  # 250 exchanges in the last second: the proxy is busy
    busy.tick()
    assert store.summarized_through() == 0  # nothing folded while busy

    lagging = Follower(db, retention=None, contract=None, emit=events.append, log=print, max_lag=0.0)
    lagging.arrived(250)
    lagging.tick()  # busy, but the evidence lags: one slice
    assert store.summarized_through() == BATCH

    time.sleep(1.1)  # a second without new exchanges: traffic is light
    busy.tick()
    assert store.summarized_through() == 250
    busy.finish()
    assert events[-1] == {"event": "evidence", "summarised": 150, "findings": {}}
    store.close()
