"""Times: ISO 8601 text for epoch seconds, and the time and duration options users type."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from recorder.errors import RecorderError

DAY = 86400.0
_UNITS = {"d": DAY, "h": 3600.0, "m": 60.0, "s": 1.0}


def iso(ts: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC timestamp (second precision): `2024-05-01T10:00:00Z`."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    """The current time as an ISO 8601 UTC timestamp."""
    return iso(time.time()) or ""


def parse_duration(text: str) -> float:
    """`30d`, `12h`, `15m`, `90s` (or a plain number of days) in seconds."""
    text = text.strip()
    try:
        if text[-1:] in _UNITS:
            return float(text[:-1]) * _UNITS[text[-1]]
        return float(text) * DAY
    except ValueError:
        raise RecorderError(f"{text!r} is not a duration: use 30d, 12h, 15m or 90s.") from None


def parse_time(text: str | None, option: str) -> float | None:
    """`2024-05-01`, `2024-05-01T10:00:00Z`, or a relative `7d` / `12h` / `30m` before now -> epoch seconds."""
    if text is None:
        return None
    text = text.strip()
    if text[:-1].isdigit() and text[-1:] in _UNITS:
        return datetime.now(UTC).timestamp() - int(text[:-1]) * _UNITS[text[-1]]
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RecorderError(
            f"{option} {text!r} is not a date: use 2024-05-01, 2024-05-01T10:00:00Z or 7d/12h/30m."
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()
