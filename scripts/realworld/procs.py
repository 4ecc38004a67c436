"""Subprocesses of the harness: every server is registered and stopped on exit, Ctrl-C and SIGTERM included.

Each server runs in its own session (process group), so a terminal's Ctrl-C reaches only the harness, which
then stops the servers in order: the recording proxy with SIGINT first (it drains to disk), others with
SIGTERM; whatever is left of a group after its leader exited is ended by group id.
"""

from __future__ import annotations

import atexit
import http.client
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
RECORDER = [sys.executable, "-m", "recorder"]
RECORDER_CWD = ROOT  # `python -m recorder` imports the recorder/ package of this directory (--recorder-src)
_LIVE: dict[int, Server] = {}
_LOCK = threading.Lock()


class Server:
    """A child process whose output is read by a thread (last lines kept) and matched for a ready line."""

    def __init__(
        self,
        name: str,
        args: list[str],
        ready: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
        unlimited: bool = False,
    ) -> None:
        self.name = name
        self.args = args
        self.stop_signal = stop_signal
        self.lines: deque[str] = deque(maxlen=400)
        self.all_text: list[str] = []  # lines matching `keep` (e.g. the proxy's summary line)
        self.ready_re = re.compile(ready) if ready else None
        self.match: re.Match[str] | None = None
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            cwd=cwd or ROOT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=_unlimited if unlimited else None,
        )
        with _LOCK:
            _LIVE[self.proc.pid] = self
        self._reader = threading.Thread(target=self._read, name=f"read-{name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            if "Traceback" in line or "stopped:" in line or "Error" in line[:80]:
                self.all_text.append(line)
            if self.ready_re is not None and self.match is None:
                m = self.ready_re.search(line)
                if m:
                    self.match = m
                    self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float) -> re.Match[str] | None:
        self._ready.wait(timeout)
        return self.match

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, n: int = 5) -> str:
        return " | ".join(list(self.lines)[-n:])

    def stop(self, timeout: float = 60) -> int | None:
        """Stop signal, then SIGTERM, then SIGKILL to the group; returns the exit code."""
        for sig, wait in ((self.stop_signal, timeout), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if self.proc.poll() is not None:
                break
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        try:  # leftovers of the group (children of the leader)
            os.killpg(self.proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        self._reader.join(5)
        with _LOCK:
            _LIVE.pop(self.proc.pid, None)
        return self.proc.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def stop_all() -> None:
    with _LOCK:
        servers = list(_LIVE.values())
    for server in servers:
        try:
            server.stop(timeout=20)
        except Exception:
            pass


def _on_signal(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install_cleanup() -> None:
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)


MEMORY_LIMIT = 8 << 30  # bytes of address space for the harness and its Python children


def limit_memory() -> None:
    """A runaway computation (the harness's or a recorder command's) stops with MemoryError instead of
    swapping out the machine; node (Prism) gets the limit lifted again (V8 reserves address space)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft > MEMORY_LIMIT:
        resource.setrlimit(
            resource.RLIMIT_AS,
            (MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard), hard),
        )


def _unlimited() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float, path: str = "/", server: Server | None = None) -> bool:
    """Poll until an HTTP answer (any status) comes from `url` + `path`; False on timeout or early exit."""
    parts = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = parts.partition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and not server.alive():
            return False
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return True
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
    return False


# ---------------------------------------------------------------------------------------------------------
# the servers of the harness

LISTEN_RE = r"listening on (http://[\d.]+:\d+)"
STUB_RE = r"on (http://[\d.]+:\d+)"


def start_proxy(upstream: str, db: Path, provider: str) -> tuple[Server, str | None]:
    server = Server(
        f"proxy-{provider}",
        [
            *RECORDER,
            "proxy",
            "--upstream",
            upstream,
            "--listen-port",
            "0",
            "--db",
            str(db),
            "--provider",
            provider,
        ],
        ready=LISTEN_RE,
        stop_signal=signal.SIGINT,
        cwd=RECORDER_CWD,
    )
    match = server.wait_ready(90)
    return server, match.group(1) if match else None


def start_prism(prism: Path, spec_file: Path, seed: int, preload: Path) -> tuple[Server, str | None]:
    """`prism mock -d` on a free loopback port; Math.random seeded by `preload` (see prism_seed.js)."""
    port = free_port()
    server = Server(
        "prism",
        [
            str(prism),
            "mock",
            "-d",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--json-schema-faker-fillProperties=false",
            "-v",
            "warn",
            str(spec_file),
        ],
        env={"NODE_OPTIONS": f"--require {preload}", "PRISM_RANDOM_SEED": str(seed)},
        unlimited=True,
    )
    url = f"http://127.0.0.1:{port}"
    ok = wait_http(url, 120, "/__harness_ready_probe__", server)
    return server, url if ok else None


def start_stub(contract: Path, seed: int) -> tuple[Server, str | None]:
    server = Server(
        "stub",
        [*RECORDER, "stub", "--contract", str(contract), "--port", "0", "--seed", str(seed)],
        ready=STUB_RE,
        cwd=RECORDER_CWD,
    )
    match = server.wait_ready(90)
    return server, match.group(1) if match else None


def run_cli(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`recorder ARGS` as a subprocess; a timeout is reported as exit code 124."""
    try:
        return subprocess.run(
            [*RECORDER, *args],
            capture_output=True,
            text=True,
            cwd=RECORDER_CWD,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return subprocess.CompletedProcess(exc.cmd, 124, out, err + f"\n(timed out after {timeout:.0f} s)")
