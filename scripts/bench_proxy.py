"""Benchmark the recording proxy against bare mitmdump: req/s, p50/p99 latency and peak RSS, side by side.

Drives a fixed closed-loop keep-alive load (concurrency 8 and 32 by default) at a local upstream through
(a) nothing, (b) bare `mitmdump` (no addon) and (c) `recorder proxy`, alternating b and c in rounds
(order b,c then c,b, so slow drift on the machine cancels out), and prints the medians and the (c)/(b) ratios
against the targets: recording costs at most 10% of throughput and at most 20% on p99 latency.
`--long` adds a long run of (c) at full load that samples the RSS of the proxy and its store child.

Uses wrk and nginx when they are on PATH; otherwise a load generator and an upstream written here, each in
its own process (`--loadgen python --upstream-server python` forces those). Everything listens on 127.0.0.1.

    python scripts/bench_proxy.py --quick                  # smoke run, under a minute
    python scripts/bench_proxy.py                          # 3 rounds x 10 s, concurrency 8 and 32, 1 KB JSON
    python scripts/bench_proxy.py --body-size 1k 20k --rounds 5
    python scripts/bench_proxy.py --rounds 0 --long --long-duration 120
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
PATHS = {"1k": "/api/users/42", "20k": "/api/orders"}
REQUEST_HEADERS = [
    ("User-Agent", "bench-proxy/1.0"),
    ("Accept", "application/json"),
    ("Authorization", "Bearer bench-4f9c2a7e1d3b5a6c8e0f"),  # exercises redaction in the store child
    ("X-Consumer", "bench"),
]
PAGE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_TIMEOUT = 600  # seconds a recorder may take to drain its queue after the load
NOISY_CORES = 0.10  # other processes using more than this many cores on average make a run "noisy"
THROUGHPUT_TARGET = 0.90  # (c)/(b) req/s at least this
MEMORY_TARGET = 2.0  # peak RSS of the recording tree against bare mitmdump's
P99_TARGET = 1.20  # (c)/(b) p99 latency at most this


# ---------------------------------------------------------------------------------------------------------
# Bodies


def _item(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "uuid": f"6f1c2b7e-{i:04d}-4a8b-9c3d-2e5f7a9b1c{i % 100:02d}",
        "name": f"Customer {i}",
        "email": f"customer{i}@example.com",
        "active": i % 3 != 0,
        "created_at": f"2024-0{1 + i % 9}-1{i % 10}T12:34:56Z",
        "score": round(i * 1.37 % 100, 2),
        "roles": ["reader", "writer"] if i % 2 else ["reader"],
        "address": {"street": f"{i} Main Street", "city": "Springfield", "zip": f"{10000 + i}"},
        "total": {"amount": 1999 + i, "currency": "EUR"},
    }


def make_body(kind: str) -> bytes:
    """A deterministic JSON body: `1k` is one ~1 KB object, `20k` a ~20 KB list of objects."""
    if kind == "1k":
        obj = _item(42)
        obj["bio"] = ""
        base = len(json.dumps(obj, separators=(",", ":")))
        obj["bio"] = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 30)[: 1024 - base]
        return json.dumps(obj, separators=(",", ":")).encode()
    items: list[dict[str, Any]] = []
    while len(json.dumps(items, separators=(",", ":"))) < 20 * 1024 - 420:
        items.append(_item(len(items) + 1))
    return json.dumps(items, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------------------
# Fallback upstream (a separate process): an asyncio HTTP/1.1 keep-alive server with canned responses


def serve_upstream(port: int) -> None:
    responses = {}
    for kind, path in PATHS.items():
        body = make_body(kind)
        responses[path.encode()] = (
            b"HTTP/1.1 200 OK\r\nServer: bench-upstream\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n" % len(body)
        ) + body
    not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    length_re = re.compile(rb"(?im)^content-length:[ \t]*(\d+)")

    class Server(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.buf = b""

        def data_received(self, data: bytes) -> None:
            buf = self.buf + data if self.buf else data
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                m = length_re.search(buf, 0, end)
                total = end + 4 + (int(m.group(1)) if m else 0)
                if len(buf) < total:
                    break
                line_end = buf.find(b"\r\n")
                parts = buf[:line_end].split(b" ")
                self.transport.write(responses.get(parts[1] if len(parts) > 1 else b"", not_found))
                buf = buf[total:]
            self.buf = buf

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Server, HOST, port, backlog=1024)
        bound = server.sockets[0].getsockname()[1]
        print(f"ready {bound}", flush=True)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.close()

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------------------
# Fallback load generator (a separate process): closed loop, one request in flight per keep-alive connection


def run_load(port: int, path: str, connections: int, warmup: float, duration: float) -> dict[str, Any]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in REQUEST_HEADERS)
        + "\r\n"
    ).encode()
    length_re = re.compile(rb"(?im)^content-length:[ \t]*(\d+)")
    perf = time.perf_counter_ns

    class Run:
        measuring = False
        stopping = False
        latencies: list[int] = []
        ok = 0
        warm = 0
        non2xx = 0
        errors = 0

    run = Run()

    class Client(asyncio.Protocol):
        def __init__(self, done: asyncio.Future[None]) -> None:
            self.done = done
            self.buf = b""
            self.need = -1
            self.status = 0
            self.t0 = 0

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.send()

        def send(self) -> None:
            if run.stopping:
                self.transport.close()
                return
            self.t0 = perf()
            self.transport.write(request)

        def data_received(self, data: bytes) -> None:
            buf = self.buf + data if self.buf else data
            if self.need < 0:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    self.buf = buf
                    return
                m = length_re.search(buf, 0, end)
                if m is None:
                    raise RuntimeError("response without Content-Length")
                self.status = int(buf[9:12])
                self.need = end + 4 + int(m.group(1))
            if len(buf) < self.need:
                self.buf = buf
                return
            elapsed = perf() - self.t0
            self.buf = buf[self.need :]
            self.need = -1
            if run.measuring:
                run.latencies.append(elapsed)
                if 200 <= self.status < 400:
                    run.ok += 1
                else:
                    run.non2xx += 1
            else:
                run.warm += 1
            self.send()

        def connection_lost(self, exc: Exception | None) -> None:
            if not run.stopping:
                run.errors += 1
            if not self.done.done():
                self.done.set_result(None)

    async def connection_loop(loop: asyncio.AbstractEventLoop) -> None:
        while not run.stopping:
            done: asyncio.Future[None] = loop.create_future()
            try:
                await loop.create_connection(lambda: Client(done), HOST, port)  # noqa: B023
            except OSError:
                run.errors += 1
                await asyncio.sleep(0.05)
                continue
            await done

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(connection_loop(loop)) for _ in range(connections)]
        await asyncio.sleep(warmup)
        run.measuring = True
        start = time.perf_counter()
        await asyncio.sleep(duration)
        run.measuring = False
        elapsed = time.perf_counter() - start
        run.stopping = True
        await asyncio.wait(tasks, timeout=10)
        for task in tasks:
            task.cancel()
        lat = sorted(run.latencies)
        return {
            "requests": run.ok + run.non2xx,
            "warmup_requests": run.warm,
            "non2xx": run.non2xx,
            "errors": run.errors,
            "elapsed": elapsed,
            "rps": (run.ok + run.non2xx) / elapsed,
            "p50_ms": _percentile(lat, 50) / 1e6,
            "p99_ms": _percentile(lat, 99) / 1e6,
            "max_ms": (lat[-1] / 1e6) if lat else 0.0,
        }

    return asyncio.run(main())


def _percentile(sorted_values: Sequence[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


# ---------------------------------------------------------------------------------------------------------
# Processes: upstream, proxies, load generators


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def venv_tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def http_get(port: int, path: str, timeout: float = 2.0) -> int:
    """Status of one GET (blocking socket; used to check readiness)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data[9:12]) if len(data) >= 12 else 0


