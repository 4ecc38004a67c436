"""The SQLite store (the embedded default), through sqlite-utils.

The file is created with mode 0600 and runs in WAL mode with a busy timeout, so several proxies, the
follower and commands can share it; every write happens in one transaction per batch.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils
from sqlite_utils.migrations import Migrations

from recorder.errors import StoreError
from recorder.model import Exchange
from recorder.store.base import (
    ALL,
    FoldOutcome,
    Store,
    StoreUnavailable,
    SummaryKey,
    SummaryRow,
    Window,
)
from recorder.store.rows import exchange_from_row
from recorder.store.schema import EXCHANGE_COLUMNS, SNAPSHOT_COLUMNS, SUMMARIZED_THROUGH

WAL_LIMIT = 32 << 20
BUSY_TIMEOUT_S = 30.0
INSERT_EXCHANGE = (
    f"INSERT OR IGNORE INTO exchanges ({', '.join(EXCHANGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in EXCHANGE_COLUMNS)})"
)
_PARTITION = "PARTITION BY provider, method, shape, coalesce(status, -1)"

migrations = Migrations("contract-recorder")


@migrations(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS exchanges (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            started REAL NOT NULL,
            duration_ms REAL,
            consumer TEXT NOT NULL DEFAULT '',
            provider TEXT NOT NULL DEFAULT '',
            method TEXT NOT NULL,
            scheme TEXT,
            host TEXT,
            port INTEGER,
            path TEXT NOT NULL,
            query TEXT,
            http_version TEXT,
            request_headers TEXT,
            request_content_type TEXT,
            request_body BLOB,
            request_size INTEGER NOT NULL DEFAULT 0,
            request_truncated INTEGER NOT NULL DEFAULT 0,
            status INTEGER,
            response_headers TEXT,
            response_content_type TEXT,
            response_body BLOB,
            response_size INTEGER NOT NULL DEFAULT 0,
            response_truncated INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            source TEXT NOT NULL DEFAULT 'proxy',
            shape TEXT
        );
        CREATE INDEX IF NOT EXISTS exchanges_started ON exchanges (started);
        CREATE INDEX IF NOT EXISTS exchanges_consumer ON exchanges (consumer, started);
        CREATE INDEX IF NOT EXISTS exchanges_operation ON exchanges (provider, method, shape);
        CREATE TABLE IF NOT EXISTS sessions (
            id TEXT PRIMARY KEY,
            started REAL NOT NULL,
            ended REAL,
            pid INTEGER,
            kind TEXT NOT NULL DEFAULT 'proxy',
            provider TEXT,
            listen TEXT,
            recorded INTEGER NOT NULL DEFAULT 0,
            dropped INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            last_error_at REAL
        );
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE IF NOT EXISTS summaries (
            provider TEXT NOT NULL,
            method TEXT NOT NULL,
            shape TEXT NOT NULL,
            count INTEGER NOT NULL,
            first_seen REAL,
            last_seen REAL,
            data TEXT NOT NULL,
            PRIMARY KEY (provider, method, shape)
        );
        """
    )


