"""Measure the OpenAPI export against published specs, on many API shapes, the way the product is judged.

For every spec in tests/apis/specs/: serve it with the fake provider, put `recorder proxy` (a real
subprocess) in front of it, drive realistic traffic through the proxy, stop the proxy with SIGINT (it drains
to disk), run `recorder export openapi`, and score the export against the spec (tests/apis/score.py).
All traffic stays on 127.0.0.1.

    python scripts/eval_inference.py                        # every API, 30 requests per operation
    python scripts/eval_inference.py --only stripe,github --requests-per-op 60 --keep --details d.json
    python scripts/eval_inference.py --against self         # the harness itself: 100% everywhere
    python scripts/eval_inference.py --against degraded     # ... and a damaged copy: lower, per metric

`--against self|degraded` still records the traffic (unless --no-traffic) but scores the published spec
(or a deliberately damaged copy, tests/apis/degrade.py) instead of an export: the self-check of the harness.
Exit code: 0 when every API was scored, 1 when one could not be (proxy or export failure), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from apis.degrade import degrade  # noqa: E402
from apis.driver import plan_requests, send  # noqa: E402
from apis.fakeserver import FakeProvider  # noqa: E402
from apis.oas import load_spec, spec_paths  # noqa: E402
from apis.score import JUDGED, score  # noqa: E402

RECORDER = [sys.executable, "-m", "recorder"]
LISTEN_RE = re.compile(r"listening on (http://[\d.]+:\d+)")
RECORDED_RE = re.compile(r"stopped: (\d+) recorded, (\d+) dropped")
COLUMNS = (
    ("op R", "operation_recall"),
    ("op P", "operation_precision"),
    ("status R", "status_recall"),
    ("field R", "field_recall"),
    ("field P", "field_precision"),
    ("field F1", "field_f1"),
    ("type", "type_accuracy"),
    ("required", "required_accuracy"),
    ("format R", "format_recall"),
    ("enum R", "enum_recall"),
)
TARGETS = {
    "operation_recall": 0.95,
    "operation_precision": 0.95,
    "field_f1": 0.90,
    "type_accuracy": 0.97,
    "format_recall": 0.90,
}


class Proxy:
    """`recorder proxy` as a subprocess in front of `upstream`; stderr collected by a reader thread."""

    def __init__(self, upstream: str, db: Path, provider: str, extra: list[str] | None = None) -> None:
        args = [
            "proxy",
            "--upstream",
            upstream,
            "--listen-port",
            "0",
            "--db",
            str(db),
            "--provider",
            provider,
            *(extra or []),
        ]
        self.proc = subprocess.Popen(
            [*RECORDER, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            match = LISTEN_RE.search(line)
            if match and self.url is None:
                self.url = match.group(1)
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = 60) -> str | None:
        self._ready.wait(timeout)
        return self.url

    def stop(self, timeout: float = 120) -> int | None:
        """SIGINT (drain to disk), then SIGTERM/SIGKILL only if it does not exit in time."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout if sig == signal.SIGINT else 10)
            except subprocess.TimeoutExpired:
                continue
        self._reader.join(5)
        return self.proc.returncode

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)


