"""The scorer of the evaluation harness (tests/apis/score.py): each kind of damage lowers the right metric."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apis.degrade import degrade
from apis.oas import load_spec, spec_paths
from apis.score import JUDGED, flatten, normalize_template, score


def published() -> dict:
    """A small spec with the shapes that matter: ids, a list envelope, a map, a union, formats, enums."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.com/api/v1"}],
        "paths": {
            "/users/{userId}": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}
                        },
                        "404": {"$ref": "#/components/responses/NotFound"},
                    }
                },
                "delete": {"responses": {"204": {"description": "gone"}, "404": {"description": "no"}}},
            },
            "/users": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["data", "has_more"],
                                        "properties": {
                                            "data": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/User"},
                                            },
                                            "has_more": {"type": "boolean"},
                                            "counts": {
                                                "type": "object",
                                                "additionalProperties": {"type": "integer"},
                                            },
                                        },
                                    }
                                }
                            }
                        }
                    }
                }
            },
            "/users/search": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {
                                            "oneOf": [
                                                {"$ref": "#/components/schemas/User"},
                                                {
                                                    "type": "object",
                                                    "required": ["id", "bot"],
                                                    "properties": {
                                                        "id": {"type": "integer"},
                                                        "bot": {"type": "boolean"},
                                                    },
                                                },
                                            ]
                                        },
                                    }
                                }
                            }
                        }
                    }
                }
            },
        },
        "components": {
            "responses": {
                "NotFound": {
                    "description": "no",
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"message": {"type": "string"}}}
                        }
                    },
                }
            },
            "schemas": {
                "User": {
                    "type": "object",
                    "required": ["id", "email", "role"],
                    "properties": {
                        "id": {"type": "integer", "format": "int64"},
                        "email": {"type": "string", "format": "email"},
                        "created": {"type": "string", "format": "date-time"},
                        "role": {"type": "string", "enum": ["admin", "member", "guest"]},
                        "score": {"type": "number"},
                        "nickname": {"type": "string", "nullable": True},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "password": {"type": "string", "writeOnly": True},
                    },
                }
            },
        },
    }


def user(doc: dict) -> dict:
    return doc["components"]["schemas"]["User"]


def test_self_scores_100_everywhere():
    result = score(published(), published())
    assert {k: result[k] for k in JUDGED} == dict.fromkeys(JUDGED, 1.0)
    assert result["counts"]["operations"] == {"published": 4, "exported": 4, "matched": 4}
    assert not any(result["mismatches"].values())


@pytest.mark.parametrize("path", spec_paths(), ids=lambda p: p.stem)
def test_every_bundled_spec_scores_100_against_itself(path):
    spec = load_spec(path)
    result = score(spec, spec)
    assert {k: result[k] for k in JUDGED if result[k] is not None} == {
        k: 1.0 for k in JUDGED if result[k] is not None
    }
    assert result["counts"]["fields"]["published"] > 50


def test_a_degraded_copy_lowers_every_metric_but_operation_precision():
    worse = []
    for path in spec_paths()[:4]:
        spec = load_spec(path)
        damaged, log = degrade(spec, seed=3)
        assert log
        result = score(spec, damaged)
        assert result["operation_precision"] == 1.0  # renamed path parameters do not count
        worse.append(result)
    for key in (
        "operation_recall",
        "status_recall",
        "field_recall",
        "field_f1",
        "format_recall",
        "enum_recall",
    ):
        assert min(r[key] for r in worse if r[key] is not None) < 1.0, key


def test_parameter_names_and_base_path_do_not_matter():
    export = published()
    export["servers"] = [{"url": "http://127.0.0.1:8080"}]
    export["paths"] = {"/api/v1" + k.replace("{userId}", "{id}"): v for k, v in export["paths"].items()}
    result = score(published(), export)
    assert result["operation_recall"] == result["operation_precision"] == 1.0
    assert result["field_f1"] == 1.0
    assert normalize_template("/users/{userId}/", "/api") == "/api/users/{}"


def test_a_missing_operation_lowers_operation_recall_only():
    export = published()
    del export["paths"]["/users/{userId}"]["delete"]
    result = score(published(), export)
    assert result["operation_recall"] == 3 / 4
    assert result["operation_precision"] == 1.0
    assert result["mismatches"]["operations_missing"] == ["DELETE /users/{userId}"]
    assert result["field_f1"] == 1.0


def test_a_literal_segment_taken_for_a_parameter_is_an_extra_operation():
    export = published()
    export["paths"]["/users/{name}"] = export["paths"].pop("/users/search")
    result = score(published(), export)
    assert result["operation_recall"] == 3 / 4  # /users/search is missing
    # /users/{name} GET collides with /users/{userId} GET: the second spelling of one template is unmatched
    assert result["operation_precision"] == 3 / 4


def test_a_missing_status_lowers_status_recall_and_ranges_cover_codes():
    export = published()
    del export["paths"]["/users/{userId}"]["get"]["responses"]["404"]
    result = score(published(), export)
    assert result["status_recall"] == 5 / 6
    assert result["mismatches"]["statuses_missing"] == [{"operation": "GET /users/{userId}", "status": "404"}]
    export["paths"]["/users/{userId}"]["get"]["responses"]["4XX"] = {"description": "client error"}
    assert score(published(), export)["status_recall"] == 1.0


