"""The store side of capture: raw records in, redacted rows out, written in batches.

The proxy process only copies references out of each flow (`RawRecord`) and pipes them here; this module
decodes bodies, applies redaction and writes to SQLite. It runs as a child process of the proxy
(`python -m recorder.capture.sink`, so its CPU work never holds the proxy's GIL) and in-process for `recorder import`.

Frames on the pipe are length-prefixed pickles of lists of `RawRecord`s or of `("counters", {...})` messages
from the proxy. Events go back on stdout as JSON lines: `{"event": "error", ...}`, `{"event": "summary", ...}`.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import select
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from recorder.capture.decode import DecodeError, decode_body
from recorder.capture.frames import DEFAULT_MAX_BODY, FRAME_HEADER, RawRecord
from recorder.common.http import header
from recorder.common.priority import lower_priority
from recorder.common.redact import Redactor
from recorder.common.routes import Routes
from recorder.config import RedactionSettings
from recorder.errors import RecorderError
from recorder.learn.paths import path_shape
from recorder.model import Operation
from recorder.store import COLUMN, DB_ENV, Store, StoreUnavailable, is_url, open_store, rows_json

LINGER_SECONDS = 0.05  # how long a batch waits for more exchanges before its transaction (under load)
RETRY_SECONDS = 10.0  # how long a batch waits for a store that lost its connection before it is dropped
LINGER_SLICE = 0.01  # ... in sleeps this long, each followed by one read of all that came


@dataclass
class RowBuilder:
    """Turns raw records into redacted `exchanges` rows."""

    provider: str | None = None
    consumer_header: str = "x-consumer"
    max_body: int = DEFAULT_MAX_BODY
    redactor: Redactor = field(default_factory=Redactor)

    def row(self, rec: RawRecord) -> tuple[Any, ...]:
        """The row (in `EXCHANGE_COLUMNS` order) for one record."""
        red = self.redactor
        req_headers = [(_text(k), _text(v)) for k, v in rec.request_headers]
        resp_headers = [(_text(k), _text(v)) for k, v in rec.response_headers]
        split = urlsplit(rec.path if rec.path.startswith("/") else "/" + rec.path)
        path = split.path or "/"
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(split.query, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        consumer = self._consumer(req_headers, rec.client)
        req_ct = header(req_headers, "content-type")
        resp_ct = header(resp_headers, "content-type")
        req_size = rec.request_size if rec.request_size >= 0 else len(rec.request_body or b"")
        resp_size = rec.response_size if rec.response_size >= 0 else len(rec.response_body or b"")
        req_enc = None if rec.bodies_decoded else header(req_headers, "content-encoding")
        resp_enc = None if rec.bodies_decoded else header(resp_headers, "content-encoding")
        req_body, req_trunc = self._body(rec.request_body, req_enc)
        resp_body, resp_trunc = self._body(rec.response_body, resp_enc)
        req_trunc = req_trunc or req_size > len(rec.request_body or b"")
        resp_trunc = resp_trunc or resp_size > len(rec.response_body or b"")
        if red.enabled:
            req_headers = red.headers(req_headers)
            resp_headers = red.headers(resp_headers)
            query = red.query(query)
            path = red.path(path)
            req_body = red.body(req_body, req_ct)
            resp_body = red.body(resp_body, resp_ct)
        duration = (rec.ended - rec.started) * 1000.0 if rec.ended and rec.started else None
        return (
            rec.uid,
            rec.started,
            round(duration, 3) if duration is not None else None,
            consumer,
            self.provider or rec.host,
            rec.method.upper(),
            rec.scheme,
            rec.host,
            rec.port,
            path,
            rows_json(query) if query else None,
            rec.http_version,
            rows_json(req_headers),
            req_ct,
            req_body,
            req_size,
            int(req_trunc or rec.request_body_missing),
            rec.status,
            rows_json(resp_headers) if rec.status is not None else None,
            resp_ct,
            resp_body,
            resp_size,
            int(resp_trunc or rec.response_body_missing),
            rec.error,
            rec.source,
            path_shape(path)[0],
        )

    def _consumer(self, headers: list[tuple[str, str]], client: str) -> str:
        value = header(headers, self.consumer_header)
        if value:
            return value.strip()[:128]
        agent = header(headers, "user-agent")
        if agent:
            product = agent.split()[0].split("/")[0].strip()
            if product:
                return product[:128]
        return client

    def _body(self, raw: bytes | None, encoding: str | None) -> tuple[bytes | None, bool]:
        if not raw:
            return (b"" if raw == b"" else None), False
        try:
            return decode_body(raw, encoding, self.max_body)
        except DecodeError:
            return raw[: self.max_body], len(raw) > self.max_body


def build_rows(builder: RowBuilder, records: Sequence[RawRecord]) -> tuple[list[tuple[Any, ...]], list[str]]:
    """The rows of a batch, and a message for each record that could not be built (the others still are)."""
    rows = []
    failures = []
    for rec in records:
        try:
            rows.append(builder.row(rec))
        except Exception as exc:  # a record we cannot build must not stop the others
            failures.append(f"cannot build exchange for {rec.method} {rec.path[:80]}: {exc}")
    return rows, failures


def _text(value: bytes | str) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


# ---------------------------------------------------------------------------------------------------------
# Writing


@dataclass
class Counters:
    """What a capture session did: recorded, dropped (queue full, store failure), store errors."""

    recorded: int = 0
    dropped: int = 0
    errors: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    dropped_upstream: int = 0  # drops counted by the proxy process before records reached us
    duplicates: int = 0  # records already stored (same uid), e.g. a file imported twice

    def as_dict(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded,
            "dropped": self.dropped + self.dropped_upstream,
            "errors": self.errors,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }


class StoreWriter:
    """Writes batches of raw records to one database; survives store failures by counting the loss."""

    def __init__(
        self,
        db_path: str | Path,
        builder: RowBuilder,
        session: dict[str, Any],
        emit: Any = None,
    ) -> None:
        self.db_path = db_path
        self.builder = builder
        self.session = session
        self.counters = Counters()
        self._emit = emit or (lambda event: None)
        self._operations: Any = None  # per-operation counts and latencies, when metrics are served
        self._routes: Routes[Operation] | None = None
        self._last_stats = 0.0
        self._store: Store | None = None
        self._burst_logged_at = 0.0
        self._open()

    def _open(self) -> None:
        try:
            self._store = open_store(self.db_path, create=True)
            self._store.start_session(self.session)
        except (RecorderError, OSError) as exc:
            self._close()
            self._fail(str(exc), 0)

    def write(self, records: Sequence[RawRecord]) -> None:
        """Redact and insert one batch in one transaction; on failure count the batch as dropped."""
        self.write_rows(*build_rows(self.builder, records))

    def write_rows(self, rows: list[tuple[Any, ...]], failures: Sequence[str] = ()) -> None:
        """Insert rows built by `build_rows` (here or in another process) in one transaction."""
        for message in failures:
            self._fail(message, 1)
        if not rows:
            return
        if self._store is None or self._store.replaced():
            self._reopen()
        if self._store is None and not is_url(self.db_path):  # a file that cannot be opened stays unopenable
            self._fail(self.counters.last_error or "database unavailable", len(rows))
            return
        delay = 0.1
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            error: StoreUnavailable | None = None
            if self._store is not None:
                try:
                    written = self._store.write_batch(rows, self.session["id"], self.counters.as_dict())
                    break
                except StoreUnavailable as exc:
                    error = exc
                    self._close()
            # a lost connection or a restarting server (or none to be had): wait and try again, the batch is
            # idempotent; anything else, or for too long: the batch is counted as dropped
            if (error is not None and not error.transient) or time.monotonic() + delay > deadline:
                self._fail(
                    str(error) if error else self.counters.last_error or "database unavailable", len(rows)
                )
                return
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
            self._open()
        # counted only once committed: a failed commit is a drop, never both
        self.counters.recorded += written
        self.counters.duplicates += len(rows) - written
        if self._operations is not None:
            self._track(rows)

    def track_operations(self, contract: str | None) -> None:
        """Count requests and latencies per operation (the contract's templates if given, else path shapes)."""
        from recorder.capture.metrics import OperationStats

        self._operations = OperationStats()
        if contract:
            from recorder.contracts.load import load_contract

            self._routes = Routes(load_contract(contract).operations)

    def _track(self, rows: list[tuple[Any, ...]]) -> None:
        for row in rows:
            method, path, status = row[COLUMN["method"]], row[COLUMN["path"]], row[COLUMN["status"]]
            duration, shape = row[COLUMN["duration_ms"]], row[COLUMN["shape"]]
            key = f"{method} {shape}"
            if self._routes is not None:
                found = self._routes.match(method, path)
                if found is not None:
                    key = found[0].key
            self._operations.add(key, status, duration)

    def report_stats(self, every: float = 1.0) -> None:
        """Send counters to the proxy (at most once per `every` seconds)."""
        now = time.monotonic()
        if now - self._last_stats < every:
            return
        self._last_stats = now
        event: dict[str, Any] = {
            "event": "stats",
            "recorded": self.counters.recorded,
            "errors": self.counters.errors,
            "store_dropped": self.counters.dropped,
        }
        if self._operations is not None:
            event.update(self._operations.snapshot())
        self._emit(event)

    def _reopen(self) -> None:
        self._close()
        self._open()

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
        self._store = None

    def _fail(self, message: str, lost: int) -> None:
        now = time.time()
        self.counters.errors += 1
        self.counters.dropped += lost
        self.counters.last_error = message
        self.counters.last_error_at = now
        if now - self._burst_logged_at > 10.0:  # once per burst
            self._burst_logged_at = now
            self._emit({"event": "error", "message": message, "dropped": self.counters.dropped})

    def close(self) -> dict[str, Any]:
        """Store the final counters and close; returns them."""
        summary = {**self.counters.as_dict(), "ended": time.time()}
        if self._store is None or self._store.replaced():
            self._reopen()
        if self._store is not None:
            try:
                self._store.update_session(self.session["id"], summary)
            except StoreUnavailable:
                pass
        self._close()
        return summary


def write_all(writer: StoreWriter, records: Iterable[RawRecord], batch: int = 500) -> None:
    """Write records in batches."""
    chunk: list[RawRecord] = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= batch:
            writer.write(chunk)
            chunk = []
    if chunk:
        writer.write(chunk)


# ---------------------------------------------------------------------------------------------------------
# The child process


def read_frame_batches(
    fd: int, chunk: int = 1 << 20, linger: float = 0.0, batch: int = 512, idle: float | None = None
) -> Iterator[list[Any]]:
    """Unpickle length-prefixed frames until EOF, yielding them in batches (one transaction each).

    The proxy writes one frame per exchange as it happens. Frames already in the pipe are read together; with
    `linger` a batch also waits up to that many seconds (or until `batch` frames) for more, so that under load
    a transaction carries many exchanges instead of one or two (a commit costs as much as building ~2 rows).
    The wait sleeps in slices of 10 ms and then reads everything that came meanwhile (not a wake-up per frame:
    ~50 us per exchange under load). EOF yields what has arrived within a slice: nothing read is left behind
    at shutdown. With `idle`, an empty batch comes every `idle` seconds while nothing arrives (a tick for work
    that waits for quiet).
    """
    buf = bytearray()
    frames: list[Any] = []
    deadline = 0.0
    while True:
        if frames and linger > 0 and len(frames) < batch:
            wait = deadline - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, LINGER_SLICE))
            if not select.select([fd], [], [], 0)[0]:
                if wait > LINGER_SLICE:
                    continue  # nothing yet: sleep on
                yield frames  # nothing more came in time
                frames = []
                continue
        if idle is not None and not frames and not select.select([fd], [], [], idle)[0]:
            yield []  # quiet: a tick
            continue
        data = os.read(fd, chunk)
        if not data:  # EOF; an incomplete last frame (a writer that died mid-frame) is ignored
            if frames:
                yield frames
            return
        buf += data
        pos = 0
        if not frames:
            deadline = time.monotonic() + linger
        while len(buf) - pos >= FRAME_HEADER.size:
            (size,) = FRAME_HEADER.unpack_from(buf, pos)
            end = pos + FRAME_HEADER.size + size
            if end > len(buf):
                break
            frames.append(pickle.loads(buf[pos + FRAME_HEADER.size : end]))
            pos = end
        del buf[:pos]
        if frames and (linger <= 0 or len(frames) >= batch):
            yield frames
            frames = []


