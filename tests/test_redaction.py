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


# Names that hold a secret end with the secret word (or the word and what encodes it); names that only mention
# one say something about it (GitHub's `security_and_analysis.secret_scanning.status`, OAuth's `token_type`).
HOLD_SECRETS = [
    "password", "new_password", "passwordHash", "password_confirmation", "client_secret", "secret_key",
    "aws_secret_access_key", "apiKey", "X-Api-Key", "access_token", "refresh_token", "csrftoken", "session",
    "SessionId", "pin_code", "ssn_number", "credentials", "api_keys", "privateKey", "private_key_pem",
]  # fmt: skip
MENTION_SECRETS = [
    "secret_scanning", "token_type", "password_changed_at", "session_count", "secretary", "signature_version",
    "refresh_token_expires_in", "token_count", "secret_key_id", "password_reset_required",
]  # fmt: skip


@pytest.mark.parametrize("name", HOLD_SECRETS)
def test_fields_named_for_the_secret_they_hold_are_redacted(name):
    body = json.dumps({name: "hunter2-abcdef", "nested": {name: {"status": "enabled"}}}).encode()
    out = json.loads(Redactor().body(body, "application/json"))
    assert out[name].startswith("<redacted:")
    assert out["nested"][name]["status"].startswith("<redacted:")  # everything under a secret name


@pytest.mark.parametrize("name", MENTION_SECRETS)
def test_fields_that_only_mention_a_secret_word_keep_their_values(name):
    body = json.dumps(
        {"security_and_analysis": {name: {"status": "enabled"}}, name: "bearer", "password": "hunter2"}
    ).encode()
    out = json.loads(Redactor().body(body, "application/json"))
    assert out["security_and_analysis"][name] == {"status": "enabled"}
    assert out[name] == "bearer"
    assert out["password"].startswith("<redacted:")  # the same body still loses its real secret


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


# -- the raw-byte precheck (google-re2): it may send a clean body to the walk, never skip one the walk changes --

_NAMES = [
    "id", "name", "items", "note", "count", "url", "data", "meta", "Password", "passwd", "api_key", "apiKey",
    "X-Api-Key", "accessToken", "client_secret", "session", "SessionId", "cookie", "Set-Cookie", "authorization",
    "otp", "cvv", "ssn", "pin_code", "ssn_number", "X-Internal", "session_count", "secretary", "className",
    "n\u00e4me", "to\u212aen", "pa\u017f\u017fword", "k\\ey", 'q"uote',
]  # fmt: skip
_EXTRA_TEXT = [
    "ada@example.com", "a.b@c.io", '"', "\\", "\\n", "\n", "\t", "\u0000", "\u00e9", "\u2028", "\U0001f600",
    "\u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661",
    "-----BEGIN RSA PRIVATE KEY-----abc-----END RSA PRIVATE KEY-----", "password=hunter22", "token: abc",
    "<secret>abc</secret>", 'name="api_key"\r\n\r\nvalue', "EMP-123456", "x4111111111111111", "4111111111111111.5",
    ".4111111111111111", "4111111111111111x", "52.52437124632464", "Basic information",
]  # fmt: skip


@st.composite
def _planted(draw):
    """A secret of a built-in kind, freshly made."""
    tok = st.text(string.ascii_letters + string.digits, min_size=8, max_size=40)
    kind = draw(
        st.sampled_from(
            ["jwt", "bearer", "basic", "aws", "github", "slack", "stripe", "google", "card", "pem"]
        )
    )
    if kind == "jwt":
        return f"eyJ{draw(tok)}.eyJ{draw(tok)}.{draw(tok)}"
    if kind in ("bearer", "basic"):
        return f"{draw(st.sampled_from([kind, kind.title(), kind.upper()]))}{draw(st.sampled_from([' ', '  ', chr(9)]))}{draw(tok)}"
    if kind == "aws":
        return draw(st.sampled_from(["AKIA", "ASIA"])) + draw(
            st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16)
        )
    if kind == "github":
        return draw(st.sampled_from(["ghp_", "gho_", "ghs_"])) + draw(
            st.text(string.ascii_letters, min_size=30, max_size=36)
        )
    if kind == "slack":
        return draw(st.sampled_from(["xoxb-", "xoxp-"])) + draw(tok)
    if kind == "stripe":
        return draw(st.sampled_from(["sk_live_", "pk_test_", "rk_live_"])) + draw(
            st.text(string.ascii_letters, min_size=16, max_size=24)
        )
    if kind == "google":
        return "AIza" + draw(st.text(string.ascii_letters + "-_", min_size=35, max_size=35))
    if kind == "card":
        first = draw(st.sampled_from(["4", "51", "55", "2221", "34", "37", "6011", "65"]))
        digits = first + draw(st.text(string.digits, min_size=15 - len(first), max_size=15 - len(first)))
        digits += next(d for d in string.digits if luhn_valid(digits + d))
        sep = draw(st.sampled_from(["", " ", "-"]))
        return sep.join(digits[i : i + 4] for i in range(0, 16, 4))
    body = draw(st.sampled_from(["\n", ""])).join(draw(tok) for _ in range(3))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"


