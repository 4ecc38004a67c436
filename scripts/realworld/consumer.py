"""The consumer of a published spec: tests/apis/driver.py's Planner, adapted to real traffic.

What differs from the hand-written harness (tests/apis must be on sys.path):

- path parameters named in the corpus get values in the API's own style from PARAM_GENERATORS
  (`octocat`-like handles and repo names, SHAs, `cus_...` ids, base62 ids, UUIDs), from pools so large
  that most requests see a NEW owner/repo (hundreds of distinct ones, as real GitHub traffic does), with a
  few popular values repeating;
- two consumers (`X-Consumer` + their own User-Agent), picked per request;
- a small quota of deliberately invalid requests whatever the spec documents (real clients do not read
  the docs first): a required query parameter left out or a bad query value, a body without a required
  field or with a wrong type, truncated JSON, a bad typed path segment, no credentials;
- no body on GET/DELETE even where the spec declares one (Stripe's spec does; its clients send none);
- requests are sent in one deterministic order over one keep-alive connection, and each answer is handed
  to a callback (status, content type, body) so the harness can note which values it saw.
"""

from __future__ import annotations

import http.client
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from apis.driver import Planner, Request, _bad_value
from apis.oas import Operation
from apis.values import FIRST, HANDLES, LAST, WORDS, a_base62, a_hex

BODY_INTENTS = ("invalid-body", "malformed-body")
INVALID_RATES = {
    "invalid-query": 0.04,
    "invalid-body": 0.04,
    "malformed-body": 0.02,
    "invalid-path": 0.03,
    "unauthenticated": 0.03,
}

SUFFIXES = ("cli", "api", "sdk", "js", "rs", "docs", "server", "core", "kit", "app", "bot", "ui")
LABELS = (
    "bug",
    "enhancement",
    "documentation",
    "good first issue",
    "help wanted",
    "question",
    "wontfix",
    "duplicate",
    "priority: high",
    "area/api",
    "needs-triage",
    "dependencies",
)
CATEGORIES = (
    "toplists",
    "pop",
    "mood",
    "dinner",
    "workout",
    "chill",
    "party",
    "rock",
    "hiphop",
    "focus",
    "jazz",
    "latin",
    "indie_alt",
    "decades",
    "sleep",
    "kids_family",
    "romance",
    "gaming",
)


def _handle(rnd: random.Random) -> str:
    first, last = rnd.choice(FIRST).lower(), rnd.choice(LAST).lower()
    style = rnd.randrange(5)
    if style == 0:
        return f"{first}{last}"
    if style == 1:
        return f"{first[0]}{last}{rnd.randint(1, 999)}"
    if style == 2:
        return f"{rnd.choice(WORDS)}-{rnd.choice(WORDS)}"
    if style == 3:
        return f"{first}-{rnd.choice(WORDS)}{rnd.randint(1, 99)}"
    return f"{rnd.choice(HANDLES)}{rnd.randint(2, 9999)}"


def _repo(rnd: random.Random) -> str:
    style = rnd.randrange(4)
    if style == 0:
        return f"{rnd.choice(WORDS)}-{rnd.choice(SUFFIXES)}"
    if style == 1:
        return f"{rnd.choice(WORDS)}.{rnd.choice(('js', 'py', 'go', 'nvim'))}"
    if style == 2:
        return f"{rnd.choice(WORDS)}{rnd.choice(WORDS)}"
    return f"{rnd.choice(WORDS)}-{rnd.choice(WORDS)}-{rnd.choice(SUFFIXES)}"


def _branch(rnd: random.Random) -> str:
    if rnd.random() < 0.4:
        return rnd.choice(("main", "master", "develop"))
    return rnd.choice(
        (
            f"feature-{rnd.choice(WORDS)}",
            f"fix-{rnd.randint(1, 9999)}",
            f"release-{rnd.randint(1, 5)}.{rnd.randint(0, 20)}",
        )
    )


def _coupon(rnd: random.Random) -> str:
    if rnd.random() < 0.5:
        return f"{rnd.choice(WORDS).upper()}{rnd.choice((10, 15, 20, 25, 50))}"
    return a_base62(rnd, 8)


