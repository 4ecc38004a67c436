"""The same database always exports the same bytes: exports of a recorded demo database against stored copies.

`tests/data/golden/demo.db.gz` is a database recorded by `recorder demo` (400 exchanges, before and after the
provider drifted). Its exports (OpenAPI YAML and JSON, Pact v3 and v4, JSON Schema) and its drift report are
stored next to it. A change that alters any of them on purpose regenerates them with
`python tests/test_golden.py --regenerate` and says why in its commit.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
RECORDER = [sys.executable, "-m", "recorder"]


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RECORDER, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def _database(folder: Path) -> Path:
    db = folder / "demo.db"
    with gzip.open(GOLDEN / "demo.db.gz") as src, db.open("wb") as out:
        shutil.copyfileobj(src, out)
    return db


def export_all(db: Path, out: Path) -> dict[str, bytes]:
    """Every export of `db` (and its drift against its own first export), as file name -> bytes.

    Commands run in `db`'s folder with relative names, because reports name the files they compared."""
    db_name, here = db.name, db.parent
    out.mkdir(parents=True, exist_ok=True)
    rel = out.relative_to(here)
    steps = [
        ("export", "openapi", "--db", db_name, "-o", f"{rel}/openapi.yaml"),
        ("export", "openapi", "--db", db_name, "-o", f"{rel}/openapi.json", "--openapi-version", "3.0"),
        ("export", "pact", "--db", db_name, "-o", f"{rel}/pacts-v3"),
        ("export", "pact", "--db", db_name, "-o", f"{rel}/pacts-v4", "--pact-version", "4"),
        ("export", "jsonschema", "--db", db_name, "-o", f"{rel}/schemas"),
        (
            "drift", "--db", db_name, "--contract", f"{rel}/openapi.yaml", "--since", "2000-01-01",
            "--format", "json", "-o", f"{rel}/drift.json", "--fail-on", "never",
        ),
    ]  # fmt: skip
    for step in steps:
        result = _cli(*step, cwd=here)
        assert result.returncode == 0, f"{' '.join(step[:2])}: {result.stderr}"
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "drift.json":  # the one value that is not a function of the database
                report = json.loads(data)
                report.pop("generated_at", None)
                data = json.dumps(report, indent=2, sort_keys=True).encode()
            files[str(path.relative_to(out))] = data
    return files


def test_exports_are_byte_identical_to_the_stored_ones(tmp_path):
    db = _database(tmp_path)
    files = export_all(db, tmp_path / "out")
    expected = {
        str(p.relative_to(GOLDEN / "exports")): p.read_bytes()
        for p in sorted((GOLDEN / "exports").rglob("*"))
        if p.is_file()
    }
    assert sorted(files) == sorted(expected)
    changed = [name for name in files if files[name] != expected[name]]
    assert not changed, f"exports differ from tests/data/golden/exports: {changed}"


@pytest.mark.slow
def test_evidence_rebuilt_from_raw_exchanges_exports_the_same_bytes(tmp_path):
    db = _database(tmp_path)
    result = _cli("summarize", "--db", str(db), "--rederive")
    assert result.returncode == 0, result.stderr
    files = export_all(db, tmp_path / "out")
    for name, data in files.items():
        assert data == (GOLDEN / "exports" / name).read_bytes(), name


if __name__ == "__main__":  # python tests/test_golden.py --regenerate
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit("usage: python tests/test_golden.py --regenerate")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        produced = export_all(_database(Path(tmp)), Path(tmp) / "out")
    shutil.rmtree(GOLDEN / "exports", ignore_errors=True)
    for name, data in produced.items():
        target = GOLDEN / "exports" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    print(f"wrote {len(produced)} files to {GOLDEN / 'exports'}")
