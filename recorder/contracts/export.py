"""Contracts written to files: OpenAPI, one Pact per consumer (with its own recorded exchanges), JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recorder.common.http import is_json_media_type
from recorder.common.jsonvalues import NOT_JSON, json_body
from recorder.common.redact import holds_redacted
from recorder.contracts import jsonschema as jsonschema_format
from recorder.contracts import openapi as openapi_format
from recorder.contracts import pact as pact_format
from recorder.errors import RecorderError
from recorder.learn.observed import Observed
from recorder.model import Contract
from recorder.store import Store


def write_text(path: Path, text: str) -> None:
    """Write a file, creating its folder; a clear error when that is impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise RecorderError(f"cannot write {path}: {exc.strerror}.") from None


def check_openapi_path(out: Path) -> None:
    """An OpenAPI file is YAML or JSON, by its extension."""
    if out.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise RecorderError(f"{out}: the OpenAPI file must end in .yaml, .yml or .json.")


def write_openapi(
    contract: Contract, out: Path, *, version: str = "3.1", evidence: bool = True, examples: bool = True
) -> None:
    """Write a contract as OpenAPI 3.1 (or 3.0), YAML or JSON by the file's extension."""
    check_openapi_path(out)
    doc = openapi_format.to_openapi(contract, version=version, evidence=evidence, examples=examples)
    write_text(out, openapi_format.dumps(doc, out))


def write_pacts(
    store: Store, observed: Observed, out_dir: Path, *, version: int = 3, consumer: str | None = None
) -> dict[str, Path]:
    """Write one pact per consumer of the observed contract, each replaying that consumer's own recorded
    exchanges; returns consumer -> file."""
    contract = observed.contract
    consumers = sorted(
        {
            c
            for op in contract.operations
            for r in op.responses
            for c in (r.evidence.consumers if r.evidence else ())
        }
    )
    if not consumers:
        consumers = store.consumers(contract.provider or "")
    if consumer is not None:
        if consumer not in consumers:
            raise RecorderError(
                f"no traffic from consumer {consumer!r} (seen: {', '.join(consumers) or 'none'})."
            )
        consumers = [consumer]
    written = {}
    for name in consumers:
        examples = consumer_examples(store, observed, name)
        pact = pact_format.to_pact(contract, name, examples, version=version)
        if not pact["interactions"]:
            continue
        path = out_dir / pact_format.pact_file_name(name, contract.provider or contract.title)
        write_text(path, pact_format.dumps(pact))
        written[name] = path
    return written


def consumer_examples(
    store: Store, observed: Observed, consumer: str
) -> dict[tuple[str, str, str], pact_format.Example]:
    """Per (method, template, status): the consumer's own most recent exchange, as a pact example."""
    contract = observed.contract
    out: dict[tuple[str, str, str], pact_format.Example] = {}
    for op in contract.operations:
        shapes = observed.shapes.get((op.method, op.path), ())
        if not shapes:
            continue
        for resp in op.responses:
            if not resp.status.isdigit():
                continue
            row = store.pact_example(contract.provider or "", op.method, shapes, int(resp.status), consumer)
            if row is None:
                continue
            if holds_redacted(row["path"], row["query"]):
                continue  # never replay a redacted secret
            if not pact_verifiable(resp.status):
                continue
            body = _request_body(row)
            if body is None:
                continue  # a request body a pact cannot carry: broken JSON (a deliberately bad request), cut off
            out[(op.method, op.path, resp.status)] = pact_format.Example(
                setup=recorded_setup(store, contract.provider or "", row, op.method),
                path=row["path"],
                query=json.loads(row["query"]) if row["query"] else {},
                request_headers=dict(json.loads(row["request_headers"] or "[]")),
                request_body=body[0],
                request_content_type=row["request_content_type"],
                status=row["status"],
                response_headers=dict(json.loads(row["response_headers"] or "[]")),
                response_body=json_body(
                    row["response_body"], row["response_content_type"], row["response_truncated"], None
                ),
                response_content_type=row["response_content_type"],
                request_text=body[1],
            )
    return out


MAX_SETUP = 20  # recorded requests a provider state replays at most


def recorded_setup(
    store: Store, provider: str, row: dict[str, Any], method: str
) -> tuple[dict[str, Any], ...]:
    """The recorded writes that made the provider answer this exchange as it did, oldest first: for the path
    and each of its ancestors (`/v1/buckets/b`, `/v1/buckets/b/collections/c`, ...), the last PUT recorded
    before the exchange (and the PATCHes after it), unless a DELETE came after them. The path itself is left
    out when the answer says it did not exist yet (a PUT answered 201, a 404). Writes that carried a redacted
    secret cannot be replayed and are left out; POSTs create children whose ids the provider chooses."""
    path = row["path"] or "/"
    segments = [s for s in path.split("/") if s]
    ancestors = ["/" + "/".join(segments[: i + 1]) for i in range(len(segments))]
    status = int(row["status"])
    if (method.upper() == "PUT" and status == 201) or status in (404, 410):
        ancestors = ancestors[:-1]
    latest: dict[str, list[dict[str, Any]]] = {}
    for write in store.writes_before(provider, ancestors, int(row["id"])):
        verb = write["method"].upper()
        if verb == "PUT":
            latest[write["path"]] = [write]
        elif verb == "PATCH" and latest.get(write["path"]):
            latest[write["path"]].append(write)
        elif verb == "DELETE":
            gone = write["path"].rstrip("/") + "/"
            latest = {p: ws for p, ws in latest.items() if not (p + "/").startswith(gone)}
    setup = [_setup_request(write) for ancestor in ancestors for write in latest.get(ancestor, ())]
    return tuple(request for request in setup if request is not None)[-MAX_SETUP:]


def _setup_request(write: dict[str, Any]) -> dict[str, Any] | None:
    """A recorded write as a provider state's parameter (None: it carried a secret, or a body a pact cannot)."""
    if holds_redacted(write["path"], write["query"], write["request_body"]):
        return None
    body = _request_body(write)
    if body is None:
        return None
    out: dict[str, Any] = {"method": write["method"].upper(), "path": write["path"]}
    if write["query"]:
        out["query"] = json.loads(write["query"])
    if body != (None, None):
        out["contentType"] = write["request_content_type"]
        out["body"] = body[0] if body[1] is None else body[1]
    return out


def pact_verifiable(status: str) -> bool:
    """Whether a provider verification can reproduce an answer with this status from its request alone.

    Not 401/403, answers to missing credentials (a verifier sends the credentials every interaction needs),
    nor 5xx, a provider's failure rather than its contract (no request makes a healthy provider fail).
    """
    return status not in ("401", "403") and not status.startswith("5")


def _request_body(row: dict[str, Any]) -> tuple[Any, str | None] | None:
    """(JSON value, text) of a recorded request body as a pact can replay it: JSON parsed, a form or other
    text as it was; None when a pact cannot carry it (broken JSON, truncated, binary)."""
    raw = row["request_body"]
    if not raw:
        return None, None
    if row["request_truncated"]:
        return None
    value = json_body(raw, row["request_content_type"], False)
    if value is not NOT_JSON:
        return value, None
    if is_json_media_type(row["request_content_type"]):
        return None
    try:
        return None, bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None


def write_jsonschema(contract: Contract, out_dir: Path, *, evidence: bool = True) -> dict[str, Path]:
    """Write one JSON Schema per operation body; returns file name -> path."""
    written = {}
    for name, schema in jsonschema_format.schema_files(contract, evidence=evidence).items():
        path = out_dir / name
        write_text(path, jsonschema_format.dumps(schema))
        written[name] = path
    return written
