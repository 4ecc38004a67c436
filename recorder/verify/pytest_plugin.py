"""pytest plugin: check the HTTP responses a test sees against an API contract, and stub a provider from one.

Registered through the `pytest11` entry point and inert unless used: importing it costs nothing but pytest,
and no contract is loaded (nor httpx, requests or the stub imported) until a test asks for one of the fixtures
`contract`, `contract_check`, `contract_recorder` or `contract_stub`.

    def test_get_user(client, contract_check):                    # pytest --contract openapi.yaml
        contract_check(client.get("/users/1"), "GET /users/{userId}")
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

if TYPE_CHECKING:
    from recorder.judge.exchange import Checker
    from recorder.model import Contract, Exchange, Finding

NO_CONTRACT = (
    "no contract configured: pass --contract PATH (an OpenAPI or Pact file), set `contract = PATH` in the"
    " pytest configuration, or mark the test with @pytest.mark.contract('PATH')"
)
MARKER_HELP = (
    "contract(path=None, *, operation=None, strict=True): check this test's HTTP traffic against a contract"
    " (path relative to the test file, default --contract; operation: the default for contract_check) and"
    " fail the test when a response it checked or recorded breaks it"
)


class ContractViolation(AssertionError):
    """A response that breaks the contract; `findings` are the breaking ones, one line each in the message."""

    def __init__(self, message: str, findings: list[Finding]) -> None:
        super().__init__(message)
        self.findings = tuple(findings)


# ---------------------------------------------------------------------------------------------------------
# Options, marker, report hooks


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "API contracts (contract-recorder)")
    group.addoption(
        "--contract",
        dest="recorder_contract",
        metavar="PATH",
        default=None,
        help="contract (OpenAPI or Pact file) for the contract, contract_check, contract_recorder and"
        " contract_stub fixtures",
    )
    group.addoption(
        "--contract-strict",
        dest="recorder_contract_strict",
        action="store_true",
        default=False,
        help="fail a test when any response it checked or recorded breaks the contract, even when the test"
        " caught the failure",
    )
    parser.addini("contract", "contract file for the contract fixtures (relative to this file)", default="")
    parser.addini("contract_strict", "like --contract-strict", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    path = _configured_path(config)
    if path is not None and not path.is_file():
        raise pytest.UsageError(f"--contract {path}: no such file (an OpenAPI or Pact file is expected).")
    strict = bool(config.getoption("recorder_contract_strict") or config.getini("contract_strict"))
    if strict and path is None:
        raise pytest.UsageError(f"--contract-strict needs a contract: {NO_CONTRACT.split(': ', 1)[1]}.")
    config.stash[_SESSION] = _Session(path=path, strict=strict)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Strict runs and marked tests record their traffic: they get the `contract_recorder` fixture."""
    strict = config.stash[_SESSION].strict
    for item in items:
        names = getattr(item, "fixturenames", None)
        wanted = strict or item.get_closest_marker("contract") is not None
        if wanted and isinstance(names, list) and "contract_recorder" not in names:
            names.append("contract_recorder")


def pytest_report_header(config: pytest.Config) -> str | None:
    session = config.stash.get(_SESSION, None)
    if session is None or session.path is None:
        return None
    return f"contract: {session.path}" + (" (strict)" if session.strict else "")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    log = item.stash.get(_LOG, None)
    if call.when != "call" or log is None or report.skipped:
        return report
    try:
        log.flush()
    except (Exception, pytest.fail.Exception) as exc:
        if report.passed:
            report.outcome, report.longrepr = "failed", f"contract_recorder: {exc}"
        return report
    recorded = [c for c in log.checked if c.recorded and c.notable()]
    breaking = [c for c in log.checked if c.breaking()]
    if breaking and report.passed and _strict(item):
        report.outcome = "failed"
        report.longrepr = "contract drift (strict): responses this test saw break the contract\n" + "\n".join(
            c.describe(breaking_only=True) for c in breaking
        )
    elif recorded and report.passed:  # listed at the end of the run
        item.config.stash[_SESSION].drifted.append((item.nodeid, recorded))
    elif recorded:  # failed for another reason: shown with the failure
        report.sections.append(("contract drift", "\n".join(c.describe() for c in recorded)))
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None or not session.drifted:
        return
    terminalreporter.write_sep("=", "contract drift")
    for nodeid, checked in session.drifted:
        terminalreporter.write_line(nodeid)
        for c in checked:
            terminalreporter.write_line("  " + c.describe().replace("\n", "\n  "))
    terminalreporter.write_line(
        "Tip: --contract-strict (or @pytest.mark.contract) fails tests whose traffic breaks the contract."
    )


