"""Serving a stub: a loopback socket, uvicorn on a background thread, `start_stub(contract)`."""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recorder.errors import RecorderError
from recorder.model import Contract
from recorder.verify.stub.server import Stub, stub_from_file


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; `RecorderError` when the port is taken or the host is unknown."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RecorderError(f"cannot listen on {host}: {exc.strerror}.") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)  # proto=IPPROTO_TCP, so asyncio sets TCP_NODELAY on connections
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise RecorderError(
                f"port {port} on {host} is in use.",
                tip="choose another with --port, or --port 0 for a free one.",
            ) from None
        raise RecorderError(f"cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class RunningStub:
    """A stub (or any ASGI app) served by uvicorn on a background thread; a context manager (`.url`, `.stop()`)."""

    def __init__(self, stub: Stub | Callable[..., Any], sock: socket.socket) -> None:
        import uvicorn

        self.stub = stub
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self.host, self.port = host, port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        config = uvicorn.Config(
            stub,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"stub:{port}", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # surfaced by start() / stop()
            self._error = exc

    def start(self, timeout: float = 10.0) -> RunningStub:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RecorderError(f"the stub did not start on {self.url}: {self._error or 'timed out'}.")
            time.sleep(0.002)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the server thread to end."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        try:
            self._sock.close()
        except OSError:
            pass

    @property
    def running(self) -> bool:
        """True while the server thread runs."""
        return self._thread.is_alive()

    def __enter__(self) -> RunningStub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_stub(
    contract: Contract | Stub | Path | str, host: str = "127.0.0.1", port: int = 0, seed: int = 0
) -> RunningStub:
    """Serve a stub of `contract` (a `Contract`, a ready `Stub`, or an OpenAPI/Pact file) on a background thread."""
    if isinstance(contract, Stub):
        stub = contract
    elif isinstance(contract, Contract):
        stub = Stub(contract, seed=seed)
    else:
        stub = stub_from_file(contract, seed=seed)
    return RunningStub(stub, bind(host, port)).start()
