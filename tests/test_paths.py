"""Path templates from the cardinality of a position: a new value in most requests is a parameter."""

from __future__ import annotations

import random

from recorder.learn.paths import ShapeInfo, path_shape, template_paths

ACTIONS = ["issues", "pulls", "commits", "branches", "labels", "releases", "contributors"]
FIELDS = {
    "issues": frozenset({"number", "title"}),
    "user": frozenset({"id", "login"}),
    "order": frozenset({"id", "total", "lines"}),
    "invoice": frozenset({"number", "due", "amount"}),
    "refund": frozenset({"reason", "charge"}),
}


def _shapes(paths: list[tuple[str, str]]) -> list[ShapeInfo]:
    counts: dict[tuple[str, str], int] = {}
    for method, path in paths:
        key = (method, path_shape(path)[0])
        counts[key] = counts.get(key, 0) + 1
    return [
        ShapeInfo(m, s, n, FIELDS.get(s.rsplit("/", 1)[-1], frozenset({"x"}))) for (m, s), n in counts.items()
    ]


def _operations(paths: list[tuple[str, str]]) -> set[str]:
    templates = template_paths(_shapes(paths))
    return {f"{m} {t.path}" for (m, _), t in templates.items()}


def test_hundreds_of_owners_and_repos_seen_once_each_are_parameters():
    rng = random.Random(3)
    paths = []
    for i in range(400):  # a new owner and repo in almost every request, as real GitHub traffic has
        owner, repo = (
            f"{rng.choice(['ada', 'alan', 'grace'])}-{rng.choice(['nova', 'pine'])}{i}",
            f"repo{i % 350}",
        )
        action = rng.choice(["", *ACTIONS])
        method = rng.choice(["GET", "GET", "DELETE"]) if not action else "GET"
        paths.append((method, f"/repos/{owner}/{repo}" + (f"/{action}" if action else "")))
    paths += [("GET", "/users/me")] * 30 + [("GET", f"/users/u{i}x") for i in range(40)]
    paths += [("GET", "/pets/findByStatus")] * 5 + [("GET", "/api/v1/health")] * 5
    ops = _operations(paths)
    assert all(
        op.split()[1].startswith(("/repos/{repoSlug}/{repoSlug2}", "/users", "/pets", "/api")) for op in ops
    ), ops
    assert "GET /repos/{repoSlug}/{repoSlug2}/issues" in ops and "DELETE /repos/{repoSlug}/{repoSlug2}" in ops
    assert {f"GET /repos/{{repoSlug}}/{{repoSlug2}}/{a}" for a in ACTIONS} <= ops  # the actions stay literal
    assert {"GET /users/me", "GET /users/{userSlug}", "GET /pets/findByStatus", "GET /api/v1/health"} <= ops


def test_a_few_resources_seen_often_stay_literal():
    paths = [("GET", f"/api/{name}") for name in ("user", "order", "invoice", "refund") for _ in range(20)]
    paths += [("GET", f"/api/{name}/{i}") for name in ("user", "order") for i in range(10)]
    assert {"GET /api/user", "GET /api/order", "GET /api/invoice", "GET /api/refund"} <= _operations(paths)