def record(spec: dict[str, Any], name: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Serve the spec, record driven traffic through the proxy; returns traffic facts and the provider."""
    db = workdir / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    provider = FakeProvider(spec, seed=args.seed)
    provider.start()
    out: dict[str, Any] = {"db": str(db), "provider": provider}
    proxy = Proxy(provider.url, db, name, args.proxy_arg)
    try:
        url = proxy.wait_ready()
        if url is None:
            out["error"] = "proxy did not start: " + " | ".join(proxy.lines[-3:])
            return out
        plan = plan_requests(spec, args.requests_per_op, seed=args.seed)
        started = time.perf_counter()
        stats = send(plan, url, workers=args.workers)
        out["traffic"] = {**stats.as_dict(), "seconds": round(time.perf_counter() - started, 2)}
    finally:
        code = proxy.stop()
        provider.stop()
    match = RECORDED_RE.search(proxy.stderr)
    out["proxy_exit"] = code
    out["recorded"] = int(match.group(1)) if match else None
    out["dropped"] = int(match.group(2)) if match else None
    if code not in (0, None) and "error" not in out:
        out["warning"] = f"proxy exited with {code}: " + " | ".join(proxy.lines[-3:])
    return out


def export(db: str, target: Path) -> tuple[dict[str, Any] | None, str]:
    """Run `recorder export openapi`; returns (document, error message)."""
    try:
        proc = subprocess.run(
            [*RECORDER, "export", "openapi", "--db", db, "-o", str(target)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        return None, "export timed out after 600 s"
    if proc.returncode != 0:
        lines = [line for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        return None, f"export exited with {proc.returncode}: {lines[-1] if lines else '(no output)'}"
    if not target.exists():
        return None, f"export wrote no {target.name}"
    try:
        with open(target, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        return None, f"export is not readable YAML/JSON: {exc}"
    if not isinstance(doc, dict):
        return None, "export is not a mapping"
    return doc, ""


def evaluate(path: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One API, end to end; never raises for the API's own failures (they are reported in the result)."""
    name = path.stem
    spec = load_spec(path)
    result: dict[str, Any] = {"api": name}
    observed = None
    db = None
    if args.against == "export" or not args.no_traffic:
        rec = record(spec, name, workdir, args)
        provider = rec.pop("provider")
        result["recording"] = rec
        db = rec["db"]
        if "error" in rec:
            result["error"] = rec["error"]
            return result
        observed = {k: {p: set(v) for p, v in ptrs.items()} for k, ptrs in provider.observed.items()}
        for key in provider.counts:
            observed.setdefault(key, {})
    if args.against == "self":
        exported = spec
    elif args.against == "degraded":
        exported, log = degrade(spec, seed=args.seed)
        result["degrade_log"] = log
    else:
        assert db is not None
        exported, error = export(db, workdir / f"{name}.openapi.yaml")
        if exported is None:
            result["error"] = error
            return result
    scored = score(spec, exported, observed=observed)
    result["metrics"] = {k: scored[k] for k in JUDGED}
    result["extra"] = scored["extra"]
    result["counts"] = scored["counts"]
    result["mismatches"] = scored["mismatches"]
    return result


def fmt(value: float | None) -> str:
    return "    -" if value is None else f"{100 * value:5.1f}"


def table(results: list[dict[str, Any]]) -> str:
    """The per-API table plus the mean row (means over the APIs where a metric is defined)."""
    head = f"{'api':16} {'ops':>4} {'sent':>5} {'rec':>5}  " + " ".join(f"{c:>8}" for c, _ in COLUMNS)
    head += f"  {'false E':>7} {'cov fld':>7} {'cov st':>6}"
    lines = [head, "-" * len(head)]
    for r in results:
        rec = r.get("recording") or {}
        sent = (rec.get("traffic") or {}).get("sent")
        ops = (r.get("counts") or {}).get("operations", {}).get("published")
        left = f"{r['api']:16} {ops if ops is not None else '-':>4} {sent if sent is not None else '-':>5} "
        left += f"{rec.get('recorded') if rec.get('recorded') is not None else '-':>5}  "
        if "metrics" not in r:
            lines.append(left + f"FAILED: {r.get('error', 'unknown error')}")
            continue
        cells = " ".join(f"{fmt(r['metrics'][k]):>8}" for _, k in COLUMNS)
        extra = r.get("extra") or {}
        false_enums = extra.get("false_enums")
        lines.append(
            left
            + cells
            + f"  {false_enums if false_enums is not None else '-':>7}"
            + f" {fmt(extra.get('field_coverage')):>7} {fmt(extra.get('status_coverage')):>6}"
        )
    scored = [r for r in results if "metrics" in r]
    if scored:
        means = []
        for _, key in COLUMNS:
            values = [r["metrics"][key] for r in scored if r["metrics"][key] is not None]
            means.append(sum(values) / len(values) if values else None)
        lines.append("-" * len(head))
        total_false = sum((r.get("extra") or {}).get("false_enums") or 0 for r in scored)
        lines.append(
            f"{'mean':16} {'':>4} {'':>5} {'':>5}  "
            + " ".join(f"{fmt(m):>8}" for m in means)
            + f"  {total_false:>7}"
        )
        misses = [
            f"{label} {fmt(m).strip()} < {100 * TARGETS[key]:.0f}"
            for (label, key), m in zip(COLUMNS, means, strict=True)
            if key in TARGETS and m is not None and m < TARGETS[key]
        ]
        lines.append("targets: op R/P >= 95, field F1 >= 90, type >= 97, format R >= 90")
        lines.append("below target: " + (", ".join(misses) if misses else "none"))
    lines.append(
        "(false E: exported enums on fields the spec leaves open; cov fld / cov st: share of published"
        " fields / statuses the traffic contained: the recall ceiling)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="Comma-separated API names (spec file stems), e.g. stripe,github.")
    parser.add_argument(
        "--requests-per-op", type=int, default=30, help="Requests per operation (default 30)."
    )
    parser.add_argument("--seed", type=int, default=1, help="Seed of the traffic and the data (default 1).")
    parser.add_argument("--workers", type=int, default=1, help="Parallel client connections (default 1).")
    parser.add_argument(
        "--against",
        choices=("export", "self", "degraded"),
        default="export",
        help="Score the recorder's export (default), the published spec itself, or a damaged copy.",
    )
    parser.add_argument(
        "--no-traffic", action="store_true", help="With --against self/degraded: skip recording."
    )
    parser.add_argument(
        "--proxy-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="Extra argument for `recorder proxy` (repeatable), e.g. --proxy-arg=--no-redact.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the databases and exports.")
    parser.add_argument(
        "--out", type=Path, help="Folder for databases and exports (default: a temporary one)."
    )
    parser.add_argument(
        "--details", type=Path, help="Write metrics and every mismatch, per API, to this JSON file."
    )
    args = parser.parse_args(argv)
    if not 1 <= args.requests_per_op <= 1000:
        parser.error("--requests-per-op must be between 1 and 1000")
    if not 1 <= args.workers <= 32:
        parser.error("--workers must be between 1 and 32")

    paths = spec_paths()
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - {p.stem for p in paths}
        if unknown:
            parser.error(
                f"unknown API {', '.join(sorted(unknown))}; known: {', '.join(p.stem for p in paths)}"
            )
        paths = [p for p in paths if p.stem in wanted]

    workdir = args.out or Path(tempfile.mkdtemp(prefix="eval-inference-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for path in paths:
            started = time.perf_counter()
            result = evaluate(path, workdir, args)
            result["seconds"] = round(time.perf_counter() - started, 2)
            status = "ok" if "metrics" in result else f"FAILED: {result.get('error')}"
            print(f"{path.stem}: {status} ({result['seconds']} s)", file=sys.stderr, flush=True)
            results.append(result)
    finally:
        if args.keep or args.out:
            print(f"kept databases and exports in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nagainst: {args.against}   requests per operation: {args.requests_per_op}   seed: {args.seed}\n")
    print(table(results))
    if args.details:
        args.details.write_text(
            json.dumps({r["api"]: r for r in results}, indent=1, sort_keys=True, default=str)
        )
        print(f"\ndetails: {args.details}")
    return 0 if all("metrics" in r for r in results) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
