"""Versioned snapshots of the observed contract, stored in the database, bumped by the diff rules.

breaking changes -> major, additions or other contract changes -> minor, evidence-only changes -> patch.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from recorder.common.times import iso
from recorder.errors import RecorderError
from recorder.judge.diff import bump, diff_contracts, version_bump
from recorder.learn.observed import Observed, ObservedOptions, observed_contract, pick_provider
from recorder.learn.summaries import catch_up
from recorder.model import Contract, Snapshot
from recorder.store import Store

FIRST_VERSION = "1.0.0"
DRAFT_VERSION = "0.1.0"


@dataclass(frozen=True)
class StoredSnapshot:
    """A snapshot with the contract it froze (and the path shapes of each operation, for pact examples)."""

    meta: Snapshot
    contract: Contract
    shapes: dict[tuple[str, str], tuple[str, ...]]

    @property
    def observed(self) -> Observed:
        return Observed(self.contract, self.shapes)


def _row_to_snapshot(row: dict[str, Any]) -> StoredSnapshot:
    data = json.loads(row["contract"])
    contract = Contract.model_validate(data["contract"])
    shapes = {(m, p): tuple(s) for m, p, s in data.get("shapes", [])}
    meta = Snapshot(
        version=row["version"],
        created_at=iso(row["created_at"]) or "",
        bump=row["bump"],
        reasons=tuple(json.loads(row["reasons"])),
        operations=row["operations"],
        exchanges=row["exchanges"],
    )
    return StoredSnapshot(meta, contract, shapes)


def snapshots(store: Store, provider: str) -> list[StoredSnapshot]:
    """All snapshots of a provider, oldest first."""
    return [_row_to_snapshot(r) for r in store.snapshot_rows(provider)]


def latest(store: Store, provider: str) -> StoredSnapshot | None:
    """The newest snapshot of a provider, if any."""
    row = store.snapshot_row(provider)
    return _row_to_snapshot(row) if row else None


def by_version(store: Store, provider: str, version: str) -> StoredSnapshot:
    """The snapshot of this version; a clear error listing the known versions otherwise."""
    row = store.snapshot_row(provider, version)
    if row is None:
        known = (
            ", ".join(s.meta.version for s in snapshots(store, provider))
            or "none yet (see 'recorder snapshot')"
        )
        raise RecorderError(f"no snapshot {version!r} of {provider} (versions: {known}).")
    return _row_to_snapshot(row)


def _stripped(contract: Contract) -> str:
    """The contract without evidence and examples: what a consumer can rely on."""
    data = contract.model_dump(mode="json", by_alias=True, exclude={"version"})

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("evidence", "x-evidence", "example")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(data), sort_keys=True)


@dataclass(frozen=True)
class Change:
    """What a new snapshot would be, compared with the latest one."""

    level: str  # major | minor | patch | none | initial
    version: str
    reasons: tuple[str, ...]


def pending_change(previous: StoredSnapshot | None, current: Contract) -> Change:
    """The bump the diff rules call for between the latest snapshot and the current contract."""
    if previous is None:
        return Change("initial", FIRST_VERSION, ("first snapshot",))
    findings = diff_contracts(previous.contract, current)
    level = version_bump(findings, evidence_changed=_evidence(previous.contract) != _evidence(current))
    reasons = tuple(
        f"{f.severity}: {f.operation} {f.location} {f.message}".replace("  ", " ").strip() for f in findings
    )
    if level == "patch":
        reasons = ("evidence only: counts, first/last seen or consumers changed",)
    if level == "none" and _stripped(previous.contract) != _stripped(current):
        level, reasons = "patch", ("contract details changed without a breaking or additive change",)
    return Change(
        level, bump(previous.meta.version, level) if level != "none" else previous.meta.version, reasons
    )


def _evidence(contract: Contract) -> str:
    return json.dumps(contract.model_dump(mode="json", by_alias=True, exclude={"version"}), sort_keys=True)


def current_version(store: Store, observed: Observed) -> str:
    """The version to print on a fresh export: the latest snapshot's if nothing changed, else `<next>-draft`."""
    prev = latest(store, observed.contract.provider or "")
    if prev is None:
        return DRAFT_VERSION
    change = pending_change(prev, observed.contract)
    return prev.meta.version if change.level == "none" else f"{change.version}-draft"


def take_snapshot(
    store: Store, options: ObservedOptions, version: str | None = None
) -> tuple[Snapshot, bool]:
    """Store the current observed contract as a new version (unless nothing changed); returns (snapshot, stored)."""
    observed = observed_contract(store, options)
    provider = observed.contract.provider or ""
    prev = latest(store, provider)
    change = pending_change(prev, observed.contract)
    if change.level == "none" and version is None:
        assert prev is not None
        return prev.meta, False
    new_version = version or change.version
    contract = observed.contract.model_copy(update={"version": new_version})
    exchanges = sum(op.evidence.count for op in contract.operations if op.evidence)
    payload = {
        "contract": contract.model_dump(mode="json", by_alias=True),
        "shapes": [[m, p, list(s)] for (m, p), s in sorted(observed.shapes.items())],
    }
    stored = store.add_snapshot(
        {
            "provider": provider,
            "version": new_version,
            "created_at": time.time(),
            "bump": change.level,
            "reasons": json.dumps(list(change.reasons)),
            "operations": len(contract.operations),
            "exchanges": exchanges,
            "contract": json.dumps(payload, separators=(",", ":")),
        }
    )
    if not stored:
        raise RecorderError(f"a snapshot {new_version!r} of {provider} already exists.")
    return by_version(store, provider, new_version).meta, True


def resolve(store: Store, options: ObservedOptions, snapshot: str | None = None) -> Observed:
    """The contract to export: a stored snapshot (`--version`), else the current observed contract, versioned
    as the latest snapshot when nothing changed since, or as the next version with `-draft`."""
    if snapshot is not None:
        catch_up(store)
        return by_version(store, pick_provider(store, options.provider), snapshot).observed
    observed = observed_contract(store, options)
    version = current_version(store, observed)
    return Observed(observed.contract.model_copy(update={"version": version}), observed.shapes)
