"""Long-running staging: database size under retention, live drift overhead, and merging shards.

    python scripts/bench_soak.py                 # 200k requests soak, live drift rounds, 10 shards x 100k
    python scripts/bench_soak.py --quick         # 20k requests, 1 round, 10 shards x 10k

1. Soak: a fixed number of requests (bounded) through `recorder proxy` with retention on (keep the first 20
   and the last 200 exchanges per operation shape and status); every few seconds it prints the database
   size, the stored exchanges and the exchanges counted in the evidence: the size levels off while the
   evidence keeps growing. At the end, exports before and after an explicit prune are compared.
2. Live drift: bare mitmdump, `recorder proxy` and `recorder proxy --contract` back to back in each round
   (rotating order, same load, measured by bench_proxy's `measure`): req/s, p99, CPU per request of the proxy
   and of its children, and the per-round ratios (target: the capture target, live drift vs bare mitmdump:
   at most 10% less throughput and 20% more p99).
3. Merge: 10 shard databases of N exchanges each merged with `recorder merge` (target: seconds).
Uses the upstream and load generator of scripts/bench_proxy.py (nginx and wrk when installed); loopback only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench_proxy as bp  # noqa: E402


def db_bytes(db: Path) -> int:
    return sum(os.path.getsize(f"{db}{s}") for s in ("", "-wal") if os.path.exists(f"{db}{s}"))


def counts(db: Path) -> tuple[int, int]:
    """(stored exchanges, exchanges counted in the evidence)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
        try:
            stored = conn.execute("SELECT count(*) FROM exchanges").fetchone()[0]
            evidence = conn.execute("SELECT coalesce(sum(count), 0) FROM summaries").fetchone()[0]
            return stored, evidence
        finally:
            conn.close()
    except sqlite3.Error:
        return -1, -1


def recorder(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recorder", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


class Proxy(bp.Proxy):
    """bench_proxy's recorder process, with extra arguments (a config file, a contract)."""

    def __init__(self, *a: object, extra: list[str] | None = None, **kw: object) -> None:
        super().__init__(*a, **kw)  # type: ignore[arg-type]
        self.extra = extra or []

    def start(self, tag: str) -> None:
        self.port = bp.free_port()
        upstream = f"http://{bp.HOST}:{self.upstream_port}"
        self.db = self.workdir / f"{tag}.db"
        cmd = [
            sys.executable,
            "-m",
            "recorder",
            "proxy",
            "--upstream",
            upstream,
            "--listen-port",
            str(self.port),
        ]
        cmd += ["--db", str(self.db), *self.extra]
        self.stderr_path = self.workdir / f"{tag}.stderr"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=self.workdir, start_new_session=True
            )
        bp.wait_http(self.port, bp.PATHS["1k"], self.proc, "recorder proxy")


def soak(workdir: Path, upstream: bp.Upstream, load: bp.LoadGen, total: int, interval: float) -> Path:
    (workdir / "recorder.toml").write_text(
        "[retention]\nkeep_first = 20\nkeep_last = 200\ninterval_seconds = 5\n"
    )
    proxy = Proxy("recorder", upstream.port, workdir, extra=["--config", str(workdir / "recorder.toml")])
    proxy.start("soak")
    assert proxy.db is not None
    print(
        f"1. soak: {total:,} requests through recorder proxy with retention (first 20 + last 200 per operation and status)"
    )
    print(f"   {'t (s)':>6} {'db':>9} {'wal':>9} {'stored':>8} {'in evidence':>12}")
    samples = []
    stop = threading.Event()

    def sample() -> None:
        start = time.monotonic()
        while not stop.wait(interval):
            stored, evidence = counts(proxy.db)
            size = db_bytes(proxy.db)
            main = os.path.getsize(proxy.db)
            samples.append((time.monotonic() - start, size, stored, evidence))
            print(
                f"   {samples[-1][0]:>6.0f} {main / 1e6:>7.2f}MB {(size - main) / 1e6:>7.2f}MB {stored:>8,} {evidence:>12,}",
                flush=True,
            )

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    sent = 0
    while sent < total:  # bounded: wrk in chunks until the total is reached
        r = load.run(proxy.port, bp.PATHS["1k"], 16, 0, 10)
        sent += r["requests"]
    stop.set()
    thread.join()
    proxy.stop()
    stored, evidence = counts(proxy.db)
    print(f"   sent {sent:,}; stored {stored:,} exchanges, evidence counts {evidence:,}; {proxy.summary}")
    if len(samples) >= 4:
        half = len(samples) // 2
        first, second = samples[half][1], samples[-1][1]
        print(
            f"   size over the second half of the run: {first / 1e6:.2f} MB -> {second / 1e6:.2f} MB; evidence {samples[half][3]:,} -> {samples[-1][3]:,}"
        )
    before = workdir / "before.yaml"
    after = workdir / "after.yaml"
    recorder("export", "openapi", "--db", str(proxy.db), "-o", str(before))
    recorder("prune", "--db", str(proxy.db), "--keep-first", "1", "--keep-last", "1")
    recorder("export", "openapi", "--db", str(proxy.db), "-o", str(after))
    same = before.read_bytes() == after.read_bytes()
    print(f"   export identical before and after pruning to 2 exchanges per operation: {same}")
    return proxy.db


