"""Versioned snapshots of the observed contract, stored in the database, bumped by the diff rules.

breaking changes -> major, additions or other contract changes -> minor, evidence-only changes -> patch.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from recorder.common.times import iso
from recorder.errors import RecorderError
from recorder.judge.diff import bump, diff_contracts, version_bump
from recorder.learn.observed import Observed, ObservedOptions, observed_contract
from recorder.model import Contract, Snapshot

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


def snapshots(db: sqlite_utils.Database, provider: str) -> list[StoredSnapshot]:
    """All snapshots of a provider, oldest first."""
    rows = db.query("SELECT * FROM snapshots WHERE provider = ? ORDER BY id", [provider])
    return [_row_to_snapshot(r) for r in rows]


def latest(db: sqlite_utils.Database, provider: str) -> StoredSnapshot | None:
    """The newest snapshot of a provider, if any."""
    rows = list(db.query("SELECT * FROM snapshots WHERE provider = ? ORDER BY id DESC LIMIT 1", [provider]))
    return _row_to_snapshot(rows[0]) if rows else None


def by_version(db: sqlite_utils.Database, provider: str, version: str) -> StoredSnapshot:
    """The snapshot of this version; a clear error listing the known versions otherwise."""
    rows = list(db.query("SELECT * FROM snapshots WHERE provider = ? AND version = ?", [provider, version]))
    if not rows:
        known = (
            ", ".join(s.meta.version for s in snapshots(db, provider)) or "none yet (see 'recorder snapshot')"
        )
        raise RecorderError(f"no snapshot {version!r} of {provider} (versions: {known}).")
    return _row_to_snapshot(rows[0])


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


def current_version(db: sqlite_utils.Database, observed: Observed) -> str:
    """The version to print on a fresh export: the latest snapshot's if nothing changed, else `<next>-draft`."""
    prev = latest(db, observed.contract.provider or "")
    if prev is None:
        return DRAFT_VERSION
    change = pending_change(prev, observed.contract)
    return prev.meta.version if change.level == "none" else f"{change.version}-draft"


def take_snapshot(
    db: sqlite_utils.Database, options: ObservedOptions, version: str | None = None
) -> tuple[Snapshot, bool]:
    """Store the current observed contract as a new version (unless nothing changed); returns (snapshot, stored)."""
    observed = observed_contract(db, options)
    provider = observed.contract.provider or ""
    prev = latest(db, provider)
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
    try:
        with db.atomic():
            db.execute(
                "INSERT INTO snapshots (provider, version, created_at, bump, reasons, operations, exchanges, contract)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    provider,
                    new_version,
                    time.time(),
                    change.level,
                    json.dumps(list(change.reasons)),
                    len(contract.operations),
                    exchanges,
                    json.dumps(payload, separators=(",", ":")),
                ],
            )
    except Exception as exc:  # sqlite3.IntegrityError: the version exists
        if "UNIQUE" in str(exc):
            raise RecorderError(f"a snapshot {new_version!r} of {provider} already exists.") from None
        raise
    return by_version(db, provider, new_version).meta, True
