"""Realistic, deterministic values from OpenAPI schemas, for the fake provider and the driver.

`ValueGen(spec, rnd).value(schema)` produces a value that conforms to `schema`: formats give valid values
(RFC 3339 date-times, UUIDs, e-mails, IPs), `pattern`s are honoured (a small regex generator), enums pick among
their values, optional properties are present sometimes, nullable fields are null sometimes, arrays vary in
length, `additionalProperties` maps get dynamic keys (ids, dates, label names) and `oneOf`/`anyOf` pick a
branch (setting the discriminator). Property names steer plain strings (`login` -> `octocat`-like handles,
`title` -> a short sentence), and `x-gen` (ignored by scoring) names a generator when nothing else says it.

Every emitted location is reported to `on_value(pointer, schema, value)` with the pointer syntax of
`score.py`: `/prop`, `/[]` for array items, `/*` for map values, `""` for the root.
"""

from __future__ import annotations

import random
import re
import string
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from apis.oas import is_nullable, merge_all_of, resolve, schema_types

FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim", "Margaret")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee")
HANDLES = (
    "octocat",
    "mona",
    "hubot",
    "defunkt",
    "torvalds",
    "gaearon",
    "sindresorhus",
    "tj",
    "yyx990803",
    "kennethreitz",
    "mitsuhiko",
    "dhh",
    "jessfraz",
    "bkeepers",
)
WORDS = [
    "alpha",
    "bravo",
    "river",
    "stone",
    "cloud",
    "ember",
    "delta",
    "harbor",
    "maple",
    "orbit",
    "pixel",
    "quartz",
    "raven",
    "solar",
    "tundra",
    "vector",
    "willow",
    "zephyr",
    "amber",
    "beacon",
    "cedar",
    "dune",
    "falcon",
    "garnet",
    "hazel",
    "iris",
    "jade",
    "kelp",
    "lumen",
    "meadow",
    "nova",
    "opal",
    "pine",
]
SENTENCE = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "rain",
    "falls",
    "softly",
    "on",
    "old",
    "roofs",
    "and",
    "bright",
    "lamps",
    "glow",
    "across",
    "quiet",
    "streets",
    "near",
    "the",
    "harbor",
    "where",
    "ships",
    "wait",
    "for",
    "morning",
    "tides",
]
CITIES = ("Berlin", "Lyon", "Porto", "Oslo", "Graz", "Turku", "Leeds", "Cork", "Austin", "Kyoto")
COUNTRIES = ("DE", "FR", "PT", "NO", "AT", "FI", "GB", "IE", "US", "JP")
LABEL_KEYS = (
    "app",
    "tier",
    "env",
    "team",
    "release",
    "app.kubernetes.io/name",
    "app.kubernetes.io/version",
    "pod-template-hash",
    "component",
    "owner",
    "region",
    "cost-center",
)
LANGUAGES = (
    "Python",
    "Go",
    "Rust",
    "TypeScript",
    "JavaScript",
    "C",
    "Shell",
    "Dockerfile",
    "Makefile",
    "HTML",
)
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
BASE62 = string.digits + string.ascii_letters

Callback = Callable[[str, dict[str, Any], Any], None]


def pointer_child(pointer: str, name: str) -> str:
    """`pointer` + one property name, JSON-pointer escaped."""
    return pointer + "/" + name.replace("~", "~0").replace("/", "~1")


# ---------------------------------------------------------------------------------------------------------
# regular expressions -> strings (a small subset: literals, escapes, classes, groups, |, quantifiers)


