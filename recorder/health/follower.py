"""The follower: a low-priority process beside the proxy that keeps evidence, retention and live drift current.

Every few seconds it folds newly recorded exchanges into the evidence summaries; with a contract it compares
each new batch with it and logs the first occurrence of every new finding as one readable line; on the
retention interval it prunes raw exchanges by policy. It runs in its own process at idle priority, so none of this
work competes with the proxy's event loop. Counters go to the proxy as JSON lines on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from recorder.common.priority import lower_priority
from recorder.config import RetentionSettings
from recorder.errors import RecorderError
from recorder.learn.summaries import OperationSummary, catch_up
from recorder.model import Contract, Finding
from recorder.store import DB_ENV, open_store

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
    """The follower loop: until `stop()`, then one last round."""
    store = None
    live = LiveDrift(contract, log) if contract is not None else None
    last_prune = time.monotonic()
    folded = 0
    while True:
        stopping = stop()
        try:
            if store is None:
                store = open_store(db_path, create=True)
            folded += catch_up(store, batch=BATCH, on_batch=live.batch if live else None)
            if (
                retention is not None
                and retention.enabled
                and time.monotonic() - last_prune >= retention.interval_seconds
            ):
                from recorder.health.retention import prune

                prune(store, retention)
                last_prune = time.monotonic()
        except (RecorderError, OSError):  # StoreUnavailable is a RecorderError
            if store is not None:
                store.close()
            store = None  # the store is failing or gone: the proxy reports that; try again next round
        emit({"event": "stats", "summarised": folded, "findings": live.counts if live else {}})
        if stopping:
            return
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not stop():
            time.sleep(min(0.2, interval))


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
