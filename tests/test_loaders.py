"""Contract loaders: OpenAPI 3.0/3.1 and Pact v2/v3/v4 files -> the one `Contract` model."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from recorder.contracts import openapi as openapi_format
from recorder.contracts import pact as pact_format
from recorder.contracts.load import load_contract
from recorder.contracts.pact_paths import parse as parse_pact_path
from recorder.contracts.pact_read import path_template
from recorder.errors import ContractError
from recorder.model import Body, Contract, Evidence, Operation, Parameter, Response

DATA = Path(__file__).parent / "data" / "contracts"
SPECS = Path(__file__).parent / "apis" / "specs"


def schema_of(op: Operation, status: str, media: str = "application/json") -> dict[str, Any]:
    response = next(r for r in op.responses if r.status == status)
    body = next(b for b in response.bodies if b.media_type == media)
    assert body.schema_ is not None
    return body.schema_


def param(op: Operation, name: str, location: str) -> Parameter:
    return next(p for p in op.parameters if p.name == name and p.location == location)


def all_schemas(contract: Contract) -> list[dict[str, Any]]:
    out = []
    for op in contract.operations:
        out += [p.schema_ for p in op.parameters]
        out += [b.schema_ for b in op.request_bodies if b.schema_ is not None]
        for r in op.responses:
            out += [h.schema_ for h in r.headers]
            out += [b.schema_ for b in r.bodies if b.schema_ is not None]
    return out


def keys_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


def without(value: Any, keys: tuple[str, ...] = ("x-evidence", "examples")) -> Any:
    if isinstance(value, dict):
        return {k: without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [without(v, keys) for v in value]
    return value


def assert_examples_validate(contract: Contract) -> None:
    """Every body example of the contract is valid against the body's own schema."""
    for op in contract.operations:
        bodies = list(op.request_bodies) + [b for r in op.responses for b in r.bodies]
        for body in bodies:
            if body.schema_ is not None and body.example is not None:
                Draft202012Validator.check_schema(body.schema_)
                errors = list(Draft202012Validator(body.schema_).iter_errors(body.example))
                assert not errors, f"{op.key} {body.media_type}: {errors[0].message}"


# ---------------------------------------------------------------------------------------------------------
# OpenAPI 3.0


@pytest.fixture(scope="module")
def users() -> Contract:
    return load_contract(DATA / "users-3.0.yaml")


def test_openapi_30_operations_sorted_with_server_base_path(users: Contract) -> None:
    assert [op.key for op in users.operations] == [
        "GET /v1/categories",
        "GET /v1/users",
        "POST /v1/users",
        "GET /v1/users/{userId}",
    ]
    assert users.title == "Users API" and users.version == "2.1.0"
    # server variables take their defaults; the base path lives in the templates, the origins in servers
    assert users.servers == ("https://api.example.com", "https://sandbox.example.com")
    assert users.source.endswith("users-3.0.yaml")


def test_openapi_30_path_level_parameters_merged_operation_level_wins(users: Contract) -> None:
    op = users.operation("get", "/v1/users/{userId}")
    assert op is not None
    assert [(p.location, p.name) for p in op.parameters] == [
        ("path", "userId"),
        ("query", "verbose"),
        ("header", "X-Tenant"),
    ]
    assert param(op, "userId", "path").schema_ == {"type": "integer", "format": "int64"}
    verbose = param(op, "verbose", "query")
    assert verbose.required is True
    # YAML 1.2 scalars: `yes`/`no` and dates stay strings
    assert verbose.schema_ == {"type": "string", "enum": ["yes", "no"], "default": "2024-01-01"}
    assert param(op, "X-Tenant", "header").required is True
    assert op.deprecated is True and op.operation_id == "getUser"


def test_openapi_30_keywords_become_2020_12(users: Contract) -> None:
    op = users.operation("get", "/v1/users")
    assert op is not None and op.summary == "List users" and op.operation_id == "listUsers"
    # `Accept` header parameters are ignored, as OpenAPI says; boolean exclusiveMinimum becomes a number
    assert [p.name for p in op.parameters] == ["limit"]
    assert op.parameters[0].schema_ == {"type": "integer", "exclusiveMinimum": 0, "maximum": 100}
    user = schema_of(op, "200")["items"]
    props = user["properties"]
    assert props["email"] == {"type": ["string", "null"], "format": "email"}
    assert props["nickname"] == {"type": ["string", "null"]}  # `example` dropped
    assert props["role"] == {"type": ["string", "null"], "enum": ["admin", "member", None]}
    assert props["labels"] == {"type": "object", "additionalProperties": {"type": "string"}}
    # nullable + allOf[$ref]: the referenced object, or null
    assert props["manager"]["type"] == ["object", "null"]
    assert props["manager"]["required"] == ["name"]


