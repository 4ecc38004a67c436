"""How a child process of the proxy gives way to it when the CPU is contended (one place for both children)."""

from __future__ import annotations

import os


def lower_priority(nice: int, *, idle: bool = False) -> None:
    """Lower this process's CPU priority by `nice` levels; with `idle`, run only on CPU time nothing else wants
    (Linux SCHED_IDLE, else the nice level). Where the platform cannot, nothing changes."""
    if idle:
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # type: ignore[attr-defined]
            return
        except (AttributeError, OSError):
            pass
    try:
        os.nice(nice)
    except (AttributeError, OSError):
        pass
