"""Schema inference with evidence: genson's builder, extended through its strategy classes.

Each strategy counts what it sees (observations, presence of properties, formats matched, a capped set of
distinct values, numeric and length ranges, nulls) and serialises those counts as `x-stats` inside the
schema it emits. A serialised summary merges back with `add_schema`, so summaries from many batches, days
or proxies combine associatively into the same result. `finalize_schema` turns a summary into a clean JSON
Schema 2020-12 (types, formats, enums, required, maps as `additionalProperties`) with `x-evidence`.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

from genson import SchemaNode
from genson.schema.strategies import Boolean, List, Null, Number, Object, String

from recorder.common.jsonvalues import is_integral
from recorder.config import InferenceSettings
from recorder.learn.paths import segment_kind
from recorder.learn.strformats import STRICT_FORMATS, string_formats
from recorder.learn.strformats import _cache as _format_cache

VALUES_CAP = 32  # distinct values remembered per scalar location (enums need few)
VALUE_MAX_LEN = 48  # longer strings are free text: never enum candidates
PROPS_CAP = 200  # an object with more distinct keys than this is a map
SMALL_BATCH = 6  # shorter batches of scalars are folded one by one (cheaper than tallying them)
FORMAT_GIVE_UP = 8  # after this many values without any format, stop looking (formats must hold for all)
FREE_FORM_NAMES = frozenset(
    {"metadata", "attributes", "properties", "extra", "custom_fields", "params", "variables", "context"}
)
MAP_NAMES = frozenset(
    {"labels", "annotations", "headers", "selector", "matchlabels", "nodeselector", "env_vars"}
)

_dynamic_keys: dict[str, bool] = {}


def is_dynamic_key(key: str) -> bool:
    """Keys that are data, not field names: what a path segment would be a parameter for on its own (ids,
    dates, hashes, prefixed and opaque ids: `{"2024-05-01": ...}` is a map; `max_redemptions` is a name)."""
    hit = _dynamic_keys.get(key)
    if hit is None:
        hit = segment_kind(key) is not None
        if len(_dynamic_keys) > 100_000:
            _dynamic_keys.clear()
        _dynamic_keys[key] = hit
    return hit


# ---------------------------------------------------------------------------------------------------------
# Strategies: genson's, counting what they see.


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


class EvidenceList(List):
    """Arrays: count and length range; items merged into one schema (heterogeneous objects field by field)."""

    def __init__(self, node_class: type) -> None:
        super().__init__(node_class)
        self.n = 0
        self.min_items: int | None = None
        self.max_items = 0

    @staticmethod
    def match_schema(schema: dict[str, Any]) -> bool:
        return schema.get("type") == "array"

    def add_object(self, obj: list[Any]) -> None:
        self.n += 1
        size = len(obj)
        if self.min_items is None or size < self.min_items:
            self.min_items = size
        if size > self.max_items:
            self.max_items = size
        add = self._items.add_object
        for item in obj:
            add(item)

    def add_one(self, obj: list[Any]) -> None:
        """Add one array: its items go to the items' node in one call."""
        self.n += 1
        size = len(obj)
        if self.min_items is None or size < self.min_items:
            self.min_items = size
        if size > self.max_items:
            self.max_items = size
        if obj:
            self._items.add_many(obj)

    def add_many(self, objs: Sequence[list[Any]]) -> None:
        """Add a batch of arrays: their items, all of them in order, go to the items' node in one call."""
        if not objs:
            return
        self.n += len(objs)
        sizes = list(map(len, objs))
        shortest, longest = min(sizes), max(sizes)
        if self.min_items is None or shortest < self.min_items:
            self.min_items = shortest
        if longest > self.max_items:
            self.max_items = longest
        items = objs[0] if len(objs) == 1 else list(chain.from_iterable(objs))
        if items:
            self._items.add_many(items)

    def add_schema(self, schema: dict[str, Any]) -> None:
        stats = schema.get("x-stats", {})
        self.n += stats.get("n", 0)
        if stats.get("min") is not None:
            self.min_items = stats["min"] if self.min_items is None else min(self.min_items, stats["min"])
        self.max_items = max(self.max_items, stats.get("max", 0))
        if isinstance(schema.get("items"), dict):
            self._items.add_schema(schema["items"])

    def to_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "array",
            "x-stats": {"n": self.n, "min": self.min_items, "max": self.max_items},
        }
        items = self._items.to_schema()
        if items:
            schema["items"] = items
        return schema


