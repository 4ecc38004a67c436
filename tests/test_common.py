"""The shared answers every room uses: JSON value types, text typing, routes, schema types, times."""

from __future__ import annotations

import math

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder.common.http import header, is_json_media_type, media_type
from recorder.common.jsonvalues import NOT_JSON, json_body, json_type, type_accepts, typed_value
from recorder.common.routes import Routes, path_parameters
from recorder.common.schemas import merge_all_of, schema_types
from recorder.common.times import iso, parse_duration, parse_time
from recorder.errors import RecorderError
from recorder.model import Operation


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "null"), (True, "boolean"), (False, "boolean"), (0, "integer"), (-7, "integer"),
        (1.0, "integer"), (-2.0, "integer"), (1.5, "number"), (float("nan"), "number"), (float("inf"), "number"),
        (2.0**53, "integer"), (1e300, "integer"), (2**70, "integer"), ("1", "string"), ([], "array"), ({}, "object"),
    ],
)  # fmt: skip
def test_one_answer_to_what_type_a_json_value_has(value, kind):
    assert json_type(value) == kind


@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers()))
def test_integers_are_what_json_schema_calls_integers(value):
    """JSON Schema: a number with a zero fractional part is an integer; we say the same, everywhere."""
    is_integer = jsonschema.Draft202012Validator({"type": "integer"}).is_valid(value)
    assert (json_type(value) == "integer") == is_integer


def test_a_number_schema_accepts_integers_and_not_the_other_way():
    assert type_accepts({"number"}, "integer")
    assert not type_accepts({"integer"}, "number")
    assert not type_accepts({"string"}, "integer")


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), ("-3", -3), ("0", 0), ("007", "007"), ("1.5", 1.5), ("true", True), ("false", False),
     ("True", "True"), ("12345678901234567", "12345678901234567"), ("1e3", "1e3"), ("", ""), ("abc", "abc")],
)  # fmt: skip
def test_query_text_is_typed_the_same_way_everywhere(text, value):
    assert typed_value(text) == value and type(typed_value(text)) is type(value)


def test_json_bodies_parse_only_when_they_are_json_and_whole():
    assert json_body(b'{"a": 1}', "application/json; charset=utf-8") == {"a": 1}
    assert json_body(b'{"a": 1}', "application/problem+json") == {"a": 1}
    assert json_body(b'{"a": 1}', "text/plain") is NOT_JSON
    assert json_body(b'{"a": 1', "application/json") is NOT_JSON
    assert json_body(b'{"a": 1}', "application/json", truncated=True) is NOT_JSON
    assert json_body(b"null", "application/json") is None
    assert json_body(None, "application/json", default=None) is None
    assert math.isnan(json_body(b"NaN", "application/json"))  # the standard library's leniency


def test_headers_and_media_types():
    headers = [("Content-Type", "Application/JSON; charset=utf-8"), ("X-A", "1"), ("x-a", "2")]
    assert header(headers, "content-type") == "Application/JSON; charset=utf-8"
    assert header(headers, "X-A") == "1" and header(headers, "missing") is None
    assert media_type("Application/JSON; charset=utf-8") == "application/json"
    assert is_json_media_type("application/vnd.github+json") and not is_json_media_type("text/html")


def _routes(*keys: str) -> Routes[Operation]:
    return Routes(Operation(method=k.split()[0].lower(), path=k.split()[1]) for k in keys)


def test_literals_beat_parameters_and_the_earlier_literal_wins():
    routes = _routes("GET /users/{id}", "GET /users/me", "GET /a/{x}/c", "GET /a/b/{y}", "POST /users")
    assert routes.match("GET", "/users/me")[0].path == "/users/me"
    op, params = routes.match("GET", "/users/42")
    assert op.path == "/users/{id}" and params == {"id": "42"}
    assert routes.match("get", "/a/b/c")[0].path == "/a/b/{y}"  # both have two literals: `b` comes first
    assert routes.match("GET", "/users/42/")[0].path == "/users/{id}"  # a trailing slash is the same path
    assert routes.match("DELETE", "/users/42") is None
    assert routes.allowed("/users/7") == ["GET"] and routes.allowed("/users") == ["POST"]
    assert routes.match("GET", "/users/a%20b")[1] == {"id": "a b"}


def test_a_typed_placeholder_of_an_observed_shape_matches_only_a_parameter():
    routes = _routes("GET /users/me", "GET /users/{id}")
    assert routes.match_shape("GET", "/users/{int}").path == "/users/{id}"
    assert routes.match_shape("GET", "/users/me").path == "/users/me"
    assert _routes("GET /users/me").match_shape("GET", "/users/{int}") is None
    assert path_parameters("/repos/{owner}/{repo}", "/repos/octo/hello?x=1") == {
        "owner": "octo",
        "repo": "hello",
    }


def test_schema_types_say_what_a_schema_allows():
    assert schema_types({"type": ["string", "null"]}) == {"string", "null"}
    assert schema_types({"type": "integer", "nullable": True}) == {"integer", "null"}
    assert schema_types({"properties": {}}) == {"object"} and schema_types({"items": {}}) == {"array"}
    assert schema_types({"description": "anything"}) is None
    branches = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    assert schema_types(branches) is None and schema_types(branches, branches=True) == {"string", "integer"}


def test_all_of_merges_properties_required_and_bounds():
    merged = merge_all_of(
        {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "integer", "minimum": 0}}, "required": ["a"]},
                {"properties": {"a": {"minimum": 5}, "b": {"type": "string"}}, "required": ["b"]},
            ]
        }
    )
    assert merged["properties"]["a"] == {"type": "integer", "minimum": 5}
    assert sorted(merged["required"]) == ["a", "b"] and "allOf" not in merged


def test_times_and_durations():
    assert iso(0) == "1970-01-01T00:00:00Z" and iso(None) is None
    assert parse_time("2024-05-01", "--since") == 1714521600.0
    assert parse_time("2024-05-01T10:00:00Z", "--since") == 1714557600.0
    assert parse_duration("12h") == 43200.0 and parse_duration("2") == 2 * 86400.0
    with pytest.raises(RecorderError, match="--since 'yesterday' is not a date"):
        parse_time("yesterday", "--since")
    with pytest.raises(RecorderError, match="is not a duration"):
        parse_duration("soon")
