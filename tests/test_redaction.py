"""Secrets never reach the database file (nor its WAL), wherever they travel; their shape survives."""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import db_rows, running_proxy

from recorder.common.redact import Redactor, luhn_valid
from recorder.config import RedactionSettings


def _token(rnd: random.Random, n: int = 24) -> str:
    return "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(n))


def _card(rnd: random.Random) -> str:
    while True:
        digits = "4" + "".join(rnd.choice(string.digits) for _ in range(15))
        if luhn_valid(digits):
            return digits


def _jwt(rnd: random.Random) -> str:
    return f"eyJhbGciOiJIUzI1NiJ9.eyJ{_token(rnd, 30)}.{_token(rnd, 40)}"


def _db_bytes(db: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(f"{db}{suffix}")
        if path.exists():
            data += path.read_bytes()
    return data


@pytest.mark.smoke
def test_random_secrets_in_every_place_never_reach_the_database_file(tmp_path, upstream):
    rnd = random.Random()  # different secrets every run
    secrets = {
        name: _token(rnd)
        for name in ("auth", "cookie", "apikey", "custom", "query", "field", "form", "nested", "echo")
    }
    secrets["jwt"] = _jwt(rnd)
    secrets["card"] = _card(rnd)
    secrets["bearer"] = _token(rnd, 32)
    key_body = "\n".join(_token(rnd, 64) for _ in range(4))
    secrets["pem"] = key_body.splitlines()[0]
    pem = f"-----BEGIN RSA PRIVATE KEY-----\n{key_body}\n-----END RSA PRIVATE KEY-----"
    db = tmp_path / "t.db"
    with running_proxy(upstream, db, "--max-body", "200000") as proxy, httpx.Client(timeout=30) as client:
        client.post(
            proxy.url + f"/echo?api_key={secrets['query']}&page=1",
            headers={
                "Authorization": f"Bearer {secrets['auth']}",
                "Cookie": f"session={secrets['cookie']}; theme=dark",
                "X-Api-Key": secrets["apikey"],
                "X-Refresh-Token": secrets["custom"],
                "Content-Type": "application/json",
            },
            content=json.dumps(
                {
                    "user": {
                        "name": "ada",
                        "password": secrets["field"],
                        "profile": {"apiKey": secrets["nested"]},
                    },
                    "note": f"token is {secrets['jwt']} and card {secrets['card'][:4]} {secrets['card'][4:8]} "
                    f"{secrets['card'][8:12]} {secrets['card'][12:]}",
                    "key": pem,
                }
            ).encode(),
        )
        client.post(
            proxy.url + "/echo",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            content=f"username=ada&password={quote(secrets['form'])}".encode(),
        )
        client.post(
            proxy.url + "/echo",
            headers={"Content-Type": "text/plain"},
            content=f"Authorization: Bearer {secrets['bearer']}\n{pem}\ncard={secrets['card']}".encode(),
        )
        resp = client.get(proxy.url + "/secrets", headers={"X-Echo-Secret": secrets["echo"]})
        assert secrets["echo"] in resp.text  # the client still gets everything: we only redact what we store
        assert proxy.stop() == 0
    stored = _db_bytes(db)
    assert b"ada" in stored  # the database does hold the bodies...
    for name, secret in secrets.items():
        assert secret.encode() not in stored, f"{name} secret leaked into the database"
        assert quote(secret).encode() not in stored, f"{name} secret leaked (url-encoded)"

    rows = db_rows(db, "SELECT request_headers, query, request_body FROM exchanges ORDER BY id")
    headers = dict(json.loads(rows[0][0]))
    assert headers["Authorization"].startswith("Bearer <redacted:token:")  # the scheme survives
    assert headers["Cookie"].startswith("session=<redacted:") and "theme=" in headers["Cookie"]
    assert json.loads(rows[0][1]) == {"api_key": ["<redacted:token:32>"], "page": ["1"]}
    body = json.loads(rows[0][2])
    assert body["user"]["name"] == "ada"
    assert body["user"]["password"] == "<redacted:token:32>"  # type and length class kept
    assert "<redacted:jwt:" in body["note"] and "<redacted:card:" in body["note"]


def test_redaction_can_be_extended_allowed_and_switched_off_explicitly(tmp_path, upstream):
    (tmp_path / "recorder.toml").write_text(
        '[redact]\nheaders = ["X-Internal"]\nfields = ["ssn_number"]\nallow = ["session_count"]\n'
        'patterns = { employee = "EMP-[0-9]{6}" }\n'
    )
    db = tmp_path / "t.db"
    with (
        running_proxy(upstream, db, "--config", str(tmp_path / "recorder.toml")) as proxy,
        httpx.Client() as client,
    ):
        client.post(
            proxy.url + "/echo",
            headers={"X-Internal": "hush-123", "Content-Type": "application/json"},
            content=b'{"ssn_number": "078-05-1120", "session_count": 3, "who": "EMP-123456"}',
        )
    headers, body = db_rows(db, "SELECT request_headers, request_body FROM exchanges")[0]
    assert dict(json.loads(headers))["X-Internal"].startswith("<redacted:")
    data = json.loads(body)
    assert data["session_count"] == 3  # allow-listed name
    assert data["ssn_number"].startswith("<redacted:")
    assert data["who"] == "<redacted:employee:16>"

    plain = tmp_path / "plain.db"
    with running_proxy(upstream, plain, "--no-redact") as proxy, httpx.Client() as client:
        client.get(proxy.url + "/json", headers={"Authorization": "Bearer visible-on-purpose"})
        assert "redaction OFF" in proxy.stderr
    assert b"visible-on-purpose" in _db_bytes(plain)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_redaction_keeps_the_shape_of_any_json_document(value):
    redactor = Redactor(RedactionSettings())
    body = json.dumps({"data": value, "password": "x"}).encode()
    out = json.loads(redactor.body(body, "application/json"))

    def shape(v):
        if isinstance(v, dict):
            return {k: shape(x) for k, x in v.items()}
        if isinstance(v, list):
            return [shape(x) for x in v]
        return type(v).__name__

    assert shape(out) == shape({"data": value, "password": "x"})
    assert out["password"] == "<redacted:token:8>"


# The value patterns as first written (with `\b` and lookbehinds in front): the faster ones must find exactly
# the same secrets, of the same kinds, at the same places.
_REFERENCE_PATTERNS = {
    "private-key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
    "jwt": r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*",
    "bearer": r"\b(?i:bearer)\s+[\w.~+/=-]{8,}",
    "basic": r"\b(?i:basic)\s+[A-Za-z0-9+/]{8,}={0,2}",
    "aws-key": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "github-token": r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    "slack-token": r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    "stripe-key": r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}",
    "google-key": r"\bAIza[0-9A-Za-z_-]{35}",
    "card": r"(?<![\w.])(?:4\d{3}|5[1-5]\d{2}|2[2-7]\d{2}|3[47]\d{2}|6011|65\d{2}|35\d{2}|3[068]\d{2})"
    r"(?:[ -]?\d){9,15}(?![\w.])",
}
_REFERENCE_RE = re.compile(
    "|".join(f"(?P<g{i}>{p})" for i, p in enumerate(_REFERENCE_PATTERNS.values())), re.DOTALL
)
_FRAGMENTS = [
    "eyJ", "abcd", "AbCd0123", "-", "_", ".", " ", "\t", "\u00a0", "\n", "é", "\u017f", "x", "A", "9", "0",
    "Bearer", "bEaReR", "basic", "Basic", "ba\u017fic", "AKIA", "ASIA", "Iza", "AIza", "ghp_", "gho_", "xoxb-",
    "xoxp-", "sk_", "pk_", "rk_", "live_", "test_", "4111", "1111", "5500", "6011", "65", "3782", "2221",
    "0123456789ABCDEF", "aB3dE5fG7h", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
]  # fmt: skip


_SECRETS = [
    "eyJhbGci.eyJzdWIi.c2ln", "eyJabcd.efgh.", "Bearer abcdefgh12", "bearer\tab.cd~ef/gh", "Basic QWxhZGRpbjpvcGVu",
    "AKIA0123456789ABCDEF", "ASIAZZZZZZZZZZZZZZZZ", "ghp_" + "a1" * 15, "xoxb-0123456789", "sk_live_" + "A" * 16,
    "pk_test_" + "9" * 16, "AIza" + "a-_B" * 9, "4111 1111 1111 1111", "4111111111111111", "378282246310005",
    "6011111111111117", "6500-0000-0000-0002", "2221000000000009", "5555555555554444",
    "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----",
]  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_SECRETS) | st.sampled_from(_FRAGMENTS), max_size=12).map("".join))
def test_fast_value_patterns_find_what_the_reference_patterns_find(text):
    from recorder.common.redact import Redactor

    redactor = Redactor()
    kinds = list(_REFERENCE_PATTERNS)
    expected = [(m.span(), kinds[int(m.lastgroup[1:])]) for m in _REFERENCE_RE.finditer(text)]
    found = [(m.span(), redactor.kind_of(m)) for m in redactor._value_re.finditer(text)]
    assert found == expected
