"""Real components for tests: an upstream with awkward responses, and `recorder proxy` as a subprocess."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RECORDER = [sys.executable, "-m", "recorder"]
BIG = 10 * 1024 * 1024


JSON_HEADERS = ({"name": "Content-Type", "value": "application/json"},)


def har_entry(
    method: str,
    url: str,
    status: int,
    body: object,
    started: str,
    *,
    request_headers: Sequence[dict[str, str]] = (),
    response_headers: Sequence[dict[str, str]] = JSON_HEADERS,
    **request: object,
) -> dict[str, Any]:
    """One HAR 1.2 entry: a JSON `body` answered with `status` (extra `request` fields, e.g. `postData`)."""
    text = json.dumps(body)
    return {
        "startedDateTime": started,
        "time": 12.5,
        "request": {
            "method": method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "headers": list(request_headers),
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": 0,
            **request,
        },
        "response": {
            "status": status,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": list(response_headers),
            "cookies": [],
            "content": {"size": len(text), "mimeType": "application/json", "text": text},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 12, "receive": 0.5},
    }


def har_file(path: Path, entries: Sequence[dict[str, Any]]) -> Path:
    """Write a HAR 1.2 file of these entries."""
    path.write_text(
        json.dumps(
            {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": list(entries)}}
        )
    )
    return path


def payload_bytes(name: str, size: int) -> bytes:
    """Deterministic pseudo-random bytes."""
    out = bytearray()
    seed = name.encode()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[:size])


class Upstream(BaseHTTPRequestHandler):
    """Responses that stress a proxy: encodings, chunking, binary, big, empty, HEAD, errors, echo."""

    protocol_version = "HTTP/1.1"
    server_version = "upstream/1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path.startswith("/echo"):
            ctype = self.headers.get("Content-Type") or "application/octet-stream"
            return self._send(200, body, ctype)
        return self._send(200, json.dumps({"received": len(body)}).encode(), "application/json")

    def do_PUT(self) -> None:
        self.do_POST()

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/json":
            return self._send(
                200, json.dumps({"id": 7, "name": "seven", "tags": ["a", "b"]}).encode(), "application/json"
            )
        if path == "/gzip":
            raw = json.dumps({"items": [{"n": i} for i in range(200)]}).encode()
            return self._send(
                200, gzip.compress(raw, mtime=0), "application/json", {"Content-Encoding": "gzip"}
            )
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                for i in range(20):
                    chunk = f"chunk {i}\n".encode() * 50
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            return None
        if path == "/binary":
            return self._send(200, payload_bytes("binary", 64 * 1024), "application/octet-stream")
        if path == "/large":
            return self._send(200, payload_bytes("large", BIG), "application/octet-stream")
        if path == "/large-json":
            items = [{"i": i, "s": "x" * 90} for i in range(100_000)]
            return self._send(200, json.dumps(items).encode(), "application/json")
        if path == "/204":
            self.send_response(204)
            self.send_header("X-Thing", "none")
            self.end_headers()
            return None
        if path == "/304":
            self.send_response(304)
            self.send_header("ETag", '"abc"')
            self.end_headers()
            return None
        if path == "/500":
            return self._send(500, b'{"error":"boom"}', "application/json")
        if path == "/hostile/invalid-json":
            return self._send(200, b'{"a": [1, 2,, }', "application/json")
        if path == "/hostile/deep":
            return self._send(200, b"[" * 5000 + b"]" * 5000, "application/json")
        if path == "/hostile/wide":
            return self._send(200, json.dumps(list(range(200_000))).encode(), "application/json")
        if path == "/hostile/non-utf8":
            return self._send(200, b'{"name": "\xff\xfe\xfa"}', "application/json; charset=utf-8")
        if path == "/hostile/nan":
            return self._send(200, b'{"x": NaN, "y": Infinity, "z": -Infinity}', "application/json")
        if path == "/hostile/dupes":
            return self._send(200, b'{"a": 1, "a": "two", "a": null}', "application/json")
        if path == "/hostile/big-json":
            body = b'{"blob": "' + b"A" * BIG + b'"}'
            return self._send(200, body, "application/json")
        if path.startswith("/secrets"):
            return self._secrets()
        return self._send(404, b'{"error":"not found"}', "application/json")

    def _secrets(self) -> None:
        secret = self.headers.get("X-Echo-Secret", "")
        body = json.dumps(
            {"session": {"token": secret}, "note": f"send Authorization: Bearer {secret}"}
        ).encode()
        self._send(200, body, "application/json", {"Set-Cookie": f"sid={secret}; Path=/; HttpOnly"})

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler] = Upstream) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1:0 in a thread; yields the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


LISTEN_RE = re.compile(r"listening on (http://[\d.]+:\d+)")


class ProxyProcess:
    """`recorder proxy` running as a real subprocess."""

    def __init__(self, args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            [*RECORDER, "proxy", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env={**os.environ, **(env or {})},
        )
        self.stderr_lines: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)
            match = LISTEN_RE.search(line)
            if match and not self._ready.is_set():
                self.url = match.group(1)
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = 30) -> str:
        self._ready.wait(timeout)
        if self.url is None:
            self.proc.kill()
            raise AssertionError("proxy did not start:\n" + "".join(self.stderr_lines))
        return self.url

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def children(self, module: str = "") -> list[int]:
        """Pids of the proxy's child processes (the store process, the follower), optionally by module."""
        pids: list[int] = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            text = (task / "children").read_text().split()
            pids.extend(int(p) for p in text)
        if module:
            pids = [p for p in pids if module.encode() in Path(f"/proc/{p}/cmdline").read_bytes()]
        return pids


@contextmanager
def running_proxy(upstream: str, db: Path, *extra: str, **kw: Any) -> Iterator[ProxyProcess]:
    """A `recorder proxy` in front of `upstream`, stopped (SIGTERM) on exit."""
    proxy = ProxyProcess(["--upstream", upstream, "--listen-port", "0", "--db", str(db), *extra], **kw)
    try:
        proxy.wait_ready()
        yield proxy
    finally:
        if proxy.proc.poll() is None:
            proxy.stop()


# Commands that serve, spawn processes or handle signals run as real subprocesses; the others in-process.
SUBPROCESS_COMMANDS = frozenset({"proxy", "stub", "import", "demo"})


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120, subprocess_: bool = False
) -> subprocess.CompletedProcess[str]:
    """The real CLI: in-process through typer's CliRunner (fast), or as a subprocess (`python -m recorder`)
    for the commands in `SUBPROCESS_COMMANDS` and when asked."""
    if subprocess_ or (args and args[0] in SUBPROCESS_COMMANDS):
        return subprocess.run([*RECORDER, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)
    return invoke_cli(*args, cwd=cwd)


def invoke_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """One command line run in this process with typer's CliRunner: stdout, stderr and the exit code as
    `recorder` would give them (`recorder.cli.run` is what the console script calls)."""
    from typer.testing import CliRunner

    from recorder.cli import run

    here = os.getcwd()
    with CliRunner().isolation() as (stdout, stderr, _):
        try:
            if cwd is not None:
                os.chdir(cwd)
            code = run(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.chdir(here)
            sys.stdout.flush()  # the runner's streams buffer text: flush before reading them
            sys.stderr.flush()
        out, err = stdout.getvalue().decode("utf-8", "replace"), stderr.getvalue().decode("utf-8", "replace")
    return subprocess.CompletedProcess(list(args), code, out, err)


def db_rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows from a recorder database (read-only)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll until `predicate()` is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
