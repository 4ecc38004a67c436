"""Verify one pact file with pact-python's Verifier against a provider URL; prints one JSON object.

Run as a subprocess by the harness (the verifier is native code: a crash or a hang must not take the
harness down):

    python scripts/realworld/pact_verify.py PACT.json http://127.0.0.1:PORT [--header 'Name: value']...
        [--reset JSON]

Provider states: an interaction whose recorded answer depended on earlier writes carries the state
`recorded: ...` with those writes as `params.requests` (`recorder export pact`). The state handler here is
what a provider team writes once: send the `--reset` requests (a JSON list of {method, path, body}: Kinto's
flush and its account), then the state's requests, with the same headers as the interactions.

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
    parser.add_argument("--reset", default="[]", help="JSON list of requests that empty the provider")
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
    headers = {}
    for header in args.header:
        name, _, value = header.partition(":")
        verifier.add_custom_header(name.strip(), value.strip())
        headers[name.strip()] = value.strip()
    reset = json.loads(args.reset)
    states: list[dict] = []

    def state_handler(state: str, action: str = "setup", parameters: dict | None = None) -> None:
        requests = (parameters or {}).get("requests") or []
        if action != "setup" or not (requests or reset):
            return
        sent = [_send(args.url, r, headers) for r in [*reset, *requests]]
        states.append({"state": state[:200], "statuses": sent})

    verifier.state_handler(state_handler)
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
    out["states"] = states[:200]
    print(json.dumps(out, default=str))
    return 0


def _send(url: str, request: dict, headers: dict[str, str]) -> int:
    """One request of a provider state (or of the reset); its status (0: no answer)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    target = url.rstrip("/") + request["path"]
    if request.get("query"):
        target += "?" + urllib.parse.urlencode(
            [(k, v) for k, vs in request["query"].items() for v in (vs if isinstance(vs, list) else [vs])]
        )
    body = request.get("body")
    data = None
    sent = dict(headers)
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        sent["Content-Type"] = request.get("contentType") or "application/json"
    req = urllib.request.Request(target, data=data, method=request["method"], headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