class EvidenceObject(Object):
    """Objects: count and per-property presence; data-like keys (ids, dates) go to one map value schema."""

    def __init__(self, node_class: type) -> None:
        super().__init__(node_class)
        self.n = 0
        self.present: dict[str, int] = {}
        self.map_values: SchemaNode | None = None
        self.map_keys: SchemaNode | None = None
        self.map_objects = 0  # objects that had at least one map entry
        self.as_map = False

    def add_object(self, obj: dict[str, Any]) -> None:
        self.n += 1
        props = self._properties
        present = self.present
        had_map_entry = False
        dynamic = _dynamic_keys
        as_map = self.as_map
        for key, value in obj.items():
            flag = dynamic.get(key)
            if flag is None:
                flag = is_dynamic_key(key)
            if flag or as_map:
                self._map(key, value)
                had_map_entry = True
                continue
            if key in present:
                present[key] += 1
            else:
                present[key] = 1
            props[key].add_object(value)
        if had_map_entry:
            self.map_objects += 1
        if len(props) > PROPS_CAP:
            self._become_map()

    def add_many(self, objs: Sequence[dict[str, Any]]) -> None:
        """Add objects column by column: `[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]` feeds `a` in one call."""
        if len(objs) < 2:
            for obj in objs:
                self.add_one(obj)
            return
        if self.as_map:
            self._map_many(objs)
            return
        keys = tuple(objs[0])
        if len(keys) < 2 or set(map(len, objs)) != {len(keys)}:
            self._add_rows(objs)
            return
        try:
            rows = list(map(itemgetter(*keys), objs))  # equal sizes and all keys of the first: the same keys
        except KeyError:
            self._add_rows(objs)
            return
        props = self._properties
        dynamic = _dynamic_keys
        new = 0
        for key in keys:
            flag = dynamic.get(key)
            if flag is None:
                flag = is_dynamic_key(key)
            if flag:
                self._add_rows(objs)
                return
            if key not in props:
                new += 1
        if len(props) + new > PROPS_CAP:
            self._add_rows(objs)
            return
        size = len(objs)
        self.n += size
        present = self.present
        for key, column in zip(keys, zip(*rows, strict=True), strict=True):
            present[key] = present.get(key, 0) + size
            props[key].add_many(column)

    def add_one(self, obj: dict[str, Any]) -> None:
        """Add one object as `add_object` does, the arrays in it column by column."""
        self.n += 1
        props = self._properties
        present = self.present
        had_map_entry = False
        dynamic = _dynamic_keys
        as_map = self.as_map
        for key, value in obj.items():
            flag = dynamic.get(key)
            if flag is None:
                flag = is_dynamic_key(key)
            if flag or as_map:
                if self.map_values is None:
                    self.map_values = self.node_class()
                    self.map_keys = self.node_class()
                self.map_values.add_one(value)
                self.map_keys.add_one(key)
                had_map_entry = True
                continue
            if key in present:
                present[key] += 1
            else:
                present[key] = 1
            props[key].add_one(value)
        if had_map_entry:
            self.map_objects += 1
        if len(props) > PROPS_CAP:
            self._become_map()

    def _add_rows(self, objs: Sequence[dict[str, Any]]) -> None:
        """Add objects with different keys: columns gathered row by row, until the object becomes a map."""
        props = self._properties
        dynamic = _dynamic_keys
        columns: dict[str, list[Any]] = {}
        map_keys: list[str] = []
        map_values: list[Any] = []
        map_objects = 0
        limit = PROPS_CAP - len(props)  # new property names this object takes before it becomes a map
        rows = 0
        for obj in objs:
            rows += 1
            had_map_entry = False
            for key, value in obj.items():
                flag = dynamic.get(key)
                if flag is None:
                    flag = is_dynamic_key(key)
                if flag:
                    map_keys.append(key)
                    map_values.append(value)
                    had_map_entry = True
                    continue
                column = columns.get(key)
                if column is None:
                    columns[key] = [value]
                    if key not in props:
                        limit -= 1
                else:
                    column.append(value)
            if had_map_entry:
                map_objects += 1
            if limit < 0:
                break
        self.n += rows
        self.map_objects += map_objects
        present = self.present
        for key, column in columns.items():
            present[key] = present.get(key, 0) + len(column)
            props[key].add_many(column)
        if map_keys:
            if self.map_values is None:
                self.map_values = self.node_class()
                self.map_keys = self.node_class()
            self.map_values.add_many(map_values)
            self.map_keys.add_many(map_keys)
        if limit < 0:
            self._become_map()
            self._map_many(objs[rows:])

    def _map_many(self, objs: Sequence[dict[str, Any]]) -> None:
        """Add objects to a map: every entry goes to the map's key and value schemas, in order."""
        if not objs:
            return
        keys: list[str] = []
        values: list[Any] = []
        entries = 0
        for obj in objs:
            if obj:
                entries += 1
                keys.extend(obj)
                values.extend(obj.values())
        self.n += len(objs)
        self.map_objects += entries
        if keys:
            if self.map_values is None:
                self.map_values = self.node_class()
                self.map_keys = self.node_class()
            self.map_values.add_many(values)
            self.map_keys.add_many(keys)

    def _map(self, key: str, value: Any) -> None:
        if self.map_values is None:
            self.map_values = self.node_class()
            self.map_keys = self.node_class()
        self.map_values.add_object(value)
        self.map_keys.add_object(key)

    def _become_map(self) -> None:
        """Too many distinct keys: this object is a map; fold its properties into the map's value schema."""
        self.as_map = True
        if self.map_values is None:
            self.map_values = self.node_class()
            self.map_keys = self.node_class()
        for key, node in self._properties.items():
            self.map_values.add_schema(node.to_schema())
            self.map_keys.add_object(key)
        self.map_objects = self.n
        self._properties.clear()
        self.present.clear()

    def add_schema(self, schema: dict[str, Any]) -> None:
        stats = schema.get("x-stats", {})
        self.n += stats.get("n", 0)
        self.map_objects += stats.get("mapN", 0)
        for key, sub in (schema.get("properties") or {}).items():
            if self.as_map:
                self._map_schema(sub, key)
                continue
            self._properties[key].add_schema(sub)
            self.present[key] = self.present.get(key, 0) + stats.get("p", {}).get(key, 0)
        if isinstance(schema.get("additionalProperties"), dict):
            if self.map_values is None:
                self.map_values = self.node_class()
                self.map_keys = self.node_class()
            self.map_values.add_schema(schema["additionalProperties"])
            if isinstance(schema.get("propertyNames"), dict):
                self.map_keys.add_schema(schema["propertyNames"])
        if stats.get("asMap") and not self.as_map:
            self._become_map()
        if len(self._properties) > PROPS_CAP:
            self._become_map()

    def _map_schema(self, sub: dict[str, Any], key: str) -> None:
        if self.map_values is None:
            self.map_values = self.node_class()
            self.map_keys = self.node_class()
        self.map_values.add_schema(sub)
        self.map_keys.add_object(key)

    def to_schema(self) -> dict[str, Any]:
        stats: dict[str, Any] = {"n": self.n, "p": {k: self.present[k] for k in sorted(self.present)}}
        schema: dict[str, Any] = {"type": "object", "x-stats": stats}
        if self._properties:
            schema["properties"] = {k: self._properties[k].to_schema() for k in sorted(self._properties)}
        if self.map_values is not None:
            stats["mapN"] = self.map_objects
            schema["additionalProperties"] = self.map_values.to_schema()
            if self.map_keys is not None:
                schema["propertyNames"] = self.map_keys.to_schema()
        if self.as_map:
            stats["asMap"] = True
        return schema