def test_openapi_30_all_of_merged(users: Contract) -> None:
    op = users.operation("get", "/v1/users/{userId}")
    assert op is not None
    user = schema_of(op, "200")
    assert "allOf" not in user
    assert user["type"] == "object"
    assert user["description"] == "A user of the system."
    assert set(user["required"]) == {"name", "id", "createdAt"}
    assert set(user["properties"]) == {
        "name", "email", "address", "id", "createdAt", "nickname", "role", "labels", "manager",
    }  # fmt: skip


def test_openapi_30_relative_file_refs(users: Contract) -> None:
    op = users.operation("post", "/v1/users")
    assert op is not None
    address = op.request_bodies[0].schema_["properties"]["address"]  # ./schemas/address.json
    assert address["required"] == ["city"]
    assert address["additionalProperties"] is False
    assert address["properties"]["zip"] == {"type": "string", "pattern": "^[0-9]{5}$"}
    problem = schema_of(op, "default", "application/problem+json")  # common.yaml#/components/schemas/Problem
    # a local ref inside common.yaml resolves against common.yaml
    assert problem["properties"]["errors"]["items"]["properties"]["field"] == {"type": "string"}


def test_openapi_30_recursive_schema_is_cut(users: Contract) -> None:
    op = users.operation("get", "/v1/categories")
    assert op is not None
    category = schema_of(op, "200")
    assert category["properties"]["children"] == {"type": "array", "items": {}}


def test_openapi_30_no_ref_left(users: Contract) -> None:
    for schema in all_schemas(users):
        assert not keys_in(schema) & {"$ref", "nullable", "allOf", "oneOf", "example", "discriminator"}


def test_openapi_30_bodies_responses_and_security(users: Contract) -> None:
    create = users.operation("post", "/v1/users")
    assert create is not None
    assert [b.media_type for b in create.request_bodies] == [
        "application/json",
        "application/x-www-form-urlencoded",
    ]
    assert create.request_body_required is True
    assert create.request_bodies[0].example == {"name": "Ada", "email": "ada@example.com"}
    assert [r.status for r in create.responses] == ["201", "default"]
    listing = users.operation("get", "/v1/users")
    assert listing is not None
    assert [r.status for r in listing.responses] == ["200", "4XX"]
    ok = listing.responses[0]
    assert ok.description == "A page of users."
    # Content-Type response headers are ignored (the media types say it)
    assert [(h.name, h.required, h.schema_) for h in ok.headers] == [
        ("X-Total-Count", True, {"type": "integer"})
    ]
    assert users.security_schemes == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    assert listing.security == ("bearerAuth",)  # global
    assert users.operation("get", "/v1/users/{userId}").security == ()  # `security: []`
    assert users.operation("get", "/v1/categories").security == ("apiKey", "bearerAuth")


# ---------------------------------------------------------------------------------------------------------
# OpenAPI 3.1


@pytest.fixture(scope="module")
def pets() -> Contract:
    return load_contract(DATA / "pets-3.1.json")


def test_openapi_31_type_arrays_and_one_of(pets: Contract) -> None:
    assert [op.key for op in pets.operations] == ["POST /api/pets", "GET /api/pets/{petId}"]
    assert pets.servers == ()  # a relative server URL has no origin; its path still prefixes templates
    op = pets.operation("get", "/api/pets/{petId}")
    assert op is not None
    pet = schema_of(op, "200")
    assert set(pet) == {"anyOf"}  # oneOf -> anyOf; discriminator dropped
    dog, cat = pet["anyOf"]
    assert dog["properties"]["kind"] == {"const": "dog"}
    assert dog["properties"]["name"] == {"type": ["string", "null"]}
    assert dog["properties"]["weight"] == {"type": "number", "exclusiveMinimum": 0}
    assert dog["properties"]["owner"] == {
        "type": ["object", "null"],
        "properties": {"name": {"type": "string"}},
    }
    assert cat["properties"]["lives"] == {"type": ["integer", "string"]}
    assert op.responses[0].bodies[0].example["name"] == "Rex"  # from `examples`
    assert_examples_validate(pets)


