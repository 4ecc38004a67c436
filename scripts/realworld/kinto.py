"""A real server with its own client test suite: Kinto (memory backend) driven by kinto-http's functional tests.

Two Kinto processes with the same settings run side by side: the suite runs directly against one and, at
the same time, through `recorder proxy` against the other, so the proxy's effect on the outcome is seen
test by test. Kinto's settings follow what kinto-http's tests expect (tests/config/kinto.ini of its sdist:
accounts, flush endpoint, attachments, 5 records per page), with the memory backends and our loopback port.
Then, against the proxied Kinto: the pacts exported from the recording are verified, the recorded requests
are replayed with the exported contract, and the export is scored against Kinto's own OpenAPI (/v1/__api__,
Swagger 2.0).
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from realworld import procs

USER = ("user", "p4ssw0rd")  # kinto-http's DEFAULT_AUTH: the account its fixtures create
INI = """\
[app:main]
use = egg:kinto
kinto.storage_backend = kinto.core.storage.memory
kinto.storage_url =
kinto.cache_backend = kinto.core.cache.memory
kinto.cache_url =
kinto.permission_backend = kinto.core.permission.memory
kinto.permission_url =
kinto.userid_hmac_secret = {secret}
kinto.paginate_by = 5
kinto.includes = kinto.plugins.flush
                 kinto.plugins.accounts
                 kinto_attachment
multiauth.policies = account
multiauth.policy.account.use = kinto.plugins.accounts.AccountsPolicy
kinto.account_create_principals = system.Everyone
kinto.account_write_principals = account:user
kinto.bucket_create_principals = account:user
kinto.attachment.base_path = {attachments}
kinto.experimental_permissions_endpoint = true

[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = {port}
"""


def basic_auth() -> str:
    return "Basic " + base64.b64encode(f"{USER[0]}:{USER[1]}".encode()).decode()


def start_kinto(python: Path, workdir: Path, label: str) -> tuple[procs.Server, str | None]:
    port = procs.free_port()
    attachments = workdir / f"attachments-{label}"
    attachments.mkdir(parents=True, exist_ok=True)
    ini = workdir / f"kinto-{label}.ini"
    ini.write_text(INI.format(secret="0f3c" * 8, attachments=attachments, port=port))
    kinto = python.parent / "kinto"
    server = procs.Server(
        f"kinto-{label}", [str(kinto), "start", "--ini", str(ini), "--port", str(port)], cwd=workdir
    )
    url = f"http://127.0.0.1:{port}"
    ok = procs.wait_http(url, 90, "/v1/", server)
    return server, url if ok else None


def http_json(
    url: str, method: str = "GET", path: str = "/", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    host, _, port = url.split("//", 1)[1].partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    try:
        return resp.status, json.loads(raw) if raw else None
    except ValueError:
        return resp.status, raw.decode(errors="replace")


# what empties Kinto as its client suite's fixtures leave it: a flush, then the account the suite authenticates
# as (also the reset a pact's provider states start from, see pact_verify.py)
RESET_REQUESTS = [
    {"method": "POST", "path": "/v1/__flush__"},
    {"method": "PUT", "path": f"/v1/accounts/{USER[0]}", "body": {"data": {"password": USER[1]}}},
]


def reset(url: str) -> tuple[int, ...]:
    """Flush the server and create the account again (`RESET_REQUESTS`); returns their statuses."""
    return tuple(
        http_json(url, r["method"], r["path"], r.get("body"), {"Authorization": basic_auth()})[0]
        for r in RESET_REQUESTS
    )


def run_suite(python: Path, src: Path, server_url: str, junit: Path, timeout: float) -> procs.Server:
    """kinto-http's functional tests (`-k test_functional`, as its Makefile's `functional` target)."""
    plugin_dir = Path(__file__).resolve().parent / "pytest_plugin"
    return procs.Server(
        f"suite-{junit.stem}",
        [
            str(python),
            "-m",
            "pytest",
            "-p",
            "kinto_server_url",
            "-p",
            "no:cacheprovider",
            "-k",
            "test_functional",
            "-q",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            f"--junitxml={junit}",
            "tests",
        ],
        env={"KINTO_SERVER_URL": server_url, "PYTHONPATH": str(plugin_dir), "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=src,
    )


def junit_outcomes(junit: Path) -> dict[str, str]:
    """test id -> passed | failed | error | skipped."""
    out: dict[str, str] = {}
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return out
    for case in root.iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        state = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                state = {"failure": "failed"}.get(child.tag, child.tag)
        out[name] = state
    return out


def wait_suite(server: procs.Server, deadline: float) -> int | None:
    while server.alive() and time.monotonic() < deadline:
        time.sleep(0.5)
    if server.alive():
        server.stop(timeout=5)
        return None
    return server.stop(timeout=5)


def summarize(outcomes: dict[str, str]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for state in outcomes.values():
        counts[state] = counts.get(state, 0) + 1
    return counts
