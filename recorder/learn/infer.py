"""Schema inference with evidence: genson's builder, extended through its strategy classes.

Each strategy counts what it sees (observations, presence of properties, formats matched, a capped set of
distinct values, numeric and length ranges, nulls) and serialises those counts as `x-stats` inside the
schema it emits. A serialised summary merges back with `add_schema`, so summaries from many batches, days
or proxies combine associatively into the same result. Scalars are counted in `recorder.learn.scalars`;
`recorder.learn.finalize` turns a summary into a clean JSON Schema 2020-12 with `x-evidence`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from genson import SchemaNode
from genson.schema.strategies import List, Object

from recorder.learn.paths import segment_kind
from recorder.learn.scalars import (
    SMALL_BATCH,
    EvidenceBoolean,
    EvidenceNull,
    EvidenceNumber,
    EvidenceString,
)

PROPS_CAP = 200  # an object with more distinct keys than this is a map
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
# Strategies for containers (scalars: `recorder.learn.scalars`)


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