STORE_NICE = 5  # the store gives way to the proxy: a burst waits in the pipe (1 MB) and is written ms later


def store_parser(prog: str) -> argparse.ArgumentParser:
    """The command line of the store process (`--db`, `--settings`, `--session`)."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--db", default=os.environ.get(DB_ENV), help=f"the database (default: ${DB_ENV})")
    parser.add_argument("--settings", required=True, help="JSON: provider, consumer_header, max_body, redact")
    parser.add_argument("--session", required=True, help="JSON: the session row")
    return parser


def json_lines(out: Any) -> Callable[[dict[str, Any]], None]:
    """`emit(event)`: one JSON line per event on `out`, safe from several threads."""
    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        with lock:
            try:
                out.write(json.dumps(event) + "\n")
                out.flush()
            except (BrokenPipeError, ValueError):  # the proxy is gone: nothing to tell
                pass

    return emit


def store_writer(db: str, settings: dict[str, Any], session: dict[str, Any], emit: Any) -> StoreWriter:
    """The writer the store process feeds, with the redaction and metrics its settings ask for."""
    builder = RowBuilder(
        provider=settings.get("provider"),
        consumer_header=(settings.get("consumer_header") or "x-consumer").lower(),
        max_body=int(settings.get("max_body") or DEFAULT_MAX_BODY),
        redactor=Redactor(RedactionSettings.model_validate(settings.get("redact") or {})),
    )
    writer = StoreWriter(db, builder, session, emit=emit)
    if settings.get("metrics"):
        writer.track_operations(settings.get("contract"))

        def report_every_second() -> None:  # also when no traffic arrives (the last batch gets reported)
            while True:
                time.sleep(1.0)
                writer.report_stats(every=0.0)

        threading.Thread(target=report_every_second, name="recorder-sink-stats", daemon=True).start()
    return writer


def serve(
    writer: StoreWriter, fd: int, after: Callable[[int], None] | None = None, idle: float | None = None
) -> None:
    """Write what the proxy pipes to `fd` until EOF; `after(n)` runs after each batch of `n` exchanges and,
    with `idle`, every `idle` seconds while nothing arrives (n = 0)."""
    linger = LINGER_SECONDS if hasattr(select, "select") and os.name != "nt" else 0.0
    for frames in read_frame_batches(fd, linger=linger, idle=idle):
        records = []
        for frame in frames:
            if isinstance(frame, tuple) and frame and frame[0] == "counters":
                writer.counters.dropped_upstream = int(frame[1].get("dropped", 0))
            else:
                records.extend(RawRecord(*rec) for rec in frame)
        if records:
            writer.write(records)
            writer.report_stats()
        if after is not None:
            after(len(records))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry of the store process (storing only; `recorder.health.keeper` also keeps the evidence current)."""
    parser = store_parser("python -m recorder.capture.sink")
    args = parser.parse_args(argv)
    if not args.db:
        parser.error(f"no database: give --db or set {DB_ENV}")
    emit = json_lines(sys.stdout)
    writer = store_writer(args.db, json.loads(args.settings), json.loads(args.session), emit)
    lower_priority(STORE_NICE)
    emit({"event": "ready"})
    serve(writer, sys.stdin.fileno())
    emit({"event": "summary", **writer.close()})
    return 0


def ignore_stop_signals() -> None:
    """The proxy decides when its store process stops (EOF on stdin), and a full disk is a counted error."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


if __name__ == "__main__":  # pragma: no cover
    ignore_stop_signals()
    sys.exit(main())