def wait_http(port: int, path: str, proc: subprocess.Popen[bytes] | None, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"bench: {what} exited with {proc.returncode} before it served a request")
        try:
            if http_get(port, path) == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"bench: {what} did not answer on {HOST}:{port} within {timeout:.0f} s")


class Upstream:
    """nginx (one worker) when available, else the asyncio server above, serving both bodies."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> None:
        if self.kind == "nginx":
            self._start_nginx()
        else:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, "_upstream", "--port", "0"],
                stdout=subprocess.PIPE,
                start_new_session=True,
            )
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline().decode()
            if not line.startswith("ready "):
                raise SystemExit("bench: the upstream server did not start")
            self.port = int(line.split()[1])
        for path in PATHS.values():
            wait_http(self.port, path, self.proc, "the upstream")

    def _start_nginx(self) -> None:
        root = self.workdir / "nginx"
        www = root / "www"
        for kind, path in PATHS.items():
            target = www / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(make_body(kind))
        # workers may run as another user when we are root: let them read the files
        for folder in [self.workdir, root, *(p for p in www.rglob("*") if p.is_dir()), www]:
            folder.chmod(0o755)
        for f in www.rglob("*"):
            if f.is_file():
                f.chmod(0o644)
        self.port = free_port()
        conf = root / "nginx.conf"
        conf.write_text(
            f"""
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    default_type application/json;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    client_body_temp_path {root}/tmp_body;
    proxy_temp_path {root}/tmp_proxy;
    fastcgi_temp_path {root}/tmp_fastcgi;
    uwsgi_temp_path {root}/tmp_uwsgi;
    scgi_temp_path {root}/tmp_scgi;
    server {{
        listen {HOST}:{self.port};
        root {www};
    }}
}}
"""
        )
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(root), "-e", str(root / "error.log"), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if self.kind == "python" else signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size: private pages plus a share of those the process shares with others (libraries
    and the interpreter mapped by the proxy and its children alike), so a tree's sum counts each page once."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def hwm_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        fields = stat[stat.rfind(b")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_cpu_seconds() -> float:
    """User + nice + system CPU time of the whole machine so far, plus time stolen by the hypervisor
    (interrupts excluded, as in process times)."""
    with open("/proc/stat", "rb") as f:
        fields = f.readline().split()
    steal = int(fields[8]) if len(fields) > 8 else 0
    return (int(fields[1]) + int(fields[2]) + int(fields[3]) + steal) / CLOCK_TICKS


class CpuWindow:
    """CPU used during a run by each watched process, and by everything that is not ours (machine noise:
    other processes and the hypervisor's steal time)."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self._wall = time.monotonic()
        self._machine = machine_cpu_seconds()
        self._own = self._own_seconds()
        self._each = [cpu_seconds(p) for p in self.pids]

    @staticmethod
    def _own_seconds() -> float:
        t = os.times()  # this process and its reaped children (the load generator)
        return t.user + t.system + t.children_user + t.children_system

    def close(self) -> tuple[float, list[float], float]:
        """(wall seconds, CPU seconds of each watched process, average cores used by other processes)."""
        wall = time.monotonic() - self._wall
        each = [cpu_seconds(p) - c for p, c in zip(self.pids, self._each, strict=True)]
        other = machine_cpu_seconds() - self._machine - (self._own_seconds() - self._own) - sum(each)
        return wall, each, max(0.0, other) / wall if wall > 0 else 0.0


class RssSampler:
    """Samples the summed RSS of a process tree in a thread; `peak` is the largest sum seen."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.peak_pss = 0  # sampled once a second: reading smaps costs the kernel more than statm
        self._next_pss = 0.0
        self.samples: list[tuple[float, int, list[int]]] = []  # (time, total, per-process)
        self._pids = process_tree(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._t0 = time.monotonic()

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def sample(self) -> tuple[int, list[int]]:
        parts = [rss_bytes(p) for p in self._pids]
        total = sum(parts)
        self.peak = max(self.peak, total)
        if time.monotonic() >= self._next_pss:
            self.peak_pss = max(self.peak_pss, sum(pss_bytes(p) for p in self._pids))
            self._next_pss = time.monotonic() + 1.0
        return total, parts

    def _loop(self) -> None:
        rescan = time.monotonic() + 2.0
        while not self._stop.wait(self.interval):
            if time.monotonic() > rescan:  # the store child may have been restarted
                self._pids = process_tree(self.pid)
                rescan = time.monotonic() + 2.0
            total, parts = self.sample()
            self.samples.append((time.monotonic() - self._t0, total, parts))

    def rescan(self) -> None:
        self._pids = process_tree(self.pid)

    def pids(self) -> list[int]:
        return list(self._pids)

    def hwm(self) -> int:
        """Sum of VmHWM over the tree: an upper bound of the peak (the processes may peak at different times)."""
        return sum(hwm_bytes(p) for p in process_tree(self.pid))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Proxy:
    """One proxy process under test: `mitmdump` (bare) or `recorder proxy`."""

    config: str  # "bare", "recorder" or "baseline" (the recorder package from another tree)
    upstream_port: int
    workdir: Path
    tree: Path | None = None
    extra_args: Sequence[str] = ()
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    db: Path | None = None
    stderr_path: Path | None = None
    drain_seconds: float = 0.0
    summary: str = ""

    def start(self, tag: str) -> None:
        self.port = free_port()
        upstream = f"http://{HOST}:{self.upstream_port}"
        env = dict(os.environ)
        if self.config == "bare":
            tool = venv_tool("mitmdump")
            if tool is None:
                raise SystemExit("bench: mitmdump not found (pip install -e .)")
            # the same mitmproxy options as `recorder proxy` (recorder/proxy.py), so only recording differs
            cmd = [tool, "-q", "--mode", f"reverse:{upstream}", "--set", "connection_strategy=lazy"]
            cmd += ["--listen-host", HOST]
            cmd += ["--listen-port", str(self.port)]
        elif self.config == "baseline":
            assert self.tree is not None
            env["PYTHONPATH"] = str(self.tree) + os.pathsep + env.get("PYTHONPATH", "")
            cmd = [
                sys.executable,
                "-c",
                "import sys; from recorder.cli import main; sys.argv[0] = 'recorder'; main()",
            ]
        else:
            tool = venv_tool("recorder")
            cmd = [tool] if tool else [sys.executable, "-c", "from recorder.cli import main; main()"]
        if self.config != "bare":
            self.db = self.workdir / f"{self.config}-{tag}.db"
            cmd += ["proxy", "--upstream", upstream, "--listen-port", str(self.port), "--db", str(self.db)]
            cmd += list(self.extra_args)
        self.stderr_path = self.workdir / f"{self.config}-{tag}.stderr"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=self.workdir, env=env, start_new_session=True
            )
        wait_http(self.port, PATHS["1k"], self.proc, f"{self.config} proxy")

    def stop(self) -> None:
        """SIGINT, then wait until it exits (for the recorder: until everything queued is on disk)."""
        assert self.proc is not None
        start = time.monotonic()
        tree = process_tree(self.proc.pid)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            for pid in tree:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.wait()
            print(f"bench: {self.config} proxy did not stop within {STOP_TIMEOUT} s; killed", file=sys.stderr)
        self.drain_seconds = time.monotonic() - start
        assert self.stderr_path is not None
        text = self.stderr_path.read_text(errors="replace")
        m = re.search(r"recorder: stopped: .*", text)
        self.summary = m.group(0) if m else ""
        if self.config != "bare" and not m:
            print(
                f"bench: recorder proxy did not report its counters; stderr:\n{text[-2000:]}", file=sys.stderr
            )

    def cleanup(self) -> None:
        if self.db is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.db) + suffix).unlink(missing_ok=True)


def db_folded(db: Path) -> int:
    """Exchanges folded into the evidence (the summaries' mark), -1 when unknown."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'summarized_through'").fetchone()
            return int(row[0]) if row and row[0] else 0
        finally:
            conn.close()
    except sqlite3.Error:
        return -1


def db_rows(db: Path) -> int:
    """Exchanges stored so far (read-only; WAL lets us read while the store child writes)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT coalesce(max(id), 0) FROM exchanges").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return -1


class LoadGen:
    """wrk when available, else `run_load` in a child process."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def run(self, port: int, path: str, connections: int, warmup: float, duration: float) -> dict[str, Any]:
        if self.kind == "wrk":
            warm = self._wrk(port, path, connections, warmup) if warmup > 0 else {"requests": 0}
            result = self._wrk(port, path, connections, duration)
            result["warmup_requests"] = warm["requests"]
            return result
        cmd = [sys.executable, __file__, "_load", "--port", str(port), "--path", path]
        cmd += ["--connections", str(connections), "--warmup", str(warmup), "--duration", str(duration)]
        out = subprocess.run(cmd, capture_output=True, check=False, timeout=warmup + duration + 60)
        if out.returncode != 0:
            raise SystemExit(f"bench: load generator failed:\n{out.stderr.decode(errors='replace')}")
        return json.loads(out.stdout)

    def _wrk(self, port: int, path: str, connections: int, duration: float) -> dict[str, Any]:
        cmd = wrk_command(connections, duration)
        for k, v in REQUEST_HEADERS:
            cmd += ["-H", f"{k}: {v}"]
        cmd.append(f"http://{HOST}:{port}{path}")
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=duration + 60)
        if out.returncode != 0 or "Requests/sec" not in out.stdout:
            raise SystemExit(f"bench: wrk failed:\n{out.stdout}\n{out.stderr}")
        return parse_wrk(out.stdout)


def wrk_command(connections: int, duration: float) -> list[str]:
    """wrk on one thread, keep-alive, latency percentiles (add headers, a script and the URL)."""
    return [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "--timeout",
        "10s",
    ]


def parse_wrk(text: str) -> dict[str, Any]:
    """Requests, req/s, p50/p99/max latency (ms), non-2xx answers and socket errors from wrk's report."""
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    assert total is not None
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "requests": int(total.group(1)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "elapsed": _wrk_ms(total.group(2) + total.group(3)) / 1000,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),  # type: ignore[union-attr]
        "p50_ms": _wrk_ms(re.search(r"\s50%\s+([\d.]+\w+)", text).group(1)),  # type: ignore[union-attr]
        "p99_ms": _wrk_ms(re.search(r"\s99%\s+([\d.]+\w+)", text).group(1)),  # type: ignore[union-attr]
        "max_ms": _wrk_ms(re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+\w+)", text).group(1)),  # type: ignore[union-attr]
    }


