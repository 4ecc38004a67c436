"""Capture through the real proxy: transparency, no loss, store failures, hostile payloads."""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import signal
import stat
import subprocess
import threading
import time

import httpx
import pytest
from support import BIG, ProxyProcess, db_rows, payload_bytes, running_proxy, wait_for

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
    "date",
}


def _headers(resp: httpx.Response) -> list[tuple[str, str]]:
    return (
        sorted((k.lower(), v) for k, v in resp.headers.raw_items_decoded() if k.lower() not in HOP_BY_HOP)
        if hasattr(resp.headers, "raw_items_decoded")
        else sorted((k.lower(), v) for k, v in resp.headers.multi_items() if k.lower() not in HOP_BY_HOP)
    )


def _raw(client: httpx.Client, method: str, url: str) -> tuple[int, list[tuple[str, str]], bytes]:
    with client.stream(method, url, headers={"Accept-Encoding": "gzip"}) as resp:
        body = b"".join(resp.iter_raw())
        return resp.status_code, _headers(resp), body


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/json"),
        ("GET", "/gzip"),
        ("GET", "/chunked"),
        ("GET", "/binary"),
        ("GET", "/large"),
        ("GET", "/204"),
        ("GET", "/304"),
        ("HEAD", "/json"),
        ("HEAD", "/large"),
        ("GET", "/500"),
        ("GET", "/missing"),
    ],
)
def test_client_gets_the_same_status_headers_and_bytes_through_the_proxy(tmp_path, upstream, method, path):
    with running_proxy(upstream, tmp_path / "t.db") as proxy, httpx.Client(timeout=60) as client:
        direct = _raw(client, method, upstream + path)
        proxied = _raw(client, method, proxy.url + path)
    assert proxied[0] == direct[0]
    assert proxied[1] == direct[1]
    assert proxied[2] == direct[2]
    rows = db_rows(tmp_path / "t.db", "SELECT method, path, status FROM exchanges")
    assert rows == [(method, path, direct[0])]


def test_recorded_exchange_has_decoded_bodies_sizes_and_metadata(tmp_path, upstream):
    db = tmp_path / "t.db"
    with running_proxy(upstream, db, "--provider", "things") as proxy, httpx.Client() as client:
        client.get(
            proxy.url + "/gzip?page=2&tag=a&tag=b", headers={"X-Consumer": "web", "Accept-Encoding": "gzip"}
        )
        client.post(proxy.url + "/echo", content=b'{"a": 1}', headers={"Content-Type": "application/json"})
    rows = db_rows(
        db,
        "SELECT consumer, provider, method, path, query, status, response_body, response_size,"
        " response_content_type, http_version, duration_ms, host, port FROM exchanges ORDER BY id",
    )
    consumer, provider, method, path, query, status, body, size, ctype, version, duration, host, port = rows[
        0
    ]
    assert (consumer, provider, method, path, status) == ("web", "things", "GET", "/gzip", 200)
    assert json.loads(query) == {"page": ["2"], "tag": ["a", "b"]}
    assert json.loads(body)["items"][199] == {"n": 199}  # stored decoded, not gzip
    assert size < len(body)  # the size on the wire (compressed)
    assert ctype == "application/json" and version == "HTTP/1.1" and duration > 0
    assert host == "127.0.0.1" and port == int(upstream.rsplit(":", 1)[1])
    assert rows[1][0] == "python-httpx"  # no X-Consumer: the User-Agent product names the consumer
    assert rows[1][2:4] == ("POST", "/echo")


def test_bodies_above_max_body_are_truncated_and_marked(tmp_path, upstream):
    db = tmp_path / "t.db"
    with running_proxy(upstream, db, "--max-body", "1000") as proxy, httpx.Client() as client:
        resp = client.get(proxy.url + "/binary")
        assert len(resp.content) == 64 * 1024
    ((body, size, truncated),) = db_rows(
        db, "SELECT response_body, response_size, response_truncated FROM exchanges"
    )
    assert len(body) == 1000 and size == 64 * 1024 and truncated == 1
    assert body == payload_bytes("binary", 1000)


def test_include_and_exclude_filters_choose_what_is_recorded(tmp_path, upstream):
    db = tmp_path / "t.db"
    with running_proxy(upstream, db, "--exclude", "~u /binary") as proxy, httpx.Client() as client:
        for path in ("/json", "/binary", "/json"):
            assert client.get(proxy.url + path).status_code == 200
    assert db_rows(db, "SELECT path FROM exchanges") == [("/json",), ("/json",)]


def test_upstream_unreachable_is_recorded_as_an_error(tmp_path):
    db = tmp_path / "t.db"
    with running_proxy("http://127.0.0.1:9", db) as proxy, httpx.Client() as client:
        resp = client.get(proxy.url + "/anything")
        assert resp.status_code == 502
    ((status, error),) = db_rows(db, "SELECT status, error FROM exchanges")
    assert status is None and error


