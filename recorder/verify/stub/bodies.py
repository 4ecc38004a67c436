"""Bodies generated from schemas: types, formats, enums, required fields, simple patterns, ranges, maps."""

from __future__ import annotations

import base64
import math
import random
import re
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator

from recorder.common.schemas import main_type, merge_all_of, merge_schemas
from recorder.judge.evidence import scalar_fits

# ---------------------------------------------------------------------------------------------------------
# Bodies generated from schemas

_ASSERTING = (
    "type", "properties", "items", "prefixItems", "additionalProperties", "enum", "const", "allOf", "pattern",
    "format", "$ref",
)  # fmt: skip


def says_nothing(schema: Any) -> bool:
    """`{}` or unions of `{}`: where a loaded spec cut a recursion, nothing to generate a value from (any
    value meets the cut, few meet what it stands for)."""
    if not isinstance(schema, dict) or any(key in schema for key in _ASSERTING):
        return False
    return all(says_nothing(b) for key in ("anyOf", "oneOf") for b in (schema.get(key) or ()))


class BodyGenerator:
    """Values that fit a JSON Schema, drawn from a seeded generator: `{"type": "integer"}` -> `417`."""

    def __init__(self, rng: random.Random, echo: dict[str, str] | None = None, echo_id: str | None = None):
        self.rng = rng
        self.echo = echo or {}
        self.echo_id = echo_id

    def value(self, schema: Any, name: str = "", depth: int = 0) -> Any:
        """A value for `schema`; `name` (the field's name) shapes plain strings and picks path echoes."""
        if not isinstance(schema, dict) or depth > 12:
            return None if depth > 12 else self._text(name, {})
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            choices = [v for v in enum if v is not None] or enum
            return self.rng.choice(choices)
        if isinstance(schema.get("allOf"), list):
            merged = merge_all_of(schema)
            if "allOf" in merged:  # parts that cannot be combined into one schema: generate for the first
                merged = merge_schemas(
                    [{k: v for k, v in merged.items() if k != "allOf"}, merged["allOf"][0]]
                )
            return self.value(merged, name, depth)
        for key in ("oneOf", "anyOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                return self._branch(schema, key, branches, name, depth)
        kind = main_type(schema)
        if depth <= 2 and name in self.echo and kind in ("string", "integer", "number"):
            echoed = echo_value(self.echo[name], schema, kind)
            if echoed is not None:
                return echoed
        if depth == 1 and name == "id" and self.echo_id is not None and kind in ("string", "integer"):
            echoed = echo_value(self.echo_id, schema, kind)
            if echoed is not None:
                return echoed
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind == "string":
            return self._string(schema, name)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return self._number(schema)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self._text(name, schema)

    def _branch(self, schema: dict[str, Any], key: str, branches: list[Any], name: str, depth: int) -> Any:
        """A value for one branch of `oneOf`/`anyOf` (merged with the schema around it) that meets the whole:
        for `oneOf`, exactly one branch must accept it, so branches are tried until one value does."""
        rest = {k: v for k, v in schema.items() if k != key}
        real = [b for b in branches if isinstance(b, dict) and b.get("type") != "null"] or [
            b for b in branches if isinstance(b, dict)
        ]
        if all(says_nothing(b) for b in real) and len(real) < len(branches):
            return None  # the other branches say nothing to generate from; the null one does
        real = [b for b in real if not says_nothing(b)] or real  # a recursion cut is no branch to take
        start = self.rng.randrange(len(real)) if real else 0
        value: Any = None
        for i in range(len(real)):
            branch = real[(start + i) % len(real)]
            candidate = merge_schemas([rest, branch]) if rest else branch
            for _ in range(2):
                value = self.value(candidate, name, depth)
                if key == "anyOf" or sum(1 for b in branches if accepts(b, value)) == 1:
                    return value
        return value

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = set(schema.get("required") or ())
        out: dict[str, Any] = {}
        for key, sub in props.items():
            if key not in required and (depth >= 6 or says_nothing(sub)):
                continue  # `{}` says nothing to generate from (a recursion cut in a loaded spec): leave it out
            out[key] = self.value(sub, key, depth + 1)
        for key in sorted(required - set(out)):
            out[key] = self._text(key, {})
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and not props:
            count = max(int(schema.get("minProperties") or 0), 2 if depth < 6 else 0)
            names = schema.get("propertyNames") if isinstance(schema.get("propertyNames"), dict) else {}
            for i in range(count * 4):
                if len(out) >= count:
                    break
                key = self._string({"type": "string", **names}, "key") if names else f"key{i + 1}"
                out.setdefault(str(key), self.value(extra, "", depth + 1))
        return out

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems") or 0)
        high = schema.get("maxItems")
        count = max(low, 2 if depth < 6 and not says_nothing(schema.get("items", {})) else 0)
        if isinstance(high, int):
            count = min(count, high)
        prefix = schema.get("prefixItems")
        out = [self.value(s, name, depth + 1) for s in prefix] if isinstance(prefix, list) else []
        items = schema.get("items", {})
        if out and not isinstance(items, dict):
            return out
        singular = name[:-1] if name.endswith("s") else name
        for _ in range(count * 5 if schema.get("uniqueItems") else count):
            if len(out) >= count:
                break
            item = self.value(items, singular, depth + 1)
            if schema.get("uniqueItems") and item in out:
                continue
            out.append(item)
        return out[:high] if isinstance(high, int) else out

    def _string(self, schema: dict[str, Any], name: str) -> str:
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            text = pattern_example(pattern, self.rng)
            if text is not None:
                return text
        fmt = schema.get("format")
        text = self._format(fmt, name) if isinstance(fmt, str) else None
        if text is None:
            text = self._text(name, schema)
        return text

    def _format(self, fmt: str, name: str) -> str | None:
        rng = self.rng
        moment = EPOCH + timedelta(seconds=rng.randrange(365 * 24 * 3600))
        if fmt == "date-time":
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if fmt == "date":
            return moment.strftime("%Y-%m-%d")
        if fmt == "time":
            return moment.strftime("%H:%M:%SZ")
        if fmt == "email":
            return f"{(name or 'user').lower()[:20]}{rng.randrange(1, 1000)}@example.com"
        if fmt == "uuid":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if fmt in ("uri", "url", "iri"):
            return f"https://example.com/{name or 'item'}/{rng.randrange(1, 1000)}"
        if fmt in ("uri-reference", "iri-reference"):
            return f"/{name or 'item'}/{rng.randrange(1, 1000)}"
        if fmt in ("hostname", "idn-hostname"):
            return f"host{rng.randrange(1, 100)}.example.com"
        if fmt == "ipv4":
            return f"192.0.2.{rng.randrange(1, 255)}"
        if fmt == "ipv6":
            return f"2001:db8::{rng.randrange(1, 0xFFFF):x}"
        if fmt == "byte":
            return base64.b64encode(rng.randbytes(6)).decode()
        return None

    def _text(self, name: str, schema: dict[str, Any]) -> str:
        base = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "text"
        text = f"{base}-{self.rng.randrange(100, 1000)}"
        low, high = schema.get("minLength"), schema.get("maxLength")
        if isinstance(high, int):
            text = text[:high]
        if isinstance(low, int) and len(text) < low:
            text += "".join(self.rng.choice(string.ascii_lowercase) for _ in range(low - len(text)))
        return text

    def _bounds(self, schema: dict[str, Any], default_high: float) -> tuple[float, float]:
        low, high = schema.get("minimum"), schema.get("maximum")
        xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(xlow, (int, float)) and not isinstance(xlow, bool):
            low = xlow + 1 if low is None or xlow >= low else low
        if isinstance(xhigh, (int, float)) and not isinstance(xhigh, bool):
            high = xhigh - 1 if high is None or xhigh <= high else high
        if low is None:
            low = 1 if high is None or high >= 1 else high - default_high
        if high is None:
            high = low + default_high
        return low, max(low, high)

    def _integer(self, schema: dict[str, Any]) -> int:
        low, high = self._bounds(schema, 999)
        first, last = math.ceil(low), max(math.ceil(low), math.floor(high))
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            first, last = math.ceil(first / step) * step, math.floor(last / step) * step
            return first + step * self.rng.randint(0, (last - first) // step) if last >= first else first
        return self.rng.randint(first, last)

    def _number(self, schema: dict[str, Any]) -> float:
        low, high = self._bounds(schema, 999)
        value = round(self.rng.uniform(low, high), 2)
        return min(max(value, low), high)


_VALIDATORS: dict[int, tuple[Any, Any]] = {}


def accepts(schema: Any, value: Any) -> bool:
    """Does `schema` accept `value`, by a JSON Schema 2020-12 validator (formats asserted)? Validators are
    kept per schema object (contracts live as long as the stub)."""
    if not isinstance(schema, dict):
        return schema is not False
    held = _VALIDATORS.get(id(schema))
    if held is None or held[0] is not schema:
        if len(_VALIDATORS) > 4096:
            _VALIDATORS.clear()
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        held = _VALIDATORS[id(schema)] = (schema, validator)
    try:
        return held[1].is_valid(value)
    except Exception:  # a schema the validator cannot use (a broken pattern): say yes, as the stub did
        return True


def echo_value(value: str, schema: dict[str, Any], kind: str) -> Any:
    """A path parameter's value as a field of `kind`, when it fits the field's schema; else None."""
    if not scalar_fits(schema, value):
        return None
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return None
    if kind == "number":
        return float(value)
    return value


# -- patterns ---------------------------------------------------------------------------------------------

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)  # generated dates and times fall in the year after
_PRINTABLE = string.ascii_letters + string.digits + "-_."
_ESCAPES = {
    "d": string.digits,
    "w": string.ascii_letters + string.digits + "_",
    "s": " ",
    "D": string.ascii_letters,
    "W": "-",
    "S": string.ascii_letters,
}


class _Unsupported(Exception):
    pass


def pattern_example(pattern: str, rng: random.Random) -> str | None:
    """A string matching a simple regex (literals, classes, groups, alternation, quantifiers), else None."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return None
    try:
        nodes, end = _parse_alternatives(pattern, 0)
        if end != len(pattern):
            return None
        text = _emit(nodes, rng)
    except (_Unsupported, IndexError, ValueError):
        return None
    return text if compiled.search(text) else None


def _parse_alternatives(p: str, i: int) -> tuple[list[list[Any]], int]:
    alternatives = []
    seq, i = _parse_sequence(p, i)
    alternatives.append(seq)
    while i < len(p) and p[i] == "|":
        seq, i = _parse_sequence(p, i + 1)
        alternatives.append(seq)
    return alternatives, i


def _parse_sequence(p: str, i: int) -> tuple[list[Any], int]:
    seq: list[Any] = []
    while i < len(p) and p[i] not in "|)":
        ch = p[i]
        if ch in "^$":
            i += 1
            continue
        if ch == "(":
            if p.startswith("(?:", i):
                i += 3
            elif p.startswith("(?P<", i):
                i = p.index(">", i) + 1
            elif p.startswith("(?", i):
                raise _Unsupported(p[i : i + 3])
            else:
                i += 1
            alternatives, i = _parse_alternatives(p, i)
            if i >= len(p) or p[i] != ")":
                raise _Unsupported("unbalanced group")
            atom: Any = ("group", alternatives)
            i += 1
        elif ch == "[":
            chars, i = _parse_class(p, i + 1)
            atom = ("set", chars)
        elif ch == "\\":
            esc = p[i + 1]
            i += 2
            if esc in "bBAZz":
                continue
            atom = ("set", _ESCAPES[esc]) if esc in _ESCAPES else ("set", esc)
        elif ch == ".":
            atom = ("set", string.ascii_letters)
            i += 1
        elif ch in "*+?{":
            raise _Unsupported("dangling quantifier")
        else:
            atom = ("set", ch)
            i += 1
        low, high, i = _parse_quantifier(p, i)
        seq.append((atom, low, high))
    return seq, i


def _parse_class(p: str, i: int) -> tuple[str, int]:
    negate = p[i] == "^"
    if negate:
        i += 1
    chars: list[str] = []
    first = True
    while p[i] != "]" or first:
        first = False
        ch = p[i]
        if ch == "\\":
            esc = p[i + 1]
            chars.extend(_ESCAPES.get(esc, esc))
            i += 2
            continue
        if i + 2 < len(p) and p[i + 1] == "-" and p[i + 2] != "]":
            start, stop = ord(ch), ord(p[i + 2])
            if stop < start:
                raise _Unsupported("bad range")
            chars.extend(chr(c) for c in range(start, stop + 1))
            i += 3
            continue
        chars.append(ch)
        i += 1
    if negate:
        excluded = set(chars)
        chars = [c for c in _PRINTABLE if c not in excluded]
        if not chars:
            raise _Unsupported("empty class")
    return "".join(dict.fromkeys(chars)), i + 1


def _parse_quantifier(p: str, i: int) -> tuple[int, int, int]:
    if i >= len(p):
        return 1, 1, i
    ch = p[i]
    if ch == "?":
        low, high, i = 0, 1, i + 1
    elif ch == "*":
        low, high, i = 0, 3, i + 1
    elif ch == "+":
        low, high, i = 1, 3, i + 1
    elif ch == "{" and re.match(r"\{\d*(,\d*)?\}", p[i:]):
        end = p.index("}", i)
        body = p[i + 1 : end]
        if "," in body:
            a, b = body.split(",", 1)
            low = int(a or 0)
            high = int(b) if b else low + 3
        else:
            low = high = int(body)
        i = end + 1
    else:
        return 1, 1, i
    if i < len(p) and p[i] in "?+":
        i += 1
    return low, high, i


def _emit(alternatives: list[list[Any]], rng: random.Random) -> str:
    seq = alternatives[0] if len(alternatives) == 1 else rng.choice(alternatives)
    out = []
    for atom, low, high in seq:
        count = low if high <= low else rng.randint(max(low, min(1, high)), min(high, low + 4))
        for _ in range(count):
            if atom[0] == "set":
                out.append(rng.choice(atom[1]))
            else:
                out.append(_emit(atom[1], rng))
    return "".join(out)
