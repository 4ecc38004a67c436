"""Shards: databases recorded by several proxies combined into one, exactly.

Each shard's evidence is caught up first; raw exchanges are copied by the store, and summaries merge
associatively, so the merge exports what one database that saw all the traffic would export. Shards that
share exchanges would double-count evidence, so that is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from recorder.errors import RecorderError
from recorder.learn.summaries import OperationSummary, catch_up, summary_row
from recorder.store import open_store
from recorder.store.sqlite import SharedExchanges, SqliteStore


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
    shard_summaries = []
    for shard in shards:
        with open_store(shard) as store:  # validates and migrates
            catch_up(store)
            shard_summaries.append(store.summary_rows())
    target = SqliteStore(out, create=True)
    total = 0
    summaries: dict[tuple[str, str, str], OperationSummary] = {}
    snapshots = 0
    try:
        for shard, members in zip(shards, shard_summaries, strict=True):
            if progress:
                progress(f"{shard}")
            try:
                count, _, copied_snapshots = target.absorb_shard(shard)
            except SharedExchanges as exc:
                raise RecorderError(
                    f"{shard} shares {exc.shared} exchanges with an earlier shard: merging would"
                    " count their evidence twice (merge shards of separate proxies, not copies)."
                ) from None
            total += count
            snapshots += copied_snapshots
            for row in members:
                key = (row["provider"], row["method"], row["shape"])
                if key not in summaries:
                    summaries[key] = OperationSummary(*key)
                summaries[key].load(json.loads(row["data"]))
        target.put_summaries([summary_row(s) for _, s in sorted(summaries.items())], target.max_exchange_id())
    except BaseException:
        target.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{out}{suffix}").unlink(missing_ok=True)
        raise
    target.close()
    return MergeResult(shards=len(shards), exchanges=total, summaries=len(summaries), snapshots=snapshots)
