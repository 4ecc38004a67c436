"""The recorder's tables: the exchange columns every backend stores, in the order rows are built."""

from __future__ import annotations

EXCHANGE_COLUMNS = (
    "uid",
    "started",
    "duration_ms",
    "consumer",
    "provider",
    "method",
    "scheme",
    "host",
    "port",
    "path",
    "query",
    "http_version",
    "request_headers",
    "request_content_type",
    "request_body",
    "request_size",
    "request_truncated",
    "status",
    "response_headers",
    "response_content_type",
    "response_body",
    "response_size",
    "response_truncated",
    "error",
    "source",
    "shape",
)
COLUMN = {name: i for i, name in enumerate(EXCHANGE_COLUMNS)}  # a built row's fields, by name

SNAPSHOT_COLUMNS = (
    "provider",
    "version",
    "created_at",
    "bump",
    "reasons",
    "operations",
    "exchanges",
    "contract",
)
SUMMARIZED_THROUGH = "summarized_through"  # meta key: the highest exchange id folded into the summaries
