"""Settings from `recorder.toml` or `[tool.recorder]` in `pyproject.toml`, with defaults that need no file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from recorder.errors import ConfigError
from recorder.model import Frozen


class RedactionSettings(Frozen):
    """What to hide before anything is stored: extra names and patterns, names never to hide."""

    enabled: bool = True
    headers: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    patterns: dict[str, str] = Field(default_factory=dict)


class InferenceSettings(Frozen):
    """Evidence thresholds: how many observations before a rule is asserted in a draft contract."""

    min_required: int = 3  # present in every one of at least this many observations -> required
    min_format: int = 1  # strict formats (uuid, date-time, email, uri, ipv4, ipv6): every value matched
    min_format_weak: int = 3  # weaker formats (date, time): every value of at least this many matched
    min_enum: int = 10  # observations before an enum may be asserted (3/5 of it for status, type, kind...)
    max_enum: int = 24  # at most this many distinct values (and fewer than sqrt(observations))
    low_confidence: int = 3  # elements seen fewer times are marked `confidence: low`


class RetentionSettings(Frozen):
    """Which raw exchanges to keep (evidence is always kept): per operation shape and status, the first and
    the most recent ones; then an optional maximum age and total size."""

    enabled: bool = True
    keep_first: int = 20
    keep_last: int = 500
    max_age_days: float | None = None
    max_bytes: int | None = None
    interval_seconds: float = 30.0


class Settings(Frozen):
    """All settings; `source` names the file they came from, if any."""

    redact: RedactionSettings = Field(default_factory=RedactionSettings)
    infer: InferenceSettings = Field(default_factory=InferenceSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    paths: tuple[str, ...] = ()
    db: str | None = None  # the database when no --db (or RECORDER_DB) says: a file or postgresql:// URL
    source: str | None = None


def load_settings(path: Path | str | None = None, cwd: Path | None = None) -> Settings:
    """Read `path`, else `./recorder.toml`, else `[tool.recorder]` of `./pyproject.toml`, else defaults."""
    cwd = cwd or Path.cwd()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist.")
        data = _read_toml(path)
        if path.name == "pyproject.toml":
            data = data.get("tool", {}).get("recorder", {})
        return _settings(data, path)
    candidate = cwd / "recorder.toml"
    if candidate.is_file():
        return _settings(_read_toml(candidate), candidate)
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        section = _read_toml(pyproject).get("tool", {}).get("recorder")
        if section is not None:
            return _settings(section, pyproject)
    return Settings()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}.") from None


def _settings(data: dict[str, Any], path: Path) -> Settings:
    try:
        settings = Settings.model_validate({**data, "source": str(path)})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: setting '{where}': {first['msg']}.") from None
    for name, pattern in settings.redact.patterns.items():
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{path}: redact pattern '{name}' is not a valid regex: {exc}.") from None
    return settings
