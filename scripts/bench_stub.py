"""Benchmark `recorder stub` against a minimal Starlette app returning a fixed body: req/s, p50/p99, startup.

Both servers run the same way: uvicorn, one worker, on a background thread of their own process (what
`recorder stub` does), pinned to one core (`--server-core`); wrk, pinned to another core, drives keep-alive
load. The Starlette app is the ceiling for a Python stub (no matching, no validation, no body to build); the
target is a stub at >= 0.5x of its req/s. A raw ASGI app (fixed body, no framework) is measured too: when it
runs well above Starlette, the load generator is not what limits the figures.

Workloads (the same requests go to every server; rounds alternate the server order):
  recorded  the requests recorded from the bundled shop consumers, replayed in order (~300 distinct)
  ids       GET /api/v1/users/{n}, a new n every request (matching, parameter checks, the id echoed)
  query     GET /api/v1/users?limit=5&offset={n}, a new query string every request
  cold      POST /api/v1/users with a new JSON body every request: a full `Checker.check` each time

Also prints the stub's time to first response: `recorder stub` as a subprocess, from spawn to the first answer.

    python scripts/bench_stub.py                 # 3 rounds x 5 s per workload and server
    python scripts/bench_stub.py --quick         # 1 round x 2 s
    python scripts/bench_stub.py --rounds 5 --duration 10 --connections 32
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench_proxy  # noqa: E402  (wrk's command line and report)

HOST = "127.0.0.1"
FIXED_BODY = json.dumps(
    {"id": 12, "email": "user12@example.com", "role": "member", "name": "Ada L.", "active": True}
).encode()
SERVE_RE = re.compile(r"on (http://[\d.]+:\d+)")
TARGET = 0.5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------------------
# Servers: the stub through the real CLI, the baselines through this script's --serve mode


def _starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def fixed(request: Any) -> Response:
        return Response(FIXED_BODY, media_type="application/json")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", fixed, methods=methods)])


async def _raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(FIXED_BODY)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": FIXED_BODY})


def serve(kind: str) -> None:
    """Serve a baseline app exactly as `recorder stub` serves the stub, until SIGTERM/SIGINT."""
    from recorder.verify.stub import RunningStub, bind

    app = _starlette_app() if kind == "starlette" else _raw_app
    gc.freeze()  # as `recorder stub` does
    running = RunningStub(app, bind(HOST, 0)).start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sys.stderr.write(f"{kind}: serving on {running.url}\n")
    sys.stderr.flush()
    while not stop.wait(0.5):
        pass
    running.stop()


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[str]
    url: str

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _pinned(core: int) -> Any:
    return lambda: os.sched_setaffinity(0, {core})


def start_server(name: str, args: list[str], core: int) -> Server:
    proc = subprocess.Popen(
        args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, preexec_fn=_pinned(core)
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = SERVE_RE.search(line)
    if match is None:
        proc.kill()
        raise SystemExit(f"{name} did not start: {line}{proc.stderr.read()}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
    return Server(name, proc, match.group(1))


def stub_command(contract: Path) -> list[str]:
    return [sys.executable, "-m", "recorder", "stub", "--contract", str(contract), "--port", "0"]


def first_response_seconds(contract: Path, core: int) -> float:
    """Spawn `recorder stub` and time until its first answer to a real request."""
    start = time.perf_counter()
    server = start_server("stub", stub_command(contract), core)
    try:
        with urllib.request.urlopen(server.url + "/api/v1/health", timeout=10) as resp:
            resp.read()
        return time.perf_counter() - start
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------------------
# Data: record the bundled shop through the proxy, export its contract, turn the requests into wrk scripts


def record(folder: Path, count: int) -> tuple[Path, Path]:
    from recorder.demo.provider import ShopServer
    from recorder.demo.run import record_through_proxy

    db = folder / "traffic.db"
    with ShopServer(version=1) as shop:
        record_through_proxy(shop.url, db, count, seed=7)
    contract = folder / "openapi.yaml"
    subprocess.run(
        [sys.executable, "-m", "recorder", "export", "openapi", "--db", str(db), "-o", str(contract)],
        check=True,
        capture_output=True,
    )
    return db, contract


def _lua(text: str) -> str:
    out = []
    for byte in text.encode():
        ch = chr(byte)
        out.append(ch if 32 <= byte < 127 and ch not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


KEPT_HEADERS = {"accept", "content-type", "authorization", "x-consumer", "user-agent"}


def recorded_script(db: Path, folder: Path) -> Path:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT method, path, query, request_headers, request_body FROM exchanges ORDER BY id"
    ).fetchall()
    conn.close()
    lines = ["local reqs = {}", "init = function(args)"]
    for method, path, query, headers, body in rows:
        pairs = [(k, v) for k, v in json.loads(headers or "[]") if k.lower() in KEPT_HEADERS]
        target = path
        if query:
            from urllib.parse import urlencode

            target += "?" + urlencode([(k, v) for k, vs in json.loads(query).items() for v in vs])
        table = "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in pairs) + "}"
        payload = _lua(bytes(body).decode("utf-8", "replace")) if body else "nil"
        lines.append(f"  reqs[#reqs + 1] = wrk.format({_lua(method)}, {_lua(target)}, {table}, {payload})")
    lines += [
        "end",
        "local i = 0",
        "request = function()",
        "  i = i % #reqs + 1",
        "  return reqs[i]",
        "end",
    ]
    script = folder / "recorded.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


COUNTER_SCRIPT = """local n = 0
local headers = {["Accept"] = "application/json", ["Content-Type"] = "application/json"}
request = function()
  n = n + 1
  return wrk.format(%s, string.format(%s, n), headers, %s)