def test_openapi_31_ref_siblings_apply(pets: Contract) -> None:
    op = pets.operation("post", "/api/pets")
    assert op is not None
    body = op.request_bodies[0].schema_
    assert body["description"] == "The pet to add."
    assert len(body["anyOf"]) == 2
    assert op.responses[0].status == "204" and op.responses[0].bodies == ()


@pytest.mark.parametrize("spec", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.stem)
def test_openapi_real_world_specs_load_without_refs(spec: Path) -> None:
    contract = load_contract(spec)
    assert contract.operations
    assert "$ref" not in json.dumps([without(s) for s in all_schemas(contract)])
    keys = [(op.path, op.method) for op in contract.operations]
    assert len(keys) == len(set(keys))


# ---------------------------------------------------------------------------------------------------------
# Pact


def test_pact_paths() -> None:
    assert parse_pact_path("$.items[*].id") is not None
    assert parse_pact_path("$['a-b'][0].*") == ("a-b", 0, "*")
    assert parse_pact_path("items") is None
    assert path_template("/users/42/orders", "^/users/[0-9]+/orders$") == (
        "/users/{param1}/orders",
        [("param1", {"type": "integer"}, "[0-9]+")],
    )
    assert path_template("/a/b", r"^\/a\/[^/]+$")[0] == "/a/{param1}"
    assert path_template("/users/42", "^/users/(42|43)$")[0] == "/users/{param1}"
    assert path_template("/users/42", "^/people/[0-9]+$") == ("/users/42", [])  # does not match: kept
    assert path_template("/users/42", "^/users(/[0-9]+)$") == ("/users/42", [])  # ambiguous split: kept


def test_pact_v2() -> None:
    contract = load_contract(DATA / "pact-v2.json")
    assert (contract.consumer, contract.provider) == ("web-app", "users-api")
    # `/users/7` has no path rule but fits the integer template of `/users/42`: one operation
    assert [op.key for op in contract.operations] == ["GET /users/{param1}"]
    op = contract.operations[0]
    assert [r.status for r in op.responses] == ["200", "404"]
    assert param(op, "param1", "path").schema_ == {"type": "integer"}
    assert param(op, "verbose", "query").schema_ == {"type": "boolean"}
    assert param(op, "fields", "query").schema_ == {"type": "array", "const": ["name", "email"]}
    assert param(op, "fields", "query").required is False  # absent from the second interaction
    assert param(op, "X-Tenant", "header").schema_ == {"type": "string", "const": "acme"}
    assert not [p for p in op.parameters if p.name == "Accept"]
    ok = op.responses[0]
    assert [(h.name, h.schema_) for h in ok.headers] == [
        ("X-Request-Id", {"type": "string", "pattern": "^[a-z]+-[0-9]+$"})
    ]
    body = schema_of(op, "200")
    props = body["properties"]
    assert props["id"] == {"type": "number"}  # Pact's type matcher accepts any number
    assert props["email"] == {"type": "string", "pattern": "^[^@]+@[^@]+$"}
    assert props["createdAt"] == {"type": "string", "format": "date-time"}
    assert props["score"] == {"type": "number"}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "minItems": 1}
    assert props["kind"] == {"type": "string", "const": "person"}  # no matcher: equal
    # a type matcher on an object governs its children
    assert props["address"]["properties"]["city"] == {"type": "string"}
    assert set(body["required"]) == set(props)
    assert schema_of(op, "404")["properties"]["error"] == {"type": "string", "const": "not found"}
    assert "additionalProperties" not in keys_in(all_schemas(contract))
    assert_examples_validate(contract)


