"""contract-recorder: learn API contracts from recorded HTTP traffic.

The library API; the `recorder` command line and the pytest plugin are its clients.

```python
import recorder

with recorder.record("http://127.0.0.1:8000", "traffic.db") as proxy:   # consumers call proxy.url
    ...
recorder.export_openapi("traffic.db", "openapi.yaml")
report = recorder.drift("traffic.db", "openapi.yaml")                      # a Report of Findings
print(recorder.render(report, "markdown"))
report = recorder.replay("traffic.db", "http://127.0.0.1:9000", contract="openapi.yaml")
with recorder.stub("openapi.yaml") as stub:                                # stub.url for consumer tests
    ...
```

`db` arguments take a database path (or an open `recorder.store.Store`); `contract` arguments a contract
file (OpenAPI or Pact) or a loaded `Contract`. Errors a user can cause raise `RecorderError` with a one-line
message. Everything is imported on first use, so `import recorder` stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recorder.capture.proxy import BackgroundProxy
    from recorder.learn.observed import ObservedOptions
    from recorder.model import Contract, Report
    from recorder.store import Store
    from recorder.verify.stub import RunningStub

from recorder.version import __version__


def record(upstream: str, db: str | Path, **options: Any) -> BackgroundProxy:
    """Run the recording proxy in front of `upstream` on a background thread (127.0.0.1, any free port);
    use it as a context manager, and send consumers to its `.url`. `options` are `ProxyConfig` fields
    (`listen_port`, `provider`, `consumer_header`, `mode`, `contract`, `follow`, ...)."""
    from recorder.capture.proxy import BackgroundProxy, ProxyConfig

    options.setdefault("listen_port", 0)
    return BackgroundProxy(ProxyConfig(db=Path(db), upstream=upstream, **options))


def import_traffic(files: Sequence[str | Path], db: str | Path, **options: Any) -> dict[str, Any]:
    """Import HAR and mitmproxy flow files into `db`, through the same redaction as the proxy; returns the
    counters (recorded, dropped, per file). `options`: provider, consumer_header, max_body, redact, workers,
    config (a recorder.toml)."""
    from recorder.capture.imports import import_files
    from recorder.config import load_settings

    settings = load_settings(options.pop("config", None))
    return import_files(Path(db), [Path(f) for f in files], settings, **options)


def load_contract(path: str | Path) -> Contract:
    """An OpenAPI (3.0/3.1) or Pact (v2-v4) file as the internal `Contract`."""
    from recorder.contracts.load import load_contract as load

    return load(path)


def observed_contract(
    db: Any, *, provider: str | None = None, config: str | Path | None = None, snapshot: str | None = None
) -> Contract:
    """The contract learned from the traffic in `db` (or a stored snapshot of it), with its evidence."""
    with _opened(db) as store:
        return _resolve(store, _options(config, provider), snapshot).contract


def export_openapi(
    db: Any,
    out: str | Path,
    *,
    provider: str | None = None,
    openapi_version: str = "3.1",
    evidence: bool = True,
    examples: bool = True,
    snapshot: str | None = None,
    config: str | Path | None = None,
    options: ObservedOptions | None = None,
) -> Contract:
    """Write the observed contract (or a snapshot) as OpenAPI, YAML or JSON by extension; returns it."""
    from recorder.contracts.export import check_openapi_path, write_openapi

    check_openapi_path(Path(out))
    options = options or _options(config, provider, evidence)
    with _opened(db) as store:
        contract = _resolve(store, options, snapshot).contract
    write_openapi(
        contract, Path(out), version=openapi_version, evidence=options.thresholds.evidence, examples=examples
    )
    return contract


def export_pacts(
    db: Any,
    out_dir: str | Path,
    *,
    provider: str | None = None,
    pact_version: int = 3,
    consumer: str | None = None,
    snapshot: str | None = None,
    config: str | Path | None = None,
    options: ObservedOptions | None = None,
) -> dict[str, Path]:
    """Write one Pact file per consumer of the observed contract; returns consumer -> file."""
    from recorder.contracts.export import write_pacts

    with _opened(db) as store:
        observed = _resolve(store, options or _options(config, provider), snapshot)
        return write_pacts(store, observed, Path(out_dir), version=pact_version, consumer=consumer)


def export_jsonschema(
    db: Any,
    out_dir: str | Path,
    *,
    provider: str | None = None,
    evidence: bool = True,
    snapshot: str | None = None,
    config: str | Path | None = None,
    options: ObservedOptions | None = None,
) -> dict[str, Path]:
    """Write one JSON Schema per operation body; returns file name -> path."""
    from recorder.contracts.export import write_jsonschema

    options = options or _options(config, provider, evidence)
    with _opened(db) as store:
        contract = _resolve(store, options, snapshot).contract
    return write_jsonschema(contract, Path(out_dir), evidence=options.thresholds.evidence)


def drift(
    db: Any,
    contract: Any,
    *,
    since: float | None = None,
    until: float | None = None,
    consumer: str | None = None,
    provider: str | None = None,
    fail_on: str = "breaking",
) -> Report:
    """The recorded traffic (of a window: epoch seconds, one consumer) judged against a contract."""
    from recorder.judge.runs import run_drift
    from recorder.store import Window

    loaded, name = _contract(contract)
    with _opened(db) as store:
        return run_drift(
            store,
            loaded,
            contract_name=name,
            db_name=store.name,
            window=Window(since, until, consumer),
            provider=provider,
            fail_on=fail_on,
        )


def diff(old: Any, new: Any, *, fail_on: str = "breaking") -> Report:
    """Two contracts compared, classified like oasdiff's checks, with the version bump they call for."""
    from recorder.judge.runs import run_diff

    (old_contract, old_name), (new_contract, new_name) = _contract(old), _contract(new)
    return run_diff(old_contract, new_contract, old_name=old_name, new_name=new_name, fail_on=fail_on)


