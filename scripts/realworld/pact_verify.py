"""Verify one pact file with pact-python's Verifier against a provider URL; prints one JSON object.

Run as a subprocess by the harness (the verifier is native code: a crash or a hang must not take the
harness down):

    python scripts/realworld/pact_verify.py PACT.json http://127.0.0.1:PORT [--header 'Name: value']...

Output: {"ok": bool, "error": str, "results": <Verifier.results or null>, "output": <text, ANSI stripped>}
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("pact")
    parser.add_argument("url")
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    out: dict = {"ok": False, "error": "", "results": None, "output": ""}
    try:
        with open(args.pact, encoding="utf-8") as fh:
            provider = (json.load(fh).get("provider") or {}).get("name") or "provider"
    except (OSError, ValueError) as exc:
        out["error"] = f"unreadable pact file: {exc}"
        print(json.dumps(out))
        return 0
    os.environ["PACT_DO_NOT_TRACK"] = "true"  # the verifier's usage statistics would leave the machine
    from pact import Verifier

    host = args.url.split("//", 1)[1].split(":", 1)[0]
    verifier = Verifier(provider, host=host).add_source(args.pact).add_transport(url=args.url)
    verifier.set_request_timeout(20000)
    for header in args.header:
        name, _, value = header.partition(":")
        verifier.add_custom_header(name.strip(), value.strip())
    try:
        verifier.verify()
        out["ok"] = True
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    try:
        out["results"] = verifier.results
    except Exception as exc:
        out["error"] += f" (no results: {exc})"
    try:
        out["output"] = verifier.output(strip_ansi=True)[-20000:]
    except Exception:
        pass
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