TOO_DEEP = "<nested too deep>"

_BY_TYPE: dict[type, type] = {
    dict: EvidenceObject,
    list: EvidenceList,
    str: EvidenceString,
    int: EvidenceNumber,
    float: EvidenceNumber,
    bool: EvidenceBoolean,
    type(None): EvidenceNull,
}


class EvidenceNode(SchemaNode):
    """genson's node with our strategies, dispatching objects by Python type (no per-strategy probing).

    A node knows its depth in the tree (the number of containers above it): its strategies make their child
    nodes one level deeper, and a container observed at MAX_DEPTH is summarised as the marker string
    TOO_DEEP, so inference is recursion-safe without tracking the nesting while walking a value."""

    STRATEGIES = (EvidenceNull, EvidenceBoolean, EvidenceNumber, EvidenceString, EvidenceList, EvidenceObject)

    def __init__(self, depth: int = 0) -> None:
        self._active_strategies: list[Any] = []
        self.depth = depth

    def _new_strategy(self, cls: type) -> Any:
        depth = self.depth + 1
        strategy = cls(_NODE_AT[depth] if depth < len(_NODE_AT) else _NODE_AT[-1])
        self._active_strategies.append(strategy)
        return strategy

    def add_object(self, obj: Any) -> EvidenceNode:
        cls = _BY_TYPE.get(type(obj))
        if cls is None:  # not a JSON type (tuple, bytes...): record its text
            cls, obj = EvidenceString, str(obj)
        elif (cls is EvidenceObject or cls is EvidenceList) and self.depth >= MAX_DEPTH:
            cls, obj = EvidenceString, TOO_DEEP
        for strategy in self._active_strategies:
            if strategy.__class__ is cls:
                strategy.add_object(obj)
                return self
        self._new_strategy(cls).add_object(obj)
        return self

    def add_many(self, objs: Sequence[Any]) -> EvidenceNode:
        """Add a batch of values, with the same summary as `add_object` on each in turn, one call per type."""
        if len(objs) < SMALL_BATCH:
            for obj in objs:
                self.add_one(obj)
            return self
        kinds = set(map(type, objs))
        if len(kinds) == 1:
            cls = _BY_TYPE.get(kinds.pop())
            if cls is not None and (
                self.depth < MAX_DEPTH or not (cls is EvidenceObject or cls is EvidenceList)
            ):
                self._strategy(cls).add_many(objs)
                return self
        groups: dict[type, list[Any]] = {}
        for obj in objs:
            cls = _BY_TYPE.get(type(obj))
            if cls is None:
                cls, obj = EvidenceString, str(obj)
            elif (cls is EvidenceObject or cls is EvidenceList) and self.depth >= MAX_DEPTH:
                cls, obj = EvidenceString, TOO_DEEP
            group = groups.get(cls)
            if group is None:
                groups[cls] = [obj]
            else:
                group.append(obj)
        for cls, group in groups.items():
            self._strategy(cls).add_many(group)
        return self

    def add_one(self, obj: Any) -> EvidenceNode:
        """Add one value as `add_object` does, the arrays in it column by column."""
        cls = _BY_TYPE.get(type(obj))
        if cls is None:
            cls, obj = EvidenceString, str(obj)
        elif (cls is EvidenceObject or cls is EvidenceList) and self.depth >= MAX_DEPTH:
            cls, obj = EvidenceString, TOO_DEEP
        for strategy in self._active_strategies:
            if strategy.__class__ is cls:
                strategy.add_one(obj)
                return self
        self._new_strategy(cls).add_one(obj)
        return self

    def _strategy(self, cls: type) -> Any:
        """This node's strategy of class `cls`, made on first use."""
        for strategy in self._active_strategies:
            if strategy.__class__ is cls:
                return strategy
        return self._new_strategy(cls)

    def _get_strategy_for_(self, kind: str, schema_or_obj: Any) -> Any:
        # genson's lookup (used when merging schemas), with strategies whose children know their depth
        for strategy in self._active_strategies:
            if getattr(strategy, "match_" + kind)(schema_or_obj):
                return strategy
        for cls in self.STRATEGIES:
            if getattr(cls, "match_" + kind)(schema_or_obj):
                return self._new_strategy(cls)
        return super()._get_strategy_for_(kind, schema_or_obj)

    def add_schema(self, schema: dict[str, Any]) -> EvidenceNode:
        if not schema:
            return self
        super().add_schema(schema)
        return self

    def to_schema(self) -> dict[str, Any]:
        parts = sorted(
            (s.to_schema() for s in self._active_strategies), key=lambda s: _TYPE_ORDER.get(s["type"], 9)
        )
        if not parts:
            return {}
        if len(parts) == 1:
            return parts[0]
        return {"anyOf": parts}


