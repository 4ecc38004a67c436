"""`recorder import`: HAR and mitmproxy flow files into the store, through the same redaction as the proxy."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from recorder.config import Settings
from recorder.errors import ImportFileError
from recorder.redact import Redactor
from recorder.sink import DEFAULT_MAX_BODY, RawRecord, RowBuilder, StoreWriter

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
    from recorder.formats.flows import looks_like_flows

    if suffix in (".flow", ".flows", ".mitm", ".dump") or looks_like_flows(path):
        return "flows"
    with path.open("rb") as fh:
        head = fh.read(64).lstrip()
    if head.startswith(b"{"):
        return "har"
    raise ImportFileError(f"{path}: not a HAR file or mitmproxy flow file (unrecognised content).")


def records(path: Path, kind: str) -> Iterator[RawRecord]:
    """The raw records of one file."""
    if kind == "har":
        from recorder.formats.har import records_from_har

        return records_from_har(path)
    from recorder.formats.flows import records_from_flows

    return records_from_flows(path)


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
) -> dict[str, Any]:
    """Import every file (all are checked before any is read); returns counters per file and in total."""
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
    per_file: dict[str, int] = {}
    try:
        for path, kind in kinds:
            before = writer.counters.recorded
            chunk: list[RawRecord] = []
            for rec in records(path, kind):
                chunk.append(rec)
                if len(chunk) >= batch:
                    writer.write(chunk)
                    if progress:
                        progress(str(path), len(chunk))
                    chunk = []
            if chunk:
                writer.write(chunk)
                if progress:
                    progress(str(path), len(chunk))
            per_file[str(path)] = writer.counters.recorded - before
    finally:
        summary = writer.close()
    return {"files": per_file, **summary, "error_messages": errors}