# ---------------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def contract(pytestconfig: pytest.Config) -> Contract:
    """The session's contract (`--contract PATH`, or `contract = PATH` in the pytest configuration)."""
    path = pytestconfig.stash[_SESSION].path
    if path is None:
        pytest.skip(NO_CONTRACT)
    return _checker(pytestconfig, path).contract


@pytest.fixture
def contract_check(request: pytest.FixtureRequest) -> ContractCheck:
    """`contract_check(response, "GET /users/{userId}")`: fail the test if an httpx/requests response breaks the contract."""
    return ContractCheck(_target(request), _log(request.node))


@pytest.fixture
def contract_recorder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ContractRecorder:
    """Records every response the test's httpx clients and requests sessions see; checked when the test ends."""
    recorder = ContractRecorder(_target(request), _log(request.node))
    _patch_clients(monkeypatch, recorder)
    return recorder


@pytest.fixture(scope="session")
def contract_stub(contract: Contract, pytestconfig: pytest.Config) -> Iterator[Any]:
    """A stub provider of the session's contract on 127.0.0.1 (a free port) for the whole session; `.url` is its base URL."""
    from recorder.verify.stub import start_stub

    # the file rather than `contract`: from a Pact, the stub also answers each interaction as recorded
    session = pytestconfig.stash[_SESSION]
    stub = start_stub(session.path, host="127.0.0.1", port=0, seed=0)
    session.stub_urls.append(stub.url.rstrip("/") + "/")
    try:
        yield stub
    finally:
        session.stub_urls.remove(stub.url.rstrip("/") + "/")
        stub.stop()


# ---------------------------------------------------------------------------------------------------------
# Checking responses


class ContractCheck:
    """The `contract_check` fixture's value: call it with a response (and optionally an operation)."""

    def __init__(self, target: _Target, log: _TestLog) -> None:
        self._target = target
        self._log = log

    @property
    def contract(self) -> Contract:
        """The contract responses are checked against."""
        return self._target.checker.contract

    def __call__(self, response: Any, operation: str | None = None) -> list[Finding]:
        """Findings of one response; raises `ContractViolation` (a test failure) when any is breaking."""
        __tracebackhide__ = True
        checked = self._target.check(response, operation or self._target.operation)
        failing = [f for f in checked.findings if _fails_check(f)]
        self._log.add(checked, response)
        if failing:
            raise ContractViolation(
                f"{checked.label} breaks the contract {self._target.name}:\n{_lines(failing)}", failing
            )
        return checked.findings


class ContractRecorder:
    """The `contract_recorder` fixture's value: every httpx/requests response of the test, checked at its end."""

    def __init__(self, target: _Target, log: _TestLog) -> None:
        self._target = target
        self._log = log

    def record(self, response: Any, operation: str | None = None) -> None:
        """Check `response` (of any client contract_check accepts) with the rest of the test's traffic."""
        if operation is not None and self._target.checker.operation(operation) is None:
            pytest.fail(self._target.unknown(operation), pytrace=False)
        self._log.pending.append((response, self._target, operation))

    @property
    def findings(self) -> list[Finding]:
        """The findings of every response the test recorded or checked so far."""
        self._log.flush()
        return [f for c in self._log.checked for f in c.findings]


def exchange_from_response(response: Any) -> Exchange:
    """The `Exchange` of an httpx or requests response (its request's method, URL, headers and body too)."""
    return _read_response(response)[0]