_texts = st.lists(
    st.sampled_from(_SECRETS) | st.sampled_from(_FRAGMENTS) | st.sampled_from(_EXTRA_TEXT) | _planted()
    | st.text(string.ascii_letters + string.digits + " .-_:/=,", max_size=12),
    max_size=5,
).map("".join)  # fmt: skip
_scalars = (
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**12, max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | _texts
)  # fmt: skip
_documents = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(_NAMES) | _texts, children, max_size=4)
    ),
    max_leaves=25,
)
_SETTINGS = [
    RedactionSettings(),
    RedactionSettings(
        fields=("Ssn_Number", "nickname"), headers=("X-Internal",), allow=("session_count", "cookie")
    ),
    RedactionSettings(patterns={"employee": r"EMP-[0-9]{6}", "ticket": r"(?i:tkt)_\w{4,}\b"}),
    RedactionSettings(
        allow=("password", "authorization"), patterns={"back": r"(ab)\1+(?=!)", "home": r"^/home/\w+"}
    ),
]


def _serialize(value, how: int) -> bytes:
    if how == 0:
        return json.dumps(value, separators=(",", ":")).encode()
    if how == 1:
        return json.dumps(value, ensure_ascii=False).encode()
    if how == 2:
        return json.dumps(value, indent=2).encode()
    if how == 3:  # truncated: not JSON
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()[:-1]
    # UTF-16/32 without a BOM: ASCII bytes (for ASCII text) that `json.loads` still reads as JSON
    return json.dumps(value).encode(("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")[how - 4])


@settings(max_examples=1500, deadline=None)
@given(
    _documents,
    st.integers(0, 7),
    st.sampled_from([0, 1, 2, 3]),
    st.sampled_from(
        ["application/json", None, "application/problem+json; charset=utf-8", "text/plain", "text/html"]
    ),
)
def test_the_precheck_returns_exactly_what_the_walk_returns(value, how, which, content_type):
    body = _serialize(value, how)
    fast, walk = Redactor(_SETTINGS[which]), Redactor(_SETTINGS[which], precheck=False)
    assert fast.body(body, content_type) == walk.body(body, content_type)
    texts = [f"before {value!r} after".encode()]  # free text with the same strings in it
    if isinstance(value, str):
        texts.append(value.encode())  # a secret may start or end the text
    for text in texts:
        assert fast.body(text, "text/plain") == walk.body(text, "text/plain")
        assert fast.body(text, None) == walk.body(text, None)


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(_NAMES) | _texts, st.sampled_from([0, 1, 2, 3]))
def test_the_precheck_finds_every_secret_value_and_name_the_walk_finds(text, which):
    pytest.importorskip("re2")
    redactor = Redactor(_SETTINGS[which])
    assert redactor.precheck_active
    if not text.isascii():
        return  # never judged by the scan: such bodies are always walked
    raw = text.encode()
    if redactor._value_re.search(text):
        assert redactor._precheck.search(raw), text  # as free text
        assert redactor._precheck.search(b'["' + raw + b'"]'), text  # as a JSON string
    if redactor.is_secret_name(text):
        assert redactor._precheck.search(b'{"' + raw + b'":1}'), text


def test_the_precheck_skips_parsing_clean_bodies_and_still_finds_names_equal_to_a_header(monkeypatch):
    pytest.importorskip("re2")
    redactor = Redactor()
    assert redactor.precheck_active

    def no_parse(body):
        raise AssertionError("parsed a clean body")

    monkeypatch.setattr(redactor, "_json_body", no_parse)
    clean = json.dumps(
        [{"id": i, "name": f"user {i}", "lat": 52.52437124632464, "ts": 1700000000123 + i} for i in range(50)]
    )
    assert redactor.body(clean.encode(), "application/json") == clean.encode()
    monkeypatch.undo()
    # `cookie` is secret by equality (SECRET_HEADERS), not by the name pattern: the scan must know it too
    for name in ("cookie", "Set-Cookie", "PROXY-AUTHORIZATION"):
        out = json.loads(redactor.body(b'{"%s": "abcdefgh"}' % name.encode(), "application/json"))
        assert out == {name: "<redacted:token:8>"}