def _wrk_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if m is None:
        raise ValueError(f"cannot read wrk duration {text!r}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}[m.group(2)]
    return float(m.group(1)) * scale


# ---------------------------------------------------------------------------------------------------------
# The benchmark


@dataclass
class Result:
    body: str
    concurrency: int
    config: str  # direct, bare, recorder
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    peak_rss: int = 0
    hwm: int = 0
    requests: int = 0
    warmup_requests: int = 0
    errors: int = 0
    non2xx: int = 0
    drain_seconds: float = 0.0
    summary: str = ""
    cpu_us: list[float] = field(default_factory=list)  # CPU per request: proxy, then its children (the store)
    other_cores: float = 0.0  # average cores used by processes that are not part of the benchmark
    extra: dict[str, Any] = field(default_factory=dict)
    peak_pss: int = 0  # (set after construction: the fields above are filled by position)


LABELS = {
    "direct": "(a) direct to upstream",
    "bare": "(b) mitmdump, no addon",
    "recorder": "(c) recorder proxy",
    "baseline": "(c0) recorder, --baseline-tree",
}


def wait_until_idle(upstream: Upstream, limit: float) -> None:
    """Wait (at most `limit` s) for a second in which processes not ours use less than `NOISY_CORES`."""
    pids = process_tree(upstream.proc.pid) if upstream.proc is not None else []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        window = CpuWindow(pids)
        time.sleep(1.0)
        if window.close()[2] <= NOISY_CORES:
            return
    print(f"      (the machine stayed busy for {limit:.0f} s; measuring anyway)", flush=True)


def measure(
    config: str,
    body: str,
    conc: int,
    rnd: int,
    upstream: Upstream,
    load: LoadGen,
    workdir: Path,
    warmup: float,
    duration: float,
    tree: Path | None = None,
    extra_args: Sequence[str] = (),
) -> Result:
    path = PATHS[body]
    upstream_pids = process_tree(upstream.proc.pid) if upstream.proc is not None else []
    if config == "direct":
        window = CpuWindow(upstream_pids)
        r = load.run(upstream.port, path, conc, warmup, duration)
        res = Result(body, conc, config, rnd, r["rps"], r["p50_ms"], r["p99_ms"], requests=r["requests"],
                     warmup_requests=r["warmup_requests"], errors=r["errors"], non2xx=r["non2xx"])  # fmt: skip
        res.other_cores = window.close()[2]
        return res
    proxy = Proxy(config, upstream.port, workdir, tree=tree, extra_args=extra_args)
    proxy.start(f"{body}-c{conc}-r{rnd}")
    assert proxy.proc is not None
    sampler = RssSampler(proxy.proc.pid).start()
    proxy_pids = sampler.pids()
    try:
        window = CpuWindow(proxy_pids + upstream_pids)
        r = load.run(proxy.port, path, conc, warmup, duration)
        _, cpu, other = window.close()
        hwm = sampler.hwm()
        rows_at_end = db_rows(proxy.db) if proxy.db is not None else 0
    finally:
        sampler.stop()
        proxy.stop()
    res = Result(body, conc, config, rnd, r["rps"], r["p50_ms"], r["p99_ms"], sampler.peak, hwm,
                 r["requests"], r["warmup_requests"], r["errors"], r["non2xx"], proxy.drain_seconds,
                 proxy.summary)  # fmt: skip
    res.peak_pss = sampler.peak_pss
    served = max(1, r["requests"] + r["warmup_requests"])
    res.cpu_us = [c / served * 1e6 for c in cpu[: len(proxy_pids)]]
    res.other_cores = other
    if proxy.db is not None:
        res.extra["rows_at_end"] = rows_at_end
        res.extra["rows"] = db_rows(proxy.db)
        res.extra["folded"] = db_folded(proxy.db)
    proxy.cleanup()
    return res


def mb(n: float) -> str:
    return f"{n / (1 << 20):.1f}"


def print_run(res: Result) -> None:
    line = (
        f"  round {res.round + 1} c={res.concurrency:<3} {LABELS[res.config]:<24} {res.rps:>10,.0f} req/s"
        f"  p50 {res.p50_ms:7.2f} ms  p99 {res.p99_ms:7.2f} ms"
    )
    if res.config != "direct":
        line += f"  peak RSS {mb(res.peak_rss):>6} MB (HWM sum {mb(res.hwm)}, PSS {mb(res.peak_pss)})"
    if res.cpu_us:
        line += f"\n      CPU per request: proxy {res.cpu_us[0]:,.0f} us"
        if len(res.cpu_us) > 1:
            line += f" + its store process {sum(res.cpu_us[1:]):,.0f} us"
    if res.errors or res.non2xx:
        line += f"  [{res.errors} socket errors, {res.non2xx} non-2xx]"
    if res.other_cores > NOISY_CORES:
        line += f"  [NOISY: other processes or steal used {res.other_cores:.2f} cores]"
    if res.config in ("recorder", "baseline"):
        sent = res.requests + res.warmup_requests
        line += f"\n      {res.summary or 'no summary'}; {sent} requests sent (incl. warm-up); "
        line += f"{res.extra.get('rows_at_end', '?')} rows stored when the load stopped, "
        line += f"{res.extra.get('rows', '?')} after stop + drain ({res.drain_seconds:.1f} s), "
        line += f"{res.extra.get('folded', '?')} folded into the evidence"
    print(line, flush=True)


def summarize(results: list[Result], bodies: Sequence[str], concs: Sequence[int]) -> list[str]:
    """Print the table of medians and the (c)/(b) ratios; returns the targets missed.

    Ratios are medians of per-round ratios: (b) and (c) of one round run back to back, so each pair shares
    the machine's state of that moment; the ratio of the medians is printed too.
    """
    missed: list[str] = []
    configs = [c for c in LABELS if any(r.config == c for r in results)]
    for body in bodies:
        for conc in concs:
            rows = {c: [r for r in results if r.body == body and r.concurrency == conc and r.config == c]
                    for c in configs}  # fmt: skip
            if not rows.get("bare") or not rows.get("recorder"):
                continue
            keys = ("rps", "p50_ms", "p99_ms", "peak_rss", "peak_pss")
            med = {
                c: {k: statistics.median(getattr(r, k) for r in rs) for k in keys} for c, rs in rows.items()
            }
            print(f"\nbody {body} ({len(make_body(body)):,} bytes), concurrency {conc}, "
                  f"median of {len(rows['bare'])} round(s)")  # fmt: skip
            print(
                f"  {'':<30}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'peak RSS MB':>13}{'peak PSS MB':>13}"
            )
            for c, m in med.items():
                rss = mb(m["peak_rss"]) if c != "direct" else "-"
                pss = mb(m["peak_pss"]) if c != "direct" else "-"
                print(
                    f"  {LABELS[c]:<30}{m['rps']:>10,.0f}{m['p50_ms']:>10.2f}{m['p99_ms']:>10.2f}{rss:>13}{pss:>13}"
                )
            verdict: dict[str, float] = {}
            for c in [c for c in ("recorder", "baseline") if c in rows]:
                of_medians = {k: med[c][k] / med["bare"][k] if med["bare"][k] else float("nan") for k in keys}
                paired = {
                    k: statistics.median(
                        getattr(x, k) / getattr(b, k) for b, x in zip(rows["bare"], rows[c], strict=False)
                    )
                    for k in keys
                }
                name = LABELS[c].split()[0] + "/(b)"
                print(f"  {name + ', per-round median':<30}" + "".join(
                    f"{paired[k]:>{w}.3f}" for k, w in zip(keys, (10, 10, 10, 13, 13), strict=True)))  # fmt: skip
                print(f"  {name + ', of the medians':<30}" + "".join(
                    f"{of_medians[k]:>{w}.3f}" for k, w in zip(keys, (10, 10, 10, 13, 13), strict=True)))  # fmt: skip
                each = [x.rps / b.rps for b, x in zip(rows["bare"], rows[c], strict=False)]
                if len(each) > 1:
                    print(f"  {name} req/s by round: {', '.join(f'{p:.3f}' for p in each)}")
                if c == "recorder":
                    verdict = paired
            noisy = sum(r.other_cores > NOISY_CORES for rs in rows.values() for r in rs)
            if noisy:
                print(
                    f"  {noisy} run(s) were NOISY (other processes or steal > {NOISY_CORES} cores): rerun when idle"
                )
            if "direct" in med:
                speedup = med["direct"]["rps"] / med["bare"]["rps"]
                note = "" if speedup >= 5 else "  WARNING: the load generator or upstream may be a bottleneck"
                print(f"  direct/(b) req/s: {speedup:.1f}x{note}")
            cost = 1 - verdict["rps"]
            p99 = verdict["p99_ms"] - 1
            ok_thr = verdict["rps"] >= THROUGHPUT_TARGET
            ok_p99 = verdict["p99_ms"] <= P99_TARGET
            print(
                f"  recording costs {cost:+.1%} throughput (target <= 10%: {'met' if ok_thr else 'MISSED'}), "
                f"{p99:+.1%} on p99 (target <= 20%: {'met' if ok_p99 else 'MISSED'})"
            )
            ok_mem = verdict["peak_rss"] <= MEMORY_TARGET
            print(
                f"  memory: peak RSS of the tree {verdict['peak_rss']:.2f}x bare mitmdump's (target <= "
                f"{MEMORY_TARGET:g}x: {'met' if ok_mem else 'MISSED'}); peak PSS (shared pages counted once) "
                f"{verdict['peak_pss']:.2f}x"
            )
            if not ok_mem:
                missed.append(f"{body} c={conc} RSS {verdict['peak_rss']:.2f}x")
            if not ok_thr:
                missed.append(f"{body} c={conc} throughput {cost:+.1%}")
            if not ok_p99:
                missed.append(f"{body} c={conc} p99 {p99:+.1%}")
    return missed


def long_run(
    upstream: Upstream,
    load: LoadGen,
    workdir: Path,
    body: str,
    conc: int,
    duration: float,
    interval: float,
    extra_args: Sequence[str] = (),
) -> None:
    """Record at full load for `duration` s, sampling the RSS of the proxy tree every `interval` s."""
    print(
        f"\nlong run: recorder proxy, body {body}, concurrency {conc}, {duration:.0f} s, RSS every {interval:.0f} s"
    )
    proxy = Proxy("recorder", upstream.port, workdir, extra_args=extra_args)
    proxy.start("long")
    assert proxy.proc is not None and proxy.db is not None
    sampler = RssSampler(proxy.proc.pid, interval=interval)
    series: list[tuple[float, int, list[int], int]] = []
    result: dict[str, Any] = {}

    def drive() -> None:
        result.update(load.run(proxy.port, PATHS[body], conc, 0, duration))

    driver = threading.Thread(target=drive)
    t0 = time.monotonic()
    driver.start()
    print(f"  {'t s':>6}{'tree RSS MB':>13}{'per process MB':>28}{'rows':>10}")
    while driver.is_alive():
        driver.join(max(0.0, t0 + (len(series) + 1) * interval - time.monotonic()))
        if not driver.is_alive():
            break
        sampler.rescan()
        total, parts = sampler.sample()
        rows = db_rows(proxy.db)
        series.append((time.monotonic() - t0, total, parts, rows))
        print(
            f"  {series[-1][0]:6.0f}{mb(total):>13}{' + '.join(mb(p) for p in parts):>28}{rows:>10}",
            flush=True,
        )
    hwm = sampler.hwm()
    proxy.stop()
    sent = result.get("requests", 0) + result.get("warmup_requests", 0)
    print(f"  load: {result.get('rps', 0):,.0f} req/s, p50 {result.get('p50_ms', 0):.2f} ms, "
          f"p99 {result.get('p99_ms', 0):.2f} ms, {sent} requests; HWM sum {mb(hwm)} MB")  # fmt: skip
    print(f"  {proxy.summary}; stop + drain {proxy.drain_seconds:.1f} s; {db_rows(proxy.db)} rows in the db")
    proxy.cleanup()
    if len(series) < 4:
        print("  too few samples for a slope; use a longer --long-duration")
        return
    xs = [s[0] for s in series]
    ys = [s[1] / (1 << 20) for s in series]
    half = len(series) // 2
    slope_all = _slope(xs, ys) * 60
    slope_late = _slope(xs[half:], ys[half:]) * 60
    growth = statistics.mean(ys[-max(1, len(ys) // 4) :]) - statistics.mean(
        ys[half - max(1, len(ys) // 4) : half]
    )
    flat = abs(slope_late) * (xs[-1] - xs[half]) / 60 < max(2.0, 0.03 * statistics.mean(ys[half:]))
    print(
        f"  RSS slope: {slope_all:+.2f} MB/min over the run, {slope_late:+.2f} MB/min over the second half; "
        f"last quarter vs second quarter {growth:+.1f} MB -> {'flat' if flat else 'GROWING'}"
        " (flat: the second-half trend adds < max(2 MB, 3%))"
    )


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_upstream":
        p = argparse.ArgumentParser()
        p.add_argument("--port", type=int, default=0)
        serve_upstream(p.parse_args(argv[1:]).port)
        return 0
    if argv and argv[0] == "_load":
        p = argparse.ArgumentParser()
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--path", required=True)
        p.add_argument("--connections", type=int, required=True)
        p.add_argument("--warmup", type=float, required=True)
        p.add_argument("--duration", type=float, required=True)
        a = p.parse_args(argv[1:])
        print(json.dumps(run_load(a.port, a.path, a.connections, a.warmup, a.duration)))
        return 0

    # stop cleanly (proxies, nginx) on Ctrl-C or SIGTERM, even when started in the background with SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    parser = argparse.ArgumentParser(
        prog="bench_proxy.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run (default 10)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured seconds before each run (default 2)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (a), (b), (c) (default 3; 0: skip)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[8, 32], help="connections (default 8 32)"
    )
    parser.add_argument(
        "--body-size",
        nargs="+",
        choices=sorted(PATHS),
        default=["1k"],
        help="1k: a JSON object; 20k: a JSON list",
    )
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--upstream-server", choices=["auto", "nginx", "python"], default="auto")
    parser.add_argument("--long", action="store_true", help="then record at full load and track RSS")
    parser.add_argument(
        "--long-duration", type=float, default=90.0, help="seconds of the long run (default 90)"
    )
    parser.add_argument(
        "--long-interval", type=float, default=5.0, help="seconds between RSS samples (default 5)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round x 3 s (under a minute)")
    parser.add_argument(
        "--recorder-args",
        default="",
        help="extra arguments for `recorder proxy` in (c) and (c0), e.g. '--no-follow'",
    )
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        help="also run (c0): `recorder proxy` with the recorder package from this folder first on\n"
        "PYTHONPATH (e.g. `git archive HEAD recorder | tar -x -C /tmp/base`), to compare a change",
    )
    parser.add_argument(
        "--retry-noisy",
        type=int,
        default=0,
        help="wait for an idle machine before each run and repeat a run up to N times while other\n"
        "processes use more than 0.1 cores during it (default 0: report noisy runs, do not repeat)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup = min(args.rounds, 1), 3.0, 1.0
        args.long_duration, args.long_interval = min(args.long_duration, 20.0), min(args.long_interval, 2.0)
    if args.baseline_tree is not None:
        args.baseline_tree = args.baseline_tree.resolve()
        package = args.baseline_tree / "recorder"
        if not ((package / "capture.py").is_file() or (package / "capture" / "addon.py").is_file()):
            parser.error(
                f"--baseline-tree {args.baseline_tree}: no recorder package with a capture addon in it"
            )
    if any(c < 1 for c in args.concurrency) or args.duration <= 0 or args.warmup < 0:
        parser.error("--concurrency must be >= 1, --duration > 0, --warmup >= 0")

    load_kind = args.loadgen if args.loadgen != "auto" else ("wrk" if shutil.which("wrk") else "python")
    up_kind = (
        args.upstream_server
        if args.upstream_server != "auto"
        else ("nginx" if shutil.which("nginx") else "python")
    )
    for kind, tool in ((load_kind, "wrk"), (up_kind, "nginx")):
        if kind == tool and not shutil.which(tool):
            parser.error(f"{tool} is not on PATH")
    import mitmproxy.version

    print(
        f"bench_proxy: python {sys.version.split()[0]}, mitmproxy {mitmproxy.version.VERSION}, "
        f"{os.cpu_count()} CPUs; load: {load_kind} (closed loop, keep-alive); upstream: {up_kind}; "
        f"{args.rounds} round(s) x ({args.warmup:g} s warm-up + {args.duration:g} s)",
        flush=True,
    )
    recorder_args = shlex.split(args.recorder_args)
    configs = ["bare", "recorder"] + (["baseline"] if args.baseline_tree else [])
    orders = [list(p) for p in itertools.permutations(configs)]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        workdir = Path(tmp)
        upstream = Upstream(up_kind, workdir)
        load = LoadGen(load_kind)
        upstream.start()
        try:
            for rnd in range(args.rounds):
                # every order in turn (b,c then c,b; with --baseline-tree all six), so drift spreads evenly
                order = orders[rnd % len(orders)]
                for body in args.body_size:
                    for conc in args.concurrency:
                        for config in ["direct", *order]:
                            for attempt in range(args.retry_noisy + 1):
                                if attempt or args.retry_noisy:
                                    wait_until_idle(upstream, 60.0)
                                res = measure(
                                    config,
                                    body,
                                    conc,
                                    rnd,
                                    upstream,
                                    load,
                                    workdir,
                                    args.warmup,
                                    args.duration,
                                    tree=args.baseline_tree,
                                    extra_args=recorder_args,
                                )
                                print_run(res)
                                if res.other_cores <= NOISY_CORES or attempt == args.retry_noisy:
                                    break
                                print("      (noisy: measured again)", flush=True)
                            results.append(res)
            missed = summarize(results, args.body_size, args.concurrency) if results else []
            if args.long:
                long_run(
                    upstream,
                    load,
                    workdir,
                    args.body_size[0],
                    max(args.concurrency),
                    args.long_duration,
                    args.long_interval,
                    recorder_args,
                )
        finally:
            upstream.stop()
    if results:
        print("\ntargets " + ("met" if not missed else "MISSED: " + "; ".join(missed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
