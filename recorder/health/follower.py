"""The follower: keeps evidence, retention and live drift current for a database that others write.

It folds newly recorded exchanges into the evidence summaries; with a contract it compares each new batch
with it and logs the first occurrence of every new finding as one readable line; on the retention interval
it prunes raw exchanges by policy. Beside a proxy it runs inside the store process (`recorder.health.keeper`)
and gives way to traffic (`Follower`); on its own, `python -m recorder.health.follower` catches up every
`--interval` seconds at idle priority. Counters go out as JSON lines on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from recorder.common.priority import lower_priority
from recorder.config import RetentionSettings
from recorder.errors import RecorderError
from recorder.learn.summaries import OperationSummary, catch_up
from recorder.model import Contract, Finding
from recorder.store import DB_ENV, Store, open_store

BATCH = 100  # exchanges folded per transaction: bounds the memory (20 KB bodies: ~2 MB raw)


class LiveDrift:
    """Compares batches of new evidence with a contract and reports each new finding once."""

    def __init__(self, contract: Contract, log: Callable[[str], None]) -> None:
        self.contract = contract
        self.log = log
        self.seen: set[tuple[str, str, str]] = set()
        self.counts = {"breaking": 0, "warning": 0, "info": 0}
        self.by_kind: dict[str, int] = {}

    def batch(self, summaries: list[OperationSummary], ids: list[int]) -> Callable[[], None]:
        """Compare a batch (before its summaries are merged into the stored ones); the returned function
        counts and logs the findings once the batch is committed."""
        from recorder.judge.drift import compare

        findings = [f for f in compare(self.contract, summaries).findings if f.kind != "operation-unobserved"]
        # (a batch never covers the whole contract, so unobserved operations say nothing)
        return lambda: self._report(findings, ids)

    def _report(self, findings: list[Finding], ids: list[int]) -> None:
        for finding in findings:
            self.counts[finding.severity] += max(finding.count, 1)
            self.by_kind[finding.kind] = self.by_kind.get(finding.kind, 0) + max(finding.count, 1)
            key = (finding.kind, finding.operation, finding.location)
            if key in self.seen:
                continue
            self.seen.add(key)
            where = f" {finding.location}" if finding.location else ""
            self.log(
                f"recorder: drift: {finding.severity} {finding.kind} {finding.operation}{where}: {finding.message}"
                f" (exchanges {ids[0]}..{ids[-1]})"
            )


BUSY_RATE = 50.0  # exchanges per second from which the proxy is busy and folding waits (see `Follower`)
MAX_LAG = 30.0  # seconds the evidence may lag behind the traffic while it waits
LIVE_LAG = 2.0  # ... with live drift, whose findings should appear as they happen


class Follower:
    """Keeps evidence, retention and live drift current for one database, giving way to traffic.

    Folding costs CPU the proxy would feel at its busiest (its tail latency rises with any work on the same
    cores, even at idle priority), so while exchanges arrive faster than `BUSY_RATE` per second the follower
    waits, and catches up as soon as traffic is lighter; it never lets the evidence fall more than `max_lag`
    seconds behind (then it folds one slice per call even under load), and `finish()` folds everything.
    """

    def __init__(
        self,
        db_path: str | Path,
        *,
        retention: RetentionSettings | None,
        contract: Contract | None,
        emit: Callable[[dict[str, Any]], None],
        log: Callable[[str], None],
        max_lag: float | None = None,
    ) -> None:
        self.db_path = db_path
        self.retention = retention if retention is not None and retention.enabled else None
        self.live = LiveDrift(contract, log) if contract is not None else None
        self.max_lag = max_lag if max_lag is not None else (LIVE_LAG if contract is not None else MAX_LAG)
        self._emit = emit
        self.folded = 0
        self._store: Store | None = None
        self._arrivals: deque[tuple[float, int]] = deque()  # (when, how many) over the last second
        self._behind_since: float | None = None  # when the oldest exchange not yet folded arrived
        self._last_prune = time.monotonic()
        self._last_emit = 0.0

    def arrived(self, count: int) -> None:
        """`count` exchanges were just written (the store process calls this after each batch)."""
        if count:
            now = time.monotonic()
            self._arrivals.append((now, count))
            self._last_second(now)
            if self._behind_since is None:
                self._behind_since = now

    def busy(self) -> bool:
        """Exchanges arrive faster than `BUSY_RATE` per second."""
        return self._last_second(time.monotonic()) >= BUSY_RATE

    def _last_second(self, now: float) -> int:
        """Exchanges written during the second before `now` (older arrivals are forgotten)."""
        while self._arrivals and self._arrivals[0][0] < now - 1.0:
            self._arrivals.popleft()
        return sum(count for _, count in self._arrivals)

    def tick(self, pending: Callable[[], bool] = lambda: False, *, everything: bool = False) -> None:
        """Do what is due: fold (all of it while traffic is light, stopping early when `pending()` says more
        traffic waits; one slice while busy but lagging `max_lag`; all with `everything`), prune, report."""
        overdue = self._behind_since is not None and time.monotonic() - self._behind_since >= self.max_lag
        if everything or (self._behind_since is not None and (overdue or not self.busy())):
            while True:
                folded = self._fold(BATCH)
                if folded is None:
                    break  # the store failed: the next tick tries again
                if folded < BATCH:
                    self._behind_since = None  # caught up
                    break
                if not everything and (overdue or pending()):
                    break  # one slice under load; or traffic waits: write it first, fold after
        prune_due = self.retention is not None and (
            time.monotonic() - self._last_prune >= self.retention.interval_seconds
        )
        if prune_due and not self.busy():
            self._prune()
        if time.monotonic() - self._last_emit >= 1.0:
            self._report()

    def finish(self) -> None:
        """Fold everything recorded, then report (at the end of a capture session)."""
        if self._fold(None) is not None:
            self._behind_since = None
        self._report()
        self.close()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
        self._store = None

    def _fold(self, limit: int | None) -> int | None:
        """Fold up to `limit` exchanges (all: None); how many, or None when the store failed."""
        try:
            if self._store is None:
                self._store = open_store(self.db_path, create=True)
            done = catch_up(
                self._store, batch=BATCH, on_batch=self.live.batch if self.live else None, limit=limit
            )
        except (RecorderError, OSError):  # StoreUnavailable is a RecorderError: the store reports it
            self.close()
            return None
        self.folded += done
        return done

    def _prune(self) -> None:
        from recorder.health.retention import prune

        try:
            if self._store is None:
                self._store = open_store(self.db_path, create=True)
            assert self.retention is not None
            prune(self._store, self.retention)
        except (RecorderError, OSError):
            self.close()
        self._last_prune = time.monotonic()

    def _report(self) -> None:
        self._last_emit = time.monotonic()
        self._emit(
            {
                "event": "evidence",
                "summarised": self.folded,
                "findings": self.live.counts if self.live else {},
            }
        )


def run(
    db_path: str | Path,
    *,
    interval: float,
    retention: RetentionSettings | None,
    contract: Contract | None,
    emit: Callable[[dict[str, Any]], None],
    log: Callable[[str], None],
    stop: Callable[[], bool],
) -> None:
    """The follower on its own (beside proxies that do not fold, or for a database others write): every
    `interval` seconds it catches up, until `stop()`, then once more."""
    follower = Follower(db_path, retention=retention, contract=contract, emit=emit, log=log)
    while not stop():
        follower.tick(everything=True)
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not stop():
            time.sleep(min(0.2, interval))
    follower.finish()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry of the follower process started by the capture addon."""
    parser = argparse.ArgumentParser(prog="python -m recorder.health.follower")
    parser.add_argument("--db", default=os.environ.get(DB_ENV), help=f"the database (default: ${DB_ENV})")
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--retention", default="", help="JSON RetentionSettings (empty: no pruning)")
    parser.add_argument("--contract", default="", help="contract file for live drift")
    args = parser.parse_args(argv)
    if not args.db:
        parser.error(f"no database: give --db or set {DB_ENV}")
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the proxy stops us: SIGTERM or EOF on stdin
    # only CPU time nothing else wants: the proxy and its store come first, the evidence catches up later
    lower_priority(19, idle=True)
    contract = None
    if args.contract:
        from recorder.contracts.load import load_contract

        contract = load_contract(args.contract)
    retention = RetentionSettings.model_validate(json.loads(args.retention)) if args.retention else None

    def emit(event: dict[str, Any]) -> None:
        try:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            stopping.append(True)

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    run(
        args.db,
        interval=args.interval,
        retention=retention,
        contract=contract,
        emit=emit,
        log=log,
        stop=lambda: bool(stopping),
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