def _stripe(prefix: str, n: int) -> Callable[[random.Random], str]:
    return lambda rnd: prefix + a_base62(rnd, n)


PARAM_GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "handle": _handle,
    "org": lambda r: (
        f"{r.choice(WORDS)}-{r.choice(('labs', 'io', 'hq', 'dev', 'oss', 'inc'))}"
        if r.random() < 0.6
        else f"{r.choice(WORDS)}{r.choice(WORDS)}"
    ),
    "repo": _repo,
    "branch": _branch,
    "label": lambda r: r.choice(LABELS),
    "sha": lambda r: a_hex(r, 40),
    "uuid": lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "geo-id": lambda r: str(r.randint(2_000_000, 6_000_000)),
    "hex8": lambda r: a_hex(r, 8),
    "version-id": lambda r: "g" + a_hex(r, 7),
    "base62-22": lambda r: a_base62(r, 22),
    "category": lambda r: r.choice(CATEGORIES),
    "coupon": _coupon,
}


def generator(name: str) -> Callable[[random.Random], str]:
    if name.startswith("stripe:"):
        _, prefix, n = name.split(":")
        return _stripe(prefix, int(n))
    return PARAM_GENERATORS[name]


@dataclass
class Sent:
    """One request as sent and what came back."""

    request: Request
    consumer: str
    status: int | None
    content_type: str = ""
    error: str = ""


@dataclass
class Traffic:
    sent: int = 0
    failures: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_intent: dict[str, Counter[int]] = field(default_factory=dict)
    by_operation: dict[str, Counter[int]] = field(default_factory=dict)
    consumers: Counter[str] = field(default_factory=Counter)
    distinct_path_values: dict[str, int] = field(default_factory=dict)
    plan_errors: list[str] = field(default_factory=list)
    last_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failures": self.failures,
            "by_status": dict(sorted(self.by_status.items())),
            "by_intent": {k: dict(sorted(v.items())) for k, v in sorted(self.by_intent.items())},
            "by_operation": {k: dict(sorted(v.items())) for k, v in sorted(self.by_operation.items())},
            "consumers": dict(self.consumers),
            "distinct_path_values": self.distinct_path_values,
            "plan_errors": self.plan_errors[:20],
            "last_error": self.last_error,
        }


