"""Retention: evidence is kept forever, raw exchanges by policy.

Per (provider, operation shape, status) the first `keep_first` and the most recent `keep_last` exchanges are
kept; `max_age` and `max_bytes` then remove the oldest of the others. Only exchanges already folded into the
evidence summaries are ever deleted, so exports do not change when raw exchanges go.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

import sqlite_utils

from recorder.config import RetentionSettings
from recorder.learn.summaries import STATE_KEY, catch_up


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed and what is left."""

    deleted: int
    kept: int
    bytes_before: int
    bytes_after: int


def _summarized_through(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [STATE_KEY]).fetchone()
    return int(row[0]) if row else 0


def _bytes(db: sqlite_utils.Database) -> int:
    row = db.execute(
        "SELECT coalesce(sum(length(request_body)), 0) + coalesce(sum(length(response_body)), 0)"
        " + coalesce(sum(length(request_headers)), 0) + coalesce(sum(length(response_headers)), 0) FROM exchanges"
    ).fetchone()
    return int(row[0] or 0)


def prune(db: sqlite_utils.Database, policy: RetentionSettings, now: float | None = None) -> PruneResult:
    """Apply the policy once (after folding every stored exchange into the evidence)."""
    catch_up(db)
    now = now if now is not None else time.time()
    limit = _summarized_through(db)
    before = _bytes(db)
    deleted = 0
    with db.atomic():
        protected = (
            "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY provider, method, shape, coalesce(status, -1)"
            " ORDER BY id) AS rn FROM exchanges) WHERE rn <= ?"
        )
        cursor = db.execute(
            "DELETE FROM exchanges WHERE id IN (SELECT id FROM (SELECT id,"
            " row_number() OVER (PARTITION BY provider, method, shape, coalesce(status, -1) ORDER BY id) AS first_rank,"
            " row_number() OVER (PARTITION BY provider, method, shape, coalesce(status, -1) ORDER BY id DESC) AS last_rank"
            " FROM exchanges) WHERE first_rank > ? AND last_rank > ?) AND id <= ?",
            [policy.keep_first, policy.keep_last, limit],
        )
        deleted += max(cursor.rowcount, 0)
        if policy.max_age_days is not None:
            cursor = db.execute(
                f"DELETE FROM exchanges WHERE started < ? AND id <= ? AND id NOT IN ({protected})",
                [now - policy.max_age_days * 86400.0, limit, policy.keep_first],
            )
            deleted += max(cursor.rowcount, 0)
    if policy.max_bytes is not None and _bytes(db) > policy.max_bytes:
        deleted += _shrink_to(db, policy, limit)
    if deleted:
        _give_back_space(db)
    return PruneResult(
        deleted, db.execute("SELECT count(*) FROM exchanges").fetchone()[0], before, _bytes(db)
    )


def _give_back_space(db: sqlite_utils.Database) -> None:
    """Return freed pages to the file system (incremental auto-vacuum) and checkpoint the WAL, never blocking."""
    try:
        db.execute("PRAGMA incremental_vacuum(2000)").fetchall()
        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.OperationalError:
        pass  # busy: the next round does it


def _shrink_to(db: sqlite_utils.Database, policy: RetentionSettings, limit: int) -> int:
    """Delete the oldest unprotected exchanges, a batch at a time, until the size cap holds."""
    deleted = 0
    assert policy.max_bytes is not None
    while _bytes(db) > policy.max_bytes:
        with db.atomic():
            cursor = db.execute(
                "DELETE FROM exchanges WHERE id IN (SELECT id FROM exchanges WHERE id <= ? AND id NOT IN"
                " (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY provider, method, shape,"
                " coalesce(status, -1) ORDER BY id) AS rn FROM exchanges) WHERE rn <= ?) ORDER BY id LIMIT 500)",
                [limit, policy.keep_first],
            )
        if cursor.rowcount <= 0:
            break
        deleted += cursor.rowcount
    return deleted