def replay(
    db: Any,
    target: str,
    *,
    contract: Any = None,
    provider: str | None = None,
    fail_on: str = "breaking",
    **options: Any,
) -> Report:
    """Re-send recorded requests to a provider build at `target` and judge its answers against `contract`
    (default: the contract observed in `db`). `options` are `ReplayOptions` fields (sample, consumer,
    operation, since, until, include_unsafe, headers, concurrency, rate, timeout)."""
    from recorder.judge.runs import choose_provider
    from recorder.verify.replay import ReplayOptions, replay_report
    from recorder.verify.replay import replay as run

    with _opened(db) as store:
        if contract is None:
            loaded = _resolve(store, _options(None, provider), None).contract
            name = f"the contract observed in {store.name}"
        else:
            loaded, name = _contract(contract)
        chosen = choose_provider(store, loaded, provider)
        result = run(store, chosen, loaded, ReplayOptions(target=target, **options))
        return replay_report(result, target=target, documented=name, database=store.name, fail_on=fail_on)


def stub(
    contract: Any = None, *, db: Any = None, port: int = 0, host: str = "127.0.0.1", seed: int = 0
) -> RunningStub:
    """A stub provider of a contract (or of the contract learned from `db`) serving on a background thread:
    `with recorder.stub("openapi.yaml") as s: httpx.get(s.url + "/users/1")`."""
    from recorder.errors import RecorderError
    from recorder.verify.stub import start_stub, stub_from_db

    if (contract is None) == (db is None):
        raise RecorderError("give exactly one of a contract or a database to stub.")
    return start_stub(stub_from_db(db, seed=seed) if db is not None else contract, host, port, seed)


def render(report: Report, fmt: str = "text") -> str:
    """A report as text, markdown, json, junit or html."""
    from recorder.report import render as run

    return run(report, fmt)


# ---------------------------------------------------------------------------------------------------------


@contextmanager
def _opened(db: Any) -> Iterator[Store]:
    from recorder.store import Store, open_store

    if isinstance(db, Store):
        yield db
        return
    store = open_store(db)
    try:
        yield store
    finally:
        store.close()


def _options(config: str | Path | None, provider: str | None, evidence: bool = True) -> ObservedOptions:
    from recorder.config import load_settings
    from recorder.learn.observed import ObservedOptions

    settings = load_settings(Path(config) if config else None)
    return ObservedOptions.from_settings(settings, provider=provider, evidence=evidence)


def _resolve(store: Store, options: ObservedOptions, snapshot: str | None) -> Any:
    from recorder.health.history import resolve

    return resolve(store, options, snapshot)


def _contract(contract: Any) -> tuple[Contract, str]:
    from recorder.model import Contract

    if isinstance(contract, Contract):
        return contract, contract.title
    return load_contract(contract), str(contract)


__all__ = [
    "__version__",
    "diff",
    "drift",
    "export_jsonschema",
    "export_openapi",
    "export_pacts",
    "import_traffic",
    "load_contract",
    "observed_contract",
    "record",
    "render",
    "replay",
    "stub",
]
