"""Retention: evidence is kept forever, raw exchanges by policy.

Per (provider, operation shape, status) the first `keep_first` and the most recent `keep_last` exchanges are
kept; `max_age` and `max_bytes` then remove the oldest of the others. Only exchanges already folded into the
evidence summaries are ever deleted, so exports do not change when raw exchanges go.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from recorder.config import RetentionSettings
from recorder.learn.summaries import catch_up
from recorder.store import Store


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed and what is left."""

    deleted: int
    kept: int
    bytes_before: int
    bytes_after: int


def prune(store: Store, policy: RetentionSettings, now: float | None = None) -> PruneResult:
    """Apply the policy once (after folding every stored exchange into the evidence)."""
    catch_up(store)
    now = now if now is not None else time.time()
    before = store.body_bytes()
    deleted = store.prune(
        keep_first=policy.keep_first,
        keep_last=policy.keep_last,
        older_than=now - policy.max_age_days * 86400.0 if policy.max_age_days is not None else None,
        max_bytes=policy.max_bytes,
        through=store.summarized_through(),
    )
    return PruneResult(deleted, store.count_exchanges(), before, store.body_bytes())
