"""The store: the only place that speaks SQL. `open_store` opens a recorder database by path or URL.

    with open_store("traffic.db") as store:          # SQLite, the embedded default
        store.stats()

Backends implement `Store` (`recorder.store.base`); callers never see a connection or a SQL statement.
"""

from __future__ import annotations

from pathlib import Path

from recorder.store.base import ALL, Store, StoreUnavailable, Window
from recorder.store.rows import chunked, exchange_from_row, rows_json
from recorder.store.schema import COLUMN, EXCHANGE_COLUMNS


def open_store(target: str | Path, *, create: bool = False, readonly: bool = False) -> Store:
    """The recorder database at `target` (a SQLite file path), created when `create`, migrated to the
    current schema; a `StoreError` with a one-line message when it cannot be used."""
    from recorder.store.sqlite import SqliteStore

    return SqliteStore(Path(target), create=create, readonly=readonly)


__all__ = [
    "ALL",
    "COLUMN",
    "EXCHANGE_COLUMNS",
    "Store",
    "StoreUnavailable",
    "Window",
    "chunked",
    "exchange_from_row",
    "open_store",
    "rows_json",
]