_TYPE_ORDER = {"object": 0, "array": 1, "string": 2, "integer": 3, "number": 3, "boolean": 4, "null": 5}


MAX_DEPTH = 64  # deeper nesting is summarised as a string "<nested too deep>" (recursion-safe)
_NODE_AT = [
    functools.partial(EvidenceNode, depth) for depth in range(MAX_DEPTH + 2)
]  # node factories by depth


def observe(node: EvidenceNode, value: Any) -> None:
    """Add one observed JSON value to a node, arrays column by column (nesting deeper than MAX_DEPTH is
    summarised as a marker); the summary is the one `node.add_object(value)` makes, only faster."""
    node.add_one(value)


def summarize_values(values: list[Any]) -> dict[str, Any]:
    """The evidence summary of a list of JSON values (each one observation of the same location)."""
    node = EvidenceNode()
    node.add_many(values)
    return node.to_schema()


def merge_summaries(*summaries: dict[str, Any]) -> dict[str, Any]:
    """Merge serialised summaries (associative and commutative)."""
    node = EvidenceNode()
    for summary in summaries:
        if summary:
            node.add_schema(summary)
    return node.to_schema()


# ---------------------------------------------------------------------------------------------------------
# From evidence to a clean schema


@dataclass(frozen=True)
class Thresholds:
    """How much evidence a rule needs before a draft asserts it (defaults: `config.InferenceSettings`)."""

    min_required: int = InferenceSettings().min_required
    min_format: int = InferenceSettings().min_format
    min_format_weak: int = InferenceSettings().min_format_weak
    min_enum: int = InferenceSettings().min_enum
    max_enum: int = InferenceSettings().max_enum
    low_confidence: int = InferenceSettings().low_confidence
    evidence: bool = True