def test_a_renamed_field_lowers_field_recall_and_precision():
    export = published()
    user(export)["properties"]["mail"] = user(export)["properties"].pop("email")
    result = score(published(), export)
    assert result["field_recall"] < 1.0
    assert result["field_precision"] < 1.0
    assert result["type_accuracy"] == 1.0
    missing = {f["field"] for f in result["mismatches"]["fields_missing"]}
    assert missing == {"/email", "/data/[]/email", "/[]/email"}


def test_write_only_properties_are_not_response_fields():
    fields = flatten(published(), {"$ref": "#/components/schemas/User"})
    assert "/password" not in fields
    assert fields["/tags"].types == frozenset({"array[string]"})
    assert fields[""].kind == "root"


def test_integer_for_number_is_a_type_mismatch():
    export = published()
    user(export)["properties"]["score"] = {"type": "integer"}
    result = score(published(), export)
    assert result["type_accuracy"] < 1.0
    assert result["field_f1"] == 1.0
    assert {m["published"] for m in result["mismatches"]["types"]} == {"number"}


def test_array_item_types_count_and_null_is_ignored_in_types():
    export = published()
    user(export)["properties"]["tags"] = {"type": "array", "items": {"type": "integer"}}
    user(export)["properties"]["nickname"] = {"type": "string"}  # not nullable: a nullability miss only
    result = score(published(), export)
    mismatched = {m["field"] for m in result["mismatches"]["types"]}
    assert "/tags" in mismatched and "/nickname" not in mismatched
    assert result["extra"]["nullable_accuracy"] < 1.0


def test_nullable_spellings_of_30_and_31_agree():
    pub = {"type": "object", "properties": {"a": {"type": "string", "nullable": True}}}
    exp = {"type": "object", "properties": {"a": {"type": ["string", "null"]}}}
    exp2 = {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}
    for other in (exp, exp2):
        a, b = flatten({}, pub)["/a"], flatten({}, other)["/a"]
        assert (a.types, a.nullable) == (b.types, b.nullable) == (frozenset({"string"}), True)


def test_required_flags_are_compared():
    export = published()
    user(export)["required"] = ["id", "email"]
    result = score(published(), export)
    assert result["required_accuracy"] < 1.0
    assert {m["field"].rsplit("/", 1)[-1] for m in result["mismatches"]["required"]} == {"role"}


def test_union_fields_merge_and_are_required_only_in_every_branch():
    fields = flatten(
        published(),
        published()["paths"]["/users/search"]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ],
    )
    assert fields["/[]/id"].required is True  # both branches require it
    assert fields["/[]/email"].required is False  # only the User branch has it
    assert fields["/[]/bot"].required is False
    assert fields[""].types == frozenset({"array[object]"})


def test_a_dropped_format_lowers_format_recall_but_int64_is_not_counted():
    export = published()
    del user(export)["properties"]["id"]["format"]
    assert score(published(), export)["format_recall"] == 1.0
    del user(export)["properties"]["created"]["format"]
    result = score(published(), export)
    assert result["format_recall"] < 1.0
    assert {m["published"][0] for m in result["mismatches"]["formats"]} == {"date-time"}


def test_enum_recall_accepts_a_subset_but_not_invented_or_unobserved_values():
    export = published()
    role = user(export)["properties"]["role"]
    role["enum"] = ["admin", "member"]  # "guest" never seen: still covers
    assert score(published(), export)["enum_recall"] == 1.0
    observed = {("GET /users/{userId}", 200): {"/role": {'"guest"'}}}
    assert score(published(), export, observed=observed)["enum_recall"] < 1.0  # seen, but left out
    role["enum"] = ["admin", "member", "guest", "root"]  # invented
    assert score(published(), export)["enum_recall"] < 1.0
    del role["enum"]
    assert score(published(), export)["enum_recall"] < 1.0


def test_a_map_learned_as_fixed_properties_misses_the_map_field():
    export = published()
    counts = export["paths"]["/users"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    counts["properties"]["counts"] = {"type": "object", "properties": {"a1": {"type": "integer"}}}
    result = score(published(), export)
    assert {"operation": "GET /users", "status": "200", "field": "/counts/*"} in result["mismatches"][
        "fields_missing"
    ]
    assert {"operation": "GET /users", "status": "200", "field": "/counts/a1"} in result["mismatches"][
        "fields_extra"
    ]


def test_swagger_2_published_against_openapi_3_export():
    swagger = {
        "swagger": "2.0",
        "basePath": "/api/v1",
        "paths": {
            "/users/{id}": {
                "get": {
                    "responses": {
                        "200": {"schema": {"$ref": "#/definitions/User"}},
                        "404": {"description": "no"},
                    }
                }
            }
        },
        "definitions": {"User": copy.deepcopy(user(published()))},
    }
    del swagger["definitions"]["User"]["properties"]["nickname"]["nullable"]
    swagger["definitions"]["User"]["properties"]["nickname"]["x-nullable"] = True
    export = published()
    result = score(swagger, export)
    assert result["operation_recall"] == 1.0
    assert result["field_recall"] == 1.0
    assert result["type_accuracy"] == 1.0


def test_recursive_schemas_terminate():
    doc = {
        "components": {
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                    },
                }
            }
        }
    }
    fields = flatten(doc, {"$ref": "#/components/schemas/Node"})
    assert set(fields) == {"", "/name", "/children", "/children/[]"}
    assert fields["/children"].types == frozenset({"array[object]"})


def test_undefined_metrics_are_none_not_perfect():
    export = published()
    export["paths"] = {}
    result = score(published(), export)
    assert result["operation_recall"] == 0.0
    assert result["operation_precision"] is None
    assert result["field_recall"] is None or result["field_recall"] == 0.0
