"""The mitmproxy addon: copies each completed flow into a `RawRecord` and hands it off, never blocking.

The event loop only copies references (a few microseconds) and appends them to a bounded deque. A writer
thread wakes every `FLUSH_INTERVAL` seconds, batches what accumulated into length-prefixed frames and pipes
them to a child process (`recorder.sink`) that decodes, redacts and writes to SQLite, so the CPU work of
recording never competes with the proxy for its GIL. Nothing wakes the writer per record: a `queue.Queue`
put notifies the waiting thread, which then fights the event loop for the GIL and sends batches of one
(measured: ~12% of bare mitmproxy's throughput; see scripts/bench_proxy.py).
If the deque is full or the child is gone, the record is counted as dropped and traffic flows on unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, flowfilter, http

from recorder.config import RedactionSettings, load_settings
from recorder.errors import RecorderError
from recorder.sink import DEFAULT_MAX_BODY, RawRecord, encode_frame

log = logging.getLogger("recorder")

QUEUE_RECORDS = 20_000
QUEUE_BYTES = 256 << 20
BATCH = 256
FLUSH_INTERVAL = 0.05  # seconds between the writer's wake-ups; done() flushes at once


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


class SinkProcess:
    """The child process that stores records, fed through its stdin by one writer thread."""

    def __init__(self, db: Path, settings: dict[str, Any], session: dict[str, Any]) -> None:
        self.db = db
        self.settings = settings
        self.session = session
        self.proc: subprocess.Popen[bytes] | None = None
        self.summary: dict[str, Any] | None = None
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._ready.clear()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "recorder.sink",
                "--db",
                str(self.db),
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
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
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

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, data: bytes) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close(self, timeout: float = 60.0) -> None:
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
        # one producer (the event loop) appends, one consumer (the writer thread) pops: deque operations are
        # atomic, so no lock and no wake-up per record
        self._pending: deque[RawRecord] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sink: SinkProcess | None = None
        self._include: flowfilter.TFilter | None = None
        self._exclude: flowfilter.TFilter | None = None
        self._dropped_loop = 0  # written by the event loop only
        self._dropped_writer = 0  # written by the writer thread only
        self._submitted_bytes = 0
        self._written_bytes = 0
        self._last_drop_log = 0.0
        self._restarts = 0
        self._max_keep = DEFAULT_MAX_BODY * 8
        self.session_id = uuid.uuid4().hex
        self.final: dict[str, Any] | None = None

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

    def configure(self, updated: set[str]) -> None:
        opts = ctx.options
        if "recorder_include" in updated:
            self._include = self._parse_filter(opts.recorder_include, "recorder_include")
        if "recorder_exclude" in updated:
            self._exclude = self._parse_filter(opts.recorder_exclude, "recorder_exclude")
        if "recorder_max_body" in updated and opts.recorder_max_body <= 0:
            raise exceptions.OptionsError("recorder_max_body must be a positive number of bytes.")
        self._max_keep = opts.recorder_max_body * 8  # compressed bodies need more raw bytes to decode
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
        self._stop.clear()
        self._thread = threading.Thread(target=self._write_loop, name="recorder-writer", daemon=True)
        self._thread.start()

    def done(self) -> None:
        """Drain everything queued to the store and wait for it to be on disk (synchronous, as mitmproxy wants)."""
        if self._thread is None:
            return
        self._stop.set()  # the writer sends everything still pending, then returns
        self._thread.join()
        self._thread = None
        assert self._sink is not None
        self._sink.close()
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
            rec = record_from_flow(flow)
        except Exception as exc:  # never let recording break the proxy
            self._dropped_loop += 1
            self._log_drop(f"cannot copy flow: {exc}")
            return
        size = len(rec.request_body or b"") + len(rec.response_body or b"")
        if self._submitted_bytes - self._written_bytes + size > QUEUE_BYTES:
            self._dropped_loop += 1
            self._log_drop("queue holds too many bytes")
            return
        if len(self._pending) >= QUEUE_RECORDS:
            self._dropped_loop += 1
            self._log_drop("queue full")
            return
        self._pending.append(rec)
        self._submitted_bytes += size

    def _log_drop(self, why: str) -> None:
        now = time.monotonic()
        if now - self._last_drop_log > 10.0:  # once per burst
            self._last_drop_log = now
            log.warning("recorder: dropping exchanges (%s); %d dropped so far", why, self.dropped)

    # -- writer thread --------------------------------------------------------------------------------------

    def _write_loop(self) -> None:
        pending = self._pending
        reported_drops = 0
        keep = self._max_keep
        stopping = False
        while not stopping:
            stopping = self._stop.wait(FLUSH_INTERVAL)  # set by done(): flush what is left and return
            while True:
                batch: list[RawRecord] = []
                try:
                    while len(batch) < BATCH:
                        batch.append(pending.popleft())
                except IndexError:
                    pass
                frames = []
                if self.dropped != reported_drops:
                    reported_drops = self.dropped
                    frames.append(encode_frame(("counters", {"dropped": reported_drops})))
                if batch:
                    frames.append(encode_frame([tuple(rec.trimmed(keep)) for rec in batch]))
                if frames:
                    self._send(b"".join(frames), len(batch))
                self._written_bytes += sum(
                    len(r.request_body or b"") + len(r.response_body or b"") for r in batch
                )
                if len(batch) < BATCH:
                    break

    def _send(self, data: bytes, count: int) -> None:
        assert self._sink is not None
        for attempt in range(2):
            if not self._sink.alive() and (attempt or not self._restart_sink()):
                break
            try:
                self._sink.send(data)
                return
            except (BrokenPipeError, OSError, ValueError):
                continue
        self._dropped_writer += count
        self._log_drop("the store process is not running")

    def _restart_sink(self) -> bool:
        """Start a new store process after the old one died (at most once every 5 s)."""
        assert self._sink is not None
        if self._restarts and time.monotonic() - self._restarts < 5.0:
            return False
        self._restarts = time.monotonic()
        log.warning("recorder: the store process exited; starting a new one")
        old = self._sink
        self._sink = SinkProcess(old.db, old.settings, {**old.session, "id": uuid.uuid4().hex})
        self._sink.start()
        return self._sink.wait_ready(20)

    # -- introspection --------------------------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        return self._dropped_loop + self._dropped_writer

    def queue_depth(self) -> int:
        return len(self._pending)
