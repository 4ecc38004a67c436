"""Replay throughput: is `recorder replay` limited by the provider, not by us?

    python scripts/bench_replay.py [--requests 3000]

Records the bundled shop provider's traffic, then, side by side: (a) the provider's own capacity for the same
kind of requests (a keep-alive client firing the recorded GETs as fast as it can, 8 connections) and (b)
`recorder replay --all` of those requests at the same concurrency with no rate limit (judging every answer).
Prints requests per second of both and the ratio. Loopback only; bounded by the number of recorded requests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recorder.demo.provider import ShopServer  # noqa: E402
from recorder.demo.run import record_through_proxy  # noqa: E402


def direct(url: str, targets: list[str], connections: int) -> float:
    parts = urlsplit(url)
    chunks = [targets[i::connections] for i in range(connections)]

    def run(chunk: list[str]) -> int:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        for target in chunk:
            conn.request("GET", target, headers={"Accept": "application/json"})
            conn.getresponse().read()
        conn.close()
        return len(chunk)

    start = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        total = sum(pool.map(run, chunks))
    return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp, ShopServer(version=1) as shop:
        db = Path(tmp) / "t.db"
        record_through_proxy(shop.url, db, args.requests, seed=9)
        rows = (
            sqlite3.connect(db).execute("SELECT path, query FROM exchanges WHERE method = 'GET'").fetchall()
        )
        targets = [
            p + ("?" + urlencode([(k, v) for k, vs in json.loads(q).items() for v in vs]) if q else "")
            for p, q in rows
        ]
        provider = direct(shop.url, targets, args.concurrency)
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "recorder", "replay", "--db", str(db), "--target", shop.url, "--all",
             "--concurrency", str(args.concurrency), "--rate", "100000", "--format", "json", "-o", str(Path(tmp) / "r.json")],
            capture_output=True, text=True,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        sent = int(result.stderr.split("replayed ")[1].split()[0]) if "replayed " in result.stderr else 0
        replay = sent / seconds
        print(f"GET requests recorded: {len(targets):,}; concurrency {args.concurrency}")
        print(f"(a) provider capacity, plain keep-alive client: {provider:,.0f} req/s")
        print(
            f"(b) recorder replay --all (judging every answer, incl. start-up): {replay:,.0f} req/s ({sent:,} in {seconds:.1f} s)"
        )
        print(f"ratio (b)/(a): {replay / provider:.2f}")


if __name__ == "__main__":
    main()
