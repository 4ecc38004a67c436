"""`recorder demo`: the whole loop on the bundled shop provider, on loopback only."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder import store
from recorder.demo.consumer import drive
from recorder.demo.provider import ShopServer
from recorder.proxy import ProxyConfig, RecordingProxy

Say = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo produced, for the CLI to print and tests to check."""

    db: Path
    recorded: int
    dropped: int
    statuses: dict[int, int]
    files: dict[str, Path] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def record_through_proxy(
    server_url: str, db: Path, count: int, seed: int
) -> tuple[dict[str, Any], dict[int, int]]:
    """Run the recording proxy in front of `server_url`, drive `count` calls through it, stop it cleanly."""
    proxy = RecordingProxy(ProxyConfig(db=db, upstream=server_url, listen_port=0, provider="shop"))
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(proxy.run(install_signals=False)), daemon=True)
    thread.start()
    if not proxy.ready.wait(30) or not proxy.addresses:
        proxy.stop()
        thread.join(30)
        raise RuntimeError("the demo proxy did not start")
    host, port = proxy.addresses[0]
    statuses = drive(f"http://{host}:{port}", count, seed)
    proxy.stop()
    thread.join(60)
    return result, statuses


def run_demo(out: Path, say: Say, requests: int = 300) -> DemoResult:
    """Record a provider's traffic through the proxy and report what was recorded."""
    out.mkdir(parents=True, exist_ok=True)
    db = out / "traffic.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with ShopServer(version=1) as server:
        say(f"provider: the shop API on {server.url}")
        counters, statuses = record_through_proxy(server.url, db, requests, seed=7)
    say(
        f"recorded {counters.get('recorded', 0)} exchanges into {db} "
        f"(dropped {counters.get('dropped', 0)}, statuses {dict(sorted(statuses.items()))})"
    )
    database = store.connect(db)
    try:
        stats = store.stats(database)
    finally:
        database.close()
    return DemoResult(
        db=db,
        recorded=counters.get("recorded", 0),
        dropped=counters.get("dropped", 0),
        statuses=statuses,
        extra={"stats": stats},
    )