def live_drift(
    workdir: Path, upstream: bp.Upstream, load: bp.LoadGen, db: Path, rounds: int, duration: float
) -> None:
    """Bare mitmdump, `recorder proxy` and `recorder proxy --contract` back to back in each round (rotating the
    order), measured as bench_proxy measures the capture target: req/s, p99 and CPU per request per process."""
    contract = workdir / "contract.yaml"
    recorder("export", "openapi", "--db", str(db), "-o", str(contract))
    configs = {
        "bare": ("bare", []),
        "recorder": ("recorder", []),
        "live drift": ("recorder", ["--contract", str(contract)]),
    }
    print(
        f"2. live drift: mitmdump vs recorder proxy vs recorder proxy --contract "
        f"({rounds} rounds x {duration:.0f} s, 1 KB, 16 connections)"
    )
    results: dict[str, list[bp.Result]] = {k: [] for k in configs}
    names = list(configs)
    for rnd in range(rounds):
        order = names[rnd % 3 :] + names[: rnd % 3]
        for name in order:
            config, extra = configs[name]
            bp.wait_until_idle(upstream, 10.0)
            res = bp.measure(config, "1k", 16, rnd, upstream, load, workdir, 2.0, duration, extra_args=extra)
            results[name].append(res)
            cpu = " + ".join(f"{c:,.0f}" for c in res.cpu_us) if res.cpu_us else "-"
            noisy = "  NOISY" if res.other_cores > bp.NOISY_CORES else ""
            print(
                f"   round {rnd + 1} {name:<11} {res.rps:>7,.0f} req/s  p99 {res.p99_ms:>7.2f} ms"
                f"  CPU us/request (proxy + children) {cpu}{noisy}",
                flush=True,
            )
    print(f"   {'median':<19} {'req/s':>7}       {'p99':>7}     CPU us/request (proxy, children)")
    for name, rs in results.items():
        cpu = (
            [statistics.median(r.cpu_us[0] for r in rs), statistics.median(sum(r.cpu_us[1:]) for r in rs)]
            if rs[0].cpu_us
            else [0.0, 0.0]
        )
        print(
            f"   {name:<19} {statistics.median(r.rps for r in rs):>7,.0f} req/s  {statistics.median(r.p99_ms for r in rs):>7.2f} ms"
            f"  {cpu[0]:,.0f}, {cpu[1]:,.0f}"
        )

    def ratio(a: str, b: str, key: str) -> float:
        return statistics.median(
            getattr(x, key) / getattr(y, key) for x, y in zip(results[a], results[b], strict=True)
        )

    for a, b in (("live drift", "bare"), ("recorder", "bare"), ("live drift", "recorder")):
        thr, p99 = ratio(a, b, "rps"), ratio(a, b, "p99_ms")
        verdict = ""
        if b == "bare":
            met = thr >= bp.THROUGHPUT_TARGET and p99 <= bp.P99_TARGET
            verdict = f"  (the capture target, bench_proxy's: {'met' if met else 'MISSED'})"
        print(f"   {a} / {b}: throughput {thr:.2f}x, p99 {p99:.2f}x (per-round medians){verdict}")


def merge_shards(workdir: Path, per_shard: int) -> None:
    from bench_infer import grow, seed_database

    print(f"3. merge: 10 shards x {per_shard:,} exchanges")
    seed = seed_database(workdir)
    base = workdir / "shard-base.db"
    grow(seed, base, per_shard)
    recorder("summarize", "--db", str(base))
    shards = []
    for i in range(10):
        shard = workdir / f"shard{i}.db"
        shutil.copy(base, shard)
        conn = sqlite3.connect(shard)
        conn.execute("UPDATE exchanges SET uid = uid || ?", [f"-s{i}"])
        conn.execute("UPDATE sessions SET id = id || ?", [f"-s{i}"])
        conn.commit()
        conn.close()
        shards.append(shard)
    out = workdir / "merged.db"
    t = time.perf_counter()
    result = recorder("merge", *map(str, shards), "-o", str(out))
    seconds = time.perf_counter() - t
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    total = sqlite3.connect(out).execute("SELECT count(*) FROM exchanges").fetchone()[0]
    print(f"   merged {total:,} exchanges in {seconds:.1f} s ({result.stdout.strip()})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--shard-size", type=int, default=100_000)
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds, args.duration, args.shard_size = 20_000, 1, 5.0, 10_000
    load = bp.LoadGen("wrk" if shutil.which("wrk") else "python")
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        workdir = Path(tmp)
        upstream = bp.Upstream("nginx" if shutil.which("nginx") else "python", workdir)
        upstream.start()
        try:
            db = soak(workdir, upstream, load, args.requests, 5.0 if args.quick else 15.0)
            live_drift(workdir, upstream, load, db, args.rounds, args.duration)
        finally:
            upstream.stop()
        merge_shards(workdir, args.shard_size)


if __name__ == "__main__":
    main()
