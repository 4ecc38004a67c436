"""Runs mitmproxy in-process with the `Recorder` addon, for `recorder proxy` and the demo."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mitmproxy import exceptions, log, options
from mitmproxy.tools.dump import DumpMaster

from recorder.capture.addon import Recorder
from recorder.errors import RecorderError

logger = logging.getLogger("recorder")


class ProxyError(RecorderError):
    """The proxy could not start (bad upstream, port in use, bad option)."""


@dataclass
class ProxyConfig:
    """Everything `recorder proxy` needs; `mitmproxy_options` passes extra mitmproxy options through."""

    db: str | Path  # a SQLite file or a postgresql:// URL
    upstream: str | None = None
    mode: str = "reverse"
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    provider: str | None = None
    consumer_header: str = "X-Consumer"
    include: str = ""
    exclude: str = ""
    max_body: int = 1 << 20
    config: Path | None = None
    no_redact: bool = False
    contract: Path | None = None  # live drift against this contract
    metrics_port: int = 0  # Prometheus metrics (0: off)
    follow: bool = True  # keep evidence and retention current in the store process
    mitmproxy_options: dict[str, Any] = field(default_factory=dict)


def validate_upstream(upstream: str | None, mode: str) -> str | None:
    """Check the upstream URL for reverse mode: `http(s)://host[:port]`."""
    if mode == "regular":
        if upstream:
            raise ProxyError("--upstream is only used in reverse mode; drop it or use --mode reverse.")
        return None
    if mode != "reverse":
        raise ProxyError(f"unknown --mode {mode!r}: use 'reverse' or 'regular'.")
    if not upstream:
        raise ProxyError("reverse mode needs --upstream URL, e.g. --upstream http://127.0.0.1:8000.")
    parts = urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProxyError(f"bad --upstream {upstream!r}: expected http://host[:port] or https://host[:port].")
    try:
        _ = parts.port
    except ValueError:
        raise ProxyError(f"bad --upstream {upstream!r}: the port is not a number.") from None
    if parts.path not in ("", "/") or parts.query:
        raise ProxyError(f"bad --upstream {upstream!r}: give only scheme, host and port (no path).")
    return f"{parts.scheme}://{parts.netloc}"


class _StartupErrors(log.MitmLogHandler):
    """Collects ERROR log records while the proxy starts (replaces mitmproxy's exit-on-error check)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _Lifecycle:
    """Addon that notices startup failures and reports the bound address."""

    def __init__(self, master: DumpMaster, on_running: Callable[[list[tuple[str, int]]], None]) -> None:
        self.master = master
        self.on_running = on_running
        self.errors = _StartupErrors()
        self.errors.install()
        self.startup_error: str | None = None

    def running(self) -> None:
        self.errors.uninstall()
        if self.errors.records:
            self.startup_error = self.errors.records[0].getMessage()
            self.master.shutdown()
            return
        addrs = self.master.addons.get("proxyserver").listen_addrs()
        self.on_running([(a[0], a[1]) for a in addrs])


class RecordingProxy:
    """A mitmproxy `DumpMaster` with our addon; `run()` blocks until `stop()` or a signal."""

    def __init__(self, cfg: ProxyConfig, on_running: Callable[[list[tuple[str, int]]], None] | None = None):
        self.cfg = cfg
        self.upstream = validate_upstream(cfg.upstream, cfg.mode)
        self.recorder = Recorder()
        self.addresses: list[tuple[str, int]] = []
        self.ready = threading.Event()
        self._on_running = on_running
        self._master: DumpMaster | None = None
        self._lifecycle: _Lifecycle | None = None

    def _running(self, addrs: list[tuple[str, int]]) -> None:
        self.addresses = addrs
        self.ready.set()
        if self._on_running:
            self._on_running(addrs)

    async def _main(self, install_signals: bool) -> None:
        cfg = self.cfg
        mode = f"reverse:{self.upstream}" if cfg.mode == "reverse" else "regular"
        opts = options.Options(listen_host=cfg.listen_host, listen_port=cfg.listen_port, mode=[mode])
        master = DumpMaster(opts, with_termlog=False, with_dumper=False)
        check = master.addons.get("errorcheck")
        if check is not None:
            check.finish()
            master.addons.remove(check)
        self._lifecycle = _Lifecycle(master, self._running)
        master.addons.add(self.recorder, self._lifecycle)
        try:
            updates: dict[str, Any] = {
                # Connect upstream when a request arrives, so an unreachable provider becomes a recorded
                # failed exchange (and a 502 for the client) rather than a silently closed connection.
                "connection_strategy": "lazy",
                "recorder_db": str(cfg.db),
                "recorder_provider": cfg.provider or "",
                "recorder_consumer_header": cfg.consumer_header,
                "recorder_include": cfg.include,
                "recorder_exclude": cfg.exclude,
                "recorder_max_body": cfg.max_body,
                "recorder_config": str(cfg.config) if cfg.config else "",
                "recorder_no_redact": cfg.no_redact,
                "recorder_contract": str(cfg.contract) if cfg.contract else "",
                "recorder_metrics_port": cfg.metrics_port,
                "recorder_follow": cfg.follow,
            }
            if cfg.mitmproxy_options:
                opts.set(*(f"{k}={v}" for k, v in cfg.mitmproxy_options.items()))
            opts.update(**updates)
        except (exceptions.OptionsError, KeyError) as exc:
            self._lifecycle.errors.uninstall()
            self.recorder.done()
            raise ProxyError(_one_line(str(exc))) from None
        self._master = master
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_quiet_cancellations)
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, master.shutdown)
        try:
            await master.run()
        finally:
            self.ready.set()
        if self._lifecycle.startup_error:
            raise ProxyError(_startup_message(self._lifecycle.startup_error, cfg))

    def run(self, install_signals: bool = True) -> dict[str, Any]:
        """Serve until stopped; returns the final counters (recorded, dropped, errors)."""
        asyncio.run(self._main(install_signals))
        return self.recorder.final or {"recorded": 0, "dropped": self.recorder.dropped, "errors": 0}

    def stop(self) -> None:
        """Stop serving (thread-safe); `run()` returns once everything queued is on disk."""
        if self._master is not None:
            self._master.shutdown()


