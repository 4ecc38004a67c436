"""Inference rules on plain data: path templates, schemas with evidence, merging (no network)."""

from __future__ import annotations

import json
import random
import uuid

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.learn.finalize import Thresholds, finalize_schema
from recorder.learn.infer import PROPS_CAP, EvidenceNode, merge_summaries, observe, summarize_values
from recorder.learn.paths import ShapeInfo, path_shape, segment_kind, template_paths

# ---------------------------------------------------------------------------------------------------------
# path templates


@pytest.mark.parametrize(
    ("segment", "kind"),
    [
        ("42", "int"),
        ("3fa85f64-5717-4562-b3fc-2c963f66afa6", "uuid"),
        ("a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0", "hex"),
        ("507f1f77bcf86cd799439011", "hex"),
        ("2024-05-01", "date"),
        ("cus_9s6XKzkNRiz8i3", "prefixed"),
        ("4iV5W9uYEdYUVa79Axb7Rh", "opaque"),
        ("ada@example.com", "email"),
        ("v2.52.8", "semver"),
        ("1.0.0-rc1", "semver"),
        ("sha256:21b07b3ec9fe4b615ccc3bc40e3d81cd91db808516b02d9707e3aa5197958b66", "digest"),
        ("users", None),
        ("me", None),
        ("v1", None),
        ("v2.1", None),
        ("api", None),
        ("findByStatus", None),
        ("hello-world", None),
    ],
)
def test_segment_kinds(segment, kind):
    assert segment_kind(segment) == kind


def test_shape_replaces_only_id_segments():
    assert path_shape("/api/v2.1/users/42/orders/3fa85f64-5717-4562-b3fc-2c963f66afa6") == (
        "/api/v2.1/users/{int}/orders/{uuid}",
        ["42", "3fa85f64-5717-4562-b3fc-2c963f66afa6"],
    )
    assert path_shape("/users/me") == ("/users/me", [])
    assert path_shape("/") == ("/", [])


def _templates(shapes):
    return {k: v.path for k, v in template_paths(shapes).items()}


USER = frozenset({"/login", "/id", "/name"})
REPO = frozenset({"/name", "/full_name", "/owner"})
ISSUE = frozenset({"/number", "/title", "/state"})


def test_slugs_under_a_shared_prefix_become_parameters_but_constant_siblings_stay():
    shapes = [ShapeInfo("GET", f"/users/{u}", 2, USER) for u in ("octocat", "torvalds", "defunkt", "mojombo")]
    shapes += [ShapeInfo("GET", "/users/me", 9, USER), ShapeInfo("GET", "/users/{int}", 4, USER)]
    for owner, repo in [
        ("octocat", "hello-world"),
        ("torvalds", "linux"),
        ("defunkt", "dotjs"),
        ("mojombo", "grit"),
    ]:
        shapes.append(ShapeInfo("GET", f"/repos/{owner}/{repo}", 1, REPO))
        shapes.append(ShapeInfo("GET", f"/repos/{owner}/{repo}/issues/{{int}}", 1, ISSUE))
    out = _templates(shapes)
    assert out[("GET", "/users/octocat")] == "/users/{userSlug}"
    assert out[("GET", "/users/me")] == "/users/me"
    assert out[("GET", "/users/{int}")] == "/users/{userSlug}"  # one parameter at one position
    assert (
        out[("GET", "/repos/torvalds/linux/issues/{int}")] == "/repos/{repoSlug}/{repoSlug2}/issues/{issueId}"
    )


