"""The README's first command: `recorder demo` runs the whole loop on loopback."""

from __future__ import annotations

import json
import re

import yaml
from openapi_spec_validator import validate
from support import run_cli


def test_demo_records_exports_and_reports_drift(tmp_path):
    out = tmp_path / "demo-out"
    result = run_cli("demo", "--out", str(out), "--requests", "150", timeout=300)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "recorded 150 exchanges" in text
    assert "GET    /api/v1/users/{userId}" in text
    drift = re.search(r"4\. drift since the change:.*?(\d+) breaking", text, re.S)
    assert drift and int(drift.group(1)) > 0
    assert "required field 'name' missing" in text and "string where the contract says number" in text
    replayed = text.split("5. replayed", 1)[1]
    assert "against the changed provider: FAIL" in replayed
    assert "/total         string where the contract says number" in replayed
    validate(yaml.safe_load((out / "openapi.yaml").read_text()))
    pacts = sorted(p.name for p in (out / "pacts").iterdir())
    assert pacts == ["billing-service-shop.json", "mobile-app-shop.json", "web-app-shop.json"]
    assert json.loads((out / "pacts" / "web-app-shop.json").read_text())["interactions"]
    assert (out / "drift.md").read_text().startswith("## ")
    assert "<svg" in (out / "drift.html").read_text()
    assert "Traceback" not in result.stderr