def subschemas(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-type parts of a summary."""
    if not summary:
        return []
    return list(summary["anyOf"]) if "anyOf" in summary else [summary]


def observations(summary: dict[str, Any]) -> int:
    """How many values a summary has seen (all types)."""
    return sum(part.get("x-stats", {}).get("n", 0) for part in subschemas(summary))


def finalize_schema(
    summary: dict[str, Any],
    th: Thresholds,
    name: str = "",
    constant: bool = False,
    entities: int | None = None,
    item: bool = False,
) -> dict[str, Any]:
    """A clean JSON Schema 2020-12 for a summary: types, formats, enums, required, maps, evidence.

    `constant` says the enclosing object never varied (the same entity observed again and again): its
    fields then never become single-value enums, however often they were seen. `entities` is how many
    different objects the enclosing object's identifiers told apart (None: many, or no identifier): a value
    tied to its entity is not an enum value (see `_is_enum`). `item`: the summary is of the items of an
    array called `name` (the items of `labels: [...]` are labels, not a map of labels).
    """
    parts = subschemas(summary)
    if not parts:
        return {}
    nulls = [p for p in parts if p["type"] == "null"]
    typed = [p for p in parts if p["type"] != "null"]
    if not typed:
        return {"type": "null"}
    schemas = [_finalize_part(p, th, name, constant, entities, item) for p in typed]
    if len(schemas) == 1:
        schema = schemas[0]
        if nulls:
            schema["type"] = [schema["type"], "null"]
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
        return schema
    merged_scalar = _merge_scalar_types(schemas)
    if merged_scalar is not None:
        if nulls:
            merged_scalar["type"] = [*merged_scalar["type"], "null"]
        return merged_scalar
    if nulls:
        schemas.append({"type": "null"})
    return {"anyOf": schemas}


def _merge_scalar_types(schemas: list[dict[str, Any]]) -> dict[str, Any] | None:
    """`{"type": ["integer", "string"]}` when no part carries more than a type."""
    if all(set(s) <= {"type", "format"} for s in schemas) and not any("format" in s for s in schemas):
        return {"type": [s["type"] for s in schemas]}
    return None


def _finalize_part(
    part: dict[str, Any],
    th: Thresholds,
    name: str,
    constant: bool = False,
    entities: int | None = None,
    item: bool = False,
) -> dict[str, Any]:
    kind = part["type"]
    stats = part.get("x-stats", {})
    n = stats.get("n", 0)
    if kind == "string":
        return _finalize_string(stats, n, th, name, constant, entities)
    if kind in ("integer", "number"):
        schema = {"type": kind}
        if kind == "integer" and _unix_time(stats, n, name, th):
            schema["format"] = "unix-time"
        return schema
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "array":
        schema: dict[str, Any] = {"type": "array"}
        if (stats.get("min") or 0) >= 1 and n >= th.min_enum:
            schema["minItems"] = 1  # never seen empty in many observations
        if part.get("items"):
            schema["items"] = finalize_schema(part["items"], th, name, constant, item=True)
        else:
            schema["items"] = {}
        return schema
    if kind == "object":
        return _finalize_object(part, stats, n, th, "" if item else name, constant)
    return {"type": kind}


_TIME_NAME = re.compile(
    r"(?i)(created|updated|deleted|modified|expires?|_at$|At$|time|date|timestamp|period_(start|end)|since|until)"
)
EPOCH_MIN, EPOCH_MAX = 946_684_800, 4_102_444_800  # 2000-01-01 .. 2100-01-01 in seconds


def _unix_time(stats: dict[str, Any], n: int, name: str, th: Thresholds) -> bool:
    """Integers named like times whose every value is a plausible epoch second (Stripe's `unix-time`)."""
    low, high = stats.get("min"), stats.get("max")
    if low is None or high is None or n < th.min_format or stats.get("nf"):
        return False
    return low >= EPOCH_MIN and high < EPOCH_MAX and bool(_TIME_NAME.search(name or ""))


def _finalize_string(
    stats: dict[str, Any],
    n: int,
    th: Thresholds,
    name: str,
    constant: bool = False,
    entities: int | None = None,
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    fmt = _format(stats, n, th)
    if fmt:
        schema["format"] = fmt
        return schema
    values = stats.get("vals")
    if values and not (constant and len(values) == 1) and _is_enum(values, n, stats, th, name, entities):
        schema["enum"] = sorted(v for v, _ in values)
    return schema


def _format(stats: dict[str, Any], n: int, th: Thresholds) -> str | None:
    """The format every observed value matched, given enough observations."""
    for fmt, count in sorted(stats.get("fmt", {}).items()):
        if count == n and n >= (th.min_format if fmt in STRICT_FORMATS else th.min_format_weak):
            return fmt
    return None


_ID_NAME = re.compile(
    r"(?i)(^id$|_id$|Id$|^uuid$|^guid$|^key$|token|hash|sha|digest|name$|url|uri$|href|email|slug|login|handle"
    r"|nick)"
)
_TEXT_NAME = re.compile(
    r"(?i)(title|description|message|summary|comment|note|text|body)$"
)  # prose, unless codes
_CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")  # PR_TITLE, MERGE_MESSAGE, OWNER: values of a closed set
_IDENTIFIER_TEXT = re.compile(r"[^:@\s]+[:@].*")  # account:alice, spotify:track:4iV5, x@y: names of things
# open sets: contacts, places, codes with hundreds of values, times
_OPEN_NAME = re.compile(
    r"(?i)(phone|zip|postal|postcode|website|address|street|city|suite|country|currency|locale|language$|lang$"
    r"|timezone|date$|time$|_at$|At$|latitude|longitude|^lat$|^lng$|^lon$)"
)
_NUMBER_TEXT = re.compile(r"[-+]?\d+(\.\d+)?")


_CATEGORICAL = re.compile(
    r"(?i)(status|state|type|kind|role|mode|category|level|tier|plan|interval|unit|currency|visibility|direction"
    r"|order|sort|reason|outcome|result|method|format|policy|stage|phase|severity|priority|gender|channel|source"
    r"|platform|environment|env|scope|action|event|object)$"
)
_TITLE_WORDS = re.compile(r"[A-Z][a-z]+(?: [A-Z][a-z]+)*")


def _is_enum(
    values: list[list[Any]],
    n: int,
    stats: dict[str, Any],
    th: Thresholds,
    name: str,
    entities: int | None = None,
) -> bool:
    """A closed set of string values: few distinct values that keep recurring, never ids or free text.

    Closure is judged the Good-Turing way: the share of observations whose value was seen only once estimates
    the chance that the next value is a new one. An enum needs enough observations (`min_enum`), at most
    `max_enum` values, three observations per value on average, and that chance at most 10% (20% for names
    that say "category": status, type, kind, role...). A value must also be shared by different objects:
    when the enclosing object's identifiers tell `entities` objects apart, there must be at most half as
    many values (the same ten users fetched again and again repeat their names, not an enum). Never for
    names of identifiers, names, contacts, places, codes from open sets (country, currency, language) or
    times, nor prose fields (title, description...) unless every value is an upper-case code (`PR_TITLE`);
    never long or redacted strings, text with spaces, numbers in text, names of things (`account:alice`,
    `x@y`) or proper nouns."""
    distinct = len(values)
    if n < th.min_enum or distinct == 0 or distinct > th.max_enum:
        return False
    if stats.get("long") or stats.get("red"):
        return False
    texts = [str(v) for v, _ in values]
    codes = all(_CODE.fullmatch(t) for t in texts)  # upper-case codes say "closed set" whatever the name
    if _ID_NAME.search(name or "") or _OPEN_NAME.search(name or ""):
        return False
    if _TEXT_NAME.search(name or "") and not codes:
        return False
    if entities is not None and distinct * 2 > entities:
        return False
    if any(_IDENTIFIER_TEXT.fullmatch(t) for t in texts):
        return False
    if any(" " in t and len(t) > 24 for t in texts):
        return False
    if distinct > 1 and all(_NUMBER_TEXT.fullmatch(t) for t in texts):
        return False
    if distinct * 3 > n:
        return False
    unseen = sum(1 for _, c in values if c == 1) / n  # Good-Turing: the chance the next value is new
    if codes or _CATEGORICAL.search(name or ""):
        return unseen <= 0.2
    if distinct > 1 and all(_TITLE_WORDS.fullmatch(t) for t in texts):
        return False  # "Berlin", "Oslo": free text that happened to repeat
    return unseen <= 0.1


def _finalize_object(
    part: dict[str, Any], stats: dict[str, Any], n: int, th: Thresholds, name: str, constant: bool = False
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    props = part.get("properties") or {}
    present = stats.get("p", {})
    map_values = part.get("additionalProperties")
    if props and _looks_like_map(props, present, n, name):
        merged = merge_summaries(*props.values(), map_values or {})
        map_values = merged
        props = {}
    if props:
        out: dict[str, Any] = {}
        required = []
        still = constant or not _varies(props)
        entities = _entities(props)
        for key in sorted(props):
            sub = finalize_schema(props[key], th, key, still, entities)
            seen = present.get(key, 0)
            if th.evidence:
                evidence: dict[str, Any] = {"seen": seen, "of": n}
                if n < th.low_confidence:
                    evidence["confidence"] = "low"
                sub["x-evidence"] = evidence
            out[key] = sub
            if seen == n and n >= th.min_required:
                required.append(key)
        schema["properties"] = out
        if required:
            schema["required"] = required
    if map_values:
        schema["additionalProperties"] = finalize_schema(map_values, th, name, constant)
    return schema


_IDENTIFIER_KEY = re.compile(
    r"(?i)^(id|uuid|guid|key|uri|url|href|login|username|email|number|slug)$|_id$|Id$"
)


def _entities(props: dict[str, Any]) -> int | None:
    """How many different objects were observed, by their identifier fields (`id`, `uuid`, `login`...):
    the most distinct values any of them took; None when one took too many to count, or there is none."""
    counts = []
    for key, sub in props.items():
        if not _IDENTIFIER_KEY.search(key):
            continue
        for part in subschemas(sub):
            if part["type"] in ("string", "integer", "number"):
                vals = part.get("x-stats", {}).get("vals")
                if vals is None:
                    return None
                counts.append(len(vals))
    return max(counts) if counts else None


def _varies(props: dict[str, Any]) -> bool:
    """True when some scalar field of an object took more than one value (not one entity seen repeatedly)."""
    for sub in props.values():
        for part in subschemas(sub):
            if part["type"] in ("object", "array", "null"):
                continue
            stats = part.get("x-stats", {})
            if part["type"] == "boolean":
                if 0 < stats.get("t", 0) < stats.get("n", 0):
                    return True
                continue
            vals = stats.get("vals", [])
            if vals is None or len(vals) > 1 or stats.get("long"):
                return True
        if len(subschemas(sub)) > 1:
            return True
    return False


def _looks_like_map(props: dict[str, Any], present: dict[str, int], n: int, name: str) -> bool:
    """Objects keyed by data: named like a map (`labels`), or many keys each present in few objects."""
    if name.lower() in MAP_NAMES:
        return True
    if name.lower() in FREE_FORM_NAMES and props and n:
        # `metadata`, `attributes`...: a map when every value is a string (or every one a number) and no key
        # is always there (a structured object, like Kubernetes' metadata, mixes types and has fixed keys)
        kinds = {tuple(sorted(p["type"] for p in subschemas(sub))) for sub in props.values()}
        return (
            len(kinds) == 1
            and kinds.pop() in (("string",), ("integer",), ("number",))
            and all(count < n for count in present.values())
        )
    if len(props) >= 12 and n:
        typical = sorted(present.values())[len(present) // 2] if present else 0
        return typical / n < 0.25
    return False
