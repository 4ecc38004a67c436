"""The pytest plugin, run the way users run it: inner pytest sessions (pytester) against a real little provider.

The inner suites use `tests/data/plugin/`: `users.yaml` (the contract), `orders.yaml` (a second contract for
the marker) and `users_app.py` (a WSGI provider that conforms, or with `id_as_text` answers ids as strings).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import hypothesis  # noqa: F401  (see below)
import pytest

import recorder.contracts.load
import recorder.judge.exchange  # noqa: F401

# Inner sessions run in this process and pytester drops the modules they imported when each ends. PyYAML's C
# loader does not survive being imported twice, and hypothesis's plugin (it imports hypothesis at the end of
# every session) would cost a second a run: so they are imported once, here.
pytest_plugins = ["pytester"]

DATA = Path(__file__).resolve().parent / "data" / "plugin"
ROOT = Path(__file__).resolve().parent.parent
DRIFT_LINE = "GET /users/{userId} response 200: /id: expected integer, observed string"

CONFTEST = """
import httpx
import pytest

from users_app import make_app, serve


@pytest.fixture
def client():
    with httpx.Client(transport=httpx.WSGITransport(app=make_app()), base_url="http://test") as client:
        yield client


@pytest.fixture
def drifted_client():
    with httpx.Client(transport=httpx.WSGITransport(app=make_app(id_as_text=True)), base_url="http://test") as client:
        yield client


@pytest.fixture
def live_url():
    with serve(make_app()) as url:
        yield url


@pytest.fixture
def drifted_live_url():
    with serve(make_app(id_as_text=True)) as url:
        yield url
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory holding the contracts, the provider app and a conftest with its clients."""
    for name in ("users.yaml", "orders.yaml", "users_app.py"):
        shutil.copy(DATA / name, pytester.path / name)
    pytester.makeconftest(CONFTEST)
    pytester.syspathinsert()
    return pytester


# ---------------------------------------------------------------------------------------------------------
# Off unless used


def test_registered_by_the_package_and_cheap_to_import(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(
        ["*API contracts (contract-recorder)*", "*--contract=PATH*", "*--contract-strict*"]
    )
    probe = (
        "import sys, recorder.verify.pytest_plugin\n"
        "heavy = [m for m in ('recorder.judge.exchange', 'recorder.judge.drift', 'mitmproxy', 'httpx', 'requests') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_inert_without_a_contract(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        def test_plain(client):
            assert client.get("/users/1").json()["id"] == 1

        def test_wants_contract(contract):
            pass

        def test_wants_check(client, contract_check):
            contract_check(client.get("/users/1"))

        def test_wants_stub(contract_stub):
            pass
        """
    )
    result = suite.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=3)
    skips = re.findall(r"SKIPPED \[1\] .*?: (no contract configured: .*)", result.stdout.str())
    assert (
        skips
        == [
            "no contract configured: pass --contract PATH (an OpenAPI or Pact file), set `contract = PATH` in the"
            " pytest configuration, or mark the test with @pytest.mark.contract('PATH')"
        ]
        * 3
    )
    assert "contract:" not in result.stdout.str()
    assert "contract drift" not in result.stdout.str()


def test_missing_contract_file_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makepyfile("def test_nothing():\n    pass\n")
    result = suite.runpytest("--contract", "nowhere.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--contract *nowhere.yaml: no such file*"])
    result = suite.runpytest("--contract-strict")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--contract-strict needs a contract: pass --contract PATH*"])


def test_a_file_that_is_no_contract_fails_the_tests_that_use_it(suite: pytest.Pytester) -> None:
    shutil.copy(ROOT / "tests" / "data" / "contracts" / "swagger-2.0.yaml", suite.path / "swagger.yaml")
    suite.makepyfile(
        """
        def test_plain():
            pass

        def test_check(contract_check):
            pass
        """
    )
    result = suite.runpytest("--contract", "swagger.yaml")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*cannot load the contract: *swagger.yaml is Swagger 2.0, which is not supported*"]
    )


# ---------------------------------------------------------------------------------------------------------
# Provider side: the provider's own tests check its responses


