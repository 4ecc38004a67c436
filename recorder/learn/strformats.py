"""String formats recognised in observed values (JSON Schema / OpenAPI `format` names), cheaply.

`string_formats(value)` returns the formats a value matches; cheap guards on length and characters
reject most strings before any regex runs, and results are cached for recurring values.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime

from recorder.common.redact import PLACEHOLDER_RE

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?"
)
_TIME = re.compile(r"\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})?")
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+"
)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+[^\s]*")
_IPV4 = re.compile(r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}")

# Formats whose match is strong evidence even from few observations.
STRICT_FORMATS = frozenset({"uuid", "date-time", "email", "ipv4", "ipv6", "uri"})
REDACTED_FORMATS = {"email": "email", "uuid": "uuid"}

_cache: dict[str, tuple[str, ...]] = {}
_EMPTY: tuple[str, ...] = ()


def string_formats(value: str) -> tuple[str, ...]:
    """The formats `value` matches: `"2024-05-01"` -> `("date",)`; most strings -> `()`."""
    hit = _cache.get(value)
    if hit is not None:
        return hit
    found = _detect(value)
    if len(_cache) > 50_000:
        _cache.clear()
    _cache[value] = found
    return found


def _detect(v: str) -> tuple[str, ...]:
    n = len(v)
    if n < 3 or n > 2048:
        return _EMPTY
    c0 = v[0]
    if c0 == "<" and v.startswith("<redacted:"):
        m = PLACEHOLDER_RE.fullmatch(v)
        if m and m.group(1) in REDACTED_FORMATS:
            return (REDACTED_FORMATS[m.group(1)],)
        return _EMPTY
    if c0.isdigit():
        if n == 36 and v[8] == "-" and _UUID.fullmatch(v):
            return ("uuid",)
        if n == 10 and v[4] == "-" and _DATE.fullmatch(v) and _valid_date(v):
            return ("date",)
        if n >= 16 and v[4] == "-" and v[10] in "Tt " and _DATETIME.fullmatch(v) and _valid_datetime(v):
            return ("date-time",)
        if n >= 8 and v[2] == ":" and _TIME.fullmatch(v):
            return ("time",)
        if 7 <= n <= 15 and v.count(".") == 3 and _IPV4.fullmatch(v):
            return ("ipv4",)
    if n == 36 and v[8] == "-" and _UUID.fullmatch(v):
        return ("uuid",)
    if ":" in v:
        if "://" in v:
            if " " not in v and _URI.fullmatch(v):
                return ("uri",)
            return _EMPTY
        if n >= 2 and v.count(":") >= 2 and all(ch in "0123456789abcdefABCDEF:." for ch in v):
            try:
                ipaddress.IPv6Address(v)
                return ("ipv6",)
            except ValueError:
                return _EMPTY
        return _EMPTY
    if "@" in v and " " not in v and _EMAIL.fullmatch(v):
        return ("email",)
    return _EMPTY


def _valid_date(v: str) -> bool:
    try:
        date.fromisoformat(v)
        return True
    except ValueError:
        return False


def _valid_datetime(v: str) -> bool:
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
        return True
    except ValueError:
        return False


# Patterns exported in contracts (Pact regex matchers, path parameter patterns).
FORMAT_PATTERNS: dict[str, str] = {
    "uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "date": r"^\d{4}-\d{2}-\d{2}$",
    "date-time": r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$",
    "time": r"^\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$",
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "uri": r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$",
    "ipv4": r"^\d{1,3}(\.\d{1,3}){3}$",
    "ipv6": r"^[0-9A-Fa-f:.]+$",
}


def matches_format(value: str, fmt: str) -> bool:
    """True when `value` is valid for `fmt` (unknown formats always match, as JSON Schema says)."""
    if fmt not in FORMAT_PATTERNS:
        return True
    return fmt in string_formats(value)


__all__ = ["FORMAT_PATTERNS", "STRICT_FORMATS", "matches_format", "string_formats"]