def test_pact_v3() -> None:
    contract = load_contract(DATA / "pact-v3.json")
    assert (contract.consumer, contract.provider) == ("billing", "orders-api")
    assert [op.key for op in contract.operations] == [
        "GET /orders",
        "POST /orders",
        "GET /orders/{param1}",
    ]
    listing, create, fetch = contract.operations
    assert param(listing, "page", "query").schema_ == {"type": "integer"}
    assert param(listing, "status", "query").schema_ == {"type": "string", "const": "open"}
    assert listing.security == ("bearerAuth",)
    assert contract.security_schemes == {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    body = schema_of(listing, "200")
    items = body["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, 50)
    order = items["items"]["properties"]
    assert order["id"] == {"type": "string", "format": "uuid"}  # a well-known regex reads as a format
    assert order["total"] == {"type": "integer"}
    assert order["placed"] == {"type": "string", "format": "date"}
    assert order["note"] == {"type": "null"}
    assert order["currency"] == {"type": "string"}  # the `$.items` type rule governs everything below it
    assert order["metadata"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert order["lines"]["items"]["properties"]["qty"] == {"type": "number"}
    assert body["properties"]["count"] == {"type": "number"}
    assert body["properties"]["next"] == {"type": "string", "pattern": "page="}
    request = create.request_bodies[0]
    assert create.request_body_required is True
    assert request.schema_["properties"]["express"] == {"type": "boolean"}
    assert request.schema_["properties"]["lines"]["minItems"] == 1
    created = create.responses[0]
    assert created.headers[0].name == "Location"
    assert created.headers[0].schema_ == {"type": "string", "pattern": "^/orders/[0-9]+$"}
    # two interactions of one operation: two statuses; a `$` type rule covers the whole body
    assert [r.status for r in fetch.responses] == ["200", "410"]
    assert schema_of(fetch, "200")["properties"] == {"id": {"type": "number"}, "state": {"type": "string"}}
    gone = fetch.responses[1].bodies[0]
    assert (gone.media_type, gone.schema_, gone.example) == ("text/plain", None, "gone")
    assert_examples_validate(contract)


def test_pact_v4() -> None:
    contract = load_contract(DATA / "pact-v4.json")
    assert (contract.consumer, contract.provider) == ("mobile", "catalog")
    # the message interaction is skipped
    assert [op.key for op in contract.operations] == [
        "PUT /pictures/1",
        "GET /shops/{param1}/products/{param2}",
    ]
    upload, product = contract.operations
    assert upload.request_bodies[0].media_type == "image/png"
    assert upload.request_bodies[0].schema_ is None  # base64: opaque
    assert param(product, "param1", "path").schema_ == {"type": "string", "pattern": "^[a-z-]+$"}
    assert param(product, "param2", "path").schema_ == {"type": "string", "format": "uuid"}
    assert param(product, "X-Api-Version", "header").schema_ == {"type": "string", "pattern": "^[0-9]+$"}
    props = schema_of(product, "200")["properties"]
    assert props["sku"] == {"type": "string", "const": "B-2"}  # equality beats the `$` type rule
    assert props["price"] == {"type": "number"}
    assert props["available"] == {"type": "boolean"}
    assert props["version"]["type"] == "string" and "pattern" in props["version"]
    assert props["updated"] == {"type": "string", "format": "time"}
    assert props["prices"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert props["attributes"] == {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "propertyNames": {"type": "string", "pattern": "^[a-z]+$"},
    }
    assert props["images"] == {"type": "array"}
    assert_examples_validate(contract)


def test_loading_is_deterministic() -> None:
    for name in ("users-3.0.yaml", "pets-3.1.json", "pact-v2.json", "pact-v3.json", "pact-v4.json"):
        a, b = load_contract(DATA / name), load_contract(str(DATA / name))
        assert a.model_dump_json() == b.model_dump_json()


# ---------------------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("swagger-2.0.yaml", "is Swagger 2.0, which is not supported: convert it to OpenAPI 3 first"),
        ("broken.yaml", "invalid YAML at line 9, column 3"),
        ("not-a-contract.json", "is not a contract: neither an OpenAPI document"),
        ("dangling-ref.yaml", "$ref '#/components/schemas/Thing' points nowhere"),
        ("missing.yaml", "no such file"),
        ("schemas", "is a directory"),
    ],
)
def test_errors_are_one_line_naming_the_file(name: str, expected: str) -> None:
    with pytest.raises(ContractError) as info:
        load_contract(DATA / name)
    message = str(info.value)
    assert expected in message
    assert str(DATA / name) in message
    assert "\n" not in message
    assert info.value.exit_code == 2


def test_swagger_error_says_how_to_convert() -> None:
    with pytest.raises(ContractError, match="swagger2openapi"):
        load_contract(DATA / "swagger-2.0.yaml")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.json", '{"openapi": "3.0.0",\n  "paths": {,}}', "invalid JSON at line 2, column 13"),
        ("list.yaml", "- a\n- b\n", "is not a contract: expected an OpenAPI or Pact document, found a list"),
        ("empty.yaml", "\n", "is empty"),
        ("v2.yaml", "openapi: 2.0.0\npaths: {}\n", "OpenAPI version '2.0.0' is not supported"),
        (
            "missing-file-ref.yaml",
            "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n"
            "          description: x\n          content:\n            application/json:\n"
            "              schema: {$ref: 'nowhere.yaml#/X'}\n",
            "$ref 'nowhere.yaml#/X' points nowhere: no file",
        ),
        (
            "self-ref.yaml",
            "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      parameters: [{$ref: '#/components/parameters/P'}]\n"
            "components:\n  parameters:\n    P: {$ref: '#/components/parameters/P'}\n",
            "refers to itself",
        ),
        (
            "messages.json",
            json.dumps({"consumer": {"name": "a"}, "provider": {"name": "b"}, "messages": []}),
            "is a message pact",
        ),
        (
            "body-param.yaml",
            "openapi: 3.0.0\npaths:\n  /a:\n    post:\n      parameters: [{name: b, in: body}]\n",
            "has `in: body`",
        ),
    ],
)
def test_broken_files(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"openapi: 3.0.0\n\xff\xfe\x00")
    with pytest.raises(ContractError, match="is not UTF-8 text"):
        load_contract(path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("openapi: 3.0.0\n")
    path.chmod(0)
    with pytest.raises(ContractError, match=r"cannot read .*secret\.yaml: Permission denied"):
        load_contract(path)


def test_read_error_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.yaml"
    path.write_text("openapi: 3.0.0\n")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ContractError, match=r"cannot read .*locked\.yaml: Permission denied\.$"):
        load_contract(path)