class RealPlanner(Planner):
    """Planner with realistic path values, two consumers and invalid requests whatever the spec documents."""

    def __init__(
        self,
        spec: dict[str, Any],
        seed: int,
        param_values: dict[str, str],
        consumers: tuple[str, str],
        requests_per_op: int,
    ) -> None:
        super().__init__(spec, seed)
        self.param_values = param_values
        self.consumers = consumers
        self.requests_per_op = requests_per_op
        self.crnd = random.Random(seed * 7919 + 1)  # consumer choice, independent of the values
        self.errors: list[str] = []
        self.assigned: dict[int, str] = {}

    def pool(self, param: dict[str, Any], size: int) -> list[Any]:
        name = param.get("name", "")
        gen_name = self.param_values.get(name)
        if gen_name is None:
            return super().pool(param, size)
        key = "corpus:" + name
        if key not in self.pools:
            gen = generator(gen_name)
            fresh: list[str] = []
            seen: set[str] = set()
            for _ in range(6000):
                value = gen(self.rnd)
                if value not in seen:
                    seen.add(value)
                    fresh.append(value)
                if len(fresh) >= 2500:
                    break
            popular = fresh[:4]
            # ~12% of the draws hit one of four popular values, the rest are (mostly) new every time
            weight = max(1, len(fresh) // 30)
            self.pools[key] = popular * weight + fresh
        return self.pools[key]

    def intents(self, op: Operation, n: int) -> list[str]:
        spec = self.spec
        has_body = op.method in ("post", "put", "patch") and op.request_body is not None
        media = next(iter((op.request_body or {}).get("content") or {"": None}))
        query = [
            p for p in op.params("query") if p.get("required") or _bad_value(spec, p.get("schema") or {})
        ]
        path = [p for p in op.params("path") if _bad_value(spec, p.get("schema") or {})]
        secured = bool(op.op.get("security", spec.get("security")))
        applicable = {
            "invalid-query": bool(query),
            "invalid-body": has_body,
            "malformed-body": has_body and "json" in media,
            "invalid-path": bool(path),
            "unauthenticated": secured,
        }
        out: list[str] = []
        for intent, ok in applicable.items():
            if ok and n >= 10:
                out.extend([intent] * max(1, round(n * INVALID_RATES[intent])))
        out = out[: n // 5]
        out += ["valid"] * (n - len(out))
        self.rnd.shuffle(out)
        return out

    def request(self, op: Operation, n: int, intent: str = "valid") -> Request:
        try:
            req = super().request(op, n, intent)
        except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
            self.errors.append(f"{op.key} ({intent}): {type(exc).__name__}: {exc}")
            req = (
                super().request(op, n, "valid")
                if intent != "valid"
                else Request(op.key, op.method.upper(), self.prefix + op.template)
            )
        consumer = self.consumers[0] if self.crnd.random() < 0.6 else self.consumers[1]
        headers = []
        for name, value in req.headers:
            if name == "X-Consumer":
                value = consumer
            elif name == "User-Agent":
                value = f"{consumer}/2.{len(consumer) % 7} python-httpx/0.27.0"
            headers.append((name, value))
        body = req.body
        if req.method in ("GET", "DELETE", "HEAD") and req.intent not in BODY_INTENTS and body:
            body = b""
            headers = [(k, v) for k, v in headers if k != "Content-Type"]
        return replace(req, headers=tuple(headers), body=body)


def plan(
    spec: dict[str, Any],
    requests_per_op: int,
    seed: int,
    param_values: dict[str, str],
    consumers: tuple[str, str],
) -> tuple[list[Request], list[str]]:
    planner = RealPlanner(spec, seed, param_values, consumers, requests_per_op)
    requests = planner.plan(requests_per_op)
    return requests, planner.errors


def consumer_of(req: Request) -> str:
    return dict(req.headers).get("X-Consumer", "")


OnAnswer = Callable[[Request, int, dict[str, str], bytes], None]  # headers: lower-case names


def send(
    plan_: list[Request],
    base_url: str,
    prefix: str = "",
    on_answer: OnAnswer | None = None,
    timeout: float = 30.0,
    deadline: float | None = None,
) -> Traffic:
    """Send the plan in order over one keep-alive connection; never raises for HTTP or network errors."""
    parts = urlsplit(base_url)
    traffic = Traffic()
    conn: http.client.HTTPConnection | None = None
    path_values: dict[str, set[str]] = {}
    for req in plan_:
        if deadline is not None and time.monotonic() > deadline:
            traffic.last_error = "deadline reached: the rest of the plan was not sent"
            break
        status = None
        rheaders: dict[str, str] = {}
        body = b""
        for _attempt in range(2):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
                conn.request(req.method, req.target, body=req.body or None, headers=dict(req.headers))
                resp = conn.getresponse()
                body = resp.read()
                status = resp.status
                rheaders = {k.lower(): v for k, v in resp.getheaders()}
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                break
            except (OSError, http.client.HTTPException) as exc:
                if conn is not None:
                    conn.close()
                conn = None
                traffic.last_error = f"{req.method} {req.target}: {exc!r}"
        traffic.sent += 1
        cons = consumer_of(req)
        traffic.consumers[cons] += 1
        template = (prefix + req.operation.split(" ", 1)[1]).split("/")
        segs = req.target.split("?")[0].split("/")
        if len(template) == len(segs):
            for tseg, seg in zip(template, segs, strict=True):
                if tseg.startswith("{"):
                    path_values.setdefault(tseg.strip("{}"), set()).add(seg)
        if status is None:
            traffic.failures += 1
            continue
        traffic.by_status[status] += 1
        traffic.by_intent.setdefault(req.intent, Counter())[status] += 1
        traffic.by_operation.setdefault(req.operation, Counter())[status] += 1
        if on_answer is not None:
            on_answer(req, status, rheaders, body)
    if conn is not None:
        conn.close()
    traffic.distinct_path_values = {k: len(v) for k, v in sorted(path_values.items())}
    return traffic