class _Regex:
    def __init__(self, pattern: str, rnd: random.Random) -> None:
        self.p = pattern
        self.i = 0
        self.rnd = rnd

    def generate(self) -> str:
        if self.p.startswith("^"):
            self.i = 1
        out = self._alternation()
        return out

    def _alternation(self) -> str:
        options = [self._sequence()]
        while self.i < len(self.p) and self.p[self.i] == "|":
            self.i += 1
            options.append(self._sequence())
        return self.rnd.choice(options)

    def _sequence(self) -> str:
        out = []
        while self.i < len(self.p) and self.p[self.i] not in "|)":
            if self.p[self.i] == "$":
                self.i += 1
                continue
            atom = self._atom()
            lo, hi = self._quantifier()
            out.append("".join(atom() for _ in range(self.rnd.randint(lo, hi))))
        return "".join(out)

    def _atom(self) -> Callable[[], str]:
        c = self.p[self.i]
        self.i += 1
        if c == "(":
            if self.p.startswith("?:", self.i):
                self.i += 2
            start = self.i
            depth = 1
            while depth:  # find the group's end, then regenerate it on each repetition
                ch = self.p[self.i]
                if ch == "\\":
                    self.i += 1
                elif ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                self.i += 1
            body = self.p[start : self.i - 1]
            return lambda: _Regex(body, self.rnd)._alternation_all()
        if c == "[":
            chars = self._class()
            return lambda: self.rnd.choice(chars)
        if c == "\\":
            e = self.p[self.i]
            self.i += 1
            table = {"d": string.digits, "w": string.ascii_letters + string.digits + "_", "s": " "}
            if e in table:
                chars = table[e]
                return lambda: self.rnd.choice(chars)
            return lambda: e
        if c == ".":
            return lambda: self.rnd.choice(string.ascii_lowercase)
        return lambda: c

    def _alternation_all(self) -> str:
        return self._alternation()

    def _class(self) -> str:
        chars: list[str] = []
        negate = self.p[self.i] == "^"
        if negate:
            self.i += 1
        while self.p[self.i] != "]":
            c = self.p[self.i]
            if c == "\\":
                e = self.p[self.i + 1]
                self.i += 2
                chars.extend({"d": string.digits, "w": string.ascii_letters + string.digits + "_"}.get(e, e))
                continue
            if self.i + 2 < len(self.p) and self.p[self.i + 1] == "-" and self.p[self.i + 2] != "]":
                chars.extend(chr(x) for x in range(ord(c), ord(self.p[self.i + 2]) + 1))
                self.i += 3
                continue
            chars.append(c)
            self.i += 1
        self.i += 1
        if negate:
            chars = [c for c in string.ascii_letters + string.digits if c not in chars]
        return "".join(chars)

    def _quantifier(self) -> tuple[int, int]:
        if self.i >= len(self.p):
            return 1, 1
        c = self.p[self.i]
        if c == "?":
            self.i += 1
            return 0, 1
        if c == "*":
            self.i += 1
            return 0, 4
        if c == "+":
            self.i += 1
            return 1, 5
        if c == "{":
            end = self.p.index("}", self.i)
            body = self.p[self.i + 1 : end]
            self.i = end + 1
            if "," in body:
                lo, hi = body.split(",")
                return int(lo), int(hi) if hi else int(lo) + 4
            return int(body), int(body)
        return 1, 1


def from_pattern(pattern: str, rnd: random.Random) -> str:
    """A string matching a simple regular expression: `^cus_[A-Za-z0-9]{14}$` -> `cus_9s6XKzkNRiz8i3`."""
    for _ in range(20):
        value = _Regex(pattern, rnd).generate()
        if re.search(pattern, value):
            return value
    raise ValueError(f"cannot generate a value for pattern {pattern!r}")


# ---------------------------------------------------------------------------------------------------------
# named generators


def a_datetime(rnd: random.Random) -> str:
    moment = EPOCH + timedelta(seconds=rnd.randint(0, 2 * 365 * 86400))
    if rnd.random() < 0.3:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rnd.randint(0, 999):03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def a_date(rnd: random.Random) -> str:
    return (date(2023, 1, 1) + timedelta(days=rnd.randint(0, 700))).isoformat()