@migrations(name="0002_snapshots")
def _snapshots(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS snapshots (
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,
            version TEXT NOT NULL,
            created_at REAL NOT NULL,
            bump TEXT NOT NULL,
            reasons TEXT NOT NULL,
            operations INTEGER NOT NULL,
            exchanges INTEGER NOT NULL,
            contract TEXT NOT NULL,
            UNIQUE (provider, version)
        );
        """
    )


def create_private_file(path: Path) -> None:
    """Create an empty file readable only by its owner (0600), unless it exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


F = TypeVar("F", bound=Callable[..., Any])


def _operational(method: F) -> F:
    """sqlite3 errors while working (locked, disk full, I/O) become `StoreUnavailable` naming the file."""

    @functools.wraps(method)
    def wrapper(self: SqliteStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot use {self.path}: {exc}.") from None

    return wrapper  # type: ignore[return-value]


class SqliteStore(Store):
    """A recorder database in one SQLite file."""

    def __init__(self, path: Path | str, *, create: bool = False, readonly: bool = False) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.db = _open(self.path, create=create, readonly=readonly)
        self._inode = _inode(self.path)

    # -- lifecycle ---------------------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass

    def replaced(self) -> bool:
        return _inode(self.path) != self._inode

    def _dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.db.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.db.execute(sql, list(params)).fetchone()
        return row[0] if row else None

    # -- capture -----------------------------------------------------------------------------------------

    @_operational
    def start_session(self, session: dict[str, Any]) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT OR REPLACE INTO sessions (id, started, pid, kind, provider, listen) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    session["id"],
                    session["started"],
                    session.get("pid"),
                    session.get("kind", "proxy"),
                    session.get("provider"),
                    session.get("listen"),
                ],
            )

    @_operational
    def update_session(self, session_id: str, counters: dict[str, Any]) -> None:
        with self.db.atomic():
            self._update_session(session_id, counters)

    def _update_session(self, session_id: str, counters: dict[str, Any]) -> None:
        self.db.execute(
            "UPDATE sessions SET recorded = ?, dropped = ?, errors = ?, last_error = ?, last_error_at = ?,"
            " ended = ? WHERE id = ?",
            [
                counters.get("recorded", 0),
                counters.get("dropped", 0),
                counters.get("errors", 0),
                counters.get("last_error"),
                counters.get("last_error_at"),
                counters.get("ended"),
                session_id,
            ],
        )

    @_operational
    def write_batch(self, rows: Sequence[Sequence[Any]], session_id: str, counters: dict[str, Any]) -> int:
        with self.db.atomic():
            cursor = self.db.conn.executemany(INSERT_EXCHANGE, rows)
            written = cursor.rowcount if cursor.rowcount >= 0 else len(rows)
            self._update_session(session_id, {**counters, "recorded": counters.get("recorded", 0) + written})
        return written

    # -- exchanges ---------------------------------------------------------------------------------------

    @_operational
    def exchange(self, exchange_id: int) -> Exchange | None:
        rows = self._dicts("SELECT * FROM exchanges WHERE id = ?", [exchange_id])
        return exchange_from_row(rows[0]) if rows else None

    @_operational
    def exchanges_after(self, after_id: int, limit: int) -> list[Exchange]:
        rows = self._dicts("SELECT * FROM exchanges WHERE id > ? ORDER BY id LIMIT ?", [after_id, limit])
        if self.db.conn.in_transaction:
            self.db.execute("COMMIT")  # end the read: writers must not wait for us
        return [exchange_from_row(r) for r in rows]

    def exchanges(self, provider: str, window: Window = ALL) -> Iterator[Exchange]:
        where, params = _window_sql(window)
        sql = (
            "SELECT * FROM exchanges WHERE provider = ?" + (f" AND {where}" if where else "") + " ORDER BY id"
        )
        try:
            for row in self.db.query(sql, [provider, *params]):
                yield exchange_from_row(row)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot use {self.path}: {exc}.") from None

    @_operational
    def count_exchanges(self, after_id: int = 0) -> int:
        return int(self._one("SELECT count(*) FROM exchanges WHERE id > ?", [after_id]) or 0)

    @_operational
    def max_exchange_id(self) -> int:
        return int(self._one("SELECT max(id) FROM exchanges") or 0)

    @_operational
    def exchange_providers(self) -> list[str]:
        return sorted(r[0] for r in self.db.execute("SELECT DISTINCT provider FROM exchanges").fetchall())

    @_operational
    def consumers(self, provider: str, window: Window = ALL) -> list[str]:
        where, params = _window_sql(window)
        sql = "SELECT DISTINCT consumer FROM exchanges WHERE provider = ?" + (
            f" AND {where}" if where else ""
        )
        return sorted(r[0] for r in self.db.execute(sql, [provider, *params]).fetchall())

    @_operational
    def example_rows(
        self,
        provider: str,
        method: str,
        shapes: Sequence[str],
        status: int | None,
        window: Window,
        limit: int,
    ) -> list[dict[str, Any]]:
        if not shapes:
            return []
        sql = (
            "SELECT id, started, consumer, request_body, request_content_type, request_truncated, response_body,"
            " response_content_type, response_truncated, query, request_headers, status FROM exchanges"
            f" WHERE provider = ? AND method = ? AND shape IN ({_marks(shapes)})"
        )
        args: list[Any] = [provider, method.upper(), *shapes]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        where, params = _window_sql(window)
        if where:
            sql += f" AND {where}"
            args += params
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return self._dicts(sql, args)

    @_operational
    def pact_example(
        self, provider: str, method: str, shapes: Sequence[str], status: int, consumer: str
    ) -> dict[str, Any] | None:
        rows = self._dicts(
            "SELECT id, path, query, request_headers, request_body, request_content_type, status, response_headers,"
            " response_body, response_content_type, request_truncated, response_truncated FROM exchanges"
            f" WHERE provider = ? AND method = ? AND shape IN ({_marks(shapes)}) AND status = ? AND consumer = ?"
            " ORDER BY length(response_body) DESC, started, uid LIMIT 1",
            [provider, method.upper(), *shapes, status, consumer],
        )
        return rows[0] if rows else None

    @_operational
    def writes_before(self, provider: str, paths: Sequence[str], before_id: int) -> list[dict[str, Any]]:
        if not paths:
            return []
        return self._dicts(
            "SELECT id, method, path, query, request_headers, request_body, request_content_type,"
            " request_truncated FROM exchanges WHERE provider = ? AND id < ?"
            f" AND path IN ({_marks(paths)}) AND method IN ('PUT', 'PATCH', 'POST', 'DELETE')"
            " AND status >= 200 AND status < 300 ORDER BY id",
            [provider, before_id, *paths],
        )

    @_operational
    def replay_candidates(
        self, provider: str, window: Window, shapes: set[str] | None, sample: int
    ) -> list[Exchange]:
        clauses = ["provider = ?", "status IS NOT NULL"]
        params: list[Any] = [provider]
        where, window_params = _window_sql(window)
        if where:
            clauses.append(where)
            params += window_params
        if shapes is not None:
            clauses.append(f"shape IN ({_marks(shapes)})")
            params += sorted(shapes)
        condition = " AND ".join(clauses)
        if sample > 0:
            sql = (
                "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY method, shape, status ORDER BY id DESC)"
                f" AS rk FROM exchanges WHERE {condition}) WHERE rk <= ? ORDER BY id"
            )
            params.append(sample)
        else:
            sql = f"SELECT * FROM exchanges WHERE {condition} ORDER BY id"
        return [exchange_from_row(row) for row in self._dicts(sql, params)]

    @_operational
    def recorded_requests(self, provider: str, after_id: int) -> list[dict[str, Any]]:
        return self._dicts(
            "SELECT method, path, query, status, count(*) AS n, max(id) AS last_id FROM exchanges"
            " WHERE provider = ? AND id > ? AND status IS NOT NULL AND error IS NULL AND response_truncated = 0"
            " GROUP BY method, path, query, status ORDER BY method, path, query, n DESC, status",
            [provider, after_id],
        )

    @_operational
    def recent_origins(self, provider: str, recent: int = 2000, top: int = 3) -> list[tuple[str, str, int]]:
        rows = self.db.execute(
            "SELECT scheme, host, port, count(*) FROM (SELECT scheme, host, port FROM exchanges WHERE provider = ?"
            " ORDER BY id DESC LIMIT ?) GROUP BY scheme, host, port ORDER BY count(*) DESC, host LIMIT ?",
            [provider, recent, top],
        ).fetchall()
        return [(scheme, host, port) for scheme, host, port, _ in rows]

    @_operational
    def stats(self) -> dict[str, Any]:
        total, first, last, errored, truncated = self.db.execute(
            "SELECT count(*), min(started), max(started), sum(error IS NOT NULL),"
            " sum(request_truncated + response_truncated) FROM exchanges"
        ).fetchone()
        sessions = self.db.execute(
            "SELECT count(*), coalesce(sum(recorded), 0), coalesce(sum(dropped), 0), coalesce(sum(errors), 0)"
            " FROM sessions"
        ).fetchone()
        last_error = self.db.execute(
            "SELECT last_error, last_error_at FROM sessions WHERE last_error IS NOT NULL"
            " ORDER BY last_error_at DESC LIMIT 1"
        ).fetchone()
        return {
            "exchanges": total,
            "first_seen": first,
            "last_seen": last,
            "exchanges_with_errors": errored or 0,
            "truncated_bodies": truncated or 0,
            "sessions": sessions[0],
            "dropped": sessions[2],
            "store_errors": sessions[3],
            "last_store_error": last_error[0] if last_error else None,
            "by_operation": self._grouped("method || ' ' || coalesce(shape, path)"),
            "by_consumer": self._grouped("consumer"),
            "by_status": self._grouped("coalesce(status, 'error')"),
            "by_provider": self._grouped("provider"),
        }

    def _grouped(self, expr: str) -> dict[str, int]:
        rows = self.db.execute(
            f"SELECT {expr} AS k, count(*) FROM exchanges GROUP BY k ORDER BY count(*) DESC, k"
        ).fetchall()
        return {str(k): n for k, n in rows}

    @_operational
    def endpoints(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT method, path, count(*), group_concat(DISTINCT coalesce(status, 'error')) FROM exchanges"
            " GROUP BY method, path ORDER BY path, method"
        ).fetchall()
        return [
            {"method": m, "path": p, "count": n, "statuses": sorted(set(str(s).split(",")))}
            for m, p, n, s in rows
        ]

    @_operational
    def size_bytes(self) -> int:
        return int(self._one("PRAGMA page_count")) * int(self._one("PRAGMA page_size"))

    # -- evidence summaries ------------------------------------------------------------------------------

    @_operational
    def summarized_through(self) -> int:
        value = self._one("SELECT value FROM meta WHERE key = ?", [SUMMARIZED_THROUGH])
        return int(value) if value else 0

    @_operational
    def fold(
        self,
        expected: int,
        through: int,
        merge: Callable[[dict[SummaryKey, str | None]], list[SummaryRow]],
        keys: Sequence[SummaryKey],
    ) -> FoldOutcome:
        conn = self.db.conn
        if conn.in_transaction:
            conn.execute("COMMIT")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return "busy"
        try:
            if self.summarized_through() != expected:  # another process folded these in meanwhile
                conn.execute("ROLLBACK")
                return "stale"
            stored: dict[SummaryKey, str | None] = {}
            for key in keys:
                row = conn.execute(
                    "SELECT data FROM summaries WHERE provider = ? AND method = ? AND shape = ?", list(key)
                ).fetchone()
                stored[key] = row[0] if row else None
            for row in merge(stored):
                conn.execute(
                    "INSERT INTO summaries (provider, method, shape, count, first_seen, last_seen, data)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(provider, method, shape) DO UPDATE SET"
                    " count = excluded.count, first_seen = excluded.first_seen, last_seen = excluded.last_seen,"
                    " data = excluded.data",
                    list(row),
                )
            self._set_mark(through)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return "done"

    def _set_mark(self, through: int) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [SUMMARIZED_THROUGH, str(through)],
        )

    @_operational
    def summary_rows(self, provider: str | None = None) -> list[dict[str, Any]]:
        where = "WHERE provider = ?" if provider is not None else ""
        return self._dicts(
            f"SELECT provider, method, shape, data FROM summaries {where} ORDER BY provider, shape, method",
            [provider] if provider is not None else [],
        )

    @_operational
    def summary_providers(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT provider FROM summaries ORDER BY provider")]

    @_operational
    def reset_summaries(self) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM summaries")
            self.db.execute("DELETE FROM meta WHERE key = ?", [SUMMARIZED_THROUGH])

    @_operational
    def put_summaries(self, rows: Sequence[SummaryRow], through: int) -> None:
        with self.db.atomic():
            for row in rows:
                self.db.execute(
                    "INSERT INTO summaries (provider, method, shape, count, first_seen, last_seen, data)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    list(row),
                )
            self._set_mark(through)

    # -- snapshots ---------------------------------------------------------------------------------------

    @_operational
    def add_snapshot(self, row: dict[str, Any]) -> bool:
        try:
            with self.db.atomic():
                self.db.execute(
                    f"INSERT INTO snapshots ({', '.join(SNAPSHOT_COLUMNS)}) VALUES ({_marks(SNAPSHOT_COLUMNS)})",
                    [row[c] for c in SNAPSHOT_COLUMNS],
                )
        except sqlite3.IntegrityError:
            return False
        return True

    @_operational
    def snapshot_rows(self, provider: str) -> list[dict[str, Any]]:
        return self._dicts("SELECT * FROM snapshots WHERE provider = ? ORDER BY id", [provider])

    @_operational
    def snapshot_row(self, provider: str, version: str | None = None) -> dict[str, Any] | None:
        if version is None:
            rows = self._dicts(
                "SELECT * FROM snapshots WHERE provider = ? ORDER BY id DESC LIMIT 1", [provider]
            )
        else:
            rows = self._dicts(
                "SELECT * FROM snapshots WHERE provider = ? AND version = ?", [provider, version]
            )
        return rows[0] if rows else None

    # -- retention ---------------------------------------------------------------------------------------

    @_operational
    def body_bytes(self) -> int:
        return int(
            self._one(
                "SELECT coalesce(sum(length(request_body)), 0) + coalesce(sum(length(response_body)), 0)"
                " + coalesce(sum(length(request_headers)), 0) + coalesce(sum(length(response_headers)), 0)"
                " FROM exchanges"
            )
            or 0
        )

    @_operational
    def prune(
        self,
        *,
        keep_first: int,
        keep_last: int,
        older_than: float | None,
        max_bytes: int | None,
        through: int,
    ) -> int:
        protected = f"SELECT id FROM (SELECT id, row_number() OVER ({_PARTITION} ORDER BY id) AS rn FROM exchanges) WHERE rn <= ?"
        deleted = 0
        with self.db.atomic():
            cursor = self.db.execute(
                "DELETE FROM exchanges WHERE id IN (SELECT id FROM (SELECT id,"
                f" row_number() OVER ({_PARTITION} ORDER BY id) AS first_rank,"
                f" row_number() OVER ({_PARTITION} ORDER BY id DESC) AS last_rank"
                " FROM exchanges) WHERE first_rank > ? AND last_rank > ?) AND id <= ?",
                [keep_first, keep_last, through],
            )
            deleted += max(cursor.rowcount, 0)
            if older_than is not None:
                cursor = self.db.execute(
                    f"DELETE FROM exchanges WHERE started < ? AND id <= ? AND id NOT IN ({protected})",
                    [older_than, through, keep_first],
                )
                deleted += max(cursor.rowcount, 0)
        if max_bytes is not None:
            while self.body_bytes() > max_bytes:  # the oldest unprotected, a batch at a time
                with self.db.atomic():
                    cursor = self.db.execute(
                        "DELETE FROM exchanges WHERE id IN (SELECT id FROM exchanges WHERE id <= ? AND id NOT IN"
                        f" ({protected}) ORDER BY id LIMIT 500)",
                        [through, keep_first],
                    )
                if cursor.rowcount <= 0:
                    break
                deleted += cursor.rowcount
        if deleted:
            self._give_back_space()
        return deleted

    def _give_back_space(self) -> None:
        """Return freed pages to the file system (incremental auto-vacuum) and checkpoint the WAL, never blocking."""
        try:
            self.db.execute("PRAGMA incremental_vacuum(2000)").fetchall()
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.OperationalError:
            pass  # busy: the next round does it

    # -- merging shards ----------------------------------------------------------------------------------

    @_operational
    def absorb_shard(self, shard: Path) -> tuple[int, int, int]:
        """Copy a shard database's exchanges, sessions and snapshots into this one in one transaction;
        returns (exchanges in the shard, exchanges copied, snapshots copied)."""
        columns = ", ".join(EXCHANGE_COLUMNS)
        self.db.execute("ATTACH DATABASE ? AS shard", [os.fspath(shard)])
        try:
            with self.db.atomic():
                count = self._one("SELECT count(*) FROM shard.exchanges")
                copied = self.db.execute(
                    f"INSERT OR IGNORE INTO exchanges ({columns}) SELECT {columns} FROM shard.exchanges"
                    " ORDER BY started, uid"
                ).rowcount
                if copied != count:  # shards that share exchanges: nothing of this one is kept
                    raise SharedExchanges(count - copied)
                self.db.execute("INSERT OR IGNORE INTO sessions SELECT * FROM shard.sessions")
                snapshots = self.db.execute(
                    f"INSERT OR IGNORE INTO snapshots ({', '.join(SNAPSHOT_COLUMNS)})"
                    f" SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM shard.snapshots"
                ).rowcount
        finally:
            self.db.execute("DETACH DATABASE shard")
        return count, copied, snapshots


class SharedExchanges(StoreError):
    """A shard holds exchanges the target already has (copies of one capture, not separate proxies)."""

    def __init__(self, shared: int) -> None:
        super().__init__(f"{shared} exchanges are already in the target")
        self.shared = shared


def _marks(items: Sequence[Any] | set[Any]) -> str:
    return ",".join("?" for _ in items)


def _window_sql(window: Window) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if window.since is not None:
        clauses.append("started >= ?")
        params.append(window.since)
    if window.until is not None:
        clauses.append("started < ?")
        params.append(window.until)
    if window.consumer is not None:
        clauses.append("consumer = ?")
        params.append(window.consumer)
    return " AND ".join(clauses), params


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _open(path: Path, *, create: bool, readonly: bool) -> sqlite_utils.Database:
    """Open a recorder database (creating it, mode 0600, when `create`), migrated to the current schema."""
    if not path.exists():
        if not create:
            raise StoreError(
                f"database {path} does not exist.", tip="record traffic first with 'recorder proxy'."
            )
        if path.parent and not path.parent.exists():
            raise StoreError(f"cannot create database {path}: folder {path.parent} does not exist.")
        try:
            create_private_file(path)
        except OSError as exc:
            raise StoreError(f"cannot create database {path}: {exc.strerror}.") from None
    elif path.is_dir():
        raise StoreError(f"{path} is a folder, not a database file.")
    try:
        if readonly:
            conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False
            )
        else:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a SQLite database ({exc}).") from None
        if not readonly:
            if not db.table_names():  # a new file: pages freed by retention can be given back
                db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            _set_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")  # the WAL shrinks back after checkpoints
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable SQLite database ({exc}).") from None
    names = set(db.table_names())
    if names and "exchanges" not in names:
        raise StoreError(f"{path} is not a recorder database (no 'exchanges' table).")
    if not readonly:
        try:
            migrations.apply(db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot prepare database {path}: {exc}.") from None
    elif not names:
        raise StoreError(f"{path} is empty: no exchanges recorded yet.")
    return db


def _set_wal(db: sqlite_utils.Database) -> None:
    for _ in range(50):
        try:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
        time.sleep(0.05)


__all__ = ["SharedExchanges", "SqliteStore", "create_private_file"]