def test_resource_collections_are_not_mistaken_for_slugs():
    shapes = []
    for res, fields in [
        ("users", {"/a", "/b"}),
        ("orders", {"/c", "/d"}),
        ("products", {"/e"}),
        ("pods", {"/f"}),
    ]:
        shapes.append(ShapeInfo("GET", f"/api/v1/{res}", 5, frozenset(fields)))
        shapes.append(ShapeInfo("GET", f"/api/v1/{res}/{{int}}", 5, frozenset(fields)))
    for ns in ("default", "monitoring", "payments"):
        for res in ("pods", "services", "configmaps"):
            shapes.append(ShapeInfo("GET", f"/k8s/namespaces/{ns}/{res}", 3, frozenset({"/kind", "/items"})))
    out = _templates(shapes)
    assert out[("GET", "/api/v1/orders")] == "/api/v1/orders"
    assert out[("GET", "/k8s/namespaces/default/pods")] == "/k8s/namespaces/{namespaceSlug}/pods"
    assert out[("GET", "/k8s/namespaces/payments/configmaps")] == "/k8s/namespaces/{namespaceSlug}/configmaps"


def test_error_only_literals_beside_a_parameter_are_bad_values_of_it():
    shapes = [ShapeInfo("GET", "/posts/{int}", 30, frozenset({"/id", "/title"}))]
    shapes.append(ShapeInfo("GET", "/posts/abc", 2, frozenset(), success=False))
    out = _templates(shapes)
    assert out[("GET", "/posts/abc")] == "/posts/{postId}"


def test_pinned_templates_win():
    shapes = [ShapeInfo("GET", "/files/readme", 1), ShapeInfo("GET", "/files/{int}", 1)]
    out = _templates_pinned(shapes, ["/files/{path}"])
    assert out[("GET", "/files/readme")] == "/files/{path}"
    assert out[("GET", "/files/{int}")] == "/files/{path}"


def _templates_pinned(shapes, pins):
    return {k: v.path for k, v in template_paths(shapes, pins).items()}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=20),
    st.sampled_from(["users", "orders", "items"]),
)
def test_integer_ids_always_template_to_one_parameter(ids, resource):
    shapes = {path_shape(f"/api/{resource}/{i}/details")[0] for i in ids}
    assert shapes == {f"/api/{resource}/{{int}}/details"}
    out = _templates([ShapeInfo("GET", s, 1) for s in shapes])
    assert set(out.values()) == {f"/api/{resource}/{{{resource[:-1]}Id}}/details"}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.uuids(), min_size=1, max_size=10))
def test_uuids_template_to_one_parameter(ids):
    assert {path_shape(f"/orders/{u}")[0] for u in ids} == {"/orders/{uuid}"}


# ---------------------------------------------------------------------------------------------------------
# schemas with evidence

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)


def _schema(values, th=Thresholds()):
    return finalize_schema(summarize_values(values), th)


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, min_size=1, max_size=12))
def test_every_observed_body_validates_against_the_inferred_schema(values):
    schema = _schema(values)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for value in values:
        errors = list(validator.iter_errors(value))
        assert not errors, (value, schema, errors[0].message)


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, min_size=2, max_size=12), st.integers(min_value=1))
def test_summaries_merge_associatively(values, cut):
    cut = cut % len(values)
    whole = EvidenceNode()
    for v in values:
        whole.add_object(v)
    left, right = EvidenceNode(), EvidenceNode()
    for v in values[:cut]:
        left.add_object(v)
    for v in values[cut:]:
        right.add_object(v)
    merged = merge_summaries(left.to_schema(), right.to_schema())
    assert finalize_schema(merged, Thresholds()) == finalize_schema(whole.to_schema(), Thresholds())
    assert merge_summaries(right.to_schema(), left.to_schema()) == merge_summaries(
        left.to_schema(), right.to_schema()
    )


def _users(n, seed=1):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        user = {
            "id": i + 1,
            "uuid": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "email": f"user{i}@example.com",
            "createdAt": f"2024-0{1 + i % 9}-1{i % 10}T10:00:00Z",
            "birthday": f"199{i % 10}-0{1 + i % 9}-1{i % 10}",
            "status": rnd.choice(["active", "suspended", "pending"]),
            "score": rnd.random() * 100,
            "homepage": f"https://example.com/u/{i}",
            "ip": f"10.0.{i % 250}.{rnd.randint(1, 250)}",
            "nickname": None if i % 4 == 0 else f"nick{i}",
        }
        if i % 3:
            user["bio"] = "likes " + rnd.choice(["tea", "coffee", "chess"])
        out.append(user)
    return out


