"""A tiny provider for the plugin's tests: a WSGI app that serves users (and orders) as users.yaml says.

`make_app(id_as_text=True)` is the same provider after a careless change: user ids become strings.
`serve(app)` runs an app on 127.0.0.1 (port 0) in a thread, for clients that need a real socket.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

USERS = {1: {"id": 1, "name": "Ada", "email": "ada@example.com", "role": "admin"}}
ORDERS = {7: {"id": 7, "total": 12.5, "status": "paid"}}


def make_app(id_as_text: bool = False) -> Callable[..., Any]:
    """The provider's WSGI app; `id_as_text` makes it answer `"id": "1"` instead of `"id": 1`."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        status, body = "404 Not Found", {"title": "not found"}
        parts = path.strip("/").split("/")
        if method == "GET" and parts[0] == "users" and len(parts) == 2 and parts[1].isdigit():
            user = USERS.get(int(parts[1]))
            if user:
                status, body = "200 OK", dict(user, id=str(user["id"])) if id_as_text else user
        elif method == "GET" and path == "/users":
            status, body = "200 OK", list(USERS.values())
        elif method == "POST" and path == "/users":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            sent = json.loads(environ["wsgi.input"].read(length) or b"{}")
            if sent.get("name"):
                status, body = "201 Created", {"id": 2, "name": sent["name"], "email": None, "role": "member"}
            else:
                status, body = "422 Unprocessable Entity", {"title": "name is required"}
        elif method == "GET" and parts[0] == "orders" and len(parts) == 2 and parts[1].isdigit():
            order = ORDERS.get(int(parts[1]))
            if order:
                status, body = "200 OK", order
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return app


app = make_app()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(wsgi_app: Callable[..., Any]) -> Iterator[str]:
    """Serve `wsgi_app` on 127.0.0.1 until the block ends; yields its base URL."""
    server = make_server("127.0.0.1", 0, wsgi_app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
