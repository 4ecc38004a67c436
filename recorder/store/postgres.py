"""The PostgreSQL store (for fleets: many recorders, one server), through psycopg 3.

The same tables as the SQLite store, in the database the URL names (`postgresql://user@host:port/dbname`;
passwords best come from PGPASSWORD or ~/.pgpass). Several proxies, imports and followers share it:

- writers take one advisory lock per batch, so exchange ids are committed in the order they are drawn and a
  follower that folds "everything above the mark" never skips one that commits late;
- a batch is copied (COPY) into a temporary table and inserted with `ON CONFLICT (uid) DO NOTHING`, so an
  exchange is stored once however often it arrives;
- folding a batch of evidence takes another advisory lock and checks the mark it started from, so each
  exchange is folded exactly once by whichever follower gets there first;
- text is ordered by code point (`COLLATE "C"`), as SQLite orders it, so both stores export the same bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from recorder.errors import StoreError
from recorder.model import Exchange
from recorder.store.base import ALL, FoldOutcome, Store, StoreUnavailable, SummaryKey, SummaryRow, Window
from recorder.store.rows import exchange_from_row
from recorder.store.schema import EXCHANGE_COLUMNS, SNAPSHOT_COLUMNS, SUMMARIZED_THROUGH

SCHEMA_VERSION = 1
CONNECT_TIMEOUT_S = 10
WRITE_LOCK = 0x7265636F7264  # advisory lock keys ("record", "fold", "migrate")
FOLD_LOCK = 0x666F6C64
MIGRATE_LOCK = 0x6D696772
_C = 'COLLATE "C"'
_PARTITION = "PARTITION BY provider, method, shape, coalesce(status, -1)"

_DDL = """
CREATE TABLE IF NOT EXISTS exchanges (
    id BIGSERIAL PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    started DOUBLE PRECISION NOT NULL,
    duration_ms DOUBLE PRECISION,
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
    request_body BYTEA,
    request_size BIGINT NOT NULL DEFAULT 0,
    request_truncated INTEGER NOT NULL DEFAULT 0,
    status INTEGER,
    response_headers TEXT,
    response_content_type TEXT,
    response_body BYTEA,
    response_size BIGINT NOT NULL DEFAULT 0,
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
    started DOUBLE PRECISION NOT NULL,
    ended DOUBLE PRECISION,
    pid INTEGER,
    kind TEXT NOT NULL DEFAULT 'proxy',
    provider TEXT,
    listen TEXT,
    recorded BIGINT NOT NULL DEFAULT 0,
    dropped BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    last_error_at DOUBLE PRECISION
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS summaries (
    provider TEXT NOT NULL,
    method TEXT NOT NULL,
    shape TEXT NOT NULL,
    count BIGINT NOT NULL,
    first_seen DOUBLE PRECISION,
    last_seen DOUBLE PRECISION,
    data TEXT NOT NULL,
    PRIMARY KEY (provider, method, shape)
);
CREATE TABLE IF NOT EXISTS snapshots (
    id BIGSERIAL PRIMARY KEY,
    provider TEXT NOT NULL,
    version TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    bump TEXT NOT NULL,
    reasons TEXT NOT NULL,
    operations INTEGER NOT NULL,
    exchanges BIGINT NOT NULL,
    contract TEXT NOT NULL,
    UNIQUE (provider, version)
);
CREATE TABLE IF NOT EXISTS recorder_schema (version INTEGER NOT NULL);
"""
_RECORDER_TABLES = frozenset({"exchanges", "sessions", "meta", "summaries", "snapshots", "recorder_schema"})


def is_postgres_url(target: str) -> bool:
    """Does a `--db` value name a PostgreSQL database (`postgresql://...` or `postgres://...`)?"""
    return target.startswith(("postgresql://", "postgres://"))


def display_url(url: str) -> str:
    """The URL for messages, without its password: `postgresql://ann:***@db:5432/rec`."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the PostgreSQL URL (unparsable)"
    user = parts.get("user")
    host = parts.get("host") or "localhost"
    port = parts.get("port")
    where = f"{host}:{port}" if port else host
    who = f"{user}{':***' if parts.get('password') else ''}@" if user else ""
    return f"postgresql://{who}{where}/{parts.get('dbname') or ''}"


F = TypeVar("F", bound=Callable[..., Any])


def _operational(method: F) -> F:
    """Driver errors while working become `StoreUnavailable`; a lost connection is opened again and the call
    tried once more (every write is idempotent: exchanges by uid, folds by their mark)."""

    @functools.wraps(method)
    def wrapper(self: PostgresStore, *args: Any, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            try:
                if self.conn.closed or self.conn.broken:
                    self._connect()
                return method(self, *args, **kwargs)
            except psycopg.OperationalError as exc:
                if attempt == 2 or (not self.conn.closed and not self.conn.broken):
                    raise StoreUnavailable(
                        f"cannot use {self.name}: {_first_line(exc)}.", transient=True
                    ) from None
            except psycopg.Error as exc:
                raise StoreUnavailable(f"cannot use {self.name}: {_first_line(exc)}.") from None
            except StoreError as exc:
                if attempt == 2:
                    raise StoreUnavailable(str(exc), transient=True) from None
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


class PostgresStore(Store):
    """A recorder database in PostgreSQL."""

    def __init__(self, url: str, *, create: bool = False, readonly: bool = False) -> None:
        self.url = url
        self.name = display_url(url)
        self.readonly = readonly
        self._connect()
        try:
            self._prepare()
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"cannot prepare {self.name}: {_first_line(exc)}.") from None
        except StoreError:
            self.close()
            raise

    def _connect(self) -> None:
        self._incoming = False  # the temporary table a batch is copied into lives as long as its connection
        try:
            self.conn = psycopg.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, application_name="recorder"
            )
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot connect to {self.name}: {_first_line(exc)}.") from None
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"bad PostgreSQL URL {self.name}: {_first_line(exc)}.") from None

    def _prepare(self) -> None:
        """Create or check the tables: another program's database (tables, but not ours) is refused."""
        tables = {
            r[0]
            for r in self.conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        }
        if tables and not {"exchanges", "recorder_schema"} <= tables:
            raise StoreError(
                f"{self.name} is not a recorder database (no 'exchanges' table of the recorder)."
            )
        if not tables and self.readonly:
            raise StoreError(f"{self.name} is empty: no exchanges recorded yet.")
        if tables:
            version = self.conn.execute("SELECT max(version) FROM recorder_schema").fetchone()[0] or 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.name} was written by a newer contract-recorder (schema {version}).")
            if tables >= _RECORDER_TABLES or self.readonly:
                return
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATE_LOCK])  # one migrator at a time
            self.conn.execute(_DDL)
            if self.conn.execute("SELECT count(*) FROM recorder_schema").fetchone()[0] == 0:
                self.conn.execute("INSERT INTO recorder_schema (version) VALUES (%s)", [SCHEMA_VERSION])

    # -- lifecycle ---------------------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.conn.close()
        except psycopg.Error:
            pass

    def _dicts(self, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, list(params))
            return cur.fetchall()

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(query, list(params)).fetchall()

    def _one(self, query: str, params: Sequence[Any] = ()) -> Any:
        rows = self._rows(query, params)
        return rows[0][0] if rows else None

    # -- capture -----------------------------------------------------------------------------------------

    @_operational
    def start_session(self, session: dict[str, Any]) -> None:
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO sessions (id, started, pid, kind, provider, listen) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET started = excluded.started, pid = excluded.pid,"
                " kind = excluded.kind, provider = excluded.provider, listen = excluded.listen",
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
        with self.conn.transaction():
            self._update_session(session_id, counters)

    def _update_session(self, session_id: str, counters: dict[str, Any]) -> None:
        self.conn.execute(
            "UPDATE sessions SET recorded = %s, dropped = %s, errors = %s, last_error = %s, last_error_at = %s,"
            " ended = %s WHERE id = %s",
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
        columns = sql.SQL(", ").join(map(sql.Identifier, EXCHANGE_COLUMNS))
        if not self._incoming:  # the batch's landing table: the exchange columns and the arrival order
            self.conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS incoming ON COMMIT DELETE ROWS AS SELECT * FROM exchanges WITH NO DATA"
            )
            self.conn.execute("ALTER TABLE incoming DROP COLUMN IF EXISTS id")
            self.conn.execute("ALTER TABLE incoming ADD COLUMN IF NOT EXISTS ord BIGSERIAL")
            self._incoming = True
        with self.conn.transaction():
            with self.conn.cursor().copy(sql.SQL("COPY incoming ({}) FROM STDIN").format(columns)) as copy:
                for row in rows:
                    copy.write_row(row)
            # ids are drawn under this lock and committed before the next writer draws any: in id order
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            cursor = self.conn.execute(
                sql.SQL(
                    "INSERT INTO exchanges ({cols}) SELECT {cols} FROM incoming ORDER BY ord ON CONFLICT (uid) DO NOTHING"
                ).format(cols=columns)
            )
            written = max(cursor.rowcount, 0)
            self._update_session(session_id, {**counters, "recorded": counters.get("recorded", 0) + written})
        return written

    # -- exchanges ---------------------------------------------------------------------------------------

    @_operational
    def exchange(self, exchange_id: int) -> Exchange | None:
        rows = self._dicts("SELECT * FROM exchanges WHERE id = %s", [exchange_id])
        return exchange_from_row(rows[0]) if rows else None

    @_operational
    def exchanges_after(self, after_id: int, limit: int) -> list[Exchange]:
        rows = self._dicts("SELECT * FROM exchanges WHERE id > %s ORDER BY id LIMIT %s", [after_id, limit])
        return [exchange_from_row(r) for r in rows]

    def exchanges(self, provider: str, window: Window = ALL) -> Iterator[Exchange]:
        after = 0
        while True:  # pages by id: no transaction stays open while the caller works on a page
            page = self._page(provider, window, after)
            if not page:
                return
            yield from page
            after = page[-1].id or after

    @_operational
    def _page(self, provider: str, window: Window, after: int, size: int = 1000) -> list[Exchange]:
        where, params = _window_sql(window)
        query = "SELECT * FROM exchanges WHERE provider = %s AND id > %s" + (f" AND {where}" if where else "")
        rows = self._dicts(query + " ORDER BY id LIMIT %s", [provider, after, *params, size])
        return [exchange_from_row(r) for r in rows]

    @_operational
    def count_exchanges(self, after_id: int = 0) -> int:
        return int(self._one("SELECT count(*) FROM exchanges WHERE id > %s", [after_id]) or 0)

    @_operational
    def max_exchange_id(self) -> int:
        return int(self._one("SELECT max(id) FROM exchanges") or 0)

    @_operational
    def exchange_providers(self) -> list[str]:
        return sorted(r[0] for r in self._rows("SELECT DISTINCT provider FROM exchanges"))

    @_operational
    def consumers(self, provider: str, window: Window = ALL) -> list[str]:
        where, params = _window_sql(window)
        query = "SELECT DISTINCT consumer FROM exchanges WHERE provider = %s" + (
            f" AND {where}" if where else ""
        )
        return sorted(r[0] for r in self._rows(query, [provider, *params]))

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
        query = (
            "SELECT id, started, consumer, request_body, request_content_type, request_truncated, response_body,"
            " response_content_type, response_truncated, query, request_headers, status FROM exchanges"
            " WHERE provider = %s AND method = %s AND shape = ANY(%s)"
        )
        args: list[Any] = [provider, method.upper(), list(shapes)]
        if status is not None:
            query += " AND status = %s"
            args.append(status)
        where, params = _window_sql(window)
        if where:
            query += f" AND {where}"
            args += params
        query += " ORDER BY id DESC LIMIT %s"
        args.append(limit)
        return self._dicts(query, args)

    @_operational
    def pact_example(
        self, provider: str, method: str, shapes: Sequence[str], status: int, consumer: str
    ) -> dict[str, Any] | None:
        rows = self._dicts(
            "SELECT id, path, query, request_headers, request_body, request_content_type, status, response_headers,"
            " response_body, response_content_type, request_truncated, response_truncated FROM exchanges"
            " WHERE provider = %s AND method = %s AND shape = ANY(%s) AND status = %s AND consumer = %s"
            f" ORDER BY length(response_body) DESC NULLS LAST, started, uid {_C} LIMIT 1",
            [provider, method.upper(), list(shapes), status, consumer],
        )
        return rows[0] if rows else None

    @_operational
    def writes_before(self, provider: str, paths: Sequence[str], before_id: int) -> list[dict[str, Any]]:
        if not paths:
            return []
        return self._dicts(
            "SELECT id, method, path, query, request_headers, request_body, request_content_type,"
            " request_truncated FROM exchanges WHERE provider = %s AND id < %s AND path = ANY(%s)"
            " AND method IN ('PUT', 'PATCH', 'POST', 'DELETE') AND status >= 200 AND status < 300 ORDER BY id",
            [provider, before_id, list(paths)],
        )

    @_operational
    def replay_candidates(
        self, provider: str, window: Window, shapes: set[str] | None, sample: int
    ) -> list[Exchange]:
        clauses = ["provider = %s", "status IS NOT NULL"]
        params: list[Any] = [provider]
        where, window_params = _window_sql(window)
        if where:
            clauses.append(where)
            params += window_params
        if shapes is not None:
            clauses.append("shape = ANY(%s)")
            params.append(sorted(shapes))
        condition = " AND ".join(clauses)
        if sample > 0:
            query = (
                "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY method, shape, status ORDER BY id DESC)"
                f" AS rk FROM exchanges WHERE {condition}) ranked WHERE rk <= %s ORDER BY id"
            )
            params.append(sample)
        else:
            query = f"SELECT * FROM exchanges WHERE {condition} ORDER BY id"
        return [exchange_from_row(row) for row in self._dicts(query, params)]

    @_operational
    def recorded_requests(self, provider: str, after_id: int) -> list[dict[str, Any]]:
        return self._dicts(
            "SELECT method, path, query, status, count(*) AS n, max(id) AS last_id FROM exchanges"
            " WHERE provider = %s AND id > %s AND status IS NOT NULL AND error IS NULL AND response_truncated = 0"
            f" GROUP BY method, path, query, status ORDER BY method {_C}, path {_C}, query {_C} NULLS FIRST,"
            " n DESC, status",
            [provider, after_id],
        )

    @_operational
    def recent_origins(self, provider: str, recent: int = 2000, top: int = 3) -> list[tuple[str, str, int]]:
        rows = self._rows(
            "SELECT scheme, host, port, count(*) FROM (SELECT scheme, host, port FROM exchanges WHERE provider = %s"
            f" ORDER BY id DESC LIMIT %s) recent GROUP BY scheme, host, port ORDER BY count(*) DESC, host {_C} LIMIT %s",
            [provider, recent, top],
        )
        return [(scheme, host, port) for scheme, host, port, _ in rows]

    @_operational
    def stats(self) -> dict[str, Any]:
        total, first, last, errored, truncated = self._rows(
            "SELECT count(*), min(started), max(started), count(*) FILTER (WHERE error IS NOT NULL),"
            " sum(request_truncated + response_truncated) FROM exchanges"
        )[0]
        sessions = self._rows(
            "SELECT count(*), coalesce(sum(recorded), 0), coalesce(sum(dropped), 0), coalesce(sum(errors), 0)"
            " FROM sessions"
        )[0]
        last_error = self._rows(
            "SELECT last_error, last_error_at FROM sessions WHERE last_error IS NOT NULL"
            " ORDER BY last_error_at DESC LIMIT 1"
        )
        return {
            "exchanges": total,
            "first_seen": first,
            "last_seen": last,
            "exchanges_with_errors": errored or 0,
            "truncated_bodies": int(truncated or 0),
            "sessions": sessions[0],
            "dropped": int(sessions[2]),
            "store_errors": int(sessions[3]),
            "last_store_error": last_error[0][0] if last_error else None,
            "by_operation": self._grouped("method || ' ' || coalesce(shape, path)"),
            "by_consumer": self._grouped("consumer"),
            "by_status": self._grouped("coalesce(status::text, 'error')"),
            "by_provider": self._grouped("provider"),
        }

    def _grouped(self, expr: str) -> dict[str, int]:
        rows = self._rows(
            f"SELECT k, n FROM (SELECT {expr} AS k, count(*) AS n FROM exchanges GROUP BY 1) grouped"
            f" ORDER BY n DESC, k {_C}"
        )
        return {str(k): n for k, n in rows}

    @_operational
    def endpoints(self) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT method, path, count(*), string_agg(DISTINCT coalesce(status::text, 'error'), ',') FROM exchanges"
            f" GROUP BY method, path ORDER BY path {_C}, method {_C}"
        )
        return [
            {"method": m, "path": p, "count": n, "statuses": sorted(set(str(s).split(",")))}
            for m, p, n, s in rows
        ]

    @_operational
    def size_bytes(self) -> int:
        tables = sorted(_RECORDER_TABLES)
        return int(
            self._one(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND c.relname = ANY(%s)",
                [tables],
            )
            or 0
        )

    # -- evidence summaries ------------------------------------------------------------------------------

    @_operational
    def summarized_through(self) -> int:
        value = self._one("SELECT value FROM meta WHERE key = %s", [SUMMARIZED_THROUGH])
        return int(value) if value else 0

    @_operational
    def fold(
        self,
        expected: int,
        through: int,
        merge: Callable[[dict[SummaryKey, str | None]], list[SummaryRow]],
        keys: Sequence[SummaryKey],
    ) -> FoldOutcome:
        with self.conn.transaction():
            if not self.conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK]).fetchone()[0]:
                return "busy"
            row = self.conn.execute("SELECT value FROM meta WHERE key = %s", [SUMMARIZED_THROUGH]).fetchone()
            if (int(row[0]) if row and row[0] else 0) != expected:
                return "stale"  # another follower folded these in meanwhile
            stored: dict[SummaryKey, str | None] = dict.fromkeys(keys)
            if keys:
                for provider, method, shape, data in self.conn.execute(
                    "SELECT provider, method, shape, data FROM summaries"
                    " WHERE (provider, method, shape) IN (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))",
                    [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]],
                ):
                    stored[(provider, method, shape)] = data
            rows = merge(stored)
            if rows:
                with self.conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO summaries (provider, method, shape, count, first_seen, last_seen, data)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (provider, method, shape) DO UPDATE SET"
                        " count = excluded.count, first_seen = excluded.first_seen,"
                        " last_seen = excluded.last_seen, data = excluded.data",
                        [list(r) for r in rows],
                    )
            self._set_mark(through)
        return "done"

    def _set_mark(self, through: int) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [SUMMARIZED_THROUGH, str(through)],
        )

    @_operational
    def summary_rows(self, provider: str | None = None) -> list[dict[str, Any]]:
        where = "WHERE provider = %s" if provider is not None else ""
        return self._dicts(
            f"SELECT provider, method, shape, data FROM summaries {where}"
            f" ORDER BY provider {_C}, shape {_C}, method {_C}",
            [provider] if provider is not None else [],
        )

    @_operational
    def summary_providers(self) -> list[str]:
        return [
            r[0]
            for r in self._rows(f"SELECT provider FROM summaries GROUP BY provider ORDER BY provider {_C}")
        ]

    @_operational
    def reset_summaries(self) -> None:
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])
            self.conn.execute("DELETE FROM summaries")
            self.conn.execute("DELETE FROM meta WHERE key = %s", [SUMMARIZED_THROUGH])

    @_operational
    def put_summaries(self, rows: Sequence[SummaryRow], through: int) -> None:
        with self.conn.transaction():
            with self.conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO summaries (provider, method, shape, count, first_seen, last_seen, data)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [list(r) for r in rows],
                )
            self._set_mark(through)

    # -- snapshots ---------------------------------------------------------------------------------------

    @_operational
    def add_snapshot(self, row: dict[str, Any]) -> bool:
        with self.conn.transaction():
            cursor = self.conn.execute(
                f"INSERT INTO snapshots ({', '.join(SNAPSHOT_COLUMNS)}) VALUES ({', '.join(['%s'] * len(SNAPSHOT_COLUMNS))})"
                " ON CONFLICT (provider, version) DO NOTHING",
                [row[c] for c in SNAPSHOT_COLUMNS],
            )
            return cursor.rowcount == 1

    @_operational
    def snapshot_rows(self, provider: str) -> list[dict[str, Any]]:
        return self._dicts("SELECT * FROM snapshots WHERE provider = %s ORDER BY id", [provider])

    @_operational
    def snapshot_row(self, provider: str, version: str | None = None) -> dict[str, Any] | None:
        if version is None:
            rows = self._dicts(
                "SELECT * FROM snapshots WHERE provider = %s ORDER BY id DESC LIMIT 1", [provider]
            )
        else:
            rows = self._dicts(
                "SELECT * FROM snapshots WHERE provider = %s AND version = %s", [provider, version]
            )
        return rows[0] if rows else None

    # -- retention ---------------------------------------------------------------------------------------

    @_operational
    def body_bytes(self) -> int:
        return int(
            self._one(
                "SELECT coalesce(sum(octet_length(request_body)), 0) + coalesce(sum(octet_length(response_body)), 0)"
                " + coalesce(sum(octet_length(request_headers)), 0)"
                " + coalesce(sum(octet_length(response_headers)), 0) FROM exchanges"
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
        protected = (
            f"SELECT id FROM (SELECT id, row_number() OVER ({_PARTITION} ORDER BY id) AS rn FROM exchanges) first_ones"
            " WHERE rn <= %s"
        )
        deleted = 0
        with self.conn.transaction():
            cursor = self.conn.execute(
                "DELETE FROM exchanges WHERE id IN (SELECT id FROM (SELECT id,"
                f" row_number() OVER ({_PARTITION} ORDER BY id) AS first_rank,"
                f" row_number() OVER ({_PARTITION} ORDER BY id DESC) AS last_rank"
                " FROM exchanges) ranked WHERE first_rank > %s AND last_rank > %s) AND id <= %s",
                [keep_first, keep_last, through],
            )
            deleted += max(cursor.rowcount, 0)
            if older_than is not None:
                cursor = self.conn.execute(
                    f"DELETE FROM exchanges WHERE started < %s AND id <= %s AND id NOT IN ({protected})",
                    [older_than, through, keep_first],
                )
                deleted += max(cursor.rowcount, 0)
        if max_bytes is not None:
            while self.body_bytes() > max_bytes:  # the oldest unprotected, a batch at a time
                with self.conn.transaction():
                    cursor = self.conn.execute(
                        "DELETE FROM exchanges WHERE id IN (SELECT id FROM exchanges WHERE id <= %s AND id NOT IN"
                        f" ({protected}) ORDER BY id LIMIT 500)",
                        [through, keep_first],
                    )
                if cursor.rowcount <= 0:
                    break
                deleted += cursor.rowcount
        return deleted  # autovacuum gives the space back


def _window_sql(window: Window) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if window.since is not None:
        clauses.append("started >= %s")
        params.append(window.since)
    if window.until is not None:
        clauses.append("started < %s")
        params.append(window.until)
    if window.consumer is not None:
        clauses.append("consumer = %s")
        params.append(window.consumer)
    return " AND ".join(clauses), params