def test_conforming_provider_passes(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        def test_get_user(client, contract_check):
            assert contract_check(client.get("/users/1"), "GET /users/{userId}") == []

        def test_matches_the_operation_itself(client, contract_check):
            assert contract_check(client.get("/users", params={"limit": 10})) == []
            assert contract_check(client.get("/users/99")) == []  # a documented 404

        def test_request_side(client, contract_check):
            assert contract_check(client.post("/users", json={"name": "Grace"}), "post /users") == []

        def test_loaded_contract(contract):
            assert contract.title == "Users API"
            assert {op.key for op in contract.operations} == {"GET /users", "POST /users", "GET /users/{userId}"}
        """
    )
    result = suite.runpytest("--contract", "users.yaml")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["contract: *users.yaml"])


def test_drifting_provider_fails_with_operation_location_expected_and_observed(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        """
        def test_get_user(drifted_client, contract_check):
            contract_check(drifted_client.get("/users/1"), "GET /users/{userId}")
        """
    )
    result = suite.runpytest("--contract", "users.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E * GET http://test/users/1 -> 200 breaks the contract users.yaml:",
            f"E *   {DRIFT_LINE}",
            "FAILED *::test_get_user*",
        ]
    )
    assert "pytest_plugin.py" not in result.stdout.str()  # the traceback stops at the test


def test_violation_carries_the_findings_and_warnings_are_returned(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest
        from recorder.verify.pytest_plugin import ContractViolation

        def test_findings(drifted_client, contract_check):
            with pytest.raises(ContractViolation) as caught:
                contract_check(drifted_client.get("/users/1"))
            assert [(f.kind, f.location) for f in caught.value.findings] == [("type-mismatch", "response 200: /id")]

        @pytest.mark.contract("orders.yaml")
        def test_undocumented_status_is_a_warning(client, contract_check):
            findings = contract_check(client.get("/orders/99"))
            assert [(f.severity, f.kind, f.location) for f in findings] == [("warning", "status-undocumented", "status 404")]

        def test_rejected_requests_are_warnings(client, contract_check):
            # the provider refused the invalid request with a documented 422: the contract held
            findings = contract_check(client.post("/users", json={}))
            assert [(f.severity, f.location) for f in findings] == [("warning", "request body: /name")]
            assert findings[0].message.endswith("(the provider rejected this request with 4xx)")
        """
    )
    result = suite.runpytest("--contract", "users.yaml")
    result.assert_outcomes(passed=3)
    assert "contract drift" not in result.stdout.str()  # findings a check returned are the test's business


def test_requests_outside_the_contract_fail_a_check(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        def test_unmatched(client, contract_check):
            contract_check(client.get("/accounts/1"))

        def test_unknown_operation(client, contract_check):
            contract_check(client.get("/users/1"), "GET /user/{id}")
        """
    )
    result = suite.runpytest("--contract", "users.yaml")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*GET /accounts/1: expected a documented operation, observed GET /accounts/1",
            "*the contract *users.yaml has no operation 'GET /user/{id}'. It has: GET /users, GET /users/{userId}, POST /users.",
        ],
        consecutive=False,
    )


def test_requests_responses(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import requests

        def test_conforming(live_url, contract_check):
            assert contract_check(requests.get(f"{live_url}/users/1"), "GET /users/{userId}") == []
            assert contract_check(requests.post(f"{live_url}/users", json={"name": "Ada"})) == []

        def test_drifted(drifted_live_url, contract_check):
            contract_check(requests.get(f"{drifted_live_url}/users/1"))

        def test_request_side(live_url, contract_check):
            contract_check(requests.get(f"{live_url}/users", params={"limit": 1000}))
        """
    )
    result = suite.runpytest("--contract", "users.yaml")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            f"E *   {DRIFT_LINE}",
            "E * GET http://127.0.0.1:*/users?limit=1000 -> 200 breaks the contract users.yaml:",
            "E *   GET /users query: limit: expected minimum 1, maximum 100, observed 1000",
        ],
        consecutive=False,
    )


# ---------------------------------------------------------------------------------------------------------
# Strict runs, the marker and recorded traffic


