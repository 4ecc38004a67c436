"""The observed contract from imported traffic: which recorded paths are operations of the API."""

from __future__ import annotations

from support import har_entry, har_file

import recorder


def _redirect(method: str, url: str, location: str, started: str) -> dict:
    return har_entry(
        method,
        url,
        307,
        {},
        started,
        response_headers=[{"name": "Location", "value": location}, {"name": "Content-Length", "value": "0"}],
    )


def test_redirect_hops_to_recorded_operations_are_not_operations(tmp_path):
    """Kinto answers `/accounts/user` with a 307 to `/v1/accounts/user`, which the client then calls: the
    contract has the target, not the hop; a redirect to somewhere nobody recorded stays an operation."""
    entries = []
    for i in range(6):
        started = f"2024-05-01T10:00:{i * 2:02d}.000Z"
        entries.append(
            _redirect("PUT", "http://kinto.test/accounts/user", "http://kinto.test/v1/accounts/user", started)
        )
        account = {"data": {"id": "user", "last_modified": 1714557600000 + i}}
        entries.append(har_entry("PUT", "http://kinto.test/v1/accounts/user", 201, account, started))
        entries.append(
            _redirect("GET", "http://kinto.test/login", "https://sso.example.com/authorize", started)
        )
        entries.append(_redirect("POST", "http://kinto.test/__flush__", "/v1/__flush__", started))
    db = tmp_path / "t.db"
    recorder.import_traffic([har_file(tmp_path / "t.har", entries)], db)
    operations = {f"{op.method.upper()} {op.path}" for op in recorder.observed_contract(db).operations}
    assert "PUT /v1/accounts/user" in operations
    assert "PUT /accounts/user" not in operations
    assert "GET /login" in operations  # its target was never recorded: the redirect is what the API does
    assert "POST /__flush__" in operations  # nobody followed it with a POST the API answered


def test_drift_does_not_call_a_redirect_hop_an_undocumented_operation(tmp_path):
    """Export and drift answer "is this an operation" alike: drift of the same traffic against its own export
    finds no undocumented operation in the hop."""
    started = "2024-05-01T10:00:00.000Z"
    entries = []
    for i in range(4):
        entries.append(
            _redirect("PUT", "http://kinto.test/accounts/user", "http://kinto.test/v1/accounts/user", started)
        )
        account = {"data": {"id": "user", "last_modified": 1714557600000 + i}}
        entries.append(har_entry("PUT", "http://kinto.test/v1/accounts/user", 201, account, started))
    db = tmp_path / "t.db"
    recorder.import_traffic([har_file(tmp_path / "t.har", entries)], db)
    exported = tmp_path / "openapi.yaml"
    recorder.export_openapi(db, exported)
    report = recorder.drift(db, exported)
    assert not [f for f in report.findings if f.kind == "operation-undocumented"], report.findings