def test_sigterm_right_after_the_last_response_loses_nothing(tmp_path, shop):
    db = tmp_path / "t.db"
    total = 3000
    proxy = ProxyProcess(["--upstream", shop.url, "--listen-port", "0", "--db", str(db)])
    url = proxy.wait_ready()
    paths = [f"/api/v1/users/{i % 400 + 1}" for i in range(total)]
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    with httpx.Client(limits=limits, timeout=60) as client, concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda p: client.get(url + p).status_code, paths))
    assert statuses.count(200) == total
    assert proxy.stop(signal.SIGTERM) == 0
    assert db_rows(db, "SELECT count(*) FROM exchanges") == [(total,)]
    assert f"{total} recorded, 0 dropped" in proxy.stderr
    assert "Traceback" not in proxy.stderr


def test_two_proxies_share_one_database_without_loss(tmp_path, shop):
    db = tmp_path / "shared.db"
    per_proxy = 300
    with running_proxy(shop.url, db) as first, running_proxy(shop.url, db) as second:

        def hammer(base: str) -> int:
            with httpx.Client(timeout=60) as client:
                return sum(
                    client.get(f"{base}/api/v1/products/p{i}").status_code == 200 for i in range(per_proxy)
                )

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            done = list(pool.map(hammer, [first.url, second.url, first.url, second.url]))
        assert done == [per_proxy] * 4
    for proxy in (first, second):
        assert "locked" not in proxy.stderr and "Traceback" not in proxy.stderr
    assert db_rows(db, "SELECT count(*) FROM exchanges") == [(4 * per_proxy,)]
    assert db_rows(db, "SELECT count(*), sum(recorded), sum(dropped) FROM sessions") == [
        (2, 4 * per_proxy, 0)
    ]


def test_vanished_database_is_reported_and_traffic_keeps_flowing(tmp_path, shop):
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "t.db"
    with running_proxy(shop.url, db) as proxy, httpx.Client(timeout=30) as client:
        assert client.get(proxy.url + "/api/v1/health").status_code == 200
        assert wait_for(lambda: db.exists() and db_rows(db, "SELECT count(*) FROM exchanges") == [(1,)])
        shutil.rmtree(folder)  # the database and its folder vanish while traffic flows
        for i in range(50):
            resp = client.get(f"{proxy.url}/api/v1/users/{i + 1}")
            assert resp.status_code == 200 and resp.json()["id"] == i + 1
        assert wait_for(lambda: "store failure" in proxy.stderr, timeout=15)
        folder.mkdir()  # the store comes back: recording resumes into a new file
        for _ in range(20):
            assert client.get(proxy.url + "/api/v1/health").status_code == 200
            time.sleep(0.05)
    assert "dropped" in proxy.stderr
    summary = next(line for line in proxy.stderr.splitlines() if "stopped:" in line)
    dropped = int(summary.split(" dropped")[0].split()[-1])
    # each exchange made while the folder was gone is either counted as dropped or, when its batch was
    # written after the folder came back, in the new file; every one after that is in the new file
    users = db_rows(db, "SELECT count(*) FROM exchanges WHERE path LIKE '/api/v1/users/%'")[0][0]
    assert dropped > 0 and dropped + users == 50
    assert db_rows(db, "SELECT count(*) FROM exchanges WHERE path = '/api/v1/health'") == [(20,)]
    assert db_rows(db, "SELECT sum(dropped) FROM sessions")[0][0] == dropped


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")
def test_full_disk_counts_the_loss_and_never_breaks_traffic(tmp_path, shop):
    db = tmp_path / "t.db"
    with running_proxy(shop.url, db) as proxy, httpx.Client(timeout=30) as client:
        assert client.get(proxy.url + "/api/v1/health").status_code == 200
        assert wait_for(lambda: db_rows(db, "SELECT count(*) FROM exchanges") == [(1,)])
        (sink,) = proxy.children("recorder.health.keeper")
        size = os.path.getsize(db) + os.path.getsize(f"{db}-wal")
        subprocess.run(
            ["prlimit", f"--pid={sink}", f"--fsize={size}:unlimited"], check=True
        )  # the disk is now "full"
        for i in range(200):
            resp = client.get(f"{proxy.url}/api/v1/users/{i % 50 + 1}")
            assert resp.status_code == 200
        assert wait_for(lambda: "store failure" in proxy.stderr, timeout=15)
        subprocess.run(["prlimit", f"--pid={sink}", "--fsize=unlimited:unlimited"], check=True)  # space freed
        for _ in range(10):
            assert client.get(proxy.url + "/api/v1/health").status_code == 200
            time.sleep(0.1)
    assert "full" in proxy.stderr or "disk" in proxy.stderr
    recorded, dropped = db_rows(db, "SELECT sum(recorded), sum(dropped) FROM sessions")[0]
    assert dropped > 0
    assert recorded + dropped == 211


HOSTILE = [
    "/hostile/invalid-json",
    "/hostile/deep",
    "/hostile/wide",
    "/hostile/non-utf8",
    "/hostile/nan",
    "/hostile/dupes",
    "/hostile/big-json",
    "/large-json",
]


