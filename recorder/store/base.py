"""What every store backend offers: the questions the rest of the recorder asks of recorded traffic.

Nothing outside `recorder.store` writes SQL. Commands ask these methods; each backend (SQLite, the embedded
default; PostgreSQL, for fleets) answers them with its own statements. Rows come back as `Exchange` values or
as dicts keyed by column name, never as positional tuples.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from recorder.common.times import iso
from recorder.errors import StoreError
from recorder.model import Exchange

SummaryKey = tuple[str, str, str]  # (provider, method, path shape)
SummaryRow = tuple[str, str, str, int, float | None, float | None, str]  # key, count, first, last, data JSON
FoldOutcome = Literal["done", "stale", "busy"]


class StoreUnavailable(StoreError):
    """The store failed while working (locked, disk full, connection lost, read-only). `transient` when the
    same call may well succeed in a moment (the connection was lost, the server restarts)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Window:
    """Which traffic: a time range (epoch seconds, `until` exclusive) and one consumer, or all."""

    since: float | None = None
    until: float | None = None
    consumer: str | None = None

    @property
    def is_all(self) -> bool:
        return self.since is None and self.until is None and self.consumer is None

    def describe(self) -> dict[str, str | None]:
        return {"since": iso(self.since), "until": iso(self.until), "consumer": self.consumer}


ALL = Window()


