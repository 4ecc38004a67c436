"""Evidence strategies for scalars (null, boolean, number, string): genson's, counting what they see.

Each counts observations and keeps a capped set of distinct values, numeric and length ranges and the
formats every string matched, serialised as `x-stats` (see `recorder.learn.infer`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from genson.schema.strategies import Boolean, Null, Number, String

from recorder.common.jsonvalues import is_integral
from recorder.learn.strformats import _cache as _format_cache
from recorder.learn.strformats import string_formats

VALUES_CAP = 32  # distinct values remembered per scalar location (enums need few)
VALUE_MAX_LEN = 48  # longer strings are free text: never enum candidates
SMALL_BATCH = 6  # shorter batches of scalars are folded one by one (cheaper than tallying them)
FORMAT_GIVE_UP = 8  # after this many values without any format, stop looking (formats must hold for all)


class EvidenceNull(Null):
    """`null`, counted."""

    def __init__(self, node_class: type) -> None:
        super().__init__(node_class)
        self.n = 0

    def add_object(self, obj: Any) -> None:
        self.n += 1

    add_one = add_object  # a scalar has no arrays inside to fold column by column

    def add_many(self, objs: Sequence[Any]) -> None:
        """Count a batch of nulls."""
        self.n += len(objs)

    def add_schema(self, schema: dict[str, Any]) -> None:
        self.n += schema.get("x-stats", {}).get("n", 0)

    def to_schema(self) -> dict[str, Any]:
        return {"type": "null", "x-stats": {"n": self.n}}


class EvidenceBoolean(Boolean):
    """Booleans, counted with how many were true."""

    def __init__(self, node_class: type) -> None:
        super().__init__(node_class)
        self.n = 0
        self.true = 0

    def add_object(self, obj: Any) -> None:
        self.n += 1
        if obj:
            self.true += 1

    add_one = add_object  # a scalar has no arrays inside to fold column by column

    def add_many(self, objs: Sequence[Any]) -> None:
        """Count a batch of booleans."""
        self.n += len(objs)
        self.true += sum(map(bool, objs))

    def add_schema(self, schema: dict[str, Any]) -> None:
        stats = schema.get("x-stats", {})
        self.n += stats.get("n", 0)
        self.true += stats.get("t", 0)

    def to_schema(self) -> dict[str, Any]:
        return {"type": "boolean", "x-stats": {"n": self.n, "t": self.true}}


class _Values:
    """A capped multiset of distinct scalar values: exact below the cap, `None` (too many) above it."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[Any, int] | None = {}

    def add(self, value: Any) -> None:
        counts = self.counts
        if counts is None:
            return
        if value in counts:
            counts[value] += 1
        elif len(counts) < VALUES_CAP:
            counts[value] = 1
        else:
            self.counts = None

    def add_counts(self, tally: dict[Any, int]) -> None:
        """Add values with their counts, as adding each one that often would (the cap holds for the batch)."""
        counts = self.counts
        if counts is None or not tally:
            return
        if len(counts) + len(tally.keys() - counts.keys()) > VALUES_CAP:
            self.counts = None
            return
        for value, count in tally.items():
            counts[value] = counts.get(value, 0) + count

    def merge(self, pairs: list[list[Any]] | None) -> None:
        if pairs is None:
            self.counts = None
            return
        for value, count in pairs:
            if self.counts is None:
                return
            if value in self.counts:
                self.counts[value] += count
            elif len(self.counts) < VALUES_CAP:
                self.counts[value] = count
            else:
                self.counts = None

    def dump(self) -> list[list[Any]] | None:
        if self.counts is None:
            return None
        return [[v, c] for v, c in sorted(self.counts.items(), key=lambda kv: (str(type(kv[0])), kv[0]))]