SWALLOWED = """
import pytest

def test_swallowed(drifted_client, contract_check):
    with pytest.raises(AssertionError):
        contract_check(drifted_client.get("/users/1"))
"""


def test_strict_option_fails_a_test_that_swallowed_the_failure(suite: pytest.Pytester) -> None:
    suite.makepyfile(SWALLOWED)
    suite.runpytest("--contract", "users.yaml").assert_outcomes(passed=1)
    result = suite.runpytest("--contract", "users.yaml", "--contract-strict")
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "contract: *users.yaml (strict)",
            "contract drift (strict): responses this test saw break the contract",
            "GET http://test/users/1 -> 200 (users.yaml)",
            f"  breaking: {DRIFT_LINE}",
        ],
        consecutive=False,
    )


def test_strict_from_the_ini_file(suite: pytest.Pytester) -> None:
    suite.makepyfile(SWALLOWED)
    suite.makeini("[pytest]\ncontract = users.yaml\ncontract_strict = true\n")
    suite.runpytest().assert_outcomes(failed=1)


def test_recorded_traffic_is_reported_and_strict_runs_fail_on_it(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        def test_recorded(drifted_client, contract_recorder):
            assert drifted_client.get("/users/1").status_code == 200
            assert [f.kind for f in contract_recorder.findings] == ["type-mismatch"]

        def test_not_recorded(drifted_client):
            assert drifted_client.get("/users/1").status_code == 200
        """
    )
    result = suite.runpytest("--contract", "users.yaml")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*= contract drift =*",
            "test_recorded_traffic_is_reported_and_strict_runs_fail_on_it.py::test_recorded",
            "  GET http://test/users/1 -> 200 (users.yaml)",
            f"    breaking: {DRIFT_LINE}",
            "Tip: --contract-strict (or @pytest.mark.contract) fails tests whose traffic breaks the contract.",
        ]
    )
    # a strict run records every test's traffic, whether or not it asked for contract_recorder
    result = suite.runpytest("--contract", "users.yaml", "--contract-strict")
    result.assert_outcomes(failed=2)


def test_marker_records_and_fails_one_test(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest

        @pytest.mark.contract
        def test_marked(drifted_client):
            drifted_client.get("/users/1")

        @pytest.mark.contract(strict=False)
        def test_marked_lenient(drifted_client):
            drifted_client.get("/users/1")

        def test_unmarked(drifted_client):
            drifted_client.get("/users/1")

        @pytest.mark.contract
        def test_marked_conforming(client):
            client.get("/users/1")
            client.get("/users/2")
            client.post("/users", json={"name": "Ada"})
        """
    )
    result = suite.runpytest("--contract", "users.yaml")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_marked _*",
            "contract drift (strict): responses this test saw break the contract",
            "*= contract drift =*",
            "*::test_marked_lenient",
            "FAILED *::test_marked - contract drif*",
        ],
        consecutive=False,
    )


def test_marker_names_its_own_contract_and_operation(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest

        @pytest.mark.contract("orders.yaml", operation="GET /orders/{orderId}")
        def test_order(client, contract_check):
            assert contract_check(client.get("/orders/7")) == []
            assert contract_check.contract.title == "Orders API"

        @pytest.mark.contract("orders.yaml")
        def test_user_against_orders(client, contract_check):
            contract_check(client.get("/users/1"))

        @pytest.mark.contract("missing.yaml")
        def test_missing(contract_check):
            pass
        """
    )
    result = suite.runpytest()  # no --contract: the marker is enough
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.contract: *missing.yaml: no such file (paths are relative to the test file)",
            "*GET /users/1: expected a documented operation, observed GET /users/1",
        ],
        consecutive=False,
    )


def test_async_clients_and_requests_sessions_are_recorded(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import asyncio

        import httpx
        import pytest
        import requests

        @pytest.mark.contract
        def test_async(drifted_live_url):
            async def main():
                async with httpx.AsyncClient(base_url=drifted_live_url) as client:
                    await client.get("/users/1")

            asyncio.run(main())

        @pytest.mark.contract
        def test_session(drifted_live_url):
            with requests.Session() as session:
                session.get(f"{drifted_live_url}/users/1")

        @pytest.mark.contract
        def test_streamed_and_unread(live_url):
            with httpx.Client(base_url=live_url) as client, client.stream("GET", "/users/1") as response:
                assert response.status_code == 200
        """
    )
    result = suite.runpytest("--contract", "users.yaml")
    result.assert_outcomes(passed=1, failed=2)
    # the FAILURES section only: on CI (the CI variable set) pytest repeats whole messages in its summary
    failures_section = result.stdout.str().split("short test summary info")[0]
    failures = re.findall(r"breaking: (.*)", failures_section)
    assert failures == [DRIFT_LINE, DRIFT_LINE]