def test_literal_ids_beside_a_typed_id_that_answer_alike_join_it():
    """Kinto's client suite: records `abc` and `r1` beside uuids; GitHub's `issues/comments` beside numbers."""
    record = frozenset({"data", "permissions"})
    comments = frozenset({"[]/id", "[]/body", "[]/user"})
    issue = frozenset({"id", "body", "user", "title", "number"})
    shapes = [
        ShapeInfo("GET", "/records/{uuid}", 40, record),
        ShapeInfo("PUT", "/records/{uuid}", 10, record),
        ShapeInfo("GET", "/records/abc", 3, record),
        ShapeInfo("PUT", "/records/r1", 2, record),
        ShapeInfo("POST", "/records/abc/attachment", 2, frozenset({"location"})),
        ShapeInfo("POST", "/records/{uuid}/attachment", 4, frozenset({"location"})),
        ShapeInfo("GET", "/issues/{int}", 30, issue),
        ShapeInfo("GET", "/issues/comments", 5, comments),
        ShapeInfo("GET", "/issues/summary", 5, issue),  # alike, but a reserved word: an operation of its own
        ShapeInfo("GET", "/users/{int}", 20, frozenset({"id", "login"})),
        ShapeInfo("GET", "/users/guest", 3, frozenset({"error"}), success=False),
    ]
    ops = {f"{m} {t.path}" for (m, _), t in template_paths(shapes).items()}
    assert {
        "GET /records/{recordSlug}",
        "PUT /records/{recordSlug}",
        "POST /records/{recordSlug}/attachment",
    } == {op for op in ops if "/records" in op}
    assert {"GET /issues/{issueId}", "GET /issues/comments", "GET /issues/summary"} <= ops
    assert "GET /users/{userId}" in ops and not any("guest" in op for op in ops)  # a bad value, absorbed


def test_an_id_that_alternates_case_is_a_value_a_camel_case_word_is_not():
    """Stripe's coupon ids are 8 random letters (`ptEqvdCj`); `findByStatus` is a word."""
    coupon = frozenset({"id", "object", "percent_off", "valid"})
    codes = ["Zx9aQwLm", "QhTr3kLp", "aB7cD8eF", "kLmN4pQr"]
    shapes = [ShapeInfo("GET", f"/coupons/{c}", 2, coupon) for c in codes]
    shapes += [ShapeInfo("POST", f"/coupons/{c}", 1, coupon) for c in codes[:3]]
    shapes += [ShapeInfo("DELETE", "/coupons/ptEqvdCj", 1, frozenset({"id", "object", "deleted"}))]
    shapes += [ShapeInfo("GET", "/pets/findByStatus", 5, frozenset({"[]/id"}))]
    shapes += [ShapeInfo("GET", "/pets/{int}", 12, frozenset({"id", "name"}))]
    ops = {f"{m} {t.path}" for (m, _), t in template_paths(shapes).items()}
    assert "DELETE /coupons/{couponSlug}" in ops and "GET /coupons/{couponSlug}" in ops, ops
    assert "GET /pets/findByStatus" in ops and "GET /pets/{petId}" in ops


def test_a_typed_id_beside_a_slug_is_the_same_parameter():
    """Stripe's coupons: `FALCON25` reads as an id, `ptEqvdCj` does not; both are coupon ids, one route (OpenAPI
    forbids `/coupons/{couponId}` beside `/coupons/{couponSlug}`)."""
    coupon = frozenset({"id", "object", "percent_off", "valid"})
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    randoms = ["".join(rng.choice(letters) for _ in range(8)) for _ in range(24)]
    codes = ["FALCON25", "TUNDRA15", "AMBER15", "STONE25"]
    paths = [("GET", f"/v1/coupons/{c}") for c in randoms[:12] + codes[:2]]
    paths += [("DELETE", f"/v1/coupons/{c}") for c in randoms[12:] + codes[2:]]
    paths += [("GET", f"/v1/coupons/{c}/redemptions") for c in codes[:3]]
    counts: dict[tuple[str, str], int] = {}
    for method, path in paths:
        key = (method, path_shape(path)[0])
        counts[key] = counts.get(key, 0) + 1
    assert ("GET", "/v1/coupons/{opaque}") in counts  # the codes read as typed ids on their own
    shapes = [ShapeInfo(m, s, n, coupon) for (m, s), n in counts.items()]
    ops = {f"{m} {t.path}" for (m, _), t in template_paths(shapes).items()}
    assert ops == {
        "GET /v1/coupons/{couponSlug}",
        "DELETE /v1/coupons/{couponSlug}",
        "GET /v1/coupons/{couponSlug}/redemptions",
    }, ops


