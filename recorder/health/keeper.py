"""The proxy's one child process: it stores what the proxy pipes to it and keeps the evidence current.

It writes batches as `recorder.capture.sink` does (decode, redact, one transaction per batch) and, in the same
process and thread, lets a `Follower` fold the new exchanges into the evidence, prune by the retention policy
and compare with a contract (live drift) whenever traffic is light: one interpreter instead of two (memory),
no second process reading and locking the database beside the writer, and no folding while the proxy is at
its busiest (its tail latency rises with any work on the same cores). At EOF it writes what is left, reports
the counters and folds everything.

    python -m recorder.health.keeper --settings JSON --session JSON   (the database in $RECORDER_STORE)
"""

from __future__ import annotations

import json
import select
import sys
from collections.abc import Sequence
from typing import Any

from recorder.capture.sink import (
    STORE_NICE,
    ignore_stop_signals,
    json_lines,
    serve,
    store_parser,
    store_writer,
)
from recorder.common.priority import lower_priority
from recorder.config import RetentionSettings
from recorder.health.follower import Follower
from recorder.store import DB_ENV

IDLE_TICK = 0.25  # seconds between ticks while no traffic arrives: folding catches up then


def main(argv: Sequence[str] | None = None) -> int:
    """Entry of the store process started by the capture addon when it keeps the evidence current."""
    parser = store_parser("python -m recorder.health.keeper")
    args = parser.parse_args(argv)
    if not args.db:
        parser.error(f"no database: give --db or set {DB_ENV}")
    settings: dict[str, Any] = json.loads(args.settings)
    emit = json_lines(sys.stdout)
    writer = store_writer(args.db, settings, json.loads(args.session), emit)
    contract = None
    if settings.get("contract"):
        from recorder.contracts.load import load_contract

        contract = load_contract(settings["contract"])
    retention = (settings.get("follow") or {}).get("retention")

    def log(line: str) -> None:  # live drift findings: one line each, in the proxy's log
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    follower = Follower(
        args.db,
        retention=RetentionSettings.model_validate(retention) if retention else None,
        contract=contract,
        emit=emit,
        log=log,
    )
    fd = sys.stdin.fileno()

    def pending() -> bool:
        return bool(select.select([fd], [], [], 0)[0])

    def after(count: int) -> None:
        follower.arrived(count)
        follower.tick(pending)

    lower_priority(STORE_NICE)
    emit({"event": "ready"})
    serve(writer, fd, after=after, idle=IDLE_TICK)
    emit({"event": "summary", **writer.close()})
    follower.finish()  # after the counters: a slow last fold never hides what was recorded
    return 0


if __name__ == "__main__":  # pragma: no cover
    ignore_stop_signals()
    sys.exit(main())
