"""mitmproxy flow files (`mitmdump -w`) -> raw records for the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from mitmproxy import exceptions, http, io

from recorder.capture.addon import record_from_flow
from recorder.capture.frames import RawRecord
from recorder.errors import ImportFileError


def looks_like_flows(path: Path) -> bool:
    """mitmproxy flow files are tnetstring streams: they start with a length and a colon."""
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    digits = head.split(b":", 1)[0]
    return bool(digits) and digits.isdigit() and b":" in head


def records_from_flows(path: Path) -> Iterator[RawRecord]:
    """One raw record per HTTP flow in the file; other flow kinds (TCP, DNS) are skipped."""
    try:
        with path.open("rb") as fh:
            for flow in io.FlowReader(fh).stream():
                if isinstance(flow, http.HTTPFlow):
                    yield record_from_flow(flow, source="flow")
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror}.") from None
    except (exceptions.FlowReadException, ValueError, KeyError, TypeError) as exc:
        raise ImportFileError(f"{path}: not a valid mitmproxy flow file ({exc}).") from None
