"""The store layer on a real SQLite file: batches, evidence folded exactly once, retention, shards, errors."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import threading
from collections import Counter
from pathlib import Path

import pytest

from recorder.errors import StoreError
from recorder.learn.paths import path_shape
from recorder.learn.summaries import catch_up, load_summaries
from recorder.store import COLUMN, EXCHANGE_COLUMNS, Window, open_store
from recorder.store.sqlite import SharedExchanges, SqliteStore

GOLDEN = Path(__file__).resolve().parent / "data" / "golden" / "demo.db.gz"


@pytest.fixture
def demo_db(tmp_path) -> Path:
    """A database recorded by `recorder demo` (400 exchanges of the shop, three consumers)."""
    db = tmp_path / "demo.db"
    with gzip.open(GOLDEN) as src, db.open("wb") as out:
        shutil.copyfileobj(src, out)
    return db


def _row(uid: str, path: str = "/api/v1/things/1", status: int = 200) -> tuple:
    values = dict.fromkeys(EXCHANGE_COLUMNS)
    values.update(
        uid=uid, started=1.0, consumer="c", provider="p", method="GET", scheme="http", host="h", port=80,
        path=path, http_version="HTTP/1.1", request_headers="[]", request_size=0, request_truncated=0,
        status=status, response_headers="[]", response_content_type="application/json",
        response_body=b'{"id": 1}', response_size=9, response_truncated=0, source="test", shape=path,
    )  # fmt: skip
    return tuple(values[c] for c in EXCHANGE_COLUMNS)


def test_a_batch_and_its_session_counters_commit_together_and_duplicates_are_skipped(tmp_path):
    with open_store(tmp_path / "t.db", create=True) as store:
        store.start_session({"id": "s1", "started": 1.0, "kind": "test"})
        assert store.write_batch([_row("a"), _row("b")], "s1", {"recorded": 0}) == 2
        assert store.write_batch([_row("b"), _row("c")], "s1", {"recorded": 2}) == 1
        stats = store.stats()
        assert stats["exchanges"] == 3 and stats["sessions"] == 1
        assert [ex.path for ex in store.exchanges_after(0, 10)] == ["/api/v1/things/1"] * 3
        assert store.exchange(2).uid == "b" and store.exchange(99) is None
    rows = sqlite3.connect(tmp_path / "t.db").execute("SELECT recorded FROM sessions").fetchall()
    assert rows == [(3,)]
    assert (tmp_path / "t.db").stat().st_mode & 0o777 == 0o600
    assert COLUMN["uid"] == 0 and EXCHANGE_COLUMNS[COLUMN["shape"]] == "shape"


def test_evidence_is_folded_exactly_once_by_concurrent_followers(demo_db, tmp_path):
    reference = tmp_path / "reference.db"
    shutil.copy(demo_db, reference)
    for db in (demo_db, reference):
        with open_store(db) as store:
            store.reset_summaries()
    with open_store(reference) as store:
        assert catch_up(store, batch=1000) == 400
        expected = {(s.provider, s.method, s.shape): s.dump() for s in load_summaries(store)}

    folded = []

    def follow() -> None:
        with open_store(demo_db) as store:  # each follower has its own connection, as processes do
            folded.append(catch_up(store, batch=7))

    threads = [threading.Thread(target=follow) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(folded) == 400  # every exchange folded once, by one of them
    with open_store(demo_db) as store:
        got = {(s.provider, s.method, s.shape): s.dump() for s in load_summaries(store)}
        assert sum(s["n"] for s in got.values()) == 400 == store.summarized_through()
    assert {k: v["n"] for k, v in got.items()} == {k: v["n"] for k, v in expected.items()}


def test_windows_and_questions_commands_ask(demo_db):
    with open_store(demo_db) as store:
        everything = list(store.exchanges("shop"))
        assert len(everything) == 400 and [e.id for e in everything] == sorted(e.id for e in everything)
        middle = everything[200].started
        assert len(list(store.exchanges("shop", Window(since=middle)))) == 200
        assert store.consumers("shop") == ["billing-service", "mobile-app", "web-app"]
        assert store.consumers("shop", Window(consumer="web-app")) == ["web-app"]
        assert store.exchange_providers() == ["shop"] and store.summary_providers() == ["shop"]
        rows = store.example_rows("shop", "GET", ["/api/v1/users/{int}"], 200, Window(), 5)
        assert len(rows) == 5 and rows[0]["id"] > rows[-1]["id"]  # newest first
        assert json.loads(rows[0]["response_body"])["id"]
        candidates = store.replay_candidates("shop", Window(), None, 2)
        per_key = Counter((e.method, path_shape(e.path)[0], e.status) for e in candidates)
        assert per_key and max(per_key.values()) == 2  # the two most recent of each (method, shape, status)
        assert len(store.replay_candidates("shop", Window(), None, 0)) == 400
        origins = store.recent_origins("shop")
        assert origins and origins[0][0] == "http" and origins[0][1] == "127.0.0.1"


def test_prune_keeps_the_first_and_last_of_each_operation_and_gives_space_back(demo_db):
    with open_store(demo_db) as store:
        catch_up(store)
        before = store.body_bytes()
        deleted = store.prune(
            keep_first=1, keep_last=1, older_than=None, max_bytes=None, through=store.summarized_through()
        )
        assert deleted > 300
        assert store.count_exchanges() == 400 - deleted and store.body_bytes() < before
        assert sum(s.n for s in load_summaries(store)) == 400  # evidence is kept forever


def test_shards_that_share_exchanges_are_refused(demo_db, tmp_path):
    target = SqliteStore(tmp_path / "merged.db", create=True)
    count, copied, _ = target.absorb_shard(demo_db)
    assert count == copied == 400
    with pytest.raises(SharedExchanges) as refused:
        target.absorb_shard(demo_db)
    assert refused.value.shared == 400 and target.count_exchanges() == 400  # nothing of the second kept
    target.close()


def test_bad_databases_get_one_line_errors(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "missing.db")
    (tmp_path / "text.db").write_text("not a database at all, just text" * 100)
    with pytest.raises(StoreError, match="not a"):
        open_store(tmp_path / "text.db")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a recorder database"):
        open_store(other)
    with pytest.raises(StoreError, match="folder"):
        open_store(tmp_path)