class Store(ABC):
    """A recorder database. `name` is how messages refer to it (a file name, or a URL without password)."""

    name: str

    # -- lifecycle ---------------------------------------------------------------------------------------

    @abstractmethod
    def close(self) -> None:
        """Close the connection (the store cannot be used afterwards)."""

    def replaced(self) -> bool:
        """True when the database this store opened is gone or was replaced since (a file deleted)."""
        return False

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- capture -----------------------------------------------------------------------------------------

    @abstractmethod
    def start_session(self, session: dict[str, Any]) -> None:
        """Record that a capture session (a proxy or an import) started."""

    @abstractmethod
    def update_session(self, session_id: str, counters: dict[str, Any]) -> None:
        """Store a session's running counters (recorded, dropped, errors, last error, ended)."""

    @abstractmethod
    def write_batch(self, rows: Sequence[Sequence[Any]], session_id: str, counters: dict[str, Any]) -> int:
        """Insert exchange rows (tuples in `EXCHANGE_COLUMNS` order) and the session's counters (whose
        `recorded` grows by the rows written) in one transaction; returns the rows written (duplicates of an
        already stored uid are skipped)."""

    # -- exchanges ---------------------------------------------------------------------------------------

    @abstractmethod
    def exchange(self, exchange_id: int) -> Exchange | None:
        """The exchange with this id, or None."""

    @abstractmethod
    def exchanges_after(self, after_id: int, limit: int) -> list[Exchange]:
        """Up to `limit` exchanges with ids above `after_id`, oldest first."""

    @abstractmethod
    def exchanges(self, provider: str, window: Window = ALL) -> Iterator[Exchange]:
        """A provider's exchanges in a window, oldest first."""

    @abstractmethod
    def count_exchanges(self, after_id: int = 0) -> int:
        """How many exchanges have ids above `after_id`."""

    @abstractmethod
    def max_exchange_id(self) -> int:
        """The highest exchange id (0 when none)."""

    @abstractmethod
    def exchange_providers(self) -> list[str]:
        """Providers of the stored exchanges, sorted."""

    @abstractmethod
    def consumers(self, provider: str, window: Window = ALL) -> list[str]:
        """Consumers of a provider's exchanges in a window, sorted."""

    @abstractmethod
    def example_rows(
        self,
        provider: str,
        method: str,
        shapes: Sequence[str],
        status: int | None,
        window: Window,
        limit: int,
    ) -> list[dict[str, Any]]:
        """The newest exchanges of these shapes (and status), at most `limit`: id, started, consumer, status,
        query, request_headers, and both bodies with their content types and truncation flags."""

    @abstractmethod
    def pact_example(
        self, provider: str, method: str, shapes: Sequence[str], status: int, consumer: str
    ) -> dict[str, Any] | None:
        """A consumer's most representative exchange of these shapes and status (the largest response body,
        then the oldest): path, query, headers, bodies, content types, status, truncation flags."""

    @abstractmethod
    def writes_before(self, provider: str, paths: Sequence[str], before_id: int) -> list[dict[str, Any]]:
        """The successful (2xx) PUT, PATCH, POST and DELETE exchanges to exactly these paths recorded before
        exchange `before_id`, oldest first: id, method, path, query, request_headers, request_body,
        request_content_type, request_truncated."""

    @abstractmethod
    def replay_candidates(
        self, provider: str, window: Window, shapes: set[str] | None, sample: int
    ) -> list[Exchange]:
        """Answered exchanges to replay: the `sample` most recent per (method, shape, status), or all when
        `sample` is 0; oldest first."""

    @abstractmethod
    def recorded_requests(self, provider: str, after_id: int) -> list[dict[str, Any]]:
        """Distinct answered requests (method, path, query JSON, status) with ids above `after_id`: `n` how
        often, `last_id` the newest; the most common status of each request first."""

    @abstractmethod
    def recent_origins(self, provider: str, recent: int = 2000, top: int = 3) -> list[tuple[str, str, int]]:
        """(scheme, host, port) of a provider's most recent exchanges, most frequent first."""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """Counts for `recorder stats`: exchanges by operation, consumer and status; drops and errors."""

    @abstractmethod
    def endpoints(self) -> list[dict[str, Any]]:
        """Observed method + concrete path with counts and statuses."""

    @abstractmethod
    def size_bytes(self) -> int:
        """How much space the database takes."""

    # -- evidence summaries ------------------------------------------------------------------------------

    @abstractmethod
    def summarized_through(self) -> int:
        """The highest exchange id folded into the summaries."""

    @abstractmethod
    def fold(
        self,
        expected: int,
        through: int,
        merge: Callable[[dict[SummaryKey, str | None]], list[SummaryRow]],
        keys: Sequence[SummaryKey],
    ) -> FoldOutcome:
        """Fold a batch into the stored summaries, exactly once: in one write transaction, unless another
        writer moved the mark since `expected` ("stale") or holds the lock ("busy"), call `merge` with the
        stored data of `keys` (None where new), upsert what it returns and move the mark to `through`."""

    @abstractmethod
    def summary_rows(self, provider: str | None = None) -> list[dict[str, Any]]:
        """Stored summaries (provider, method, shape, data JSON) in (provider, shape, method) order."""

    @abstractmethod
    def summary_providers(self) -> list[str]:
        """Providers that have summaries, sorted."""

    @abstractmethod
    def reset_summaries(self) -> None:
        """Drop every summary and the mark (before rebuilding them from the raw exchanges)."""

    @abstractmethod
    def put_summaries(self, rows: Sequence[SummaryRow], through: int) -> None:
        """Write summaries wholesale (a merge of shards) and set the mark."""

    # -- snapshots ---------------------------------------------------------------------------------------

    @abstractmethod
    def add_snapshot(self, row: dict[str, Any]) -> bool:
        """Store a snapshot row (`SNAPSHOT_COLUMNS`); False when that (provider, version) exists."""

    @abstractmethod
    def snapshot_rows(self, provider: str) -> list[dict[str, Any]]:
        """A provider's snapshots, oldest first."""

    @abstractmethod
    def snapshot_row(self, provider: str, version: str | None = None) -> dict[str, Any] | None:
        """One snapshot of a provider: this version, or the latest."""

    # -- retention ---------------------------------------------------------------------------------------

    @abstractmethod
    def body_bytes(self) -> int:
        """Bytes of stored bodies and headers."""

    @abstractmethod
    def prune(
        self,
        *,
        keep_first: int,
        keep_last: int,
        older_than: float | None,
        max_bytes: int | None,
        through: int,
    ) -> int:
        """Delete exchanges with ids up to `through` beyond the first `keep_first` and last `keep_last` of each
        (provider, method, shape, status); then those older than `older_than` and, oldest first, as many as
        `max_bytes` requires (never the first `keep_first`); give the space back. Returns how many went."""
