"""SQLite storage through sqlite-utils: schema and migrations, batched inserts, and the queries commands need.

The file is created with mode 0600, runs in WAL mode with a busy timeout (so several proxies can share it),
and every write happens in one transaction per batch.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from recorder.errors import StoreError
from recorder.model import Exchange

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None

SCHEMA_VERSION = 1
WAL_LIMIT = 32 << 20
BUSY_TIMEOUT_S = 30.0

EXCHANGE_COLUMNS = (
    "uid",
    "started",
    "duration_ms",
    "consumer",
    "provider",
    "method",
    "scheme",
    "host",
    "port",
    "path",
    "query",
    "http_version",
    "request_headers",
    "request_content_type",
    "request_body",
    "request_size",
    "request_truncated",
    "status",
    "response_headers",
    "response_content_type",
    "response_body",
    "response_size",
    "response_truncated",
    "error",
    "source",
    "shape",
)
INSERT_EXCHANGE = (
    f"INSERT OR IGNORE INTO exchanges ({', '.join(EXCHANGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in EXCHANGE_COLUMNS)})"
)

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


def create_private_file(path: Path) -> None:
    """Create an empty file readable only by its owner (0600), unless it exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def connect(path: Path | str, *, create: bool = False, readonly: bool = False) -> sqlite_utils.Database:
    """Open a recorder database (creating it, mode 0600, when `create`), migrated to the current schema."""
    path = Path(path)
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
        _check_is_sqlite(db, path)
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


def _check_is_sqlite(db: sqlite_utils.Database, path: Path) -> None:
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a SQLite database ({exc}).") from None


def _set_wal(db: sqlite_utils.Database) -> None:
    for _ in range(50):
        try:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
        import time

        time.sleep(0.05)


def insert_rows(db: sqlite_utils.Database, rows: Sequence[Sequence[Any]]) -> int:
    """Insert exchange rows (tuples in `EXCHANGE_COLUMNS` order) in one transaction; returns rows written."""
    with db.atomic():
        cursor = db.conn.executemany(INSERT_EXCHANGE, rows)
    return cursor.rowcount if cursor.rowcount >= 0 else len(rows)


def exchange_from_row(row: dict[str, Any]) -> Exchange:
    """Build an `Exchange` from a row of the `exchanges` table."""
    return Exchange(
        id=row["id"],
        uid=row["uid"],
        started=row["started"],
        duration_ms=row["duration_ms"],
        consumer=row["consumer"] or "",
        provider=row["provider"] or "",
        method=row["method"],
        scheme=row["scheme"] or "http",
        host=row["host"] or "",
        port=row["port"] or 0,
        path=row["path"],
        query=json.loads(row["query"]) if row["query"] else {},
        http_version=row["http_version"] or "",
        request_headers=[tuple(p) for p in json.loads(row["request_headers"] or "[]")],
        request_content_type=row["request_content_type"],
        request_body=_as_bytes(row["request_body"]),
        request_size=row["request_size"] or 0,
        request_truncated=bool(row["request_truncated"]),
        status=row["status"],
        response_headers=[tuple(p) for p in json.loads(row["response_headers"] or "[]")],
        response_content_type=row["response_content_type"],
        response_body=_as_bytes(row["response_body"]),
        response_size=row["response_size"] or 0,
        response_truncated=bool(row["response_truncated"]),
        error=row["error"],
        source=row["source"] or "proxy",
    )


def _as_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def iter_exchanges(
    db: sqlite_utils.Database,
    *,
    where: str = "",
    params: Sequence[Any] = (),
    after_id: int = 0,
    batch: int = 500,
) -> Iterator[Exchange]:
    """All exchanges (optionally filtered by a SQL `where`), oldest first, read in batches."""
    last = after_id
    clause = f" AND ({where})" if where else ""
    while True:
        rows = list(
            db.query(
                f"SELECT * FROM exchanges WHERE id > ?{clause} ORDER BY id LIMIT ?",
                [last, *params, batch],
            )
        )
        if not rows:
            return
        for row in rows:
            yield exchange_from_row(row)
        last = rows[-1]["id"]


def get_exchange(db: sqlite_utils.Database, exchange_id: int) -> Exchange | None:
    """The exchange with this id, or None."""
    rows = list(db.query("SELECT * FROM exchanges WHERE id = ?", [exchange_id]))
    return exchange_from_row(rows[0]) if rows else None


def start_session(db: sqlite_utils.Database, session: dict[str, Any]) -> None:
    """Record that a capture session (a proxy or an import) started."""
    with db.atomic():
        db.execute(
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


def update_session(db: sqlite_utils.Database, session_id: str, counters: dict[str, Any]) -> None:
    """Store a session's running counters (recorded, dropped, errors, last error, ended)."""
    with db.atomic():
        db.execute(
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


def stats(db: sqlite_utils.Database) -> dict[str, Any]:
    """Counts for `recorder stats`: exchanges by operation, consumer and status; drops and errors; time range."""
    one = db.execute(
        "SELECT count(*), min(started), max(started), sum(error IS NOT NULL),"
        " sum(request_truncated + response_truncated) FROM exchanges"
    ).fetchone()
    total, first, last, errored, truncated = one
    sessions = db.execute(
        "SELECT count(*), coalesce(sum(recorded), 0), coalesce(sum(dropped), 0), coalesce(sum(errors), 0)"
        " FROM sessions"
    ).fetchone()
    last_error = db.execute(
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
        "by_operation": _grouped(db, "method || ' ' || coalesce(shape, path)"),
        "by_consumer": _grouped(db, "consumer"),
        "by_status": _grouped(db, "coalesce(status, 'error')"),
        "by_provider": _grouped(db, "provider"),
    }


def _grouped(db: sqlite_utils.Database, expr: str) -> dict[str, int]:
    rows = db.execute(
        f"SELECT {expr} AS k, count(*) FROM exchanges GROUP BY k ORDER BY count(*) DESC, k"
    ).fetchall()
    return {str(k): n for k, n in rows}


def endpoints(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Observed method + concrete path with counts and statuses (templating lives in the inference layer)."""
    rows = db.execute(
        "SELECT method, path, count(*), group_concat(DISTINCT coalesce(status, 'error')) FROM exchanges"
        " GROUP BY method, path ORDER BY path, method"
    ).fetchall()
    return [
        {"method": m, "path": p, "count": n, "statuses": sorted(set(str(s).split(",")))}
        for m, p, n, s in rows
    ]


def rows_json(value: Any) -> str:
    """Compact, deterministic JSON for a column (orjson writes the same text as the standard library here)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(value).decode("utf-8")
        except TypeError:  # integers beyond 64 bits, non-string keys...: the standard library copes
            pass
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=False)


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Split an iterable into lists of at most `size` items."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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