def test_literals_whose_answers_name_them_are_values():
    """Kinto answers `PUT /accounts/alice` with `{"data": {"id": "alice"}}`: two such literals are enough, and
    one beside an id parameter joins it (`/records/abc`, whose answer also carries an attachment);
    `/users/me` answers another login, and a framework's own endpoints are never values."""
    record = frozenset({"/data", "/data/id", "/data/last_modified"})
    infos = [
        ShapeInfo("PUT", "/v1/accounts/alice", 6, record, names=frozenset({"alice"})),
        ShapeInfo("PUT", "/v1/accounts/user", 108, record, names=frozenset({"user"})),
        ShapeInfo("GET", "/v1/records/{uuid}", 20, record | {"/data/title"}),
        ShapeInfo(
            "GET",
            "/v1/records/abc",
            4,
            frozenset({"/data/id", "/data/attachment/hash"}),
            names=frozenset({"abc"}),
        ),
        ShapeInfo("POST", "/v1/records/abc/attachment", 4, frozenset({"/location"})),
        ShapeInfo("GET", "/v1/users/me", 30, frozenset({"/login"}), names=frozenset({"octocat"})),
        ShapeInfo("GET", "/v1/users/settings", 3, frozenset({"/theme"})),
        ShapeInfo("POST", "/v1/__flush__", 2, frozenset()),
        ShapeInfo("GET", "/v1/__heartbeat__", 2, frozenset({"/ok"}), names=frozenset({"__heartbeat__"})),
    ]
    ops = {f"{m} {t.path}" for (m, _), t in template_paths(infos).items()}
    assert "PUT /v1/accounts/{accountSlug}" in ops
    assert {"GET /v1/records/{recordSlug}", "POST /v1/records/{recordSlug}/attachment"} <= ops
    assert {
        "GET /v1/users/me",
        "GET /v1/users/settings",
        "POST /v1/__flush__",
        "GET /v1/__heartbeat__",
    } <= ops


def test_a_literal_refused_as_invalid_beside_literals_that_answer_alike_makes_them_one_parameter():
    """Spotify's `/me/top/{type}`: `artists` and `tracks` answer, `bogus` gets a 422 (the framework validated
    it as a value); Kubernetes' collections answer alike too, but an unknown one is a 404: no route."""
    page = frozenset({"/items", "/total"})
    top = [
        ShapeInfo("GET", "/v1/me/top/artists", 11, page),
        ShapeInfo("GET", "/v1/me/top/tracks", 6, page),
        ShapeInfo("GET", "/v1/me/top/bogus", 1, frozenset(), success=False, rejected=True),
    ]
    ops = {f"{m} {t.path}" for (m, _), t in template_paths(top).items()}
    assert ops == {"GET /v1/me/top/{topSlug}"}

    listing = frozenset({"/kind", "/items", "/metadata"})
    kube = [
        ShapeInfo("GET", "/api/v1/namespaces/default/pods", 20, listing),
        ShapeInfo("GET", "/api/v1/namespaces/default/services", 20, listing),
        ShapeInfo("GET", "/api/v1/namespaces/default/bogus", 1, frozenset(), success=False),  # 404
    ]
    ops = {f"{m} {t.path}" for (m, _), t in template_paths(kube).items()}
    assert {"GET /api/v1/namespaces/default/pods", "GET /api/v1/namespaces/default/services"} <= ops

    # one repository's `topics` refused once (a bad query) while other repositories' topics answer: a route
    repo = [ShapeInfo("GET", f"/repos/carol/zephyr/{r}", 2, page) for r in ("releases", "tags", "forks")]
    repo += [
        ShapeInfo("GET", "/repos/carol/zephyr/topics", 1, frozenset(), success=False, rejected=True),
        ShapeInfo("GET", "/repos/bob/nova/topics", 3, frozenset({"/names"})),
    ]
    ops = {f"{m} {t.path}" for (m, _), t in template_paths(repo).items()}
    assert all(not op.rsplit("/", 1)[1].startswith("{") for op in ops), ops
