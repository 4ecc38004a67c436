"""Benchmark the fleet store: several recorders into one PostgreSQL server against one SQLite file.

1. ingest: 4 concurrent `recorder import`s of 4 HAR shards into one database, SQLite and PostgreSQL:
   exchanges stored per second (wall clock), and rows per exchange (must be 1: nothing lost, nothing twice);
   one import alone as the baseline.
2. export: a database of `--export-size` exchanges (1M by default) in each store: the one-time catch-up of
   the evidence (`recorder summarize`), then `recorder export openapi` with the evidence current.
3. proxy: `recorder proxy` recording into PostgreSQL against recording into SQLite, in alternating rounds,
   with scripts/bench_proxy.py's load (wrk and nginx when installed): req/s and p99, and their ratios.

A throwaway PostgreSQL server is started on 127.0.0.1 (tests/pgserver.py; Debian: apt-get install
postgresql). Everything listens on 127.0.0.1.

    python scripts/bench_fleet.py                 # 4 x 25,000 exchanges, 1M export, 3 proxy rounds of 10 s
    python scripts/bench_fleet.py --quick         # 4 x 5,000, 100k export, 1 round of 5 s
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_proxy  # noqa: E402
from pgserver import PgServer  # noqa: E402

RECORDER = [sys.executable, "-m", "recorder"]
SHARDS = 4
INGEST_TARGET = 10_000  # exchanges/s into PostgreSQL from imports
EXPORT_TARGET = 10.0  # seconds for an export of 1M exchanges
PROXY_TARGET = 0.95  # PostgreSQL store throughput as a share of the SQLite store's


def run(*args: str, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run([*RECORDER, *args], capture_output=True, text=True, env=env, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"bench: recorder {' '.join(args[:2])} failed: {result.stderr.strip()[-500:]}")
    return time.perf_counter() - started


def seed_rows(folder: Path) -> list[tuple]:
    """Real traffic: the bundled shop driven through the recording proxy (2,000 exchanges)."""
    from recorder.demo.provider import ShopServer
    from recorder.demo.run import record_through_proxy

    db = folder / "seed.db"
    with ShopServer(version=1) as server:
        record_through_proxy(server.url, db, 2000, seed=3)
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT method, scheme, host, port, path, query, request_headers, request_body, status,"
        " response_headers, response_body, started FROM exchanges ORDER BY id"
    ).fetchall()
    conn.close()
    return rows


def write_har(path: Path, rows: list[tuple], count: int, shard: int) -> None:
    entries = []
    for i in range(count):
        method, scheme, host, port, url_path, query, rq_h, rq_b, status, rs_h, rs_b, started = rows[
            i % len(rows)
        ]
        q = json.loads(query) if query else {}
        qs = "&".join(f"{k}={v}" for k, vs in q.items() for v in vs)
        when = started + shard * 10_000_000 + i  # a distinct moment: a distinct exchange
        entries.append(
            {
                "startedDateTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + ".000Z",
                "time": 3.0,
                "request": {
                    "method": method,
                    "url": f"{scheme}://{host}:{port}{url_path}" + (f"?{qs}" if qs else ""),
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
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))


def stored(db: str) -> int:
    from recorder.store import open_store

    with open_store(db) as store:
        return store.count_exchanges()


def ingest(db: str, hars: list[Path], concurrent: bool) -> float:
    """Import the shards (all at once, or one after the other); returns the wall time."""
    started = time.perf_counter()
    if concurrent:
        procs = [
            subprocess.Popen(
                [*RECORDER, "import", str(h), "--db", db], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            for h in hars
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=3600)
            if proc.returncode != 0:
                raise SystemExit(f"bench: import failed: {err.decode()[-500:]}")
    else:
        for har in hars:
            run("import", str(har), "--db", db)
    return time.perf_counter() - started


def bench_ingest(folder: Path, server: PgServer, rows: list[tuple], per_shard: int) -> dict[str, float]:
    hars = []
    for shard in range(SHARDS):
        har = folder / f"shard{shard}.har"
        write_har(har, rows, per_shard, shard)
        hars.append(har)
    total = per_shard * SHARDS
    print(f"1. ingest: {SHARDS} recorders import {per_shard:,} exchanges each ({total:,} in all)")
    print(f"   {'store':<28} {'wall s':>8} {'exchanges/s':>12} {'rows/exchange':>14}")
    out = {}
    for label, db, concurrent in (
        ("SQLite, one import", str(folder / "one.db"), False),
        ("SQLite, 4 at once", str(folder / "four.db"), True),
        ("PostgreSQL, one import", server.create_database("one"), False),
        ("PostgreSQL, 4 at once", server.create_database("four"), True),
    ):
        seconds = ingest(db, hars, concurrent)
        rate = total / seconds
        per = stored(db) / total
        out[label] = rate
        print(f"   {label:<28} {seconds:>8.1f} {rate:>12,.0f} {per:>14.3f}")
    verdict = "met" if out["PostgreSQL, 4 at once"] >= INGEST_TARGET else "MISSED"
    print(
        f"   PostgreSQL with 4 recorders: {out['PostgreSQL, 4 at once']:,.0f}/s (target >= {INGEST_TARGET:,}: {verdict})"
    )
    return out


def grow_sqlite(seed: Path, target: Path, size: int) -> None:
    shutil.copy(seed, target)
    conn = sqlite3.connect(target)
    conn.execute("DELETE FROM summaries")
    conn.execute("DELETE FROM meta WHERE key = 'summarized_through'")
    cols = [r[1] for r in conn.execute("PRAGMA table_info(exchanges)") if r[1] != "id"]
    base = conn.execute("SELECT count(*) FROM exchanges").fetchone()[0]
    copy = 1
    while (have := conn.execute("SELECT count(*) FROM exchanges").fetchone()[0]) < size:
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


def grow_postgres(url: str, seed: Path, size: int) -> None:
    import psycopg

    from recorder.store import EXCHANGE_COLUMNS, open_store

    conn = sqlite3.connect(seed)
    rows = conn.execute(f"SELECT {', '.join(EXCHANGE_COLUMNS)} FROM exchanges ORDER BY id").fetchall()
    conn.close()
    with open_store(url, create=True) as store:
        store.start_session({"id": "grow", "started": 0.0, "kind": "bench"})
        for i in range(0, len(rows), 1000):
            store.write_batch(rows[i : i + 1000], "grow", {})
    cols = ", ".join(EXCHANGE_COLUMNS)
    select = ", ".join(
        "uid || '-' || g" if c == "uid" else "started + g * 3600" if c == "started" else c
        for c in EXCHANGE_COLUMNS
    )
    copies = -(-size // len(rows)) - 1
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(
            f"INSERT INTO exchanges ({cols}) SELECT {select} FROM exchanges, generate_series(1, %s) g ORDER BY g, id",
            [copies],
        )
        pg.execute("DELETE FROM exchanges WHERE id > (SELECT min(id) FROM exchanges) + %s - 1", [size])
        pg.execute("VACUUM ANALYZE exchanges")


def bench_export(folder: Path, server: PgServer, size: int) -> dict[str, float]:
    print(f"2. export from {size:,} exchanges")
    print(f"   {'store':<12} {'catch-up (once)':>16} {'export openapi':>15}")
    seed = folder / "seed.db"
    out = {}
    targets = [("SQLite", str(folder / "big.db")), ("PostgreSQL", server.create_database("big"))]
    grow_sqlite(seed, Path(targets[0][1]), size)
    grow_postgres(targets[1][1], seed, size)
    for label, db in targets:
        catch = run("summarize", "--db", db)
        export = min(
            run("export", "openapi", "--db", db, "-o", str(folder / f"{label}.yaml")) for _ in range(2)
        )
        out[label] = export
        print(f"   {label:<12} {catch:>15.1f}s {export:>14.2f}s")
    verdict = "met" if out["PostgreSQL"] < EXPORT_TARGET else "MISSED"
    print(f"   PostgreSQL export: {out['PostgreSQL']:.2f} s (target < {EXPORT_TARGET:.0f} s: {verdict})")
    return out


def bench_proxy_store(folder: Path, server: PgServer, rounds: int, duration: float, body: str) -> None:
    print(f"3. recorder proxy, {body} JSON, concurrency 8: recording into PostgreSQL vs SQLite")
    upstream = bench_proxy.Upstream("nginx" if shutil.which("nginx") else "python", folder)
    upstream.start()
    load = bench_proxy.LoadGen("wrk" if shutil.which("wrk") else "python")
    results: dict[str, list[bench_proxy.Result]] = {"sqlite": [], "postgres": []}
    try:
        for rnd in range(rounds):
            order = ("sqlite", "postgres") if rnd % 2 == 0 else ("postgres", "sqlite")
            for which in order:
                extra = ["--db", server.create_database(f"proxy{rnd}")] if which == "postgres" else []
                res = bench_proxy.measure(
                    "recorder", body, 8, rnd, upstream, load, folder, 2.0, duration, extra_args=extra
                )
                results[which].append(res)
                print(
                    f"   round {rnd + 1} {which:<9} {res.rps:>9,.0f} req/s  p99 {res.p99_ms:6.1f} ms  {res.summary}"
                )
    finally:
        upstream.stop()
    rps = {k: statistics.median(r.rps for r in v) for k, v in results.items()}
    p99 = {k: statistics.median(r.p99_ms for r in v) for k, v in results.items()}
    ratio = rps["postgres"] / rps["sqlite"]
    verdict = "met" if ratio >= PROXY_TARGET else "MISSED"
    print(
        f"   median: SQLite {rps['sqlite']:,.0f} req/s (p99 {p99['sqlite']:.1f} ms), PostgreSQL {rps['postgres']:,.0f}"
        f" req/s (p99 {p99['postgres']:.1f} ms): {ratio:.2f}x throughput, {p99['postgres'] / p99['sqlite']:.2f}x p99"
        f" (target >= {PROXY_TARGET:.2f}x: {verdict})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one short proxy round")
    parser.add_argument("--per-shard", type=int, help="exchanges per import shard (default 25,000)")
    parser.add_argument(
        "--export-size", type=int, help="exchanges in the export database (default 1,000,000)"
    )
    parser.add_argument("--rounds", type=int, help="proxy rounds (default 3)")
    parser.add_argument("--duration", type=float, help="seconds per proxy measurement (default 10)")
    parser.add_argument("--body", default="1k", choices=sorted(bench_proxy.PATHS), help="proxy payload")
    parser.add_argument("--skip", nargs="*", default=[], choices=["ingest", "export", "proxy"])
    args = parser.parse_args(argv)
    per_shard = args.per_shard or (5_000 if args.quick else 25_000)
    export_size = args.export_size or (100_000 if args.quick else 1_000_000)
    rounds = args.rounds or (1 if args.quick else 3)
    duration = args.duration or (5.0 if args.quick else 10.0)
    reason = PgServer.available()
    if reason is not None:
        print(f"bench: {reason}", file=sys.stderr)
        return 2
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        folder = Path(tmp)
        server = PgServer.start_new(folder / "pg")
        try:
            rows = seed_rows(folder)
            if "ingest" not in args.skip:
                bench_ingest(folder, server, rows, per_shard)
            if "export" not in args.skip:
                bench_export(folder, server, export_size)
            if "proxy" not in args.skip:
                bench_proxy_store(folder, server, rounds, duration, args.body)
        finally:
            server.stop("immediate")
            shutil.rmtree(server.folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