def an_email(rnd: random.Random) -> str:
    return f"{rnd.choice(FIRST).lower()}.{rnd.choice(LAST).lower()}{rnd.randint(1, 99)}@example.{rnd.choice(('com', 'org', 'net'))}"


def an_ipv6(rnd: random.Random) -> str:
    groups = [f"{rnd.randint(0, 0xFFFF):x}" for _ in range(6)]
    return "2001:db8:" + ":".join(groups)


def a_handle(rnd: random.Random) -> str:
    base = rnd.choice(HANDLES)
    return base if rnd.random() < 0.6 else f"{base}-{rnd.choice(WORDS)}"


def a_slug(rnd: random.Random) -> str:
    return "-".join(rnd.sample(WORDS, rnd.randint(1, 3)))


def a_sentence(rnd: random.Random, lo: int = 3, hi: int = 9) -> str:
    words = rnd.sample(SENTENCE, rnd.randint(lo, hi))
    return " ".join(words).capitalize()


def a_base62(rnd: random.Random, n: int = 22) -> str:
    return "".join(rnd.choice(BASE62) for _ in range(n))


def a_hex(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice("0123456789abcdef") for _ in range(n))


def a_k8s_name(rnd: random.Random) -> str:
    base = "-".join(rnd.sample(("web", "api", "worker", "redis", "nginx", "auth", "cache", "db"), 2))
    return f"{base}-{a_hex(rnd, 9)}-{''.join(rnd.choice(string.ascii_lowercase + string.digits) for _ in range(5))}"