def test_types_formats_enums_required_and_nullability():
    schema = _schema(_users(60))
    props = schema["properties"]
    assert props["id"]["type"] == "integer"
    assert props["score"]["type"] == "number"
    assert props["uuid"]["format"] == "uuid"
    assert props["email"]["format"] == "email"
    assert props["createdAt"]["format"] == "date-time"
    assert props["birthday"]["format"] == "date"
    assert props["homepage"]["format"] == "uri"
    assert props["ip"]["format"] == "ipv4"
    assert props["status"]["enum"] == ["active", "pending", "suspended"]
    assert props["nickname"]["type"] == ["string", "null"]
    assert "enum" not in props["email"] and "enum" not in props["nickname"]
    assert "bio" not in schema["required"] and "id" in schema["required"]
    assert props["bio"]["x-evidence"] == {"seen": 40, "of": 60}


def test_no_enum_for_ids_free_text_or_measurements():
    rows = [
        {
            "id": str(i % 5),
            "weight": [1.5, 2.5, 3.5][i % 3],
            "note": ["fine", "ok"][i % 2] + " and more text here, long enough",
        }
        for i in range(200)
    ]
    props = _schema(rows)["properties"]
    assert "enum" not in props["id"] and "enum" not in props["weight"] and "enum" not in props["note"]


def test_maps_keyed_by_data_become_additional_properties():
    daily = [
        {f"2024-05-{d:02d}": {"orders": d, "revenue": d * 1.5} for d in range(1, 1 + k)} for k in range(1, 6)
    ]
    schema = _schema(daily)
    assert "properties" not in schema
    assert schema["additionalProperties"]["properties"]["orders"]["type"] == "integer"
    by_id = [{str(1000 + i): {"name": f"n{i}"}} for i in range(5)]
    assert "additionalProperties" in _schema(by_id)
    # a map by its name (`labels`) only where the object is so named, not the items of an array so named
    issues = [
        {"labels": [{"name": f"l{i}", "color": "f00"}] * 2, "meta": {"labels": {f"k{i}": "v"}}}
        for i in range(5)
    ]
    issue = _schema(issues)
    assert issue["properties"]["labels"]["items"]["required"] == ["color", "name"]
    assert "additionalProperties" in issue["properties"]["meta"]["properties"]["labels"]
    # ids are data, snake_case names are names: one rule, the one path segments are judged by
    by_customer = [{"cus_9s6XKzkNRiz8i" + str(i): {"plan": "pro"}} for i in range(5)]
    assert "additionalProperties" in _schema(by_customer)
    coupons = [{"max_redemptions": i, "times_redeemed": 0, "percent_off": 10.5} for i in range(5)]
    coupon = _schema(coupons)
    assert "additionalProperties" not in coupon and set(coupon["required"]) == set(coupons[0])


def test_heterogeneous_arrays_merge_field_by_field():
    items = [
        [{"kind": "track", "id": 1, "duration": 30}, {"kind": "episode", "id": 2, "show": "x"}]
        for _ in range(5)
    ]
    schema = _schema(items)["items"]
    assert set(schema["properties"]) == {"kind", "id", "duration", "show"}
    assert schema["required"] == ["id", "kind"]


def test_deep_nesting_is_safe():
    value: object = 1
    for _ in range(3000):
        value = {"a": [value]}
    schema = _schema([value, value, value])
    assert schema["type"] == "object"
    assert schema["properties"]["a"]["items"]["type"] == "object"

    def depth(node: dict, level: int = 0) -> int:  # containers above the deepest schema
        children = list((node.get("properties") or {}).values()) + (
            [node["items"]] if "items" in node else []
        )
        return max([depth(child, level + 1) for child in children], default=level)

    # the cut-off is the same whether evidence was observed directly, merged from stored summaries, or both
    direct = summarize_values([value])
    merged = merge_summaries(direct, summarize_values([value]))
    node = EvidenceNode()
    node.add_schema(merged)
    node.add_object(value)
    assert depth(direct) == depth(merged) == depth(node.to_schema()) == 64


