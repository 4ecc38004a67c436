"""Inference benchmark: our evidence-counting inference vs a bare genson loop, export and import speed.

    python scripts/bench_infer.py            # payload throughput, import of HAR, export from 10k/100k/1M exchanges
    python scripts/bench_infer.py --quick    # smaller sizes (under a minute)

Prints, side by side in one run:
  1. payloads/s through (a) genson `SchemaBuilder.add_object` and (b) `recorder.learn.infer` (evidence, formats,
     enums, presence counts), on realistic payloads (shop users/orders, list envelopes, zoo API bodies);
  2. `recorder import` of a HAR file: exchanges/s (includes decoding, redaction and the SQLite writes);
  3. for databases of 10k, 100k and 1M exchanges: the one-time evidence catch-up (summaries are normally kept
     current by the proxy's follower) and the export of OpenAPI from up-to-date summaries.
All data stays on disk under a temporary folder; nothing touches the network.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from genson import SchemaBuilder  # noqa: E402

from recorder.demo.provider import Shop  # noqa: E402
from recorder.learn.infer import EvidenceNode, observe  # noqa: E402


def payloads() -> dict[str, list[object]]:
    shop = Shop()
    sets: dict[str, list[object]] = {
        "user (1 KB object)": [shop.user(i) for i in range(1, 3001)],
        "orders list (2 KB)": [[shop.order(i % 40 + 1, n) for n in range(3)] for i in range(1500)],
        "users page (20 KB envelope)": [
            {"items": [shop.user(i * 50 + j) for j in range(50)], "total": 500, "limit": 50, "offset": i * 50}
            for i in range(120)
        ],
    }
    try:
        import random

        from apis.oas import json_media, load_spec, operations
        from apis.values import ValueGen

        spec = load_spec(ROOT / "tests" / "apis" / "specs" / "kubernetes.yaml")
        gen = ValueGen(spec, random.Random(1))
        bodies = []
        for op in operations(spec):
            media = json_media((op.responses.get("200") or {}).get("content"))
            if media:
                bodies += [gen.value(media[1]) for _ in range(40)]
        if bodies:
            sets["kubernetes objects (zoo)"] = bodies
    except Exception as exc:  # the zoo is optional for this benchmark
        print(f"(zoo payloads skipped: {type(exc).__name__}: {exc})")
    return sets


def bench_payloads(rounds: int) -> None:
    print("1. payloads per second (best of rounds, alternating)")
    print(f"   {'payload':<30} {'genson':>10} {'recorder':>10} {'ratio':>7}")
    for name, items in payloads().items():
        best_g = best_r = float("inf")
        for _ in range(rounds):
            t = time.perf_counter()
            builder = SchemaBuilder()
            for item in items:
                builder.add_object(item)
            best_g = min(best_g, time.perf_counter() - t)
            t = time.perf_counter()
            node = EvidenceNode()
            for item in items:
                observe(node, item)
            node.to_schema()
            best_r = min(best_r, time.perf_counter() - t)
        g, r = len(items) / best_g, len(items) / best_r
        print(f"   {name:<30} {g:>10,.0f} {r:>10,.0f} {r / g:>6.2f}x")


def seed_database(folder: Path) -> Path:
    """Real traffic recorded through the proxy from the bundled provider."""
    from recorder.demo.provider import ShopServer
    from recorder.demo.run import record_through_proxy

    db = folder / "seed.db"
    with ShopServer(version=1) as server:
        record_through_proxy(server.url, db, 2000, seed=3)
    return db


def grow(seed: Path, target: Path, size: int) -> None:
    """A database of `size` exchanges: the seed's rows repeated with fresh uids and later times."""
    shutil.copy(seed, target)
    conn = sqlite3.connect(target)
    conn.execute("DELETE FROM summaries")
    conn.execute("DELETE FROM meta WHERE key = 'summarized_through'")
    base = conn.execute("SELECT count(*) FROM exchanges").fetchone()[0]
    cols = [r[1] for r in conn.execute("PRAGMA table_info(exchanges)") if r[1] != "id"]
    copy = 1
    while conn.execute("SELECT count(*) FROM exchanges").fetchone()[0] < size:
        have = conn.execute("SELECT count(*) FROM exchanges").fetchone()[0]
        take = min(base, size - have)
        select = ", ".join(
            f"uid || '-{copy}'" if c == "uid" else f"started + {copy * 3600}" if c == "started" else c
            for c in cols
        )
        conn.execute(
            f"INSERT INTO exchanges ({', '.join(cols)}) SELECT {select} FROM exchanges WHERE id <= ? ORDER BY id",
            [take],
        )
        conn.commit()
        copy += 1
    conn.close()