class BackgroundProxy:
    """A `RecordingProxy` serving on a background thread: `with BackgroundProxy(cfg) as proxy: ... proxy.url`.

    Leaving the block stops it; `counters` then holds what it recorded (everything answered is on disk)."""

    def __init__(self, cfg: ProxyConfig, start_timeout: float = 30.0) -> None:
        self.proxy = RecordingProxy(cfg)
        self.counters: dict[str, Any] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="recorder-proxy", daemon=True)
        self._timeout = start_timeout

    def _serve(self) -> None:
        try:
            self.counters = self.proxy.run(install_signals=False)
        except BaseException as exc:  # reported by start() or stop()
            self._error = exc
            self.proxy.ready.set()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`: where consumers send their requests."""
        host, port = self.proxy.addresses[0]
        return f"http://{host}:{port}"

    def start(self) -> BackgroundProxy:
        self._thread.start()
        if not self.proxy.ready.wait(self._timeout) or self._error is not None or not self.proxy.addresses:
            self.stop()
            if isinstance(self._error, RecorderError):
                raise self._error
            raise ProxyError(f"the proxy did not start within {self._timeout:.0f} s.")
        return self

    def stop(self) -> dict[str, Any]:
        """Stop serving and wait until everything answered is stored; returns the counters."""
        self.proxy.stop()
        self._thread.join(120)
        return self.counters

    def __enter__(self) -> BackgroundProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Connections still open at shutdown are cancelled: that is expected, not worth a traceback."""
    exc = context.get("exception")
    if isinstance(exc, asyncio.CancelledError):
        return
    if exc is None:
        task = context.get("task") or context.get("future")
        if task is not None and task.done() and task.cancelled():
            return
    logger.debug("asyncio: %s", context.get("message"), exc_info=exc)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _startup_message(message: str, cfg: ProxyConfig) -> str:
    text = _one_line(message)
    if "address already in use" in text.lower() or "errno 98" in text.lower():
        return f"cannot listen on {cfg.listen_host}:{cfg.listen_port}: the address is already in use."
    return f"the proxy could not start: {text}"


def parse_set_options(values: Sequence[str]) -> dict[str, Any]:
    """`--set name=value` pairs for mitmproxy options (values stay strings; mitmproxy converts them)."""
    out: dict[str, Any] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ProxyError(f"bad --set {item!r}: expected name=value, e.g. --set ssl_insecure=true.")
        out[name.strip()] = value
    return out
