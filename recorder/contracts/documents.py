"""Read a JSON or YAML contract file into plain data, with one-line errors that name the file.

YAML is read with the YAML 1.2 core rules for scalars: `2024-05-01`, `yes`, `on` and `12:30` stay strings
(PyYAML's YAML 1.1 defaults would turn them into dates, booleans and sexagesimal integers), and mapping keys
always become strings (`200:` -> `"200"`), as they are in JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from recorder.errors import ContractError

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when it is there


class _Loader(_SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars (no timestamps, no yes/no booleans, no base 60)."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in (
            "tag:yaml.org,2002:timestamp",
            "tag:yaml.org,2002:bool",
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
        )
    ]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def read_document(path: Path) -> Any:
    """The parsed content of a JSON or YAML file; `ContractError` when it is missing, unreadable or broken."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ContractError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise ContractError(f"{path} is a directory, not a contract file.") from None
    except OSError as exc:
        raise ContractError(f"cannot read {path}: {exc.strerror or exc}.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ContractError(
            f"{path} is not UTF-8 text (bad byte at offset {exc.start}): a contract is a JSON or YAML file."
        ) from None
    if not text.strip():
        raise ContractError(f"{path} is empty: expected an OpenAPI document or a Pact file.")
    is_json = path.suffix.lower() == ".json"
    if is_json or text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if is_json:
                raise ContractError(
                    f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}."
                ) from None
        except RecursionError:
            raise ContractError(f"{path}: JSON nested too deeply to read.") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ContractError(f"{path}: invalid YAML{where}: {problem}.") from None
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: invalid YAML: {' '.join(str(exc).split())}.") from None
    except RecursionError:
        raise ContractError(f"{path}: YAML nested too deeply to read.") from None
    return _plain(data, {})


def _plain(value: Any, memo: dict[int, Any]) -> Any:
    """JSON-like data: string keys everywhere; shared YAML aliases converted once."""
    if isinstance(value, dict):
        if id(value) in memo:
            return memo[id(value)]
        out: dict[str, Any] = {}
        memo[id(value)] = out
        for key, sub in value.items():
            out[_key(key)] = _plain(sub, memo)
        return out
    if isinstance(value, list):
        if id(value) in memo:
            return memo[id(value)]
        items: list[Any] = []
        memo[id(value)] = items
        items.extend(_plain(sub, memo) for sub in value)
        return items
    if isinstance(value, bytes):  # !!binary
        return value.decode("latin-1")
    return value


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)