def test_hostile_payloads_never_stop_the_proxy(tmp_path, upstream):
    db = tmp_path / "t.db"
    deep_request = b"[" * 5000 + b"]" * 5000
    with running_proxy(upstream, db) as proxy, httpx.Client(timeout=120) as client:
        for path in HOSTILE:
            direct = client.get(upstream + path)
            proxied = client.get(proxy.url + path)
            assert (proxied.status_code, proxied.content) == (direct.status_code, direct.content), path
        big = b'{"a": "' + b"x" * BIG + b'"}'
        for body in (deep_request, big, b"\xff\xfe not json", b'{"n": NaN, "n": 1}'):
            resp = client.post(
                proxy.url + "/echo", content=body, headers={"Content-Type": "application/json"}
            )
            assert resp.content == body
        assert client.get(proxy.url + "/json").json() == {"id": 7, "name": "seven", "tags": ["a", "b"]}
    assert proxy.stop() == 0 if proxy.proc.poll() is None else True
    rows = db_rows(db, "SELECT path, response_truncated, request_truncated FROM exchanges ORDER BY id")
    assert [r[0] for r in rows] == [*HOSTILE, "/echo", "/echo", "/echo", "/echo", "/json"]
    truncated = {r[0]: r[1] for r in rows[: len(HOSTILE)]}
    assert truncated["/hostile/big-json"] == 1 and truncated["/hostile/deep"] == 0
    assert "Traceback" not in proxy.stderr


def test_database_file_is_private(tmp_path, upstream):
    db = tmp_path / "t.db"
    with running_proxy(upstream, db) as proxy, httpx.Client() as client:
        client.get(proxy.url + "/json")
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600


@pytest.mark.smoke
def test_regular_forward_proxy_mode(tmp_path, shop):
    db = tmp_path / "t.db"
    proxy = ProxyProcess(["--mode", "regular", "--listen-port", "0", "--db", str(db)])
    url = proxy.wait_ready()
    try:
        with httpx.Client(proxy=url, timeout=30) as client:
            assert client.get(shop.url + "/api/v1/users/3").json()["id"] == 3
    finally:
        assert proxy.stop() == 0
    assert db_rows(db, "SELECT method, path, status, provider FROM exchanges") == [
        ("GET", "/api/v1/users/3", 200, "127.0.0.1")
    ]
    assert "forward proxy" in proxy.stderr


def test_mitmdump_users_load_the_addon_script(tmp_path, shop):
    from support import ROOT

    db = tmp_path / "t.db"
    mitmdump = shutil.which("mitmdump", path=os.path.dirname(os.sys.executable)) or "mitmdump"
    port = _free_port()
    proc = subprocess.Popen(
        [
            mitmdump,
            "-q",
            "-s",
            str(ROOT / "addons" / "record.py"),
            "--set",
            f"recorder_db={db}",
            "--mode",
            f"reverse:{shop.url}",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
        ],
    )
    try:
        with httpx.Client() as client:
            assert wait_for(lambda: _answers(client, f"http://127.0.0.1:{port}/api/v1/health"), timeout=30)
            for i in range(5):
                assert client.get(f"http://127.0.0.1:{port}/api/v1/users/{i + 1}").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert db_rows(db, "SELECT count(*) FROM exchanges WHERE path LIKE '/api/v1/users/%'") == [(5,)]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(url).status_code == 200
    except httpx.TransportError:
        return False


def test_store_batches_exchanges_that_arrive_together_and_keeps_all_at_eof():
    """The store child reads frames from a pipe: frames arriving within the linger share one batch (one
    transaction), a full batch goes at once, and EOF hands over everything read, without waiting."""
    from recorder.capture.frames import encode_frame
    from recorder.capture.sink import read_frame_batches

    read_fd, write_fd = os.pipe()

    def produce() -> None:
        for i in range(3):  # 3 frames 10 ms apart, fewer than a batch: they linger together
            os.write(write_fd, encode_frame([i]))
            time.sleep(0.01)
        time.sleep(0.8)  # longer than the linger: the next frames start a new batch
        os.write(write_fd, b"".join(encode_frame([i]) for i in range(3, 10)))  # 7 in one read: one batch
        time.sleep(0.3)  # room for a busy machine to read those 7 before the next frame comes
        os.write(write_fd, encode_frame([10]) + encode_frame([11])[:-3])  # the last one cut off
        os.close(write_fd)

    writer = threading.Thread(target=produce)
    writer.start()
    started = time.monotonic()
    batches = list(read_frame_batches(read_fd, linger=0.5, batch=4))
    writer.join()
    os.close(read_fd)
    assert [[x for frame in b for x in frame] for b in batches] == [[0, 1, 2], [3, 4, 5, 6, 7, 8, 9], [10]]
    assert time.monotonic() - started < 5.0  # the cut-off frame at EOF held nothing back
    # EOF ends a lingering batch at once (a 30 s linger would otherwise hold the last exchange back)
    read_fd, write_fd = os.pipe()
    os.write(write_fd, encode_frame(["last"]))
    os.close(write_fd)
    started = time.monotonic()
    assert list(read_frame_batches(read_fd, linger=30.0)) == [[["last"]]]
    assert time.monotonic() - started < 10.0
    os.close(read_fd)