GENERATORS: dict[str, Callable[[random.Random], Any]] = {
    "date-time": a_datetime,
    "date": a_date,
    "time": lambda r: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
    "uuid": lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "email": an_email,
    "uri": lambda r: (
        f"https://{r.choice(('api', 'www', 'cdn'))}.example.com/{a_slug(r)}/{r.randint(1, 9999)}"
    ),
    "url": lambda r: f"https://www.example.com/{a_slug(r)}",
    "hostname": lambda r: f"{r.choice(WORDS)}.{r.choice(WORDS)}.example.net",
    "ipv4": lambda r: (
        f"{r.choice((10, 172, 192, 203))}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    ),
    "ipv6": an_ipv6,
    "handle": a_handle,
    "slug": a_slug,
    "word": lambda r: r.choice(WORDS),
    "sentence": a_sentence,
    "paragraph": lambda r: " ".join(a_sentence(r) + "." for _ in range(r.randint(1, 3))),
    "person": lambda r: f"{r.choice(FIRST)} {r.choice(LAST)}",
    "city": lambda r: r.choice(CITIES),
    "country": lambda r: r.choice(COUNTRIES),
    "language": lambda r: r.choice(LANGUAGES),
    "sha1": lambda r: a_hex(r, 40),
    "sha256": lambda r: "sha256:" + a_hex(r, 64),
    "base62": a_base62,
    "k8s-name": a_k8s_name,
    "semver": lambda r: f"v{r.randint(0, 3)}.{r.randint(0, 20)}.{r.randint(0, 9)}",
    "label-key": lambda r: r.choice(LABEL_KEYS),
    "file-path": lambda r: (
        "/".join(r.sample(("src", "lib", "docs", "core", "api", "util"), r.randint(1, 2)))
        + f"/{r.choice(WORDS)}.{r.choice(('py', 'go', 'md', 'rs'))}"
    ),
    "hex-color": lambda r: "#" + a_hex(r, 6),
    "phone": lambda r: f"+1-555-{r.randint(100, 999)}-{r.randint(1000, 9999)}",
    "mime": lambda r: r.choice(("text/plain", "application/json", "image/png", "text/markdown")),
    "quantity": lambda r: r.choice(("100m", "250m", "500m", "1", "2", "128Mi", "256Mi", "1Gi", "2Gi")),
}

# plain strings: property name -> generator (first match wins; names are lower-cased, `_`/`-` stripped)
NAME_HINTS: tuple[tuple[str, str], ...] = (
    ("email", "email"),
    ("url", "uri"),
    ("href", "uri"),
    ("login", "handle"),
    ("username", "handle"),
    ("owner", "handle"),
    ("screenname", "handle"),
    ("slug", "slug"),
    ("fullname", "person"),
    ("displayname", "person"),
    ("realname", "person"),
    ("firstname", "person"),
    ("lastname", "person"),
    ("name", "slug"),
    ("title", "sentence"),
    ("summary", "sentence"),
    ("body", "paragraph"),
    ("description", "paragraph"),
    ("message", "sentence"),
    ("text", "sentence"),
    ("bio", "sentence"),
    ("comment", "sentence"),
    ("city", "city"),
    ("country", "country"),
    ("language", "language"),
    ("phone", "phone"),
    ("color", "hex-color"),
    ("sha", "sha1"),
    ("digest", "sha256"),
    ("version", "semver"),
    ("path", "file-path"),
    ("contenttype", "mime"),
)


def hint_for(name: str | None) -> str | None:
    if not name:
        return None
    flat = re.sub(r"[_\-.]", "", name.lower())
    for needle, gen in NAME_HINTS:
        if needle in flat:
            return gen
    return None


class ValueGen:
    """Generates values for schemas of one spec with one seeded random source."""

    def __init__(
        self,
        spec: dict[str, Any],
        rnd: random.Random,
        mode: str = "response",
        optional_p: float = 0.7,
        null_p: float = 0.15,
        on_value: Callback | None = None,
    ) -> None:
        self.spec = spec
        self.rnd = rnd
        self.mode = mode
        self.optional_p = optional_p
        self.null_p = null_p
        self.on_value = on_value

    def value(
        self, schema: dict[str, Any], name: str | None = None, pointer: str = "", depth: int = 0
    ) -> Any:
        """One value conforming to `schema`; `name` is the property name (a hint for plain strings)."""
        schema = merge_all_of(self.spec, schema)
        value = self._value(schema, name, pointer, depth)
        if self.on_value is not None:
            self.on_value(pointer, schema, value)
        return value

    def _value(self, schema: dict[str, Any], name: str | None, pointer: str, depth: int) -> Any:
        rnd = self.rnd
        if is_nullable(schema) and (rnd.random() < self.null_p or schema.get("type") == "null"):
            return None
        for key in ("oneOf", "anyOf"):
            if key in schema:
                branches = [resolve(self.spec, b) for b in schema[key]]
                real = [b for b in branches if b.get("type") != "null"]
                if len(real) < len(branches) and rnd.random() < self.null_p:
                    return None
                branch = rnd.choice(real)
                base = {k: v for k, v in schema.items() if k not in (key, "discriminator", "nullable")}
                merged = merge_all_of(self.spec, {"allOf": [branch, base]} if base else branch)
                value = self._value(merged, name, pointer, depth)
                disc = schema.get("discriminator")
                if disc and isinstance(value, dict):
                    prop = disc["propertyName"]
                    for tag, ref in (disc.get("mapping") or {}).items():
                        if resolve(self.spec, {"$ref": ref}) is branch:
                            value[prop] = tag
                return value
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            choices = [v for v in schema["enum"] if v is not None]
            return rnd.choice(choices)
        types = schema_types(schema)
        kind = rnd.choice(types) if types else "string"
        if kind == "object":
            return self._object(schema, pointer, depth)
        if kind == "array":
            return self._array(schema, name, pointer, depth)
        if kind == "integer":
            return self._integer(schema, name)
        if kind == "number":
            return self._number(schema)
        if kind == "boolean":
            return rnd.random() < 0.5
        return self._string(schema, name)

    def _object(self, schema: dict[str, Any], pointer: str, depth: int) -> dict[str, Any]:
        rnd = self.rnd
        out: dict[str, Any] = {}
        required = set(schema.get("required") or [])
        skip = "writeOnly" if self.mode == "response" else "readOnly"
        for prop, sub in (schema.get("properties") or {}).items():
            sub_resolved = resolve(self.spec, sub)
            if sub_resolved.get(skip):
                continue
            if prop not in required and (depth > 10 or rnd.random() >= self.optional_p):
                continue
            out[prop] = self.value(sub, prop, pointer_child(pointer, prop), depth + 1)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and depth <= 8:
            lo = schema.get("minProperties", 0 if schema.get("properties") else 1)
            count = rnd.randint(lo, max(lo, schema.get("maxProperties", 5)))
            names = schema.get("propertyNames") or schema.get("x-propertyNames") or {}
            for _ in range(count):
                key = self._key(names)
                if key not in out:
                    out[key] = self.value(extra, key, pointer + "/*", depth + 1)
        return out

    def _key(self, names: dict[str, Any]) -> str:
        names = merge_all_of(self.spec, names)
        if names:
            return str(self._value(names, None, "", 0))
        return self.rnd.choice(LABEL_KEYS)

    def _array(self, schema: dict[str, Any], name: str | None, pointer: str, depth: int) -> list[Any]:
        rnd = self.rnd
        lo = schema.get("minItems", 0)
        hi = schema.get("maxItems", lo + (5 if depth < 3 else 2))
        count = rnd.randint(lo, max(lo, min(hi, lo + 8)))
        if count and rnd.random() < 0.2 and lo == 0:
            count = 0  # empty lists happen
        items = schema.get("items") or {}
        singular = name[:-1] if name and name.endswith("s") else name
        out: list[Any] = []
        for _ in range(count * 3):
            if len(out) >= count:
                break
            value = self.value(items, singular, pointer + "/[]", depth + 1)
            if schema.get("uniqueItems") and value in out:
                continue
            out.append(value)
        return out

    def _integer(self, schema: dict[str, Any], name: str | None) -> int:
        rnd = self.rnd
        if schema.get("format") == "unix-time":
            return int(EPOCH.timestamp()) + rnd.randint(0, 2 * 365 * 86400)
        flat = (name or "").lower()
        lo = schema.get("minimum")
        hi = schema.get("maximum")
        if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], int | float):
            lo = schema["exclusiveMinimum"] + 1
        if "exclusiveMaximum" in schema and isinstance(schema["exclusiveMaximum"], int | float):
            hi = schema["exclusiveMaximum"] - 1
        if lo is None and hi is None:
            if flat == "id" or flat.endswith("id") or flat.endswith("_number"):
                lo, hi = 1, 99999
            else:
                lo, hi = 0, 1000
        lo = int(lo if lo is not None else min(0, hi))
        hi = int(hi if hi is not None else lo + 1000)
        value = rnd.randint(lo, hi)
        step = schema.get("multipleOf")
        if step:
            value = max(lo, value - value % int(step))
        return value

    def _number(self, schema: dict[str, Any]) -> float:
        lo = float(schema.get("minimum", 0.0))
        hi = float(schema.get("maximum", lo + 1000.0))
        value = round(self.rnd.uniform(lo, hi), 2)
        if value == int(value):
            value += 0.25 if value + 0.25 <= hi else -0.25
        return value

    def _string(self, schema: dict[str, Any], name: str | None) -> str:
        rnd = self.rnd
        fmt = schema.get("format")
        gen = schema.get("x-gen")
        if gen:
            value = str(GENERATORS[gen](rnd))
        elif fmt in GENERATORS:
            value = str(GENERATORS[fmt](rnd))
        elif "pattern" in schema:
            value = from_pattern(schema["pattern"], rnd)
        else:
            hint = hint_for(name)
            value = str(GENERATORS[hint](rnd)) if hint else rnd.choice(WORDS)
        lo = schema.get("minLength", 0)
        hi = schema.get("maxLength")
        if hi is not None and len(value) > hi:
            value = value[:hi]
        while len(value) < lo:
            value += rnd.choice(string.ascii_lowercase)
        return value
