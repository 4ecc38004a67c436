"""JSON values: their JSON Schema type, parsing bodies, and the typed reading of text (query and form values).

One answer to "what type is this value", used by inference, drift, the single-exchange checker, the fast
conformance check, replay, the stub and the Pact reader alike: a JSON number is an `integer` when it has no
fractional part, as JSON Schema 2020-12 says (`1.0` and `1e300` are integers, `1.5` and NaN are not).
"""

from __future__ import annotations

import copy
import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl

import orjson

from recorder.common.http import is_json_media_type, media_type


class _NotJson:
    def __repr__(self) -> str:
        return "NOT_JSON"

    def __bool__(self) -> bool:
        return False


NOT_JSON: Any = _NotJson()  # a body that is absent, truncated or not JSON (None is a JSON value: null)


def is_integral(value: float) -> bool:
    """True for a float that JSON Schema counts as an integer: `2.0` and `1e300` yes, `2.5`, NaN, infinity no."""
    return math.isfinite(value) and value.is_integer()


def json_type(value: Any) -> str:
    """The JSON Schema type of a parsed JSON value: `null`, `boolean`, `integer`, `number`, `string`,
    `array` or `object` (`unknown` for anything else); `1.0` is an integer, `1.5` a number."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "boolean"
    kind = type(value)
    if kind is int:
        return "integer"
    if kind is float:
        return "integer" if is_integral(value) else "number"
    if kind is str:
        return "string"
    if kind is list:
        return "array"
    if kind is dict:
        return "object"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if is_integral(value) else "number"
    return "unknown"


def type_accepts(types: set[str] | frozenset[str], observed: str) -> bool:
    """Does a schema allowing `types` accept a value of JSON type `observed` (an integer is a number)?"""
    return observed in types or (observed == "integer" and "number" in types)


def loads_json(body: bytes | str) -> Any:
    """Parse JSON fast (orjson); NaN, Infinity and integers beyond 64 bits fall back to the standard library."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars), through orjson: many times faster than
    `copy.deepcopy`; values orjson cannot write (integers beyond 64 bits) fall back to `copy.deepcopy`."""
    try:
        return orjson.loads(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):
        return copy.deepcopy(value)


def json_body(
    body: bytes | str | None, content_type: str | None, truncated: bool | int = False, default: Any = NOT_JSON
) -> Any:
    """A body parsed as JSON, or `default` (`NOT_JSON`) when it is absent, truncated, of a non-JSON media type
    or broken."""
    if not body or truncated or not is_json_media_type(content_type):
        return default
    try:
        return loads_json(body)
    except (ValueError, RecursionError):
        return default


def typed_value(text: str) -> Any:
    """Query and form values carry types in text: `"42"` -> 42, `"true"` -> True, `"1.5"` -> 1.5, `"x"` -> `"x"`.

    Leading zeros (`"007"`) and very long digit strings stay text: they are codes, not numbers."""
    if text.isdigit() and (len(text) == 1 or text[0] != "0") and len(text) < 16:
        return int(text)
    if text[:1] == "-" and text[1:].isdigit() and len(text) < 16:
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    if text and (text[0].isdigit() or text[0] == "-") and text.count(".") == 1:
        try:
            value = float(text)
            if math.isfinite(value):
                return value
        except ValueError:
            pass
    return text


def typed_multidict(pairs: dict[str, list[str]]) -> dict[str, Any]:
    """A query multi-dict as one JSON object: single values typed, repeated keys as arrays."""
    return {k: typed_value(v[0]) if len(v) == 1 else [typed_value(x) for x in v] for k, v in pairs.items()}


_BRACKETS = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])+)")


def form_object(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """A form body (its pairs in order) as one JSON object, with the bracket convention of Rails, PHP and
    Stripe: `a[b]=1` -> `{"a": {"b": 1}}`, `a[]=x&a[]=y` -> `{"a": ["x", "y"]}`, `items[0][price]=p` ->
    `{"items": [{"price": "p"}]}`, and `t[][x]=1&t[][y]=2&t[][x]=3` -> `{"t": [{"x": 1, "y": 2}, {"x": 3}]}` (a
    key the last item already has starts the next, as Rack reads it); values typed as `typed_value` types them.
    A form whose keys clash (`a=1&a[b]=2`) stays flat."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    if not any("[" in key for key in grouped):
        return typed_multidict(grouped)
    root: dict[str, Any] = {}
    try:
        for key, value in pairs:
            match = _BRACKETS.fullmatch(key)
            parts = [key] if match is None else [match.group(1), *match.group(2)[1:-1].split("][")]
            _put(root, parts, typed_value(value))
    except _Clash:
        return typed_multidict(grouped)
    return _listify(root)


class _Clash(Exception):
    pass


def _put(node: dict[str, Any], parts: list[str], value: Any) -> None:
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = parts[i + 1] if not last else None
        if part == "":  # `a[]`: the next item of a list
            if not isinstance(node, list):
                raise _Clash
            if last:
                node.append(value)
                return
            rest = parts[i + 1 :]
            if nxt != "" and node and isinstance(node[-1], dict) and not _holds(node[-1], rest):
                node = node[-1]  # `t[][y]` after `t[][x]`: the same item
                continue
            child: Any = [] if nxt == "" else {}
            node.append(child)
            node = child
            continue
        if not isinstance(node, dict):
            raise _Clash
        if last:
            if part in node:
                if isinstance(node[part], (dict, list)):
                    raise _Clash
                node[part] = [*(node[part] if isinstance(node[part], list) else [node[part]]), value]
            else:
                node[part] = value
            return
        child = node.setdefault(part, [] if nxt == "" else {})
        if not isinstance(child, (dict, list)):
            raise _Clash
        node = child


def _holds(node: dict[str, Any], parts: list[str]) -> bool:
    """Whether a value already sits at `parts` (`[x]`, `[x][y]`) below `node`."""
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _listify(value: Any) -> Any:
    """Objects keyed 0, 1, 2... (`items[0][...]`) become lists, in index order."""
    if isinstance(value, list):
        return [_listify(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _listify(v) for k, v in value.items()}
    if out and all(k.isdigit() for k in out):
        return [out[k] for k in sorted(out, key=int)]
    return out


def body_value(
    body: bytes | None, content_type: str | None, truncated: bool | int = False
) -> tuple[Any, bool, str | None]:
    """(value, parsed, media type) of a body as evidence and checks read it: JSON parsed, a form as one
    object (`form_object`), multipart as its field names; `parsed` is False for anything else."""
    if not body:
        return None, False, None
    mt = media_type(content_type) or "application/octet-stream"
    if truncated:
        return None, False, mt
    if is_json_media_type(content_type) or (mt == "application/octet-stream" and body[:1] in (b"{", b"[")):
        try:
            return loads_json(body), True, "application/json" if mt == "application/octet-stream" else mt
        except (ValueError, RecursionError):
            return None, False, mt
    if mt == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(bytes(body).decode("utf-8"), keep_blank_values=True)
            return form_object(pairs), True, mt
        except UnicodeDecodeError:
            return None, False, mt
    if mt.startswith("multipart/form-data"):
        return dict.fromkeys(_multipart_names(bytes(body)), "<part>"), True, "multipart/form-data"
    return None, False, mt


def _multipart_names(body: bytes) -> list[str]:
    names = []
    for line in body.split(b"\r\n"):
        if line.lower().startswith(b"content-disposition:") and b'name="' in line:
            names.append(line.split(b'name="', 1)[1].split(b'"', 1)[0].decode("utf-8", "replace"))
    return names


def request_value(body: bytes | None, content_type: str | None, truncated: bool | int = False) -> Any:
    """A request body as checks read it (JSON or a form, see `body_value`), or None."""
    value, parsed, _ = body_value(body, content_type, truncated)
    return value if parsed else None
