"""Contract health over time: snapshots and versions, deprecation candidates, retention, shards."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time

import pytest
import yaml
from support import db_rows, run_cli, running_proxy

from recorder.demo.consumer import drive
from recorder.demo.provider import ShopServer


@pytest.fixture(scope="module")
def traffic(tmp_path_factory):
    """v1 traffic, then v1 traffic again, then v2 traffic, each in its own database."""
    folder = tmp_path_factory.mktemp("health")
    with ShopServer(version=1) as shop:
        for name, seed, count in (("a.db", 1, 250), ("b.db", 2, 120)):
            with running_proxy(shop.url, folder / name, "--provider", "shop") as proxy:
                drive(proxy.url, count, seed=seed)
        shop.set_version(2)
        with running_proxy(shop.url, folder / "v2.db", "--provider", "shop") as proxy:
            drive(proxy.url, 120, seed=3)
    return folder


def _ok(*args, **kw):
    result = run_cli(*args, **kw)
    assert result.returncode == 0, result.stderr
    return result


def test_snapshots_bump_versions_by_the_diff_rules(traffic, tmp_path):
    db = tmp_path / "h.db"
    shutil.copy(traffic / "a.db", db)
    assert "stored 1.0.0 (initial)" in _ok("snapshot", "--db", str(db)).stdout
    assert "no changes since 1.0.0" in _ok("snapshot", "--db", str(db)).stdout
    # more of the same traffic: evidence only -> patch
    _ok("merge", str(db), str(traffic / "b.db"), "-o", str(tmp_path / "ab.db"))
    db = tmp_path / "ab.db"
    patch = _ok("snapshot", "--db", str(db)).stdout
    assert "stored 1.0.1 (patch)" in patch and "evidence only" in patch
    # the provider changed: a field removed and retyped -> major
    _ok("merge", str(db), str(traffic / "v2.db"), "-o", str(tmp_path / "all.db"))
    major = _ok("snapshot", "--db", str(tmp_path / "all.db")).stdout
    assert "stored 2.0.0 (major)" in major and "breaking" in major
    listing = _ok("history", "--db", str(tmp_path / "all.db")).stdout.splitlines()
    assert [line.split()[0] for line in listing] == ["1.0.0", "1.0.1", "2.0.0"]
    versions = json.loads(_ok("history", "--db", str(tmp_path / "all.db"), "--json").stdout)
    assert [v["bump"] for v in versions] == ["initial", "patch", "major"]
    # every export can take --version, and carries its version
    old = tmp_path / "old.yaml"
    _ok("export", "openapi", "--db", str(tmp_path / "all.db"), "-o", str(old), "--version", "1.0.0")
    doc = yaml.safe_load(old.read_text())
    assert doc["info"]["version"] == "1.0.0"
    user = doc["components"]["schemas"]
    assert any("name" in (s.get("properties") or {}) for s in user.values())
    current = yaml.safe_load(_ok_export(tmp_path / "all.db", tmp_path / "now.yaml").read_text())
    assert current["info"]["version"] == "2.0.0"
    pacts = tmp_path / "pacts"
    _ok(
        "export",
        "pact",
        "--db",
        str(tmp_path / "all.db"),
        "-o",
        str(pacts),
        "--version",
        "1.0.1",
        "--consumer",
        "web-app",
    )
    assert (
        json.loads((pacts / "web-app-shop.json").read_text())["metadata"]["contractRecorder"][
            "contractVersion"
        ]
        == "1.0.1"
    )
    missing = run_cli(
        "export", "openapi", "--db", str(tmp_path / "all.db"), "-o", str(old), "--version", "7.0.0"
    )
    assert missing.returncode == 2 and "versions: 1.0.0, 1.0.1, 2.0.0" in missing.stderr


def _ok_export(db, out):
    _ok("export", "openapi", "--db", str(db), "-o", str(out))
    return out


def test_drafts_between_snapshots_say_so(traffic, tmp_path):
    db = tmp_path / "h.db"
    shutil.copy(traffic / "a.db", db)
    assert yaml.safe_load(_ok_export(db, tmp_path / "0.yaml").read_text())["info"]["version"] == "0.1.0"
    _ok("snapshot", "--db", str(db))
    _ok("merge", str(db), str(traffic / "v2.db"), "-o", str(tmp_path / "m.db"))
    assert (
        yaml.safe_load(_ok_export(tmp_path / "m.db", tmp_path / "1.yaml").read_text())["info"]["version"]
        == "2.0.0-draft"
    )


def test_deprecation_candidates_in_stats(tmp_path):
    import httpx

    db = tmp_path / "d.db"
    with ShopServer(version=1) as shop, running_proxy(shop.url, db, "--provider", "shop") as proxy:
        with httpx.Client(base_url=proxy.url, headers={"X-Consumer": "old-report"}) as old:
            old.get("/api/v1/stats/daily?days=2")
            old.get("/api/v1/users?limit=5&role=admin")
        time.sleep(2.5)
        with httpx.Client(base_url=proxy.url, headers={"X-Consumer": "web-app"}) as web:
            for _ in range(3):
                web.get("/api/v1/users?limit=5")
                web.get("/api/v1/health")
    data = json.loads(_ok("stats", "--db", str(db), "--json", "--idle", "2s").stdout)
    found = {(c["element"], c["operation"], c["location"]): c for c in data["deprecation_candidates"]}
    idle_op = found[("operation", "GET /api/v1/stats/daily", "")]
    assert idle_op["last_consumers"] == ["old-report"] and idle_op["idle_days"] * 86400 >= 2
    idle_param = found[("parameter", "GET /api/v1/users", "query: role")]
    assert idle_param["last_consumers"] == ["old-report"]
    assert ("parameter", "GET /api/v1/users", "query: limit") not in found  # still in use
    assert ("operation", "GET /api/v1/health", "") not in found
    fresh = json.loads(_ok("stats", "--db", str(db), "--json", "--idle", "30d").stdout)
    assert fresh["deprecation_candidates"] == []
    text = _ok("stats", "--db", str(db), "--idle", "2s").stdout
    assert "deprecation candidates (not seen for 2s" in text and "GET /api/v1/stats/daily" in text


def test_pruning_keeps_evidence_and_exports_unchanged(traffic, tmp_path):
    db = tmp_path / "p.db"
    shutil.copy(traffic / "a.db", db)
    before = _ok_export(db, tmp_path / "before.yaml").read_bytes()
    total = db_rows(db, "SELECT count(*) FROM exchanges")[0][0]
    result = _ok("prune", "--db", str(db), "--keep-first", "1", "--keep-last", "2")
    kept = db_rows(db, "SELECT count(*) FROM exchanges")[0][0]
    assert kept < total / 2 and f"kept {kept:,}" in result.stdout
    groups = db_rows(db, "SELECT count(*) FROM exchanges GROUP BY provider, method, shape, status")
    assert max(g[0] for g in groups) <= 3
    assert _ok_export(db, tmp_path / "after.yaml").read_bytes() == before


def test_merge_of_shards_exports_what_one_database_would(traffic, tmp_path):
    whole = traffic / "a.db"
    # split one database's exchanges into two shards, as two proxies would have recorded them
    shards = []
    for parity in (0, 1):
        shard = tmp_path / f"shard{parity}.db"
        _ok("stats", "--db", str(whole))  # the store exists and is migrated
        shutil.copy(whole, shard)
        conn = sqlite3.connect(shard)
        conn.execute("DELETE FROM exchanges WHERE id % 2 != ?", (parity,))
        conn.execute("DELETE FROM summaries")
        conn.execute("DELETE FROM meta WHERE key = 'summarized_through'")
        conn.execute("DELETE FROM sessions")
        conn.commit()
        conn.close()
        shards.append(shard)
    merged = tmp_path / "merged.db"
    result = _ok("merge", *map(str, shards), "-o", str(merged))
    assert "merged 2 shards" in result.stdout
    assert db_rows(merged, "SELECT count(*) FROM exchanges") == db_rows(
        whole, "SELECT count(*) FROM exchanges"
    )
    single = _ok_export(whole, tmp_path / "single.yaml").read_text()
    combined = _ok_export(merged, tmp_path / "combined.yaml").read_text()
    assert combined == single
    again = run_cli("merge", str(shards[0]), str(shards[0]), "-o", str(tmp_path / "x.db"))
    assert again.returncode == 2 and "twice" in again.stderr
    overlap = run_cli("merge", str(whole), str(shards[0]), "-o", str(tmp_path / "y.db"))
    assert overlap.returncode == 2 and "shares" in overlap.stderr
    assert not (tmp_path / "y.db").exists()


def test_merge_of_two_live_proxies(tmp_path):
    with (
        ShopServer(version=1) as shop,
        running_proxy(shop.url, tmp_path / "p1.db") as one,
        running_proxy(shop.url, tmp_path / "p2.db") as two,
    ):
        drive(one.url, 60, seed=1)
        drive(two.url, 50, seed=2)
    _ok("merge", str(tmp_path / "p1.db"), str(tmp_path / "p2.db"), "-o", str(tmp_path / "all.db"))
    assert db_rows(tmp_path / "all.db", "SELECT count(*) FROM exchanges") == [(110,)]
    endpoints = _ok("endpoints", "--db", str(tmp_path / "all.db")).stdout
    total = sum(int(line.split()[2].replace(",", "")) for line in endpoints.splitlines())
    assert total == 110


def test_dashboard_renders_the_numbers_the_database_holds(traffic, tmp_path):
    from test_reports import run_chromium

    db = tmp_path / "r.db"
    _ok("merge", str(traffic / "a.db"), str(traffic / "v2.db"), "-o", str(db))
    page = tmp_path / "health.html"
    result = _ok("report", "--db", str(db), "-o", str(page))
    assert "no snapshot" not in result.stdout
    html = page.read_text()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    total = db_rows(db, "SELECT count(*) FROM exchanges")[0][0]
    per_op = dict(
        db_rows(db, "SELECT method || ' ' || shape, count(*) FROM exchanges GROUP BY method, shape")
    )
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert f'id="total-exchanges" data-count="{total}"' in dom or f'data-count="{total}"' in dom
    for chart in ("chart-traffic", "chart-statuses", "chart-latency", "chart-coverage"):
        assert f'id="{chart}"' in dom, chart
    assert per_op["GET /api/v1/users/{int}"] > 0
    assert 'data-operation="GET /api/v1/users/{userId}"' in dom
    # against a snapshot taken before the provider changed, the changed operations rank as the riskiest
    snap_db = tmp_path / "s.db"
    import shutil

    shutil.copy(traffic / "a.db", snap_db)
    _ok("snapshot", "--db", str(snap_db))
    _ok("merge", str(snap_db), str(traffic / "v2.db"), "-o", str(tmp_path / "sv.db"))
    _ok("report", "--db", str(tmp_path / "sv.db"), "-o", str(tmp_path / "h2.html"))
    dom2 = run_chromium(tmp_path, "--dump-dom", (tmp_path / "h2.html").as_uri()).stdout
    first = dom2.split('data-rank="1"')[0].rsplit("data-operation=", 1)[-1] if 'data-rank="1"' in dom2 else ""
    assert "users" in first or "orders" in first
    assert 'data-version="1.0.0"' in dom2
