"""Pact matching-rule paths (`$.items[*].reactions['+1']`), written and read the way the Pact verifier reads them.

The Pact reference implementation (pact_models, which pact-python's verifier runs) writes a key with a dot
only when it is a plain ASCII identifier (`[_A-Za-z][_A-Za-z0-9]*`), and every other key in brackets with
single quotes: `['+1']`, `['a.b']`, `['foo bar']`, `['ünï']`, `['$ref']`, `['2024']`, never `.['+1']`. Its
reader takes a bracketed key literally up to the next `'` (no escapes), and refuses an empty one, so a key
that is empty or holds a `'` cannot be named in a path at all: `child` returns None for it, and the writer
leaves such a field out of what the pact expects.
"""

from __future__ import annotations

import re
from typing import Any

ROOT = "$"
IDENTIFIER = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")


class _AnyIndex:
    def __repr__(self) -> str:
        return "[*]"


ANY_INDEX: Any = _AnyIndex()  # `[*]`: any array index
STAR = "*"  # `.*`: any key or index

# `.name`, `[0]`, `[*]`, `['key']` (read leniently: a dotted name may hold more than pact_models writes)
_TOKEN = re.compile(r"""\.([^.\[\]'"]+)|\[(\d+)\]|\[(\*)\]|\['([^']+)'\]|\["([^"]+)"\]""")


def child(path: str, key: str) -> str | None:
    """The path of `key` under `path`: `$.a` + `b` -> `$.a.b`, + `+1` -> `$.a['+1']`; None when no path can
    name the key (empty, or with a single quote)."""
    if IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    if not key or "'" in key:
        return None
    return f"{path}['{key}']"


_INDEX_LIKE = re.compile(r"\+[0-9]+|0[0-9]+")


def read_as_index(key: str) -> bool:
    """Keys the verifier mistakes for an array index (`+1`, `007` parse as numbers, so the body path it
    compares is `[1]`, `[7]`): no rule path reaches them, a rule on their object must cover them."""
    return bool(_INDEX_LIKE.fullmatch(key))


def items(path: str) -> str:
    """Any item of the array at `path`: `$.a[*]`."""
    return f"{path}[*]"


def values(path: str) -> str:
    """Any value of the object at `path`, whatever its key: `$.a.*`."""
    return f"{path}.*"


def parse(expr: str) -> tuple[Any, ...] | None:
    """Tokens of a matching-rule path: `$.items[*].id` -> `("items", ANY_INDEX, "id")`; None when malformed."""
    expr = expr.strip()
    if not expr.startswith(ROOT):
        return None
    tokens: list[Any] = []
    pos = 1
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            return None
        name, index, star, quoted, dquoted = m.groups()
        if name is not None:
            tokens.append(STAR if name == "*" else name)
        elif index is not None:
            tokens.append(int(index))
        elif star is not None:
            tokens.append(ANY_INDEX)
        else:
            tokens.append(quoted if quoted is not None else dquoted)
        pos = m.end()
    return tuple(tokens)