class EvidenceNumber(Number):
    """Integers and numbers: count, floats seen, range, and distinct integer values (capped)."""

    def __init__(self, node_class: type) -> None:
        super().__init__(node_class)
        self.n = 0
        self.floats = 0
        self.min: float | None = None
        self.max: float | None = None
        self.values = _Values()

    def add_object(self, obj: Any) -> None:
        self.n += 1
        if type(obj) is float:
            if is_integral(obj):
                obj = int(obj)  # 2.0 is an integer value in JSON Schema
            else:
                self.floats += 1
                self._type = "number"
        if self.min is None or obj < self.min:
            self.min = obj
        if self.max is None or obj > self.max:
            self.max = obj
        if type(obj) is int:
            counts = self.values.counts
            if counts is not None:
                if obj in counts:
                    counts[obj] += 1
                elif len(counts) < VALUES_CAP:
                    counts[obj] = 1
                else:
                    self.values.counts = None

    add_one = add_object  # a scalar has no arrays inside to fold column by column

    def add_many(self, objs: Sequence[Any]) -> None:
        """Add a batch of numbers, with the same result as adding them one by one (tallied by value)."""
        if len(objs) < SMALL_BATCH:
            for obj in objs:
                self.add_object(obj)
            return
        tally = Counter(objs)
        floats = 0
        whole: dict[Any, int] = tally
        values: Any = tally
        if float in set(map(type, tally)):
            whole, values = {}, []
            for value, count in tally.items():
                if type(value) is float:
                    if value.is_integer():  # is_integral: False for infinities and NaN too
                        value = int(value)
                    elif value != value:  # NaN: every comparison is false, so the range depends on the order
                        for obj in objs:
                            self.add_object(obj)
                        return
                    else:
                        floats += count
                        values.append(value)
                        continue
                whole[value] = whole.get(value, 0) + count
                values.append(value)
        self.n += len(objs)
        if floats:
            self.floats += floats
            self._type = "number"
        low, high = min(values), max(values)
        if self.min is None or low < self.min:
            self.min = low
        if self.max is None or high > self.max:
            self.max = high
        self.values.add_counts(whole)

    def add_schema(self, schema: dict[str, Any]) -> None:
        stats = schema.get("x-stats", {})
        if schema.get("type") == "number" and stats.get("nf", 1):
            self._type = "number"
        self.n += stats.get("n", 0)
        self.floats += stats.get("nf", 0)
        for key, pick in (("min", min), ("max", max)):
            other = stats.get(key)
            if other is not None:
                mine = getattr(self, key)
                setattr(self, key, other if mine is None else pick(mine, other))
        self.values.merge(stats.get("vals", []))

    def to_schema(self) -> dict[str, Any]:
        stats: dict[str, Any] = {"n": self.n, "nf": self.floats, "vals": self.values.dump()}
        if self.min is not None:
            stats["min"] = _json_number(self.min)
            stats["max"] = _json_number(self.max)
        return {"type": "number" if self.floats else "integer", "x-stats": stats}


