"""The mitmproxy addon: copies each completed flow into a `RawRecord` and hands it off, never blocking.

The event loop copies references out of the flow, pickles them into one length-prefixed frame (~5 us for
1 KB) and writes it to the stdin pipe of a child process (`recorder.capture.sink`) without blocking (~20 us); the
child decodes, redacts and writes to SQLite, so the CPU work of recording never competes with the proxy for
its GIL. Only when the pipe is full (the store is behind) or the child is gone do frames go to a bounded
backlog that a writer thread drains; a thread woken for every record costs more than the write itself
(GIL hand-offs: ~12% of bare mitmproxy's throughput, measured with scripts/bench_proxy.py).
If the backlog is full or the child cannot be restarted, the record is counted as dropped and traffic flows
on unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator

if os.name == "posix":
    import fcntl
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, flowfilter, http

from recorder.capture.frames import DEFAULT_MAX_BODY, RawRecord, encode_frame
from recorder.config import RedactionSettings, load_settings
from recorder.errors import RecorderError
from recorder.store import DB_ENV, is_url, open_store

log = logging.getLogger("recorder")

QUEUE_RECORDS = 20_000
QUEUE_BYTES = 256 << 20
PIPE_BYTES = 1 << 20  # Linux's default limit for an unprivileged process (/proc/sys/fs/pipe-max-size)
NONBLOCKING_PIPE = os.name == "posix"  # elsewhere every frame goes through the writer thread


def record_from_flow(flow: http.HTTPFlow, source: str = "proxy") -> RawRecord:
    """Copy what we store out of a flow: references only, no decoding, no copies of bodies."""
    req = flow.request
    resp = flow.response
    peer = flow.client_conn.peername
    req_body = req.raw_content
    resp_body = resp.raw_content if resp is not None else None
    return RawRecord(
        flow.id,
        req.timestamp_start,
        (resp.timestamp_end if resp is not None else None) or (flow.error.timestamp if flow.error else None),
        peer[0] if peer else "",
        req.method,
        req.scheme,
        req.host,
        req.port,
        req.path,
        req.http_version,
        req.headers.fields,
        req_body,
        resp.status_code if resp is not None else None,
        resp.headers.fields if resp is not None else (),
        resp_body,
        flow.error.msg if flow.error else None,
        source,
        req.raw_content is None,
        resp is not None and resp.raw_content is None,
    )


def json_events(stream: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The JSON objects a child process writes to its stdout, one per line (anything else is skipped)."""
    for line in stream:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


STORE_MODULE = "recorder.capture.sink"  # stores only (`--no-follow`)
KEEPER_MODULE = "recorder.health.keeper"  # stores and keeps evidence, retention and live drift current