def test_custom_settings_still_redact_with_the_precheck():
    settings_ = RedactionSettings(
        fields=("ssn_number",), headers=("X-Internal",), allow=("session_count",),
        patterns={"employee": r"EMP-[0-9]{6}"},
    )  # fmt: skip
    redactor = Redactor(settings_)
    body = b'{"ssn_number": "078-05-1120", "session_count": 3, "who": "EMP-123456", "x-internal": 7}'
    out = json.loads(redactor.body(body, "application/json"))
    assert out == {
        "ssn_number": "<redacted:token:16>", "session_count": 3, "who": "<redacted:employee:16>", "x-internal": 0,
    }  # fmt: skip
    assert redactor.body(b"who: EMP-654321", "text/plain") == b"who: <redacted:employee:16>"
    assert redactor.body(b'{"session_count": 3}', "application/json") == b'{"session_count": 3}'


def test_patterns_re2_cannot_take_only_turn_the_precheck_off():
    pytest.importorskip("re2")
    redactor = Redactor(
        RedactionSettings(patterns={"huge": r"(?:x{1000}){1000}", "employee": r"EMP-[0-9]{6}"})
    )
    assert not redactor.precheck_active  # RE2 refuses the nested repetition: every body is walked
    assert redactor.body(b'{"who": "EMP-123456"}', "application/json") == b'{"who":"<redacted:employee:16>"}'


def test_without_re2_every_body_is_walked_as_before(monkeypatch):
    from recorder.common import redact

    monkeypatch.setattr(redact, "_re2", None)
    redact._precheck_regex.cache_clear()
    try:
        redactor = Redactor()
        assert not redactor.precheck_active
        rnd = random.Random(7)
        for body in (
            json.dumps({"password": "x", "note": f"card {_card(rnd)}", "jwt": _jwt(rnd)}).encode(),
            json.dumps([{"id": 1, "name": "ada"}]).encode(),
            b'{"k": "caf\xc3\xa9 \\u0041"}',
        ):
            assert redactor.body(body, "application/json") == Redactor(precheck=False).body(
                body, "application/json"
            )
    finally:
        redact._precheck_regex.cache_clear()


_ODD_PATTERNS = [
    r"b(?<!\wa)cd",
    r"q(?<!\Wq)rs",
    r"(?<=x)yz",
    r"(?:ab|cd)(?!e)",
    r"(?:ab|c)(?![a-c])",
    r"\bfoo\b",
    r"^sta",
    r"end$",
    r"(a)\1b",
    r"(x)?(?(1)y|z)w",
    r"(?>ab|a)bc",
    r"a++b",
    r"[^\s]{3}\s\S",
    r"\d{2,1200}",
    r"(?-s:.)Z",
    "(?i:\u017ft)",
    "(?i:\u212a)o",
    "[\x01-\uffff]{2}!",
    "(?a:\\w)\u00e9?#",
    r"(?i:Ab)c",
    r"(?:a(?!b))+c",
    r"x(a)\1b",
    r"x(?:b(?<!\db)c|q)",
    r"(?s:.)#\Z",
]  # fmt: skip  (non-ASCII as characters: the bytes twin of the value regex takes no \u escapes)
_ODD_PIECES = [
    "a", "b", "c", "d", "e", "x", "q", "w", "Z", "!", "#", " ", "\n", ".", "-", '"', "_", "0", "12", "St", "Ko", "AB",
    "bcd", "rs", "yz", "foo", "sta", "end", "aab", "xyw", "zw", "ac", "abc",
]  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(_ODD_PATTERNS), st.data())
def test_the_translation_of_any_pattern_matches_at_least_what_python_matches(pattern, data):
    pytest.importorskip("re2")
    redactor = Redactor(RedactionSettings(patterns={"odd": pattern}))
    assert redactor.precheck_active, pattern
    pieces = st.lists(st.sampled_from(_ODD_PIECES), max_size=6).map("".join)
    try:  # text around a match of the pattern (hypothesis writes them), or a mix of pieces
        matches = st.from_regex(re.compile(pattern, re.DOTALL), alphabet=st.characters(codec="ascii"))
        text = data.draw(matches | pieces)
    except Exception:  # a literal outside ASCII: hypothesis cannot write an ASCII match
        text = data.draw(pieces)
    if redactor._value_re.search(text):
        assert redactor._precheck.search(text.encode()), (pattern, text)
        assert redactor._precheck.search(b'"' + text.encode() + b'"'), (pattern, text)