def run(*args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "recorder", *args], check=True, capture_output=True)
    return time.perf_counter() - t


def bench_import(folder: Path, seed: Path, count: int) -> None:
    conn = sqlite3.connect(seed)
    rows = conn.execute(
        "SELECT method, scheme, host, port, path, query, request_headers, request_body, status, response_headers,"
        " response_body, started FROM exchanges LIMIT 2000"
    ).fetchall()
    conn.close()
    entries = []
    for i in range(count):
        method, scheme, host, port, path, query, rq_h, rq_b, status, rs_h, rs_b, started = rows[i % len(rows)]
        q = json.loads(query) if query else {}
        qs = "&".join(f"{k}={v}" for k, vs in q.items() for v in vs)
        entries.append(
            {
                "startedDateTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started + i)) + ".000Z",
                "time": 3.0,
                "request": {
                    "method": method,
                    "url": f"{scheme}://{host}:{port}{path}" + (f"?{qs}" if qs else ""),
                    "httpVersion": "HTTP/1.1",
                    "headers": [{"name": k, "value": v} for k, v in json.loads(rq_h or "[]")],
                    "postData": {"mimeType": "application/json", "text": rq_b.decode()} if rq_b else None,
                },
                "response": {
                    "status": status,
                    "httpVersion": "HTTP/1.1",
                    "headers": [
                        {"name": k, "value": v}
                        for k, v in json.loads(rs_h or "[]")
                        if k.lower() != "content-encoding"
                    ],
                    "content": {
                        "mimeType": "application/json",
                        "text": (rs_b or b"").decode("utf-8", "replace"),
                    },
                },
            }
        )
    har = folder / "big.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    db = folder / "imported.db"
    seconds = run("import", str(har), "--db", str(db))
    print(
        f"2. recorder import of a HAR with {count:,} exchanges: {seconds:.1f} s = {count / seconds:,.0f} exchanges/s (target >= 5,000/s)"
    )


def bench_export(folder: Path, seed: Path, sizes: list[int]) -> None:
    print("3. export from databases of growing size")
    print(
        f"   {'exchanges':>10} {'catch-up (once)':>16} {'export (summaries current)':>27} {'operations':>10}"
    )
    for size in sizes:
        db = folder / f"db-{size}.db"
        grow(seed, db, size)
        catch = run("summarize", "--db", str(db))
        out = folder / f"o-{size}.yaml"
        export = min(run("export", "openapi", "--db", str(db), "-o", str(out)) for _ in range(2))
        ops = sum(1 for line in out.read_text().splitlines() if line.startswith("  /"))
        print(f"   {size:>10,} {catch:>15.1f}s {export:>26.2f}s {ops:>10}")
        db.unlink()
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds")
    parser.add_argument("--sizes", type=int, nargs="*", help="database sizes (default 10k 100k 1M)")
    args = parser.parse_args()
    rounds = 2 if args.quick else 5
    sizes = args.sizes or ([10_000, 50_000] if args.quick else [10_000, 100_000, 1_000_000])
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    bench_payloads(rounds)
    with tempfile.TemporaryDirectory(prefix="bench-infer-") as tmp:
        folder = Path(tmp)
        seed = seed_database(folder)
        bench_import(folder, seed, 5_000 if args.quick else 50_000)
        bench_export(folder, seed, sizes)


if __name__ == "__main__":
    main()
