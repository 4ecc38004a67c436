"""The store: the only place that speaks SQL. `open_store` opens a recorder database by path or URL.

    with open_store("traffic.db") as store:          # SQLite, the embedded default
        store.stats()

Backends implement `Store` (`recorder.store.base`); callers never see a connection or a SQL statement.
"""

from __future__ import annotations

from pathlib import Path

from recorder.errors import StoreError
from recorder.store.base import ALL, Store, StoreUnavailable, Window
from recorder.store.rows import chunked, exchange_from_row, rows_json
from recorder.store.schema import COLUMN, EXCHANGE_COLUMNS

DB_ENV = "RECORDER_STORE"  # how a proxy hands its database to its store and follower processes (not argv)


def open_store(target: str | Path, *, create: bool = False, readonly: bool = False) -> Store:
    """The recorder database at `target`: a SQLite file path, or a PostgreSQL URL (`postgresql://user@host/db`),
    created when `create`, migrated to the current schema; a `StoreError` with a one-line message (never the
    password) when it cannot be used."""
    if is_url(target):
        from recorder.store.postgres import PostgresStore, is_postgres_url

        if not is_postgres_url(str(target)):
            raise StoreError(
                f"unsupported database URL {str(target).split('://')[0]}://...: use a file or postgresql://."
            )
        return PostgresStore(str(target), create=create, readonly=readonly)
    from recorder.store.sqlite import SqliteStore

    return SqliteStore(Path(target), create=create, readonly=readonly)


def is_url(target: str | Path) -> bool:
    """A database URL (`scheme://...`) rather than a file path."""
    return isinstance(target, str) and "://" in target


def display_name(target: str | Path) -> str:
    """How messages name a database: the path, or the URL without its password."""
    if is_url(target):
        from recorder.store.postgres import display_url

        return display_url(str(target))
    return str(target)


__all__ = [
    "ALL",
    "COLUMN",
    "DB_ENV",
    "EXCHANGE_COLUMNS",
    "Store",
    "StoreUnavailable",
    "Window",
    "chunked",
    "display_name",
    "exchange_from_row",
    "is_url",
    "open_store",
    "rows_json",
]