class SinkProcess:
    """The child process that stores records, fed through its stdin pipe (non-blocking once ready); with
    `settings["follow"]` it is the keeper, which also folds the evidence when traffic is light."""

    def __init__(self, db: str | Path, settings: dict[str, Any], session: dict[str, Any]) -> None:
        self.db = db
        self.settings = settings
        self.session = session
        self.proc: subprocess.Popen[bytes] | None = None
        self.summary: dict[str, Any] | None = None
        self.on_stats: Any = None  # called with the store's periodic counters (for /metrics)
        self.on_evidence: Any = None  # ... with the evidence counters and live drift findings
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env[DB_ENV] = str(self.db)  # not in argv: other users can read a command line, not our environment
        self._ready.clear()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                KEEPER_MODULE if self.settings.get("follow") is not None else STORE_MODULE,
                "--settings",
                json.dumps(self.settings),
                "--session",
                json.dumps(self.session),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the proxy, which then drains us
        )
        self._reader = threading.Thread(target=self._read_events, name="recorder-sink-events", daemon=True)
        self._reader.start()

    def _read_events(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for event in json_events(self.proc.stdout):
            kind = event.get("event")
            if kind == "ready":
                self._ready.set()
            elif kind == "error":
                log.warning(
                    "recorder: store failure, exchanges are being dropped (%s dropped so far): %s",
                    event.get("dropped"),
                    event.get("message"),
                )
            elif kind == "summary":
                self.summary = event
            elif kind == "stats" and self.on_stats is not None:
                self.on_stats(event)
            elif kind == "evidence" and self.on_evidence is not None:
                self.on_evidence(event)

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pipe(self) -> int:
        """The write end of the child's stdin: non-blocking on POSIX (where the event loop writes to it)."""
        assert self.proc is not None and self.proc.stdin is not None
        fd = self.proc.stdin.fileno()
        if NONBLOCKING_PIPE:
            os.set_blocking(fd, False)
            if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: room for bursts while the store commits a batch
                try:
                    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
                except OSError:
                    pass
        return fd

    def write_all(self, fd: int, data: bytes | memoryview) -> int:
        """Write all of `data`, waiting while the pipe is full; returns the bytes written before a failure."""
        view = memoryview(data)
        done = 0
        while done < len(view):
            try:
                done += os.write(fd, view[done:])
            except BlockingIOError:
                if not self.alive():
                    return done
                select.select([], [fd], [], 1.0)
            except OSError:  # EPIPE: the child is gone
                return done
        return done

    def close(self, timeout: float = 300.0) -> None:
        """Close the pipe and wait for the child: it writes what is left, reports, and folds the evidence."""
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self._reader is not None:
            self._reader.join(5)


class Recorder:
    """mitmproxy addon that records every HTTP exchange into a SQLite database."""

    def __init__(self) -> None:
        # The event loop writes each frame straight into the pipe while `_backlog` is empty and the writer
        # thread is idle; otherwise it appends to `_backlog`, which the writer thread drains. `_lock` keeps
        # the two from interleaving bytes in the pipe; it is never held while waiting.
        self._lock = threading.Lock()
        self._backlog: deque[bytes] = deque()
        self._backlog_bytes = 0
        self._partial = False  # the first backlog frame is the rest of one already partly in the pipe
        self._draining = False  # the writer thread owns the pipe
        self._stopping = False
        self._wake = threading.Event()
        self._fd = -1
        self._thread: threading.Thread | None = None
        self._sink: SinkProcess | None = None
        self._include: flowfilter.TFilter | None = None
        self._exclude: flowfilter.TFilter | None = None
        self._dropped_loop = 0  # written by the event loop only
        self._dropped_writer = 0  # written by the writer thread only
        self._last_drop_log = 0.0
        self._restarts = 0
        self._max_keep = DEFAULT_MAX_BODY * 8
        self.session_id = uuid.uuid4().hex
        self.final: dict[str, Any] | None = None
        self.metrics: Any = None

    # -- mitmproxy lifecycle --------------------------------------------------------------------------------

    def load(self, loader: Any) -> None:
        loader.add_option("recorder_db", str, "", "SQLite database to record exchanges into (empty: off).")
        loader.add_option(
            "recorder_provider", str, "", "Provider name stored with each exchange (default: host)."
        )
        loader.add_option(
            "recorder_consumer_header",
            str,
            "X-Consumer",
            "Request header naming the consumer of an exchange.",
        )
        loader.add_option("recorder_include", str, "", "Only record flows matching this mitmproxy filter.")
        loader.add_option("recorder_exclude", str, "", "Do not record flows matching this mitmproxy filter.")
        loader.add_option(
            "recorder_max_body", int, DEFAULT_MAX_BODY, "Bytes kept per body; the rest is truncated."
        )
        loader.add_option("recorder_config", str, "", "recorder.toml to read (default: ./recorder.toml).")
        loader.add_option(
            "recorder_no_redact", bool, False, "Store secrets unredacted (explicit opt-out; not recommended)."
        )
        loader.add_option(
            "recorder_follow",
            bool,
            True,
            "Keep evidence summaries and retention current in the store process, when traffic is light.",
        )
        loader.add_option(
            "recorder_contract", str, "", "Contract (OpenAPI or Pact) to check live traffic against."
        )
        loader.add_option("recorder_metrics_port", int, 0, "Serve Prometheus metrics on this port (0: off).")
        loader.add_option("recorder_metrics_host", str, "127.0.0.1", "Address for the metrics endpoint.")

    def configure(self, updated: set[str]) -> None:
        opts = ctx.options
        if "recorder_include" in updated:
            self._include = self._parse_filter(opts.recorder_include, "recorder_include")
        if "recorder_exclude" in updated:
            self._exclude = self._parse_filter(opts.recorder_exclude, "recorder_exclude")
        if "recorder_max_body" in updated and opts.recorder_max_body <= 0:
            raise exceptions.OptionsError("recorder_max_body must be a positive number of bytes.")
        self._max_keep = opts.recorder_max_body * 8  # compressed bodies need more raw bytes to decode
        if "recorder_contract" in updated and opts.recorder_contract:
            from recorder.contracts.load import load_contract

            try:
                load_contract(opts.recorder_contract)  # fail at startup, with the loader's one line
            except RecorderError as exc:
                raise exceptions.OptionsError(str(exc)) from None
        if updated & {"recorder_db", "recorder_config", "recorder_no_redact", "recorder_provider"}:
            self._start_sink()

    def _parse_filter(self, spec: str, name: str) -> flowfilter.TFilter | None:
        if not spec:
            return None
        try:
            return flowfilter.parse(spec)
        except ValueError as exc:
            raise exceptions.OptionsError(f"{name}: invalid filter expression {spec!r}: {exc}") from None

    def _start_sink(self) -> None:
        opts = ctx.options
        if not opts.recorder_db:
            return
        if self._sink is not None:
            return  # already running; option changes at runtime apply to the next proxy start
        db: str | Path = opts.recorder_db
        if is_url(opts.recorder_db):
            try:  # fail at startup with a clear line: a wrong URL, password or a database of another program
                open_store(opts.recorder_db, create=True).close()
            except RecorderError as exc:
                raise exceptions.OptionsError(str(exc)) from None
        else:
            db = Path(opts.recorder_db).expanduser()
            if db.parent and not db.parent.is_dir():
                raise exceptions.OptionsError(f"recorder_db: folder {db.parent} does not exist.")
        try:
            settings = load_settings(opts.recorder_config or None)
        except RecorderError as exc:
            raise exceptions.OptionsError(str(exc)) from None
        redact = settings.redact
        if opts.recorder_no_redact:
            redact = RedactionSettings(**{**redact.model_dump(), "enabled": False})
        sink_settings = {
            "provider": opts.recorder_provider or None,
            "consumer_header": opts.recorder_consumer_header,
            "max_body": opts.recorder_max_body,
            "redact": redact.model_dump(),
            "metrics": bool(opts.recorder_metrics_port),
            "contract": opts.recorder_contract or None,
        }
        if opts.recorder_follow:  # the keeper: live drift against `contract` too
            sink_settings["follow"] = {
                "retention": settings.retention.model_dump() if settings.retention.enabled else None
            }
        session = {
            "id": self.session_id,
            "started": time.time(),
            "pid": os.getpid(),
            "kind": "proxy",
            "provider": opts.recorder_provider or None,
            "listen": f"{opts.listen_host or '*'}:{opts.listen_port}",
        }
        self._sink = SinkProcess(db, sink_settings, session)
        self._sink.start()
        if not self._sink.wait_ready(20):
            raise exceptions.OptionsError(f"recorder: the store process for {db} did not start.")
        self._fd = self._sink.pipe()
        self._stopping = False
        self._thread = threading.Thread(target=self._write_loop, name="recorder-writer", daemon=True)
        self._thread.start()
        if opts.recorder_metrics_port:
            self._start_metrics(opts.recorder_metrics_host, opts.recorder_metrics_port)

    def _start_metrics(self, host: str, port: int) -> None:
        from recorder.capture.metrics import ProxyMetrics

        self.metrics = ProxyMetrics(lambda: {"dropped": self.dropped, "queue_depth": self.queue_depth()})
        assert self._sink is not None
        self._sink.on_stats = self.metrics.update_store
        self._sink.on_evidence = self.metrics.update_follower
        try:
            self.metrics.serve(port, host)
        except OSError as exc:
            raise exceptions.OptionsError(
                f"recorder_metrics_port: cannot listen on {host}:{port}: {exc.strerror}."
            ) from None

    def done(self) -> None:
        """Drain everything queued to the store and wait for it to be on disk (synchronous, as mitmproxy wants)."""
        if self._thread is None:
            return
        with self._lock:
            self._stopping = True  # the writer sends the backlog and the final counters, then returns
        self._wake.set()
        self._thread.join()
        self._thread = None
        assert self._sink is not None
        self._sink.close()  # the keeper's last round: the evidence includes everything recorded
        summary = self._sink.summary or {}
        self.final = {
            "recorded": summary.get("recorded", 0),
            "dropped": summary.get("dropped", 0) if self._sink.summary else self.dropped,
            "errors": summary.get("errors", 0),
        }
        log.info(
            "recorder: %(recorded)d exchanges recorded, %(dropped)d dropped, %(errors)d store errors",
            self.final,
        )

    # -- hooks (on the event loop: copy and queue, nothing else) --------------------------------------------

    def response(self, flow: http.HTTPFlow) -> None:
        self._submit(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.response is None:  # failed before a response (upstream unreachable, client abort)
            self._submit(flow)

    def _submit(self, flow: http.HTTPFlow) -> None:
        if self._thread is None:
            return
        if self._include is not None and not self._include(flow):
            return
        if self._exclude is not None and self._exclude(flow):
            return
        try:
            frame = encode_frame([tuple(record_from_flow(flow).trimmed(self._max_keep))])
        except Exception as exc:  # never let recording break the proxy
            self._dropped_loop += 1
            self._log_drop(f"cannot copy flow: {exc}")
            return
        with self._lock:
            if NONBLOCKING_PIPE and not self._draining and not self._backlog:
                try:
                    written = os.write(self._fd, frame)
                except OSError:  # full (EAGAIN) or the child is gone (EPIPE): the writer thread takes over
                    written = 0
                if written == len(frame):
                    return
                if written:  # the rest must follow in the pipe, whatever the limits
                    self._backlog.append(frame[written:])
                    self._backlog_bytes += len(frame) - written
                    self._partial = True
                    self._wake.set()
                    return
            if len(self._backlog) >= QUEUE_RECORDS:
                why = "queue full"
            elif self._backlog_bytes + len(frame) > QUEUE_BYTES:
                why = "queue holds too many bytes"
            else:
                self._backlog.append(frame)
                self._backlog_bytes += len(frame)
                self._wake.set()
                return
        self._dropped_loop += 1
        self._log_drop(why)

    def _log_drop(self, why: str) -> None:
        now = time.monotonic()
        if now - self._last_drop_log > 10.0:  # once per burst
            self._last_drop_log = now
            log.warning("recorder: dropping exchanges (%s); %d dropped so far", why, self.dropped)

    # -- writer thread --------------------------------------------------------------------------------------

    def _write_loop(self) -> None:
        """Drain the backlog whenever there is one; send the drop counters along, and at the end."""
        reported_drops = 0
        while True:
            self._wake.wait()
            self._wake.clear()
            while True:
                with self._lock:
                    stopping = self._stopping
                    frames = list(self._backlog)
                    partial = self._partial
                    self._backlog.clear()
                    self._backlog_bytes = 0
                    self._partial = False
                    if not frames and not (stopping and self.dropped != reported_drops):
                        self._draining = False  # the event loop writes to the pipe again
                        break
                    self._draining = True
                counters = None
                if self.dropped != reported_drops:
                    reported_drops = self.dropped
                    counters = encode_frame(("counters", {"dropped": reported_drops}))
                self._send(frames, partial, counters)
            if stopping:
                return

    def _send(self, frames: list[bytes], partial: bool, counters: bytes | None) -> None:
        """Write frames to the child, restarting it if it is gone; what cannot be written is counted lost."""
        assert self._sink is not None
        lost = 0
        for i, frame in enumerate(frames):
            if i == 0 and partial:  # the rest of a frame whose start is already in the current child's pipe
                if not self._sink.alive() or self._sink.write_all(self._fd, frame) < len(frame):
                    lost += 1
                continue
            if not self._sink_running():
                lost += len(frames) - i
                break
            written = self._sink.write_all(self._fd, frame)
            if written == 0 and self._sink_running():  # died before this frame: the new child gets it
                written = self._sink.write_all(self._fd, frame)
            if written < len(frame):
                lost += 1
        if counters is not None and self._sink_running():
            self._sink.write_all(self._fd, counters)
        if lost:
            self._dropped_writer += lost
            self._log_drop("the store process is not running")

    def _sink_running(self) -> bool:
        assert self._sink is not None
        return self._sink.alive() or self._restart_sink()

    def _restart_sink(self) -> bool:
        """Start a new store process after the old one died (at most once every 5 s)."""
        assert self._sink is not None
        if self._restarts and time.monotonic() - self._restarts < 5.0:
            return False
        self._restarts = time.monotonic()
        log.warning("recorder: the store process exited; starting a new one")
        old = self._sink
        old.close(timeout=5.0)
        self._sink = SinkProcess(old.db, old.settings, {**old.session, "id": uuid.uuid4().hex})
        self._sink.start()
        self._fd = self._sink.pipe()  # never leave the old, closed descriptor number in use
        return self._sink.wait_ready(20)

    # -- introspection --------------------------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        return self._dropped_loop + self._dropped_writer

    def queue_depth(self) -> int:
        return len(self._backlog)