def test_few_observations_are_marked_low_confidence_and_assert_little():
    schema = _schema(_users(2))
    assert schema["properties"]["id"]["x-evidence"] == {"seen": 2, "of": 2, "confidence": "low"}
    assert "required" not in schema  # 2 observations are not enough to call a field required
    assert "enum" not in schema["properties"]["status"]


def test_evidence_can_be_switched_off():
    schema = _schema(_users(5), Thresholds(evidence=False))
    assert "x-evidence" not in json.dumps(schema)


# ---------------------------------------------------------------------------------------------------------
# folding column by column (`add_many`, `observe`) makes the summary that folding value by value makes

_FIELDS = ["id", "name", "a", "b", "42", "2024-05-01", "cus_9s6XKzkNRiz8i3", "x"]
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 40)
    | st.integers(-(2**70), 2**70)
    | st.floats()  # NaN and infinities too
    | st.sampled_from([0.0, -0.0, 2.0, 1e300, 2.5, float("nan"), float("inf")])
    | st.sampled_from(
        [
            "2024-05-01",
            "2024-05-01T10:00:00Z",
            "ada@example.com",
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "10.0.0.1",
            "https://example.com/a",
            "<redacted:email>",
            "<redacted:token>",
            "plain",
            "x" * 49,
        ]
    )
    | st.text(max_size=60)
)
_mixed = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=12) | st.dictionaries(st.sampled_from(_FIELDS), children),
    max_leaves=20,
)


@st.composite
def _records(draw: st.DrawFn) -> list[dict[str, object]]:
    """Objects with mostly the same keys, in the same or a shuffled order, some keys left out."""
    keys = draw(st.lists(st.sampled_from(_FIELDS), min_size=1, max_size=6, unique=True))
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        order = draw(st.permutations(keys)) if draw(st.booleans()) else keys
        if draw(st.integers(0, 4)) == 0:
            order = order[: draw(st.integers(0, len(order)))]
        rows.append({key: draw(_mixed) for key in order})
    return rows


def _nested(depth: int) -> object:
    value: object = [1, "leaf", {"k": None}]
    for _ in range(depth):
        value = {"a": [value, "s"]}
    return value


_bodies = _mixed | _records() | st.integers(28, 36).map(_nested)  # beyond MAX_DEPTH (two levels a wrap)


def _one_by_one(values: list[object]) -> EvidenceNode:
    """The sequential path: `add_object` on every value, arrays item by item."""
    node = EvidenceNode()
    for value in values:
        node.add_object(value)
    return node


def _text(node: EvidenceNode) -> str:
    return json.dumps(node.to_schema())  # key order, and True vs 1, count


@settings(max_examples=150, deadline=None)
@given(st.lists(_bodies, min_size=1, max_size=6), st.integers(min_value=0))
def test_folding_column_by_column_equals_value_by_value(values, cut):
    cut %= len(values) + 1
    node = EvidenceNode()
    node.add_many(values[:cut])
    node.add_many(values[cut:])
    for value in values:
        observe(node, value)
    assert _text(node) == _text(_one_by_one(values + values))
    assert summarize_values(values) == _one_by_one(values).to_schema()


def test_format_detection_gives_up_at_the_same_value_in_batches():
    for first_format in range(12):
        values = ["plain"] * first_format + ["2024-05-01"] + [f"v{i}" for i in range(7)]
        for cut in range(len(values) + 1):
            node = EvidenceNode()
            node.add_many(values[:cut])
            node.add_many(values[cut:])
            assert _text(node) == _text(_one_by_one(values)), (first_format, cut)


