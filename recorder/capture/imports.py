"""`recorder import`: HAR and mitmproxy flow files into the store, through the same redaction as the proxy."""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from recorder.capture.frames import DEFAULT_MAX_BODY, RawRecord
from recorder.capture.sink import RowBuilder, StoreWriter, build_rows
from recorder.common.redact import Redactor
from recorder.config import Settings
from recorder.errors import ImportFileError

Progress = Callable[[str, int], None]


def file_kind(path: Path) -> str:
    """'har' or 'flows', from the extension or the first bytes; a clear error for anything else."""
    if not path.exists():
        raise ImportFileError(f"{path}: no such file.")
    if path.is_dir():
        raise ImportFileError(f"{path}: is a folder, not a HAR or flow file.")
    if not os.access(path, os.R_OK):
        raise ImportFileError(f"{path}: cannot read: permission denied.")
    suffix = path.suffix.lower()
    if suffix in (".har", ".json"):
        return "har"
    from recorder.capture.flows import looks_like_flows

    if suffix in (".flow", ".flows", ".mitm", ".dump") or looks_like_flows(path):
        return "flows"
    with path.open("rb") as fh:
        head = fh.read(64).lstrip()
    if head.startswith(b"{"):
        return "har"
    raise ImportFileError(f"{path}: not a HAR file or mitmproxy flow file (unrecognised content).")


def raw_items(path: Path, kind: str) -> tuple[Iterator[Any], Callable[[Any], RawRecord]]:
    """The items of one file and the (picklable) function that makes a raw record of one of them."""
    if kind == "har":
        from recorder.capture.har import har_entries

        return har_entries(path)
    from recorder.capture.flows import records_from_flows

    return records_from_flows(path), _same


def _same(record: RawRecord) -> RawRecord:
    return record


def import_files(
    db: Path,
    files: Sequence[Path],
    settings: Settings,
    *,
    provider: str | None = None,
    consumer_header: str = "X-Consumer",
    max_body: int = DEFAULT_MAX_BODY,
    redact: bool = True,
    progress: Progress | None = None,
    batch: int = 1000,
    workers: int | None = None,
) -> dict[str, Any]:
    """Import every file (all are checked before any is read); returns counters per file and in total.

    Decoding and redaction (most of the work) run in `workers` processes once a file turns out to hold more
    than one batch (default: one per CPU, none on a single CPU); this process reads the files and writes the
    batches in their order, one transaction each."""
    kinds = [(Path(f), file_kind(Path(f))) for f in files]
    redaction = settings.redact if redact else settings.redact.model_copy(update={"enabled": False})
    builder = RowBuilder(
        provider=provider,
        consumer_header=consumer_header.lower(),
        max_body=max_body,
        redactor=Redactor(redaction),
    )
    session = {"id": uuid.uuid4().hex, "started": time.time(), "pid": os.getpid(), "kind": "import"}
    errors: list[str] = []
    writer = StoreWriter(db, builder, session, emit=lambda event: errors.append(event.get("message", "")))
    pipeline = _Pipeline(builder, writer, default_workers() if workers is None else workers)
    per_file: dict[str, int] = {}
    try:
        for path, kind in kinds:
            before = writer.counters.recorded
            items, convert = raw_items(path, kind)
            chunk: list[Any] = []
            for item in items:
                chunk.append(item)
                if len(chunk) >= batch:
                    pipeline.put(convert, chunk, str(path), progress)
                    chunk = []
            if chunk:
                pipeline.put(convert, chunk, str(path), progress)
            pipeline.drain()
            per_file[str(path)] = writer.counters.recorded - before
    finally:
        pipeline.close()
        summary = writer.close()
    return {"files": per_file, **summary, "error_messages": errors}


def default_workers() -> int:
    """One row-building process per CPU this process may use; none (build in-process) on a single CPU."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(cpus, 8) if cpus > 1 else 0


_worker_builder: RowBuilder | None = None


def _start_worker(builder: RowBuilder) -> None:
    global _worker_builder
    _worker_builder = builder


def _convert_and_build(
    builder: RowBuilder, convert: Callable[[Any], RawRecord], chunk: list[Any]
) -> tuple[list[tuple[Any, ...]], list[str]]:
    return build_rows(builder, [convert(item) for item in chunk])


def _build_in_worker(
    convert: Callable[[Any], RawRecord], chunk: list[Any]
) -> tuple[list[tuple[Any, ...]], list[str]]:
    assert _worker_builder is not None
    return _convert_and_build(_worker_builder, convert, chunk)


_Batch = tuple[Future[Any] | None, Callable[[Any], RawRecord], list[Any], str, Progress | None]


class _Pipeline:
    """Batches in, rows written in order. The first batch is built here; from the second on, batches go to a
    pool of worker processes (started then, so small imports pay nothing), with a bounded number in flight.
    A pool that cannot start or breaks falls back to building here: an import never fails for want of it."""

    def __init__(self, builder: RowBuilder, writer: StoreWriter, workers: int) -> None:
        self.builder = builder
        self.writer = writer
        self.workers = workers
        self.batches = 0
        self.pool: ProcessPoolExecutor | None = None
        self.pending: deque[_Batch] = deque()

    def put(
        self, convert: Callable[[Any], RawRecord], chunk: list[Any], name: str, progress: Progress | None
    ) -> None:
        """Queue one batch of a file's items (turned into records by `convert`)."""
        self.batches += 1
        if self.batches >= 2 and self.workers and self.pool is None:
            self._start()
        future = None
        if self.pool is not None:
            try:
                future = self.pool.submit(_build_in_worker, convert, chunk)
            except Exception:  # a broken pool: build here from now on
                self._stop()
        self.pending.append((future, convert, chunk, name, progress))
        self.drain(2 * self.workers if self.pool is not None else 0)

    def drain(self, keep: int = 0) -> None:
        while len(self.pending) > keep:
            future, convert, chunk, name, progress = self.pending.popleft()
            built = None
            if future is not None:
                try:
                    built = future.result()
                except ImportFileError:  # a malformed entry: the import stops with the worker's message
                    raise
                except Exception:  # the worker died (killed, out of memory): this batch is built here
                    self._stop()
            if built is None:
                built = _convert_and_build(self.builder, convert, chunk)
            self.writer.write_rows(*built)
            if progress:
                progress(name, len(chunk))

    def close(self) -> None:
        """Stop the workers; batches still pending (after an error) are dropped, nothing half-written."""
        self.pending.clear()
        self._stop()

    def _start(self) -> None:
        import multiprocessing

        try:
            self.pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded process
                initializer=_start_worker,
                initargs=(self.builder,),
            )
        except Exception:
            self.pool = None
            self.workers = 0

    def _stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        self.workers = 0