def _read_response(response: Any) -> tuple[Exchange, str]:
    """The exchange and the full URL of its request."""
    from recorder.judge.exchange import make_exchange

    try:
        request = response.request
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError when the request was never set
        request = None
    status = getattr(response, "status_code", None)
    if request is None or not hasattr(request, "method") or not hasattr(request, "url") or status is None:
        raise TypeError(
            f"contract_check needs a response that knows its request (an httpx.Response or requests.Response),"
            f" not {type(response).__name__}"
        )
    url = str(request.url)
    parts = urlsplit(url)
    exchange = make_exchange(
        str(request.method),
        parts.path or "/",
        query=parse_qs(parts.query, keep_blank_values=True),
        request_headers=_headers(request.headers),
        request_body=_body(request, ("content", "body")),
        status=int(status),
        response_headers=_headers(response.headers),
        response_body=_body(response, ("content",)),
    )
    return exchange, url


def _headers(headers: Any) -> list[tuple[str, str]]:
    items = headers.multi_items() if hasattr(headers, "multi_items") else headers.items()  # httpx | requests
    return [(str(k), str(v)) for k, v in items]


def _body(message: Any, attributes: tuple[str, ...]) -> bytes | None:
    """The body of an httpx/requests request or response, or None when there is none or it was never read."""
    for attribute in attributes:
        try:
            body = getattr(message, attribute)
        except AttributeError:
            continue
        except Exception:  # httpx.ResponseNotRead / RequestNotRead: a stream the test did not read
            return None
        if isinstance(body, str):
            body = body.encode()
        return bytes(body) if isinstance(body, bytes | bytearray) and body else None
    return None


def _fails_check(finding: Finding) -> bool:
    """An explicit check fails on breaking findings, and when no operation matches (nothing was checked)."""
    return finding.severity == "breaking" or finding.kind == "operation-undocumented"


def _lines(findings: list[Finding]) -> str:
    return "\n".join(f"  {finding_line(f)}" for f in findings)


def finding_line(finding: Finding) -> str:
    """One finding as `GET /users/{userId} response 200: /id: expected integer, observed string`."""
    where = f"{finding.operation} {finding.location}".strip()
    observed = "null" if finding.kind == "null-violation" else _show(finding.observed)
    return f"{where}: expected {_show(finding.expected)}, observed {observed}"


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return " or ".join(_show(v) for v in value) if value else "nothing"
    if isinstance(value, dict):
        if set(value) == {"min", "max"}:
            low, high = value["min"], value["max"]
            return str(low) if low == high else f"{low}..{high}"
        shown = [f"{k} {_show(v)}" for k, v in value.items() if v is not None]
        return ", ".join(shown) if shown else "{}"
    return json.dumps(value)


# ---------------------------------------------------------------------------------------------------------
# Per-session and per-test state


@dataclass
class _Checked:
    """One response and its findings."""

    label: str
    contract: str
    findings: list[Finding]
    recorded: bool = False  # by contract_recorder, not checked by the test itself

    def breaking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "breaking"]

    def notable(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "info"]

    def describe(self, breaking_only: bool = False) -> str:
        findings = self.breaking() if breaking_only else self.notable()
        lines = [f"  {f.severity}: {finding_line(f)}" for f in findings]
        return "\n".join([f"{self.label} ({self.contract})", *lines])


@dataclass
class _Target:
    """What a test checks against: a contract file, its checker and a default operation."""

    path: Path
    checker: Checker
    operation: str | None = None
    stub_urls: list[str] = field(default_factory=list)  # the session's stubs: their callers are consumers

    @property
    def name(self) -> str:
        return self.path.name

    def check(self, response: Any, operation: str | None) -> _Checked:
        __tracebackhide__ = True
        exchange, url = _read_response(response)
        label = f"{exchange.method} {url} -> {exchange.status}"
        op = None
        if operation is not None:
            op = self.checker.operation(operation)
            if op is None:
                pytest.fail(self.unknown(operation), pytrace=False)
        to_stub = any(url.startswith(stub) for stub in self.stub_urls)  # the consumer under test sent it
        findings = self.checker.check(exchange, op, judge_rejections=not to_stub)
        return _Checked(label, self.name, findings)

    def unknown(self, operation: str) -> str:
        """The message for an operation the contract lacks, with the closest one as a tip."""
        method, _, path = operation.strip().partition(" ")
        keys = sorted(op.key for op in self.checker.contract.operations)
        near = [k for k in keys if k.startswith(method.upper() + " ") and k.endswith(path.strip())]
        tip = f" Did you mean {near[0]!r}?" if near else f" It has: {', '.join(keys[:12])}."
        return f"the contract {self.path} has no operation {operation!r}.{tip}"


