"""A small, real JSON API on loopback ("shop"), used by `recorder demo` and the tests.

`version=1` is the provider the contract is learned from; `version=2` changes it the way real providers
drift: `name` renamed to `fullName`, an order's `total` turned into a string, a new order status;
`version=3` also answers the health check with 503.
Responses are deterministic for a given path, so tests can compare them byte for byte.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROLES = ("admin", "member", "guest")
STATUSES = ("pending", "paid", "shipped", "cancelled")
CURRENCIES = ("EUR", "USD", "GBP")
CITIES = ("Lyon", "Berlin", "Porto", "Oslo", "Graz", "Turku", "Leeds", "Cork")
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
PRODUCTS = (
    "blue-mug",
    "red-kettle",
    "oak-desk",
    "wool-socks",
    "steel-pan",
    "glass-jar",
    "lamp-x2",
    "mat-pro",
)
EPOCH = datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC)
MAX_USER = 500


def _rng(*parts: Any) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def order_id(user_id: int, n: int) -> str:
    """The deterministic UUID of a user's n-th order."""
    return str(uuid.UUID(int=_rng("order", user_id, n) << 80 | _rng("o2", user_id, n), version=4))


@dataclass
class Shop:
    """The provider's data, computed from ids (nothing to seed, same answers every run)."""

    version: int = 1

    def user(self, uid: int) -> dict[str, Any]:
        r = _rng("user", uid)
        name = f"{FIRST[r % len(FIRST)]} {chr(65 + r % 26)}."
        user: dict[str, Any] = {
            "id": uid,
            "email": f"user{uid}@example.com",
            "role": ROLES[(r >> 4) % 3] if uid % 7 else "admin",
            "createdAt": (EPOCH + timedelta(minutes=r % 100_000)).isoformat().replace("+00:00", "Z"),
            "active": bool((r >> 8) % 4),
            "tags": [t for i, t in enumerate(("beta", "vip", "staff")) if (r >> (10 + i)) % 3 == 0],
            "address": None
            if uid % 5 == 0
            else {
                "street": f"{r % 200} Main St",
                "city": CITIES[(r >> 12) % len(CITIES)],
                "zip": f"{r % 90000 + 10000}",
            },
        }
        if self.version >= 2:
            user["fullName"] = name
        else:
            user["name"] = name
        if uid % 3 == 0:
            user["nickname"] = name.split()[0].lower()
        return user

    def order(self, user_id: int, n: int) -> dict[str, Any]:
        r = _rng("order", user_id, n)
        items = [
            {
                "sku": PRODUCTS[(r >> (4 * i)) % len(PRODUCTS)],
                "quantity": 1 + (r >> i) % 4,
                "price": round(2.5 + (r >> (2 * i)) % 5000 / 100, 2),
            }
            for i in range(1 + r % 3)
        ]
        total = round(sum(i["quantity"] * i["price"] for i in items), 2)
        statuses = (*STATUSES, "refunded") if self.version >= 2 else STATUSES
        return {
            "id": order_id(user_id, n),
            "userId": user_id,
            "status": statuses[(r >> 6) % len(statuses)],
            "currency": CURRENCIES[(r >> 9) % 3],
            "total": f"{total:.2f}" if self.version >= 2 else total,
            "items": items,
            "createdAt": (EPOCH + timedelta(hours=r % 5000)).isoformat().replace("+00:00", "Z"),
        }

    def product(self, slug: str) -> dict[str, Any]:
        r = _rng("product", slug)
        return {
            "slug": slug,
            "title": slug.replace("-", " ").title(),
            "price": round(3 + r % 9000 / 100, 2),
            "inStock": bool(r % 3),
            "dimensions": {"width": r % 90 + 10, "height": (r >> 8) % 90 + 10},
        }

    def find_order(self, oid: str) -> dict[str, Any] | None:
        for uid in range(1, 41):
            for n in range(3):
                if order_id(uid, n) == oid:
                    return self.order(uid, n)
        return None


