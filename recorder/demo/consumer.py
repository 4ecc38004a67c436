"""Consumers of the shop API: a deterministic mix of calls, as a web app, a mobile app and a billing job make them."""

from __future__ import annotations

import http.client
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from recorder.demo.provider import PRODUCTS, STATUSES, order_id

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vLXVzZXIifQ.c2lnbmF0dXJlLW5vdC1yZWFs"


@dataclass(frozen=True)
class Call:
    """One request a consumer makes."""

    consumer: str
    method: str
    path: str
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()


def calls(count: int, seed: int = 7) -> Iterator[Call]:
    """`count` calls in a fixed pseudo-random order."""
    rnd = random.Random(seed)
    for i in range(count):
        consumer = ("web-app", "mobile-app", "billing-service")[i % 3]
        uid = rnd.randint(1, 40)
        pick = rnd.random()
        if pick < 0.22:
            yield Call(consumer, "GET", f"/api/v1/users/{uid}")
        elif pick < 0.30:
            yield Call(
                consumer, "GET", f"/api/v1/users?limit={rnd.choice((5, 10))}&offset={rnd.randint(0, 30)}"
            )
        elif pick < 0.34:
            yield Call(
                consumer, "GET", f"/api/v1/users?limit=5&role={rnd.choice(('admin', 'member', 'guest'))}"
            )
        elif pick < 0.42:
            yield Call(consumer, "GET", f"/api/v1/users/{uid}/orders")
        elif pick < 0.55:
            yield Call(consumer, "GET", f"/api/v1/orders/{order_id(uid, rnd.randint(0, uid % 3))}")
        elif pick < 0.60:
            yield Call(
                consumer,
                "PATCH",
                f"/api/v1/orders/{order_id(uid, 0)}",
                {"status": rnd.choice(STATUSES)},
            )
        elif pick < 0.63:
            yield Call(consumer, "DELETE", f"/api/v1/orders/{order_id(uid, 0)}")
        elif pick < 0.72:
            yield Call(consumer, "GET", f"/api/v1/products/{rnd.choice(PRODUCTS)}")
        elif pick < 0.77:
            yield Call(consumer, "GET", "/api/v1/users/me", headers=(("Authorization", f"Bearer {TOKEN}"),))
        elif pick < 0.81:
            yield Call(
                consumer,
                "POST",
                "/api/v1/users",
                {"email": f"new{i}@example.com", "password": f"pw-{rnd.random()}"},
            )
        elif pick < 0.84:
            yield Call(consumer, "GET", f"/api/v1/users/{rnd.randint(900, 999)}")
        elif pick < 0.88:
            yield Call(consumer, "GET", f"/api/v1/stats/daily?days={rnd.randint(2, 6)}")
        else:
            yield Call(consumer, "GET", "/api/v1/health")


def drive(base_url: str, count: int, seed: int = 7) -> dict[int, int]:
    """Send `count` calls to `base_url` over keep-alive connections; returns counts per status."""
    parts = urlsplit(base_url)
    conns: dict[str, http.client.HTTPConnection] = {}
    statuses: dict[int, int] = {}
    for call in calls(count, seed):
        conn = conns.get(call.consumer)
        if conn is None:
            conn = conns[call.consumer] = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        if call.consumer == "billing-service":
            headers["User-Agent"] = "billing-service/2.1 (python)"
        else:
            headers["X-Consumer"] = call.consumer
        headers.update(dict(call.headers))
        payload = None
        if call.body is not None:
            payload = json.dumps(call.body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(call.method, call.path, body=payload, headers=headers)
        resp = conn.getresponse()
        resp.read()
        statuses[resp.status] = statuses.get(resp.status, 0) + 1
    for conn in conns.values():
        conn.close()
    return statuses
