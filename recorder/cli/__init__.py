"""The `recorder` command line: thin typer commands that call the library, render, and set the exit code.

One module per command group (`capture`, `inspect`, `export`, `judge`, `verify`, `health`, `demo`), all on the
app in `recorder.cli.app`. Exit codes: 0 success; 1 findings at or above --fail-on; 2 usage or input errors
(one line on stderr).
"""

from __future__ import annotations

import os
import sys

import typer

from recorder.cli import capture, demo, export, health, inspect, judge, verify  # noqa: F401 (they register commands)
from recorder.cli.app import app
from recorder.errors import RecorderError

ORDER = (
    "proxy", "import", "stats", "endpoints", "show", "summarize", "drift", "diff", "replay", "stub",
    "snapshot", "history", "report", "prune", "merge", "demo",
)  # fmt: skip


def _position(command: typer.models.CommandInfo) -> int:
    name = command.name or (command.callback.__name__ if command.callback else "")
    return ORDER.index(name) if name in ORDER else len(ORDER)


app.registered_commands.sort(key=_position)  # `recorder --help` lists commands in the order of the README


def main(argv: list[str] | None = None) -> None:
    """Console entry: run the app and exit with its code."""
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(args: list[str]) -> int:
    """Run one command line; user errors become one line on stderr and exit code 2 (never a traceback)."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="recorder", standalone_mode=False)
    except RecorderError as exc:
        return _fail(str(exc), exc.exit_code)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return _fail("aborted.", 130)
    except KeyboardInterrupt:
        return _fail("interrupted.", 130)
    except typer.TyperException as exc:  # click usage errors: bad option, missing argument, bad value
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        return _fail(f"{message}{hint}", getattr(exc, "exit_code", 2))
    except Exception as exc:  # a bug of ours: still one line, with a way to get the traceback
        if os.environ.get("RECORDER_DEBUG"):
            raise
        return _fail(
            f"internal error: {type(exc).__name__}: {exc} (set RECORDER_DEBUG=1 to see the traceback)", 2
        )
    return code if isinstance(code, int) else 0


def _fail(message: str, code: int) -> int:
    message = " ".join(str(message).split())
    sys.stderr.write(f"recorder: error: {message}\n")
    sys.stderr.flush()
    return code
