"""One error base class: every error a user can cause carries a one-line message and an exit code."""

from __future__ import annotations


class RecorderError(Exception):
    """An error the user can fix; the CLI prints `message` on one line and exits with `exit_code`."""

    exit_code = 2

    def __init__(self, message: str, *, tip: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tip = tip

    def __str__(self) -> str:
        return self.message if not self.tip else f"{self.message} Tip: {self.tip}"


class ConfigError(RecorderError):
    """The configuration file or an option is wrong."""


class StoreError(RecorderError):
    """The database is missing, corrupt, or not a recorder database."""


class ImportFileError(RecorderError):
    """A HAR or flow file cannot be read."""


class ContractError(RecorderError):
    """A contract file (OpenAPI, Pact) cannot be loaded."""
