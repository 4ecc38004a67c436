"""What travels from the proxy to its store process: `RawRecord`s in length-prefixed pickle frames.

Kept apart from the store process's code so that the proxy loads only this (not redaction, not the store).
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Sequence
from typing import Any, NamedTuple

DEFAULT_MAX_BODY = 1 << 20
FRAME_HEADER = struct.Struct(">I")


class RawRecord(NamedTuple):
    """What the proxy copies out of a flow: references only, no decoding (cheap on the event loop)."""

    uid: str
    started: float
    ended: float | None
    client: str
    method: str
    scheme: str
    host: str
    port: int
    path: str
    http_version: str
    request_headers: Sequence[tuple[bytes | str, bytes | str]]  # bytes from the wire, text from files
    request_body: bytes | None
    status: int | None
    response_headers: Sequence[tuple[bytes | str, bytes | str]]
    response_body: bytes | None
    error: str | None
    source: str = "proxy"
    request_body_missing: bool = False
    response_body_missing: bool = False
    request_size: int = -1
    response_size: int = -1
    bodies_decoded: bool = False  # HAR bodies come decoded: do not apply Content-Encoding again

    def trimmed(self, keep: int) -> RawRecord:
        """The same record with bodies cut to `keep` bytes (their full sizes remembered)."""
        req, resp = self.request_body, self.response_body
        if (req is None or len(req) <= keep) and (resp is None or len(resp) <= keep):
            return self
        return self._replace(
            request_body=req[:keep] if req is not None else None,
            response_body=resp[:keep] if resp is not None else None,
            request_size=len(req) if req is not None else 0,
            response_size=len(resp) if resp is not None else 0,
        )


def encode_frame(payload: Any) -> bytes:
    """A length-prefixed pickle frame."""
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME_HEADER.pack(len(body)) + body
