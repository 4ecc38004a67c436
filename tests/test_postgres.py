"""PostgreSQL as the shared store of a fleet: a real server (started here, on 127.0.0.1), real proxies.

The same traffic exports the same bytes from PostgreSQL as from one SQLite file, also when several writers
and followers work at once; faults (a restart under load, a cut connection, a read-only or full server, wrong
credentials, another program's database) never change the traffic, and every loss is counted.
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
from pgserver import PgServer
from support import run_cli, running_proxy

from recorder.learn.summaries import catch_up
from recorder.store import EXCHANGE_COLUMNS, open_store
from recorder.store.postgres import display_url

pytestmark = pytest.mark.postgres

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
_COUNTER = iter(range(1, 10_000))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = PgServer.available()
    if reason is not None:
        pytest.skip(f"no PostgreSQL server here: {reason}")
    pg = PgServer.start_new(tmp_path_factory.mktemp("pg"))
    try:
        yield pg
    finally:
        pg.stop("immediate")


@pytest.fixture
def url(server) -> str:
    """A fresh, empty database on the server."""
    return server.create_database(f"rec{next(_COUNTER)}")


def _demo_rows(tmp_path: Path) -> list[tuple]:
    """The rows of the recorded demo database (400 exchanges), in EXCHANGE_COLUMNS order."""
    db = tmp_path / "demo.db"
    with gzip.open(GOLDEN / "demo.db.gz") as src, db.open("wb") as out:
        shutil.copyfileobj(src, out)
    conn = sqlite3.connect(db)
    rows = conn.execute(f"SELECT {', '.join(EXCHANGE_COLUMNS)} FROM exchanges ORDER BY id").fetchall()
    conn.close()
    return rows


def _export_all(db: str, out: Path) -> dict[str, bytes]:
    """The golden test's exports of `db` (OpenAPI YAML/JSON, Pact v3/v4, JSON Schema), by file name."""
    steps = [
        ("export", "openapi", "--db", db, "-o", str(out / "openapi.yaml")),
        ("export", "openapi", "--db", db, "-o", str(out / "openapi.json"), "--openapi-version", "3.0"),
        ("export", "pact", "--db", db, "-o", str(out / "pacts-v3")),
        ("export", "pact", "--db", db, "-o", str(out / "pacts-v4"), "--pact-version", "4"),
        ("export", "jsonschema", "--db", db, "-o", str(out / "schemas")),
    ]
    for step in steps:
        result = run_cli(*step)
        assert result.returncode == 0, result.stderr
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _golden() -> dict[str, bytes]:
    exports = GOLDEN / "exports"
    return {
        str(p.relative_to(exports)): p.read_bytes()
        for p in sorted(exports.rglob("*"))
        if p.is_file() and p.name != "drift.json"
    }


