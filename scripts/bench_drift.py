"""Drift benchmark: `recorder drift` over 100k and 1M stored exchanges against a 60-operation contract.

    python scripts/bench_drift.py            # 100k and 1M
    python scripts/bench_drift.py --quick    # 20k and 100k

A synthetic API of 20 resources (list, get, create: 60 operations, ~10 fields each) is served by the
spec-driven provider of the test suite, recorded through `recorder proxy`, its contract exported, and the
database grown to the target sizes (rows repeated with fresh ids). Printed per size: the one-time evidence
catch-up (the proxy's follower normally keeps it current) and `recorder drift` with current summaries.
Everything runs on 127.0.0.1 and in a temporary folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

RESOURCES = [
    "users", "orders", "products", "invoices", "payments", "shipments", "carts", "reviews", "coupons", "stores",
    "teams", "projects", "tickets", "comments", "files", "events", "alerts", "devices", "plans", "subscriptions",
]  # fmt: skip


def spec() -> dict:
    """20 resources x (list, get, create) = 60 operations."""
    paths: dict = {}
    schemas: dict = {}
    for res in RESOURCES:
        name = res[:-1].title()
        schemas[name] = {
            "type": "object",
            "required": ["id", "name", "status", "created_at"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "status": {"type": "string", "enum": ["active", "archived", "pending"]},
                "created_at": {"type": "string", "format": "date-time"},
                "owner_email": {"type": "string", "format": "email"},
                "amount": {"type": "number"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "ref": {"type": "string", "format": "uuid"},
                f"{res}_count": {"type": "integer"},
                "note": {"type": ["string", "null"]},
            },
        }
        ref = {"$ref": f"#/components/schemas/{name}"}
        paths[f"/v1/{res}"] = {
            "get": {
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["data"],
                                    "properties": {
                                        "data": {"type": "array", "items": ref},
                                        "total": {"type": "integer"},
                                    },
                                }
                            }
                        },
                    }
                },
            },
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "201": {"description": "created", "content": {"application/json": {"schema": ref}}}
                },
            },
        }
        paths[f"/v1/{res}/{{id}}"] = {
            "get": {
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": ref}}},
                    "404": {
                        "description": "missing",
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
                            }
                        },
                    },
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "bench", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def run(*args: str) -> float:
    t = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "recorder", *args], capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise SystemExit(f"recorder {' '.join(args)} failed: {result.stderr}")
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="*")
    args = parser.parse_args()
    sizes = args.sizes or ([20_000, 100_000] if args.quick else [100_000, 1_000_000])

    from apis.driver import plan_requests, send
    from apis.fakeserver import FakeProvider
    from bench_infer import grow
    from support import running_proxy

    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        folder = Path(tmp)
        seed = folder / "seed.db"
        api = spec()
        provider = FakeProvider(api, seed=1)
        url = provider.start()
        try:
            with running_proxy(url, seed, "--provider", "bench") as proxy:
                send(plan_requests(api, 40, seed=1), proxy.url, workers=4)
        finally:
            provider.stop()
        contract = folder / "contract.yaml"
        run("export", "openapi", "--db", str(seed), "-o", str(contract))
        ops = sum(
            1
            for line in contract.read_text().splitlines()
            if line.startswith("    get:") or line.startswith("    post:")
        )
        print(f"contract: {ops} operations learned from the recorded seed traffic")
        print(f"{'exchanges':>10} {'catch-up (once)':>16} {'drift (summaries current)':>26}")
        for size in sizes:
            db = folder / f"db-{size}.db"
            grow(seed, db, size)
            catch = run("summarize", "--db", str(db))
            drift = min(
                run(
                    "drift",
                    "--db",
                    str(db),
                    "--contract",
                    str(contract),
                    "--format",
                    "json",
                    "-o",
                    str(folder / "d.json"),
                )
                for _ in range(2)
            )
            print(f"{size:>10,} {catch:>15.1f}s {drift:>25.2f}s")
            db.unlink()


if __name__ == "__main__":
    main()
