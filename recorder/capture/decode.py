"""Content-Encoding decoding with an output cap, so a compression bomb cannot exhaust memory."""

from __future__ import annotations

import zlib

import brotli
import zstandard


class DecodeError(ValueError):
    """The body does not decode with the declared encoding."""


def decode_body(raw: bytes, encoding: str | None, limit: int) -> tuple[bytes, bool]:
    """Decode `raw` per its Content-Encoding list and keep at most `limit` bytes: (body, truncated)."""
    body = raw
    if encoding:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        for coding in reversed(codings):
            body = _decode_one(body, coding, limit + 1)
    if len(body) > limit:
        return body[:limit], True
    return body, False


def _decode_one(data: bytes, coding: str, cap: int) -> bytes:
    if coding in ("identity", ""):
        return data
    try:
        if coding in ("gzip", "x-gzip"):
            return _zlib(data, 16 + zlib.MAX_WBITS, cap)
        if coding == "deflate":
            try:
                return _zlib(data, zlib.MAX_WBITS, cap)
            except zlib.error:
                return _zlib(data, -zlib.MAX_WBITS, cap)
        if coding == "br":
            return _brotli(data, cap)
        if coding == "zstd":
            reader = zstandard.ZstdDecompressor().stream_reader(data)
            return reader.read(cap)
    except (zlib.error, OSError, ValueError) as exc:
        raise DecodeError(f"{coding}: {exc}") from None
    except Exception as exc:  # brotli.error and zstandard.ZstdError have no common base
        raise DecodeError(f"{coding}: {exc}") from None
    raise DecodeError(f"unsupported content-encoding {coding!r}")


def _zlib(data: bytes, wbits: int, cap: int) -> bytes:
    dec = zlib.decompressobj(wbits)
    out = dec.decompress(data, cap)
    return out


def _brotli(data: bytes, cap: int) -> bytes:
    dec = brotli.Decompressor()
    try:
        return dec.process(data, output_buffer_limit=cap)[:cap]
    except TypeError:  # older brotli without output_buffer_limit
        if len(data) * 64 > cap * 4:
            data = data[: max(cap // 16, 1)]
        return brotli.decompress(data)[:cap]