def test_concurrent_writers_and_followers_export_the_same_bytes_as_one_sqlite_file(url, tmp_path):
    rows = _demo_rows(tmp_path)
    with open_store(url, create=True) as store:
        store.start_session({"id": "setup", "started": 0.0, "kind": "test"})
    shards = [rows[i::4] for i in range(4)]  # four recorders, each its share of the traffic, interleaved
    folded: list[int] = []
    errors: list[BaseException] = []
    writing = threading.Event()

    def writer(share: list[tuple], name: str) -> None:
        try:
            with open_store(url) as store:
                store.start_session({"id": name, "started": 0.0, "kind": "test"})
                for i in range(0, len(share), 7):
                    store.write_batch(share[i : i + 7], name, {"recorded": i})
                    writing.set()
        except BaseException as exc:  # reported below
            errors.append(exc)

    def follower() -> None:
        try:
            writing.wait(10)
            with open_store(url) as store:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    folded.append(catch_up(store, batch=11))
                    mark = store.summarized_through()
                    if (
                        mark
                        and store.count_exchanges() == len(rows)
                        and not store.count_exchanges(after_id=mark)
                    ):
                        return  # everything written is folded
                    time.sleep(0.01)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s, f"w{i}")) for i, s in enumerate(shards)]
    threads += [threading.Thread(target=follower) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    with open_store(url) as store:
        assert store.count_exchanges() == len(rows) == 400
        assert catch_up(store) == 0 and sum(folded) == 400  # each exchange folded exactly once
        again = [tuple(r) for r in rows[:50]]
        assert store.write_batch(again, "setup", {}) == 0  # stored once, however often it arrives
    exported = _export_all(url, tmp_path / "out")
    golden = _golden()
    assert sorted(exported) == sorted(golden)
    assert [name for name in golden if exported[name] != golden[name]] == []


def test_recording_through_the_proxy_into_postgres(url, tmp_path):
    from recorder.demo.consumer import drive
    from recorder.demo.provider import ShopServer

    with ShopServer(version=1) as shop, running_proxy(shop.url, url, "--provider", "shop") as proxy:
        statuses = drive(proxy.url, 120, seed=4)
    assert sum(statuses.values()) == 120
    stats = run_cli("stats", "--db", url, "--json")
    assert stats.returncode == 0, stats.stderr
    import json

    data = json.loads(stats.stdout)
    assert data["exchanges"] == 120 and data["dropped"] == 0 and data["store_errors"] == 0
    with open_store(url) as store:
        assert store.summarized_through() == store.max_exchange_id()  # the follower folded everything
    assert run_cli("drift", "--db", url, "--contract", str(tmp_path / "none.yaml")).returncode == 2
    export = run_cli("export", "openapi", "--db", url, "-o", str(tmp_path / "o.yaml"))
    assert export.returncode == 0 and "/api/v1/users/{userId}" in (tmp_path / "o.yaml").read_text()


def test_a_restart_under_load_keeps_traffic_flowing_and_counts_every_loss(server, url, upstream):
    with running_proxy(upstream, url) as proxy:
        sent = ok = 0
        with httpx.Client() as client:
            for i in range(300):
                if i == 100:
                    server.restart()
                response = client.get(f"{proxy.url}/json", headers={"X-Consumer": "c"})
                sent += 1
                ok += response.status_code == 200
                time.sleep(0.003)
        time.sleep(0.5)
    assert ok == sent == 300  # the proxy never noticed
    stats = run_cli("stats", "--db", url, "--json")
    import json

    data = json.loads(stats.stdout)
    assert data["exchanges"] + data["dropped"] == 300, data  # every exchange stored or counted as lost
    assert data["exchanges"] >= 200


def test_read_only_and_full_servers_lose_exchanges_countably_and_never_the_traffic(server, url, upstream):
    with open_store(url, create=True):
        pass
    dbname = url.rsplit("/", 1)[1]
    server.sql(
        "CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$",
        dbname,
    )
    server.sql(
        "CREATE TRIGGER disk_is_full BEFORE INSERT ON exchanges FOR EACH ROW EXECUTE FUNCTION full_disk()",
        dbname,
    )
    with running_proxy(upstream, url) as proxy:
        for _ in range(20):
            assert httpx.get(f"{proxy.url}/json").status_code == 200
        time.sleep(0.5)
    assert any("No space left" in line or "disk" in line for line in proxy.stderr_lines)
    server.sql("DROP TRIGGER disk_is_full ON exchanges", dbname)
    server.sql(f'ALTER DATABASE "{dbname}" SET default_transaction_read_only = on')
    try:
        with running_proxy(upstream, url) as proxy:
            for _ in range(20):
                assert httpx.get(f"{proxy.url}/json").status_code == 200
            time.sleep(0.5)
    finally:
        server.sql(f'ALTER DATABASE "{dbname}" SET default_transaction_read_only = off')
    data = __import__("json").loads(run_cli("stats", "--db", url, "--json").stdout)
    assert data["exchanges"] == 0 and data["dropped"] >= 20 and data["store_errors"] >= 1


def test_bad_urls_credentials_and_foreign_databases_get_one_line_errors(server, tmp_path):
    wrong = f"postgresql://nobody:s3cret@127.0.0.1:{server.port}/postgres"
    result = run_cli("stats", "--db", wrong)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "s3cret" not in result.stderr and "postgresql://nobody:***@127.0.0.1" in result.stderr
    missing = run_cli("stats", "--db", server.url("no_such_db"))
    assert missing.returncode == 2 and "no_such_db" in missing.stderr and "Traceback" not in missing.stderr
    foreign = server.create_database("someone_else")
    server.sql("CREATE TABLE invoices (id int)", "someone_else")
    other = run_cli("stats", "--db", foreign)
    assert other.returncode == 2 and "not a recorder database" in other.stderr
    proxy = run_cli(
        "proxy", "--upstream", "http://127.0.0.1:9", "--listen-port", "0", "--db", wrong, timeout=60
    )
    assert proxy.returncode != 0 and "s3cret" not in proxy.stderr and "Traceback" not in proxy.stderr
    assert (
        display_url("postgresql://ann:pw@db.example:5433/rec") == "postgresql://ann:***@db.example:5433/rec"
    )


def test_the_database_comes_from_the_environment_or_the_configuration(server, url, tmp_path, monkeypatch):
    with open_store(url, create=True):
        pass
    monkeypatch.setenv("RECORDER_DB", url)
    stats = run_cli("stats", "--json")
    assert stats.returncode == 0, stats.stderr
    monkeypatch.delenv("RECORDER_DB")
    (tmp_path / "recorder.toml").write_text(f'db = "{url}"\n')
    assert run_cli("stats", "--json", cwd=tmp_path).returncode == 0