def test_objects_become_maps_at_the_same_object_in_batches():
    rnd = random.Random(3)
    mixed = [
        {f"k{rnd.randint(0, 500)}": rnd.choice([1, "a", [1, 2], {"z": i}]) for _ in range(rnd.randint(0, 30))}
        | ({f"2024-01-0{1 + i % 9}": i} if i % 4 == 0 else {})
        for i in range(40)
    ]
    one_more_each = [{f"k{i}": i, "same": [i]} for i in range(PROPS_CAP + 5)]  # crosses the cap by one key
    wide = {f"w{j}": j for j in range(PROPS_CAP - 2)}
    wider = wide | {"n1": 1, "n2": "b", "n3": [3]}  # the same keys in every object: crosses in one batch
    for bodies in (
        [mixed, mixed[:7], mixed[::-1]],
        [one_more_each, one_more_each[:9]],
        [[wide] * 3, [wider] * 6],
    ):
        node = EvidenceNode()
        for body in bodies:
            observe(node, body)
        expected = _text(_one_by_one(bodies))
        assert _text(node) == expected
        assert '"asMap": true' in expected


def test_nan_and_infinities_fold_in_batches_as_one_by_one():
    nan, inf = float("nan"), float("inf")
    for batches in (
        [[3] * 6, [nan, 1, 1, 1, 1, 5]],
        [[nan] * 6, [0, 9, 2.0, 1.5, 7, 7]],
        [[1.5, inf, -inf, 2.0, 1e300, -0.0], [nan, -inf, 3, 3, 3, 3]],
    ):
        node = EvidenceNode()
        for batch in batches:
            node.add_many(batch)
        assert _text(node) == _text(_one_by_one([v for batch in batches for v in batch]))


def _orders(n: int, seed: int = 5) -> list[dict[str, object]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        order: dict[str, object] = {
            "id": 1000 + i,
            "uuid": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "status": rnd.choice(["paid", "open", "void"]),
            "created_at": f"2024-0{1 + i % 9}-1{i % 10}T12:34:56Z",
            "customer": {
                "email": "<redacted:email>" if i % 5 == 0 else f"c{i}@example.com",
                "vip": i % 7 == 0,
            },
            "lines": [
                {
                    "sku": f"SKU-{rnd.randint(1, 9)}",
                    "qty": rnd.randint(1, 3),
                    "price": rnd.choice([9.99, 10.0, 5]),
                }
                for _ in range(rnd.randint(0, 4))
            ],
            "tags": rnd.sample(["gift", "rush", "b2b", "promo"], rnd.randint(0, 3)),
            "note": None if i % 3 else "leave at the door " * (i % 4),
            "total": round(rnd.random() * 100, 2),
        }
        if i % 6 == 0:
            del order["note"]
        if i % 2:
            order = dict(reversed(list(order.items())))  # the same keys in another order
        out.append(order)
    return out


def test_a_page_of_fifty_orders_folds_to_the_same_summary():
    page = {"items": _orders(50), "total": 50, "next": None}
    node = EvidenceNode()
    observe(node, page)
    observe(node, {"items": _orders(50, seed=6)[:20], "total": 20, "next": "/orders?page=2"})
    expected = _one_by_one([page, {"items": _orders(50, seed=6)[:20], "total": 20, "next": "/orders?page=2"}])
    assert _text(node) == _text(expected)
    items = node.to_schema()["properties"]["items"]["items"]
    assert (
        items["x-stats"]["n"] == 70
        and items["properties"]["customer"]["properties"]["email"]["x-stats"]["red"]
    )


def test_a_category_named_field_needs_fewer_observations_than_other_enums():
    """GitHub's `security_and_analysis.*.status` (enabled/disabled) seen 7 times in one operation is an enum;
    the same values under a name that does not say category need the full 10 observations."""
    rows = [{"status": ["enabled", "disabled"][i % 2], "flag": ["on", "off"][i % 2]} for i in range(7)]
    props = _schema(rows)["properties"]
    assert props["status"]["enum"] == ["disabled", "enabled"]
    assert "enum" not in props["flag"]
    few = _schema(rows[:5])["properties"]  # below 6 observations, never
    assert "enum" not in few["status"]
    names = [{"status": f"user{i}"} for i in range(7)]  # a new value each time is not a closed set
    assert "enum" not in _schema(names)["properties"]["status"]