def test_yaml_alias_that_contains_itself(tmp_path: Path) -> None:
    path = tmp_path / "alias.yaml"
    path.write_text(
        "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n"
        "          content:\n            application/json:\n              schema: &s\n"
        "                type: object\n                properties:\n                  self: *s\n"
    )
    with pytest.raises(ContractError, match="nested too deeply"):
        load_contract(path)


def test_mutually_recursive_refs_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "openapi: 3.1.0\npaths:\n  /tree:\n    get:\n      responses:\n        '200':\n"
        "          description: x\n          content:\n            application/json:\n"
        "              schema: {$ref: 'b.yaml#/Node'}\n"
    )
    (tmp_path / "b.yaml").write_text(
        "Node:\n  type: object\n  properties:\n    leaf: {$ref: '#/Leaf'}\n"
        "Leaf:\n  type: object\n  properties:\n    parent: {$ref: '#/Node'}\n    name: {type: string}\n"
    )
    node = schema_of(load_contract(tmp_path / "a.yaml").operations[0], "200")
    assert node["properties"]["leaf"]["properties"] == {"parent": {}, "name": {"type": "string"}}


def test_references_reached_by_many_paths_are_expanded_once_and_shared(tmp_path: Path) -> None:
    """Each of 40 schemas refers to the next two, nullable (Stripe's shape: many ways to reach one object).

    Inlined as a tree that is ~10^8 copies of the last schema; the loader expands each reference once, shares
    the expansion and so loads it in well under a second, with every level still checked.
    """
    schemas: dict[str, Any] = {}
    for i in range(40):
        nxt = {
            f"n{j}": {"$ref": f"#/components/schemas/S{j}", "nullable": True}
            for j in (i + 1, i + 2)
            if j < 40
        }
        schemas[f"S{i}"] = {"type": "object", "properties": {"level": {"type": "integer"}, **nxt}}
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "chain", "version": "1"},
        "paths": {
            "/s": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "x",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}},
                        }
                    }
                }
            }
        },
        "components": {"schemas": schemas},
    }
    (tmp_path / "chain.json").write_text(json.dumps(doc))
    schema = schema_of(load_contract(tmp_path / "chain.json").operations[0], "200")
    node = schema
    for i in range(1, 40):  # down the longest path, S0 -> S1 -> ... -> S39
        node = node["properties"][f"n{i}"]
        assert node["type"] == ["object", "null"] and "level" in node["properties"], i
    assert "n40" not in node["properties"]
    validator = Draft202012Validator(schema)
    deep: dict[str, Any] = {"level": 39}
    for i in range(38, -1, -1):
        deep = {"level": i, f"n{i + 1}": deep}
    assert validator.is_valid(deep)
    bad = json.loads(json.dumps(deep).replace('"level": 30', '"level": "thirty"'))
    assert not validator.is_valid(bad)


