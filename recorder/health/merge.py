"""Shards: databases recorded by several proxies combined into one, exactly.

Each shard's evidence is caught up first; raw exchanges are copied with SQLite itself (ATTACH + INSERT ...
SELECT), and summaries merge associatively, so the merge exports what one database that saw all the traffic
would export. Shards that share exchanges would double-count evidence, so that is refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from recorder.errors import RecorderError
from recorder.learn.summaries import STATE_KEY, OperationSummary, catch_up
from recorder.store.sqlite import EXCHANGE_COLUMNS, connect


@dataclass(frozen=True)
class MergeResult:
    """What the merge wrote."""

    shards: int
    exchanges: int
    summaries: int
    snapshots: int


def merge(shards: Sequence[Path], out: Path, *, progress: Callable[[str], None] | None = None) -> MergeResult:
    """Combine shard databases into a new database `out`."""
    if not shards:
        raise RecorderError("give at least one shard database to merge.")
    resolved = [Path(s).resolve() for s in shards]
    if len(set(resolved)) != len(resolved):
        raise RecorderError("the same shard is given twice.")
    if out.exists():
        raise RecorderError(f"{out} exists: merge writes a new database (remove it or choose another -o).")
    if Path(out).resolve() in resolved:
        raise RecorderError("the output must not be one of the shards.")
    for shard in shards:
        db = connect(shard)  # validates and migrates
        catch_up(db)
        db.close()
    target = connect(out, create=True)
    columns = ", ".join(EXCHANGE_COLUMNS)
    total = 0
    summaries: dict[tuple[str, str, str], OperationSummary] = {}
    snapshots = 0
    try:
        for shard in shards:
            if progress:
                progress(f"{shard}")
            target.execute("ATTACH DATABASE ? AS shard", [os.fspath(shard)])
            try:
                with target.atomic():
                    count = target.execute("SELECT count(*) FROM shard.exchanges").fetchone()[0]
                    cursor = target.execute(
                        f"INSERT OR IGNORE INTO exchanges ({columns}) SELECT {columns} FROM shard.exchanges ORDER BY started, uid"
                    )
                    if cursor.rowcount != count:
                        raise RecorderError(
                            f"{shard} shares {count - cursor.rowcount} exchanges with an earlier shard: merging would"
                            " count their evidence twice (merge shards of separate proxies, not copies)."
                        )
                    total += count
                    target.execute("INSERT OR IGNORE INTO sessions SELECT * FROM shard.sessions")
                    snapshots += target.execute(
                        "INSERT OR IGNORE INTO snapshots (provider, version, created_at, bump, reasons, operations,"
                        " exchanges, contract) SELECT provider, version, created_at, bump, reasons, operations,"
                        " exchanges, contract FROM shard.snapshots"
                    ).rowcount
                for provider, method, shape, data in target.execute(
                    "SELECT provider, method, shape, data FROM shard.summaries"
                ).fetchall():
                    key = (provider, method, shape)
                    if key not in summaries:
                        summaries[key] = OperationSummary(*key)
                    summaries[key].load(json.loads(data))
            finally:
                target.execute("DETACH DATABASE shard")
        with target.atomic():
            for key, summary in sorted(summaries.items()):
                target.execute(
                    "INSERT INTO summaries (provider, method, shape, count, first_seen, last_seen, data)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        *key,
                        summary.n,
                        summary.first,
                        summary.last,
                        json.dumps(summary.dump(), separators=(",", ":")),
                    ],
                )
            last = target.execute("SELECT coalesce(max(id), 0) FROM exchanges").fetchone()[0]
            target.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [STATE_KEY, str(last)],
            )
    except BaseException:
        target.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{out}{suffix}").unlink(missing_ok=True)
        raise
    target.close()
    return MergeResult(shards=len(shards), exchanges=total, summaries=len(summaries), snapshots=snapshots)