@dataclass
class _TestLog:
    """The responses one test checked or recorded."""

    checked: list[_Checked] = field(default_factory=list)
    pending: list[tuple[Any, _Target, str | None]] = field(default_factory=list)
    explicit: dict[int, Any] = field(default_factory=dict)  # id -> response, so ids stay unique

    def add(self, checked: _Checked, response: Any) -> None:
        self.checked.append(checked)
        self.explicit[id(response)] = response

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        for response, target, operation in pending:
            if id(response) not in self.explicit:
                checked = target.check(response, operation)
                checked.recorded = True
                self.checked.append(checked)


@dataclass
class _Session:
    path: Path | None
    strict: bool
    checkers: dict[Path, Checker] = field(default_factory=dict)
    stub_urls: list[str] = field(default_factory=list)
    drifted: list[tuple[str, list[_Checked]]] = field(default_factory=list)


_SESSION = pytest.StashKey[_Session]()
_LOG = pytest.StashKey[_TestLog]()


def _configured_path(config: pytest.Config) -> Path | None:
    option = config.getoption("recorder_contract")
    if option:
        return (config.invocation_params.dir / option).resolve()
    ini = config.getini("contract")
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return (base / ini).resolve()
    return None


def _checker(config: pytest.Config, path: Path) -> Checker:
    session = config.stash[_SESSION]
    if path not in session.checkers:
        from recorder.contracts.load import load_contract
        from recorder.errors import RecorderError
        from recorder.judge.exchange import Checker

        try:
            session.checkers[path] = Checker(load_contract(path))
        except RecorderError as exc:
            pytest.fail(f"cannot load the contract: {exc}", pytrace=False)
    return session.checkers[path]


def _target(request: pytest.FixtureRequest) -> _Target:
    """The marker's contract and operation if the test has one, else the session's contract; else skip."""
    marker = request.node.get_closest_marker("contract")
    path = None
    operation = None
    if marker is not None:
        operation = marker.kwargs.get("operation")
        given = marker.args[0] if marker.args else marker.kwargs.get("path")
        if given:
            path = (Path(request.node.path).parent / given).resolve()
            if not path.is_file():
                pytest.fail(
                    f"@pytest.mark.contract: {path}: no such file (paths are relative to the test file)",
                    pytrace=False,
                )
    if path is None:
        path = request.config.stash[_SESSION].path
    if path is None:
        pytest.skip(NO_CONTRACT)
    session = request.config.stash[_SESSION]
    return _Target(path, _checker(request.config, path), operation, session.stub_urls)


def _log(item: pytest.Item) -> _TestLog:
    if _LOG not in item.stash:
        item.stash[_LOG] = _TestLog()
    return item.stash[_LOG]


def _strict(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("contract")
    if marker is not None:
        return bool(marker.kwargs.get("strict", True))
    return item.config.stash[_SESSION].strict


def _patch_clients(monkeypatch: pytest.MonkeyPatch, recorder: ContractRecorder) -> None:
    """Wrap `send` of httpx.Client, httpx.AsyncClient and requests.Session (those installed) for one test."""
    from importlib.util import find_spec

    if find_spec("httpx") is not None:
        import httpx

        sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

        def send(client: Any, request: Any, **kwargs: Any) -> Any:
            response = sync_send(client, request, **kwargs)
            recorder.record(response)
            return response

        async def asend(client: Any, request: Any, **kwargs: Any) -> Any:
            response = await async_send(client, request, **kwargs)
            recorder.record(response)
            return response

        monkeypatch.setattr(httpx.Client, "send", send)
        monkeypatch.setattr(httpx.AsyncClient, "send", asend)
    if find_spec("requests") is not None:
        import requests

        requests_send = requests.Session.send

        def session_send(session: Any, request: Any, **kwargs: Any) -> Any:
            response = requests_send(session, request, **kwargs)
            recorder.record(response)
            return response

        monkeypatch.setattr(requests.Session, "send", session_send)


__all__ = ["ContractCheck", "ContractRecorder", "ContractViolation", "exchange_from_response", "finding_line"]