# ---------------------------------------------------------------------------------------------------------
# Consumer side: tests against a stub of the provider


def test_consumer_against_the_stub(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import httpx

        def user_name(base_url, user_id):
            return httpx.get(f"{base_url}/users/{user_id}").json()["name"]

        def test_user_name(contract_stub):
            assert isinstance(user_name(contract_stub.url, 1), str)

        def test_stub_answers_by_the_contract(contract_stub, contract_check):
            with httpx.Client(base_url=contract_stub.url) as client:
                assert contract_check(client.get("/users/1"), "GET /users/{userId}") == []
                assert contract_check(client.post("/users", json={"name": "Ada"})) == []
        """
    )
    result = suite.runpytest("--contract", "users.yaml", "--contract-strict")
    result.assert_outcomes(passed=2)


def test_a_consumer_request_the_stub_refuses_fails_the_check(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import httpx

        def test_create_without_name(contract_stub, contract_check):
            response = httpx.post(f"{contract_stub.url}/users", json={"email": "ada@example.com"})
            assert response.status_code == 400
            contract_check(response)
        """
    )
    result = suite.runpytest("--contract", "users.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E * POST http://127.0.0.1:*/users -> 400 breaks the contract users.yaml:",
            "E *   POST /users request body: /name: expected present, observed missing",
        ]
    )


# ---------------------------------------------------------------------------------------------------------
# The README's examples run as written


def readme_examples() -> dict[str, str]:
    """The python snippets of the README's "### pytest plugin" section, by the file name in their first line."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### pytest plugin", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    snippets = re.findall(r"```python\n(.*?)```", section, re.S)
    return {re.match(r"# (\S+)", s).group(1): s for s in snippets}  # type: ignore[union-attr]


def test_readme_provider_example(suite: pytest.Pytester) -> None:
    examples = readme_examples()
    assert set(examples) == {"tests/test_contract.py", "tests/test_users_client.py"}
    (suite.path / "tests").mkdir()
    (suite.path / "contracts").mkdir()
    shutil.copy(DATA / "users.yaml", suite.path / "contracts" / "openapi.yaml")
    (suite.path / "myapp.py").write_text("from users_app import app\n")
    (suite.path / "tests" / "test_contract.py").write_text(examples["tests/test_contract.py"])
    command = re.search(r"# run: pytest (.*)", examples["tests/test_contract.py"]).group(1).split()  # type: ignore[union-attr]
    result = suite.runpytest(*command)
    result.assert_outcomes(passed=2)
    (suite.path / "myapp.py").write_text("from users_app import make_app\napp = make_app(id_as_text=True)\n")
    result = suite.runpytest(*command)
    result.assert_outcomes(passed=1, failed=1)  # only GET /users/{userId} drifted
    result.stdout.fnmatch_lines([f"E *   {DRIFT_LINE}"])


def test_readme_consumer_example(suite: pytest.Pytester) -> None:
    examples = readme_examples()
    (suite.path / "tests").mkdir()
    shutil.copy(DATA / "users.yaml", suite.path / "openapi.yaml")
    (suite.path / "tests" / "test_orders_client.py").write_text(examples["tests/test_users_client.py"])
    command = re.search(r"# run: pytest (.*)", examples["tests/test_users_client.py"]).group(1).split()  # type: ignore[union-attr]
    result = suite.runpytest(*command)
    result.assert_outcomes(passed=2)