# ---------------------------------------------------------------------------------------------------------
# Round trips through our own exporters


def sample_contract() -> Contract:
    ev = Evidence(count=10, total=12, first_seen="2024-05-01T00:00:00Z", consumers=("web",))
    user = {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "x-evidence": {"seen": 10, "of": 10}},
            "email": {"type": "string", "format": "email"},
            "nickname": {"type": ["string", "null"]},
            "role": {"type": ["string", "null"], "enum": ["admin", "member", None]},
            "score": {"type": ["integer", "string"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "address": {
                "type": ["object", "null"],
                "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
                "required": ["city"],
            },
        },
        "required": ["email", "id"],
    }
    error = {
        "type": "object",
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        "required": ["code"],
    }
    return Contract(
        title="users",
        version="1.2.0",
        provider="users",
        servers=("https://api.example.com",),
        security_schemes={"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        source="observed",
        operations=(
            Operation(
                method="get",
                path="/users",
                operation_id="getUsers",
                parameters=(
                    Parameter(name="limit", location="query", schema={"type": "integer"}, evidence=ev),
                    Parameter(name="X-Tenant", location="header", required=True, schema={"type": "string"}),
                ),
                responses=(
                    Response(
                        status="200",
                        description="OK",
                        headers=(Parameter(name="X-Total", location="header", schema={"type": "integer"}),),
                        bodies=(
                            Body(
                                media_type="application/json",
                                schema={"type": "array", "items": user},
                                example=[{"id": 1, "email": "a@b.io"}],
                                evidence=ev,
                            ),
                        ),
                        evidence=ev,
                    ),
                    Response(
                        status="4XX",
                        description="Client error",
                        bodies=(Body(media_type="application/problem+json", schema=error),),
                    ),
                ),
                security=("bearerAuth",),
                evidence=ev,
            ),
            Operation(
                method="post",
                path="/users",
                summary="Create a user",
                request_bodies=(
                    Body(media_type="application/json", schema=user),
                    Body(media_type="text/csv", schema=None),
                ),
                request_body_required=True,
                responses=(
                    Response(status="201", description="Created", bodies=(Body(media_type="application/json", schema=user),)),
                    Response(status="default", description="Error", bodies=(Body(media_type="application/json", schema=error),)),
                ),
                deprecated=True,
            ),
            Operation(
                method="get",
                path="/users/{userId}",
                parameters=(Parameter(name="userId", location="path", required=True, schema={"type": "integer"}),),
                responses=(
                    Response(status="200", description="OK", bodies=(Body(media_type="application/json", schema=user),)),
                    Response(status="404", description="Not found", bodies=(Body(media_type="application/json", schema=error),)),
                ),
            ),
        ),
    )  # fmt: skip


def comparable(contract: Contract) -> dict[str, Any]:
    data = contract.model_dump(mode="json", by_alias=True)
    data.pop("source")
    return without(data)


@pytest.mark.parametrize("version", ["3.0", "3.1"])
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_openapi_round_trip(tmp_path: Path, version: str, suffix: str) -> None:
    original = sample_contract()
    doc = openapi_format.to_openapi(original, version=version)
    assert "components" in doc and doc["components"].get("schemas")  # shared shapes became $refs
    path = tmp_path / f"users{suffix}"
    path.write_text(openapi_format.dumps(doc, path))
    loaded = load_contract(path)
    assert [op.key for op in loaded.operations] == [op.key for op in original.operations]
    for a, b in zip(original.operations, loaded.operations, strict=True):
        assert [(p.name, p.location, p.required, p.schema_) for p in a.parameters] == [
            (p.name, p.location, p.required, p.schema_) for p in b.parameters
        ]
        assert [r.status for r in a.responses] == [r.status for r in b.responses]
    assert loaded.provider is None  # OpenAPI has no provider field
    assert comparable(loaded) == comparable(original.model_copy(update={"provider": None}))


def test_openapi_round_trip_of_an_observed_contract(tmp_path: Path) -> None:
    from recorder.learn.observed import ObservedOptions, contract_from_summaries
    from recorder.learn.summaries import summarize_exchanges
    from recorder.model import Exchange

    def exchanges():
        for i in range(1, 25):
            body = {
                "id": i,
                "name": f"user{i}",
                "created": "2024-05-01T10:00:00Z",
                "nick": None if i % 2 else f"n{i}",
                "tags": ["a", "b"][: i % 3],
                "address": {"city": "Paris", "zip": "75001"},
            }
            yield Exchange(
                uid=f"u{i}", started=1_700_000_000.0 + i, consumer="web", provider="users", method="GET",
                host="api.local", port=80, path=f"/users/{i}", query={"expand": ["true"]},
                request_headers=[("Authorization", "Bearer x.y.z")], status=200 if i % 6 else 404,
                response_content_type="application/json",
                response_body=json.dumps(body if i % 6 else {"error": "missing"}).encode(),
            )  # fmt: skip

    summaries = summarize_exchanges(exchanges()).values()
    original = contract_from_summaries(
        summaries, ObservedOptions(provider="users"), provider="users", servers=("http://api.local",)
    ).contract
    for version in ("3.0", "3.1"):
        path = tmp_path / f"observed-{version}.yaml"
        path.write_text(openapi_format.dumps(openapi_format.to_openapi(original, version=version), path))
        loaded = load_contract(path)
        expected = comparable(original.model_copy(update={"provider": None}))
        for op in expected["operations"]:
            for p in op["parameters"]:
                if p["location"] == "path":
                    p["evidence"] = None  # the exporter leaves path parameters without evidence
        assert comparable(loaded) == expected


def pact_examples() -> dict[tuple[str, str, str], pact_format.Example]:
    def example(
        path: str, status: int, body: Any, request_body: Any = None, query=None
    ) -> pact_format.Example:
        return pact_format.Example(
            path=path,
            query=query or {},
            request_headers={},
            request_body=request_body,
            request_content_type="application/json" if request_body is not None else None,
            status=status,
            response_headers={},
            response_body=body,
            response_content_type="application/json",
        )

    user = {
        "id": 7,
        "email": "a@b.io",
        "nickname": None,
        "role": "admin",
        "score": 3,
        "tags": ["x"],
        "labels": {"team": "core"},
        "address": {"city": "Paris", "zip": "75001"},
    }
    return {
        ("get", "/users", "200"): example("/users", 200, [user], query={"limit": ["10"]}),
        ("post", "/users", "201"): example("/users", 201, user, request_body={"id": 7, "email": "a@b.io"}),
        ("get", "/users/{userId}", "200"): example("/users/7", 200, user),
        ("get", "/users/{userId}", "404"): example("/users/8", 404, {"code": 404, "message": "no user 8"}),
    }


@pytest.mark.parametrize("version", [3, 4])
def test_pact_round_trip(tmp_path: Path, version: int) -> None:
    original = sample_contract()
    pact = pact_format.to_pact(original, "web", pact_examples(), version=version)
    path = tmp_path / pact_format.pact_file_name("web", "users")
    path.write_text(pact_format.dumps(pact))
    loaded = load_contract(path)
    assert (loaded.consumer, loaded.provider, loaded.version) == ("web", "users", "1.2.0")
    assert [op.key for op in loaded.operations] == [op.key for op in original.operations]
    listing, create, fetch = loaded.operations
    assert [r.status for r in listing.responses] == ["200"]
    assert [r.status for r in create.responses] == ["201"]
    assert [r.status for r in fetch.responses] == ["200", "404"]
    # the path template and its parameter come back from the path regex (and the description's names)
    assert fetch.parameters == (
        Parameter(name="userId", location="path", required=True, schema={"type": "integer"}),
    )
    assert param(listing, "limit", "query").schema_ == {"type": "integer"}
    user = schema_of(fetch, "200")
    # what the consumer relies on: required, non-null fields; types and formats, not values
    assert set(user["required"]) == {"id", "email"}
    assert user["properties"] == {"id": {"type": "integer"}, "email": {"type": "string", "format": "email"}}
    assert schema_of(listing, "200")["items"] == user
    assert schema_of(fetch, "404") == {
        "type": "object",
        "properties": {"code": {"type": "integer"}},
        "required": ["code"],
    }
    # our exporter puts no matching rules on request bodies: they are expected verbatim
    assert create.request_bodies[0].schema_["properties"]["id"] == {"type": "integer", "const": 7}
    assert_examples_validate(loaded)
