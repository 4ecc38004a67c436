"""Routes: which documented operation a concrete path (or an observed path shape) belongs to.

One rule everywhere (drift, the single-exchange checker, the stub, replay, metrics): a template matches when
its literal segments equal the path's and each `{parameter}` takes one non-empty segment; of several matches
the one with more literal segments wins (`/users/me` beats `/users/{id}`), then the one whose first literal
comes earlier (`/a/b/{x}` beats `/a/{x}/c` for `/a/b/c`), then the first in the contract.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from urllib.parse import unquote


def split_path(path: str) -> list[str]:
    """Decoded segments of a path: `/a/b%20c/` -> `['a', 'b c']` (a trailing slash is ignored)."""
    return [unquote(s) for s in path.split("/") if s != ""]


def is_parameter(segment: str) -> bool:
    """`{userId}` is a parameter segment, `users` is not."""
    return segment.startswith("{") and segment.endswith("}")


def template_regex(template: str) -> re.Pattern[str]:
    """A regex for concrete paths of a template, one group per parameter: `/users/{id}` -> `/users/([^/]+)/?`."""
    parts = [
        "([^/]+)" if is_parameter(seg) else re.escape(seg)
        for seg in (split_path(template) if template != "/" else [])
    ]
    return re.compile("/" + "/".join(parts) + "/?" if parts else "/")


class _HasRoute(Protocol):
    method: str
    path: str


T = TypeVar("T", bound=_HasRoute)


@dataclass(frozen=True)
class Route(Generic[T]):
    """One documented operation with its compiled template."""

    op: T
    regex: re.Pattern[str]
    names: tuple[str, ...]
    segments: tuple[str, ...]
    rank: tuple[int, tuple[int, ...], int]  # lower wins: (-literals, parameter positions, contract order)


class Routes(Generic[T]):
    """The operations of a contract (anything with `method` and `path`), ready to match requests."""

    def __init__(self, operations: Iterable[T]) -> None:
        routes = []
        for order, op in enumerate(operations):
            segments = tuple(split_path(op.path)) if op.path != "/" else ()
            params = tuple(1 if is_parameter(s) else 0 for s in segments)
            routes.append(
                Route(
                    op=op,
                    regex=template_regex(op.path),
                    names=tuple(s[1:-1] for s in segments if is_parameter(s)),
                    segments=segments,
                    rank=(-(len(segments) - sum(params)), params, order),
                )
            )
        routes.sort(key=lambda r: r.rank)
        self.routes: list[Route[T]] = routes

    def match(self, method: str, path: str) -> tuple[T, dict[str, str]] | None:
        """The operation a concrete request belongs to, with its decoded path parameters."""
        path = path.split("?", 1)[0]
        method = method.lower()
        for route in self.routes:
            if route.op.method.lower() != method:
                continue
            found = route.regex.fullmatch(path)
            if found:
                return route.op, {n: unquote(v) for n, v in zip(route.names, found.groups(), strict=True)}
        return None

    def match_shape(self, method: str, shape: str) -> T | None:
        """The operation an observed path shape belongs to; a typed placeholder of the shape (`{int}`) only
        matches a documented parameter, never a literal."""
        method = method.lower()
        shape_segments = split_path(shape)
        for route in self.routes:
            if route.op.method.lower() != method or not route.regex.fullmatch(shape):
                continue
            if _placeholders_fit(route.segments, shape_segments):
                return route.op
        return None

    def allowed(self, path: str) -> list[str]:
        """Methods documented for a concrete path (for 405 answers), upper-case and sorted."""
        path = path.split("?", 1)[0]
        return sorted({r.op.method.upper() for r in self.routes if r.regex.fullmatch(path)})


def _placeholders_fit(template: Sequence[str], shape: Sequence[str]) -> bool:
    if len(template) != len(shape):
        return False
    return all(not is_parameter(s) or is_parameter(t) for t, s in zip(template, shape, strict=True))


def path_parameters(template: str, path: str) -> dict[str, str]:
    """The parameter values of a concrete path under a template (empty when the segment counts differ)."""
    concrete = split_path(path.split("?", 1)[0])
    segments = split_path(template)
    if len(concrete) != len(segments):
        return {}
    return {t[1:-1]: c for t, c in zip(segments, concrete, strict=True) if is_parameter(t)}
