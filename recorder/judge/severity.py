"""How severe each kind of difference is: the one table every judgement uses, and the rules that adjust it.

Drift (traffic against a contract), single exchanges (the stub, the pytest plugin, replay) and diff (a contract
against an older one) all take their severities from here, so the same difference is judged alike everywhere.
"""

from __future__ import annotations

from recorder.model import Finding, Severity

# traffic (or one exchange) against a contract
DRIFT: dict[str, Severity] = {
    "operation-undocumented": "warning",
    "operation-unobserved": "info",
    "status-undocumented": "warning",
    "content-type-undocumented": "warning",
    "field-missing": "breaking",
    "field-undocumented": "info",
    "field-not-allowed": "breaking",
    "type-mismatch": "breaking",
    "null-violation": "breaking",
    "format-mismatch": "breaking",
    "enum-violation": "breaking",
    "const-mismatch": "breaking",
    "pattern-mismatch": "breaking",
    "range-violation": "breaking",
    "parameter-undocumented": "warning",
    "parameter-missing": "breaking",
    "request-body-undocumented": "warning",
    "request-body-missing": "breaking",
    "consumer-version": "info",  # which contract versions a consumer's traffic conforms to
}

# a new contract against an old one (oasdiff's classes)
DIFF: dict[str, Severity] = {
    "operation-removed": "breaking",
    "operation-added": "info",
    "status-removed": "breaking",
    "status-added": "info",
    "content-type-removed": "breaking",
    "content-type-added": "info",
    "request-body-became-required": "breaking",
    "parameter-added-required": "breaking",
    "parameter-became-required": "breaking",
    "parameter-added": "info",
    "parameter-removed": "warning",
    "field-removed": "breaking",
    "request-field-removed": "warning",
    "field-became-optional": "breaking",
    "field-became-required": "breaking",
    "field-added-required": "breaking",
    "field-added": "info",
    "type-changed": "breaking",
    "nullable-added": "breaking",
    "nullable-removed": "info",
    "format-changed": "breaking",
    "format-added": "info",
    "format-removed": "info",
    "enum-value-removed": "breaking",
    "enum-value-added": "breaking",
    "enum-value-added-response": "warning",
    "enum-value-removed-request": "warning",
    "pattern-changed": "warning",
    "deprecated": "info",
}

# replayed requests: what only a replay can show
REPLAY: dict[str, Severity] = {
    "replay-failed": "breaking",  # no answer at all (connection refused, timeout)
    "server-error": "breaking",  # a 5xx where the recorded request was answered without one
    "status-changed": "warning",  # another documented status than the recorded one (data differs, say)
}

REQUEST_SIDE = (
    "query:",
    "header:",
    "cookie:",
    "path:",
    "request",
)  # locations of problems in what the consumer sent


def severity(kind: str) -> Severity:
    """The severity of a kind of finding (any of drift, diff and replay)."""
    for table in (DRIFT, DIFF, REPLAY):
        if kind in table:
            return table[kind]
    raise KeyError(f"unknown finding kind {kind!r}")


def is_request_side(location: str) -> bool:
    """Is this location in the request (query, headers, path parameters, body) rather than the response?"""
    return location.startswith(REQUEST_SIDE)


def rejected(finding: Finding, requests: str = "these requests") -> Finding:
    """A request-side problem the provider refused with a 4xx is a warning: the consumer sent what the contract
    forbids, and the provider held to the contract by refusing it."""
    if finding.severity != "breaking" or not is_request_side(finding.location):
        return finding
    message = f"{finding.message} (the provider rejected {requests} with 4xx)"
    return finding.model_copy(update={"severity": "warning", "message": message})


def is_failure(finding: Finding) -> bool:
    """Breaking findings fail checks; warnings and info do not."""
    return finding.severity == "breaking"
