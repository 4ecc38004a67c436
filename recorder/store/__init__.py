"""The store: the only place that speaks SQL (schema, migrations, writes and the queries commands need)."""

from recorder.store.sqlite import *  # noqa: F403
from recorder.store.sqlite import (  # noqa: F401
    EXCHANGE_COLUMNS,
    chunked,
    connect,
    create_private_file,
    endpoints,
    exchange_from_row,
    get_exchange,
    insert_rows,
    rows_json,
    stats,
)