class ShopHandler(BaseHTTPRequestHandler):
    """Routes for the shop API."""

    server_version = "shop/1.0"
    protocol_version = "HTTP/1.1"
    shop: Shop

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = url.path
        shop = self.server.shop  # type: ignore[attr-defined]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._json(400, {"error": "invalid JSON body", "code": 400})
        verb = "GET" if method == "HEAD" else method
        if path == "/api/v1/health" and verb == "GET":
            if shop.version >= 3:  # version 3 also answers with a status the contract never saw
                return self._json(503, {"status": "degraded", "version": shop.version})
            return self._json(200, {"status": "ok", "version": shop.version})
        if path == "/api/v1/users" and verb == "GET":
            limit = int(query.get("limit", ["10"])[0])
            offset = int(query.get("offset", ["0"])[0])
            role = query.get("role", [None])[0]
            users = [shop.user(i) for i in range(offset + 1, min(offset + limit, MAX_USER) + 1)]
            if role:
                users = [u for u in users if u["role"] == role]
            return self._json(200, {"items": users, "total": MAX_USER, "limit": limit, "offset": offset})
        if path == "/api/v1/users" and verb == "POST":
            if not isinstance(body, dict) or "email" not in body:
                return self._json(422, {"error": "email is required", "code": 422})
            user = {**shop.user(MAX_USER + 1), "email": body["email"]}
            return self._json(201, user, headers={"Location": f"/api/v1/users/{user['id']}"})
        if path == "/api/v1/users/me" and verb == "GET":
            if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                return self._json(401, {"error": "unauthorized", "code": 401})
            return self._json(200, shop.user(1))
        m = re.fullmatch(r"/api/v1/users/(\d+)", path)
        if m and verb == "GET":
            uid = int(m.group(1))
            if not 1 <= uid <= MAX_USER:
                return self._json(404, {"error": "user not found", "code": 404})
            return self._json(200, shop.user(uid), headers={"ETag": f'"u{uid}-{shop.version}"'})
        m = re.fullmatch(r"/api/v1/users/(\d+)/orders", path)
        if m and verb == "GET":
            uid = int(m.group(1))
            return self._json(200, [shop.order(uid, n) for n in range(uid % 3 + 1)])
        m = re.fullmatch(r"/api/v1/orders/([0-9a-f-]{36})", path)
        if m:
            order = shop.find_order(m.group(1))
            if order is None:
                return self._json(404, {"error": "order not found", "code": 404})
            if verb == "GET":
                return self._json(200, order)
            if verb == "PATCH":
                if not isinstance(body, dict) or body.get("status") not in STATUSES:
                    return self._json(
                        422, {"error": "status must be one of " + ",".join(STATUSES), "code": 422}
                    )
                return self._json(200, {**order, "status": body["status"]})
            if verb == "DELETE":
                return self._empty(204)
        m = re.fullmatch(r"/api/v1/products/([a-z0-9-]+)", path)
        if m and verb == "GET":
            return self._json(200, shop.product(m.group(1)))
        if path == "/api/v1/stats/daily" and verb == "GET":
            days = {
                (EPOCH + timedelta(days=d)).date().isoformat(): {
                    "orders": _rng("d", d) % 50,
                    "revenue": round(_rng("r", d) % 100000 / 100, 2),
                }
                for d in range(int(query.get("days", ["7"])[0]))
            }
            return self._json(200, days)
        return self._json(404, {"error": "no such route", "code": 404})

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data).encode()
        extra = dict(headers or {})
        if "gzip" in (self.headers.get("Accept-Encoding") or "") and len(payload) > 256:
            payload = gzip.compress(payload, mtime=0)
            extra["Content-Encoding"] = "gzip"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-RateLimit-Remaining", "99")
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class ShopServer:
    """The shop API served on 127.0.0.1 in a background thread."""

    def __init__(self, version: int = 1, port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), ShopHandler)
        self.httpd.daemon_threads = True
        self.httpd.shop = Shop(version)  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="shop", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def set_version(self, version: int) -> None:
        """Change the provider in place (what a deploy does)."""
        self.httpd.shop = Shop(version)  # type: ignore[attr-defined]

    def __enter__(self) -> ShopServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
