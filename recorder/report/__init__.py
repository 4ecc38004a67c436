"""Report renderers: text, markdown, JSON, JUnit XML and HTML views of one `Report`.

```python
from recorder.report import render
print(render(report, "markdown"))
```
Every renderer is deterministic: the same `Report` always renders to the same string.
"""

from __future__ import annotations

import importlib
from pathlib import PurePath

from recorder.errors import ConfigError
from recorder.model import Report

FORMATS = ("text", "markdown", "json", "junit", "html")

_MODULES = {
    "text": "recorder.report.text",
    "markdown": "recorder.report.markdown",
    "json": "recorder.report.json",
    "junit": "recorder.report.junit",
    "html": "recorder.report.html",
}

_SUFFIXES = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "json",
    ".xml": "junit",
    ".html": "html",
    ".htm": "html",
}


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    """Render `report` in format `fmt` (one of `FORMATS`); `color` adds ANSI colours to `text` only."""
    if fmt not in _MODULES:
        raise ConfigError(f"unknown report format {fmt!r}. Choose one of: {', '.join(FORMATS)}.")
    module = importlib.import_module(_MODULES[fmt])  # lazily: a command pays only for its format
    if fmt == "text":
        return module.render(report, color=color)
    return module.render(report)


def format_for_path(path: str | PurePath) -> str | None:
    """The format a file name asks for: `drift.html` -> `html`, `junit.xml` -> `junit`; None if unknown."""
    return _SUFFIXES.get(PurePath(path).suffix.lower())