def _json_number(value: float | None) -> float | int | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class EvidenceString(String):
    """Strings: count, formats matched (per format), length range, distinct short values (capped)."""

    def __init__(self, node_class: type) -> None:
        super().__init__(node_class)
        self.n = 0
        self.formats: dict[str, int] = {}
        self.values = _Values()
        self.min_len: int | None = None
        self.shortest = 1 << 62  # min_len without the None check on the hot path
        self.max_len = 0
        self.long = 0
        self.redacted = 0
        self.detect = True

    def add_object(self, obj: str) -> None:
        self.n += 1
        size = len(obj)
        if size < self.shortest:
            self.shortest = size
            self.min_len = size
        if size > self.max_len:
            self.max_len = size
        if self.detect:
            fmts = _format_cache.get(obj)
            if fmts is None:
                fmts = string_formats(obj)
            if fmts:
                formats = self.formats
                for fmt in fmts:
                    formats[fmt] = formats.get(fmt, 0) + 1
            elif not self.formats and self.n >= FORMAT_GIVE_UP:
                self.detect = False  # no value ever had a format: this location has none
        if size > VALUE_MAX_LEN:
            self.long += 1
        elif obj[:1] == "<" and obj.startswith("<redacted:"):
            self.redacted += 1
        else:
            counts = self.values.counts
            if counts is not None:
                if obj in counts:
                    counts[obj] += 1
                elif len(counts) < VALUES_CAP:
                    counts[obj] = 1
                else:
                    self.values.counts = None

    add_one = add_object  # a scalar has no arrays inside to fold column by column

    def add_many(self, objs: Sequence[str]) -> None:
        """Add a batch of strings, with the same result as adding them one by one (tallied by value)."""
        if len(objs) < SMALL_BATCH:
            for obj in objs:
                self.add_object(obj)
            return
        seen = self.n
        self.n += len(objs)
        tally = Counter(objs)
        sizes = list(map(len, tally))
        shortest, longest = min(sizes), max(sizes)
        if shortest < self.shortest:
            self.shortest = shortest
            self.min_len = shortest
        if longest > self.max_len:
            self.max_len = longest
        if self.detect:
            self._detect_formats(objs, seen)
        if longest > VALUE_MAX_LEN:
            for text in [v for v in tally if len(v) > VALUE_MAX_LEN]:
                self.long += tally.pop(text)
        if "\x00<redacted:" in "\x00" + "\x00".join(tally):  # one scan over the distinct values
            for marker in [v for v in tally if v.startswith("<redacted:")]:
                self.redacted += tally.pop(marker)
        self.values.add_counts(tally)

    def _detect_formats(self, objs: Sequence[str], seen: int) -> None:
        """Count the formats of a batch: one by one until a format is found (or detection gives up), then
        tallied by the formats each value has, as a location that has a format never gives up."""
        formats = self.formats
        cached = _format_cache.get
        rest = objs
        if not formats:
            for index, obj in enumerate(objs):
                seen += 1
                fmts = cached(obj)
                if fmts is None:
                    fmts = string_formats(obj)
                if fmts:
                    for fmt in fmts:
                        formats[fmt] = formats.get(fmt, 0) + 1
                    rest = objs[index + 1 :]
                    break
                if seen >= FORMAT_GIVE_UP:
                    self.detect = False  # no value ever had a format: this location has none
                    return
            else:
                return
        found = list(map(cached, rest))
        if None in found:  # not cached yet
            found = [string_formats(v) if f is None else f for v, f in zip(rest, found, strict=True)]
        for fmts, count in Counter(found).items():
            for fmt in fmts:
                formats[fmt] = formats.get(fmt, 0) + count

    def add_schema(self, schema: dict[str, Any]) -> None:
        stats = schema.get("x-stats", {})
        self.n += stats.get("n", 0)
        for fmt, count in stats.get("fmt", {}).items():
            self.formats[fmt] = self.formats.get(fmt, 0) + count
        self.values.merge(stats.get("vals", []))
        if stats.get("minL") is not None:
            self.min_len = stats["minL"] if self.min_len is None else min(self.min_len, stats["minL"])
            self.shortest = self.min_len
        self.max_len = max(self.max_len, stats.get("maxL", 0))
        self.long += stats.get("long", 0)
        self.redacted += stats.get("red", 0)
        if stats.get("nofmt") or (not self.formats and self.n >= FORMAT_GIVE_UP):
            self.detect = False

    def to_schema(self) -> dict[str, Any]:
        stats: dict[str, Any] = {
            "n": self.n,
            "fmt": dict(sorted(self.formats.items())),
            "vals": self.values.dump(),
            "minL": self.min_len,
            "maxL": self.max_len,
        }
        if self.long:
            stats["long"] = self.long
        if self.redacted:
            stats["red"] = self.redacted
        if not self.detect:
            stats["nofmt"] = True
        return {"type": "string", "x-stats": stats}
