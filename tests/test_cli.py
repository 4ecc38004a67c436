"""The CLI as users run it: import, stats, endpoints, show, and one clear line for every bad input."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support import db_rows, har_entry, run_cli, running_proxy

from recorder.cli import app


def _har_entry(method: str, url: str, status: int, body: object, started: str, **extra: object) -> dict:
    return har_entry(
        method,
        url,
        status,
        body,
        started,
        request_headers=[
            {"name": "X-Consumer", "value": "browser"},
            {"name": "Authorization", "value": "Bearer s3cr3t-t0ken"},
        ],
        response_headers=[
            {"name": "Content-Type", "value": "application/json"},
            {"name": "Content-Encoding", "value": "gzip"},  # HAR text is decoded: never decoded again
        ],
        **extra,
    )


@pytest.fixture
def har_file(tmp_path: Path) -> Path:
    entries = [
        _har_entry(
            "GET",
            f"https://api.example.com/users/{i}?expand=team",
            200,
            {"id": i, "name": f"u{i}"},
            f"2024-05-01T10:00:0{i}.000Z",
        )
        for i in range(1, 6)
    ]
    entries.append(
        _har_entry(
            "POST",
            "https://api.example.com/login",
            200,
            {"token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nat-ure"},
            "2024-05-01T10:01:00.000Z",
            postData={"mimeType": "application/json", "text": '{"user": "ada", "password": "hunter22"}'},
        )
    )
    binary = _har_entry("GET", "https://api.example.com/logo.png", 200, None, "2024-05-01T10:02:00.000Z")
    binary["response"]["headers"] = [{"name": "Content-Type", "value": "image/png"}]
    binary["response"]["content"] = {
        "size": 4,
        "mimeType": "image/png",
        "text": base64.b64encode(b"\x89PNG").decode(),
        "encoding": "base64",
    }
    entries.append(binary)
    path = tmp_path / "session.har"
    path.write_text(
        json.dumps(
            {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": entries}}
        )
    )
    return path


def test_import_har_then_stats_and_endpoints(tmp_path, har_file):
    db = tmp_path / "t.db"
    result = run_cli("import", str(har_file), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "imported 7 exchanges" in result.stdout
    assert b"hunter22" not in db.read_bytes() and b"s3cr3t-t0ken" not in db.read_bytes()
    # importing the same file again adds nothing
    again = run_cli("import", str(har_file), "--db", str(db))
    assert "imported 0 exchanges" in again.stdout

    stats = run_cli("stats", "--db", str(db), "--json")
    data = json.loads(stats.stdout)
    assert data["exchanges"] == 7
    assert data["by_consumer"] == {"browser": 7}
    assert data["by_status"] == {"200": 7}
    assert data["dropped"] == 0

    endpoints = run_cli("endpoints", "--db", str(db))
    assert endpoints.returncode == 0
    assert "/users/{userId}" in endpoints.stdout and "POST" in endpoints.stdout
    raw = run_cli("endpoints", "--db", str(db), "--raw")
    assert "/users/3" in raw.stdout

    ((body, ctype),) = db_rows(
        db, "SELECT response_body, response_content_type FROM exchanges WHERE path = '/logo.png'"
    )
    assert body == b"\x89PNG" and ctype == "image/png"


def test_import_mitmproxy_flow_file(tmp_path, shop):
    flows = tmp_path / "traffic.flows"
    mitmdump = shutil.which("mitmdump", path=os.path.dirname(sys.executable)) or "mitmdump"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            mitmdump,
            "-q",
            "--mode",
            f"reverse:{shop.url}",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "-w",
            str(flows),
        ],
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", headers={"X-Consumer": "cli"})
                break
            except httpx.TransportError:
                time.sleep(0.2)
        for i in range(1, 4):
            httpx.get(
                f"http://127.0.0.1:{port}/api/v1/users/{i}",
                headers={"X-Consumer": "cli", "Accept-Encoding": "gzip"},
            )
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    db = tmp_path / "t.db"
    result = run_cli("import", str(flows), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "imported 4 exchanges" in result.stdout
    rows = db_rows(db, "SELECT path, status, consumer, source FROM exchanges ORDER BY started")
    assert rows[1:] == [(f"/api/v1/users/{i}", 200, "cli", "flow") for i in range(1, 4)]


def test_large_import_in_worker_processes_equals_import_in_one(tmp_path):
    """Decoding and redaction of a big file run in worker processes; the database is the same either way,
    and a malformed entry deep in the file still stops the import with a line naming it."""
    entries = [
        _har_entry(
            "POST" if i % 7 == 0 else "GET",
            f"https://api.example.com/users/{i}?api_key=k3y-{i:08d}-secret",
            200,
            {"id": i, "card": "4111 1111 1111 1111", "token": f"tok-{i:012d}-value"},
            f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
        )
        for i in range(2600)
    ]
    har = tmp_path / "big.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    columns = "uid, started, consumer, method, path, query, request_headers, response_body, shape"
    dumps = []
    for workers in ("0", "2"):
        db = tmp_path / f"w{workers}.db"
        result = run_cli("import", str(har), "--db", str(db), "--workers", workers)
        assert result.returncode == 0, result.stderr
        assert "imported 2600 exchanges" in result.stdout
        content = (
            db.read_bytes() + Path(f"{db}-wal").read_bytes()
            if Path(f"{db}-wal").exists()
            else db.read_bytes()
        )
        assert (
            b"4111 1111" not in content
            and b"k3y-00000001" not in content
            and b"tok-000000000001" not in content
        )
        dumps.append(db_rows(db, f"SELECT {columns} FROM exchanges ORDER BY id"))
    assert dumps[0] == dumps[1] and len(dumps[0]) == 2600

    entries[2345] = {"request": {"method": "GET"}}
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    result = run_cli("import", str(har), "--db", str(tmp_path / "bad.db"), "--workers", "2")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"{har}: entry 2345 is not a valid HAR entry" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "invalid JSON"),
        (b'{"log": {"entries": "nope"}}', "'log.entries' is missing or not a list"),
        (b'{"log": {"entries": [{"request": {}}]}}', "entry 0 is not a valid HAR entry"),
        (b"\x00\x01binary garbage", "not a HAR file or mitmproxy flow file"),
    ],
)
def test_bad_import_files_get_one_line_naming_the_file(tmp_path, content, message):
    bad = tmp_path / ("bad.har" if content.startswith(b"{") else "bad.bin")
    bad.write_bytes(content)
    result = run_cli("import", str(bad), "--db", str(tmp_path / "t.db"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(bad) in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def _one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("recorder: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_bad_input_gets_one_clear_line_and_exit_code_2(tmp_path):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(os.urandom(4096))
    _one_line_error(run_cli("stats", "--db", str(corrupt)), "not a", "corrupt.db")
    _one_line_error(run_cli("stats", "--db", str(tmp_path / "missing.db")), "does not exist")
    _one_line_error(run_cli("stats", "--db", str(tmp_path)), "is a folder")
    other = tmp_path / "other.db"
    subprocess.run(
        [sys.executable, "-c", f"import sqlite3; sqlite3.connect('{other}').execute('create table t (x)')"],
        check=True,
    )
    _one_line_error(run_cli("endpoints", "--db", str(other)), "not a recorder database")
    _one_line_error(run_cli("stats", "--bogus-flag"), "No such option", "--bogus-flag")
    _one_line_error(run_cli("import", "--db", str(tmp_path / "x.db")), "Missing argument")
    _one_line_error(
        run_cli("import", str(tmp_path / "nope.har"), "--db", str(tmp_path / "x.db")),
        "nope.har",
        "no such file",
    )
    _one_line_error(run_cli("proxy", "--upstream", "ftp://example"), "bad --upstream")
    _one_line_error(run_cli("proxy", "--upstream", "http://127.0.0.1:notaport"), "port is not a number")
    _one_line_error(run_cli("proxy", "--db", str(tmp_path / "x.db")), "needs --upstream")
    _one_line_error(
        run_cli("proxy", "--upstream", "http://127.0.0.1:1", "--mode", "sideways"), "unknown --mode"
    )
    _one_line_error(run_cli("proxy", "--upstream", "http://127.0.0.1:1", "--max-body", "0"), "--max-body")
    _one_line_error(
        run_cli("proxy", "--upstream", "http://127.0.0.1:1", "--db", str(tmp_path / "no" / "such" / "x.db")),
        "does not exist",
    )
    _one_line_error(
        run_cli("proxy", "--upstream", "http://127.0.0.1:1", "--include", "~q ((("), "invalid filter"
    )
    _one_line_error(run_cli("show", "99", "--db", str(tmp_path / "missing.db")), "does not exist")
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[redact]\nenabled = 'maybe'\n")
    _one_line_error(
        run_cli("proxy", "--upstream", "http://127.0.0.1:1", "--config", str(bad_config)), "redact.enabled"
    )
    assert not (tmp_path / "x.db").exists()


def test_port_in_use_is_one_line(tmp_path, upstream):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = run_cli(
            "proxy", "--upstream", upstream, "--listen-port", str(port), "--db", str(tmp_path / "t.db")
        )
    _one_line_error(result, "already in use", str(port))


def test_show_prints_a_recorded_exchange_redacted(tmp_path, upstream):
    db = tmp_path / "t.db"
    with running_proxy(upstream, db) as proxy:
        httpx.get(proxy.url + "/json?x=1", headers={"Authorization": "Bearer hidden-value-123"})
    result = run_cli("show", "1", "--db", str(db))
    assert result.returncode == 0
    assert "GET /json?x=1" in result.stdout
    assert '"name": "seven"' in result.stdout
    assert "hidden-value-123" not in result.stdout and "Bearer <redacted:" in result.stdout
    as_json = json.loads(run_cli("show", "1", "--db", str(db), "--json").stdout)
    assert as_json["status"] == 200 and as_json["query"] == {"x": ["1"]}
    _one_line_error(run_cli("show", "42", "--db", str(db)), "no exchange 42")


def test_every_command_is_documented_in_the_readme():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    import typer.main

    command = typer.main.get_command(app)
    names = sorted(command.commands)  # type: ignore[attr-defined]
    assert names
    for name in names:
        assert f"recorder {name}" in readme, f"'recorder {name}' is not documented in README.md"


def test_stats_by_operation_and_version(tmp_path, upstream):
    db = tmp_path / "t.db"
    with running_proxy(upstream, db) as proxy:
        for _ in range(3):
            httpx.get(proxy.url + "/json")
        httpx.get(proxy.url + "/missing")
    data = json.loads(run_cli("stats", "--db", str(db), "--json").stdout)
    assert data["by_operation"] == {"GET /json": 3, "GET /missing": 1}
    assert "GET /json" in run_cli("stats", "--db", str(db)).stdout
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("contract-recorder ")


def test_settings_from_pyproject(tmp_path, upstream):
    (tmp_path / "pyproject.toml").write_text('[tool.recorder.redact]\nfields = ["nickname"]\n')
    db = tmp_path / "t.db"
    with running_proxy(upstream, db, cwd=tmp_path) as proxy:
        httpx.post(proxy.url + "/echo", json={"nickname": "zorro-the-fox", "age": 3})
    ((body,),) = db_rows(db, "SELECT request_body FROM exchanges")
    assert b"zorro-the-fox" not in body and json.loads(body)["age"] == 3