end
"""


def counter_script(folder: Path, name: str, method: str, target: str, body: str | None = None) -> Path:
    """A wrk script whose n-th request fills `%d` in the target (and body) with n."""
    payload = f"string.format({_lua(body)}, n, n)" if body else "nil"
    script = folder / f"{name}.lua"
    script.write_text(COUNTER_SCRIPT % (_lua(method), _lua(target), payload))
    return script


# ---------------------------------------------------------------------------------------------------------
# Load


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    client_cores: float  # CPU the load generator used, in cores (1.0 = saturated: it would be the limit)
    server_cores: float
    other_cores: float  # CPU used by anything else on the machine meanwhile (noise)


def _busy_jiffies() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def run_wrk(server: Server, script: Path, duration: float, connections: int, core: int) -> Run:
    before_children = os.times()
    before_busy, before_server = _busy_jiffies(), server.cpu_seconds()
    started = time.perf_counter()
    result = subprocess.run(
        [*bench_proxy.wrk_command(connections, duration), "-s", str(script), server.url],
        capture_output=True,
        text=True,
        preexec_fn=_pinned(core),
        check=True,
    )
    wall = time.perf_counter() - started
    after_children = os.times()
    client = (after_children.children_user - before_children.children_user) + (
        after_children.children_system - before_children.children_system
    )
    server_cpu = server.cpu_seconds() - before_server
    busy = _busy_jiffies() - before_busy
    report = bench_proxy.parse_wrk(result.stdout)
    rps, p50, p99 = report["rps"], report["p50_ms"], report["p99_ms"]
    errors = report["non2xx"] + report["errors"]
    return Run(
        rps=rps,
        p50_ms=p50,
        p99_ms=p99,
        errors=errors,
        client_cores=client / wall,
        server_cores=server_cpu / wall,
        other_cores=max(0.0, (busy - client - server_cpu) / wall),
    )


# ---------------------------------------------------------------------------------------------------------
# Main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--requests", type=int, default=400, help="calls recorded from the shop consumers")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--startups", type=int, default=5, help="spawns of `recorder stub` to time")
    parser.add_argument("--quick", action="store_true", help="1 round x 2 s, 2 startups")
    parser.add_argument("--serve", choices=("starlette", "raw"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.quick:
        args.rounds, args.duration, args.startups = 1, 2, 2
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (apt-get install wrk).")
    folder = Path(tempfile.mkdtemp(prefix="bench-stub-"))
    print(f"recording {args.requests} shop calls through the proxy into {folder} ...", flush=True)
    db, contract = record(folder, args.requests)
    workloads = {
        "recorded": recorded_script(db, folder),
        "ids": counter_script(folder, "ids", "GET", "/api/v1/users/%d"),
        "query": counter_script(folder, "query", "GET", "/api/v1/users?limit=5&offset=%d"),
        "cold": counter_script(
            folder, "cold", "POST", "/api/v1/users", '{"email": "new%d@example.com", "password": "pw-%d"}'
        ),
    }

    from recorder.verify.stub import start_stub

    started = time.perf_counter()
    with start_stub(contract) as running, urllib.request.urlopen(running.url + "/api/v1/health") as resp:
        resp.read()
        in_process = time.perf_counter() - started
    startups = [first_response_seconds(contract, args.server_core) for _ in range(args.startups)]

    me = [sys.executable, str(Path(__file__).resolve())]
    servers = [
        start_server("stub", stub_command(contract), args.server_core),
        start_server("starlette", [*me, "--serve", "starlette"], args.server_core),
        start_server("raw-asgi", [*me, "--serve", "raw"], args.server_core),
    ]
    results: dict[tuple[str, str], list[Run]] = {}
    try:
        for server in servers:  # warm up: imports, caches, the first requests of every workload
            for script in workloads.values():
                run_wrk(server, script, 1, args.connections, args.client_core)
        for round_no in range(args.rounds):
            order = servers if round_no % 2 == 0 else servers[::-1]
            for name, script in workloads.items():
                for server in order:
                    run = run_wrk(server, script, args.duration, args.connections, args.client_core)
                    results.setdefault((name, server.name), []).append(run)
                    print(
                        f"round {round_no + 1} {name:9} {server.name:10} {run.rps:9.0f} req/s"
                        f"  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  non-2xx {run.errors}"
                        f"  cores: server {run.server_cores:.2f} wrk {run.client_cores:.2f}"
                        f" other {run.other_cores:.2f}",
                        flush=True,
                    )
    finally:
        for server in servers:
            server.stop()

    print()
    print(
        f"medians of {args.rounds} round(s) x {args.duration:g} s, {args.connections} connections,"
        f" server pinned to core {args.server_core}, wrk to core {args.client_core}"
    )
    print(
        f"{'workload':9} {'server':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs starlette':>13}"
        f" {'req/CPU-s':>10} {'vs starlette':>13}"
    )

    def per_cpu(runs: list[Run]) -> float:  # requests per second of server CPU: robust to a busy machine
        return statistics.median(r.rps / r.server_cores for r in runs if r.server_cores > 0)

    for name in workloads:
        ceiling = statistics.median(r.rps for r in results[(name, "starlette")])
        cpu_ceiling = per_cpu(results[(name, "starlette")])
        for server in servers:
            runs = results[(name, server.name)]
            rps = statistics.median(r.rps for r in runs)
            print(
                f"{name:9} {server.name:10} {rps:9.0f} {statistics.median(r.p50_ms for r in runs):8.2f}"
                f" {statistics.median(r.p99_ms for r in runs):8.2f} {rps / ceiling:12.2f}x"
                f" {per_cpu(runs):10.0f} {per_cpu(runs) / cpu_ceiling:12.2f}x"
            )
    print()
    for name in workloads:
        ratio = statistics.median(r.rps for r in results[(name, "stub")]) / statistics.median(
            r.rps for r in results[(name, "starlette")]
        )
        cpu_ratio = per_cpu(results[(name, "stub")]) / per_cpu(results[(name, "starlette")])
        verdict = "meets" if ratio >= TARGET else "MISSES"
        print(
            f"{name:9} stub/starlette {ratio:.2f}x ({cpu_ratio:.2f}x per CPU second): {verdict} the {TARGET}x target"
        )
    other = statistics.median(r.other_cores for runs in results.values() for r in runs)
    wrk_peak = max(r.client_cores for runs in results.values() for r in runs)
    print(f"load generator: at most {wrk_peak:.2f} of its core; other load on the machine: {other:.2f} cores")
    print(
        f"startup: `recorder stub` spawn to first response median {statistics.median(startups):.3f} s"
        f" (min {min(startups):.3f} s, {len(startups)} runs); start_stub() in-process {in_process * 1000:.0f} ms"
    )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
