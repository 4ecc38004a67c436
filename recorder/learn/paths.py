"""Path-template inference: concrete paths -> `/users/{userId}/orders/{orderId}`.

Two steps. `path_shape` is local and cheap (run as exchanges are summarised): segments that are ids on
their own (integers, UUIDs, hashes, dates, prefixed or opaque ids) become typed placeholders
(`/users/42` -> `/users/{int}`). `template_paths` is global (run at export over all shapes seen): sibling
literal segments that behave alike (same continuations, same response fields) become a slug parameter
(`/repos/octocat/hello-world` + `/repos/torvalds/linux` + ... -> `/repos/{repoSlug}/{repoSlug2}`), while
constant siblings (`/users/me`, `/pets/findByStatus`) and version segments (`api`, `v1`, `v2.1`) stay literal.
Pinned templates from the configuration win over both.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from recorder.common.routes import split_path

_INT = re.compile(r"-?\d{1,40}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_HEX = re.compile(
    r"(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,128}|(?=[0-9A-F]*\d)(?=[0-9A-F]*[A-F])[0-9A-F]{12,128}"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}-\d{2}|\d{8}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_PREFIXED = re.compile(r"[a-z]{1,12}_[A-Za-z0-9]{6,}")
_OPAQUE = re.compile(r"[A-Za-z0-9_-]{10,}")
_UPPER_ID = re.compile(r"[A-Z][A-Z0-9]{6,}")
_EMAIL = re.compile(r"[^@/\s]+@[^@/\s]+\.[A-Za-z]{2,}")
_VERSION = re.compile(r"(?i)v\d+(?:[._]\d+)?(?:(alpha|beta|rc)\d*)?|\d+\.\d+")  # api versions: v1, v2.1
_SEMVER = re.compile(r"v?\d+\.\d+\.\d+(?:[-+][\w.]+)?")  # release values: v2.52.8, 1.0.0-rc1
_DIGEST = re.compile(r"(?:sha1|sha224|sha256|sha384|sha512|md5):[0-9a-fA-F]{32,128}")
_CAMEL = re.compile(r"[a-z]{2,}(?:[A-Z][a-z]+)+\d*")
RESERVED = frozenset(
    {
        "api", "rest", "me", "self", "current", "mine", "search", "count", "latest", "new", "all",
        "bulk", "batch", "export", "import", "stats", "summary", "list", "find", "query", "status", "health",
        "healthz", "readyz", "livez", "metrics", "info", "config", "settings", "login", "logout", "token",
        "oauth", "auth", "public", "private", "admin", "internal", "v", "graphql", "upload", "download",
    }
)  # fmt: skip


_kinds: dict[str, str | None] = {}


def segment_kind(segment: str) -> str | None:
    """The id kind of one decoded path segment, or None for a literal: `42` -> `int`, `users` -> None."""
    hit = _kinds.get(segment, "?")
    if hit != "?":
        return hit
    kind = _segment_kind(segment)
    if len(_kinds) > 50_000:
        _kinds.clear()
    _kinds[segment] = kind
    return kind


def _segment_kind(segment: str) -> str | None:
    if not segment:
        return None
    if _VERSION.fullmatch(segment) or segment.lower() in RESERVED:
        return None
    if "." in segment and _SEMVER.fullmatch(segment):
        return "semver"
    if ":" in segment and _DIGEST.fullmatch(segment):
        return "digest"
    c0 = segment[0]
    if c0.isdigit() or c0 == "-":
        if _INT.fullmatch(segment):
            return "int"
        if _DATETIME.fullmatch(segment):
            return "datetime"
        if _DATE.fullmatch(segment):
            return "date"
    if len(segment) in (32, 36) and _UUID.fullmatch(segment):
        return "uuid"
    if len(segment) >= 7 and _HEX.fullmatch(segment):
        return "hex"
    if (
        "_" in segment
        and _PREFIXED.fullmatch(segment)
        and any(ch.isdigit() or ch.isupper() for ch in segment.split("_", 1)[1])
    ):
        return "prefixed"
    if "@" in segment and _EMAIL.fullmatch(segment):
        return "email"
    if len(segment) >= 10 and _OPAQUE.fullmatch(segment) and _looks_random(segment):
        return "opaque"
    if len(segment) >= 7 and _UPPER_ID.fullmatch(segment) and sum(ch.isdigit() for ch in segment) >= 2:
        return "opaque"
    return None


def _looks_random(segment: str) -> bool:
    """Mixed case with digits (base62/base64 ids such as `4iV5W9uYEdYUVa79Axb7Rh`), not words or slugs."""
    has_digit = any(ch.isdigit() for ch in segment)
    has_upper = any(ch.isupper() for ch in segment)
    has_lower = any(ch.islower() for ch in segment)
    if not (has_upper and has_lower) or not (has_digit or len(segment) >= 16):
        return False
    if _camel_words(segment):
        return False
    # words glued in camel case have few case changes; random ids have many
    changes = sum(1 for a, b in itertools.pairwise(segment) if a.islower() and b.isupper())
    return changes >= 3 or has_digit


def _camel_words(segment: str) -> bool:
    """Words glued in camel case (`findByStatus`, `listAll2`): every part has a vowel, as words do; an id that
    happens to alternate case (`ptEqvdCj`) does not."""
    if not _CAMEL.fullmatch(segment):
        return False
    return all(_VOWEL.search(part) for part in _CAMEL_PART.findall(segment))


_VOWEL = re.compile(r"[aeiouyAEIOUY]")
_CAMEL_PART = re.compile(r"[A-Z]?[a-z]+")


def _encode_literal(segment: str) -> str:
    return quote(segment, safe="-._~!$&'()*+,;=:@")


def path_shape(path: str) -> tuple[str, list[str]]:
    """Typed placeholders for id segments: `/users/42/orders` -> (`/users/{int}/orders`, `['42']`)."""
    parts = []
    values = []
    for segment in split_path(path):
        kind = segment_kind(segment)
        if kind is None:
            parts.append(_encode_literal(segment))
        else:
            parts.append("{" + kind + "}")
            values.append(segment)
    return "/" + "/".join(parts), values


# ---------------------------------------------------------------------------------------------------------
# Global templating


@dataclass
class ShapeInfo:
    """What templating knows about one (method, shape): its count and a fingerprint of its response fields."""

    method: str
    shape: str
    count: int = 1
    fields: frozenset[str] = frozenset()
    success: bool = True  # answered 2xx/3xx at least once (error-only paths are often invalid ids)
    # what its 2xx answers always named themselves (`{"data": {"id": "abc"}}` for `/records/abc`)
    names: frozenset[str] = frozenset()
    rejected: bool = False  # every answer was 400/422: refused as an invalid value, not unknown (404)


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    here: list[ShapeInfo] = field(default_factory=list)  # shapes ending at this node
    literals: set[str] = field(default_factory=set)  # literal values merged into a slug node

    def add(self, segments: Sequence[str], info: ShapeInfo) -> None:
        node = self
        for seg in segments:
            node = node.children.setdefault(seg, _Node())
        node.here.append(info)

    def infos(self, prefix: tuple[str, ...] = ()) -> Iterable[tuple[tuple[str, ...], ShapeInfo]]:
        for info in self.here:
            yield prefix, info
        for seg, child in self.children.items():
            yield from child.infos((*prefix, seg))

    def merge(self, other: _Node) -> None:
        self.here.extend(other.here)
        self.literals |= other.literals
        for seg, child in other.children.items():
            if seg in self.children:
                self.children[seg].merge(child)
            else:
                self.children[seg] = child


@dataclass(frozen=True)
class Template:
    """A learned path template and, for each parameter, its kind (`int`, `uuid`, `slug`...)."""

    path: str
    params: tuple[tuple[str, str], ...]  # (name, kind) in path order


MIN_SIBLINGS = 3


def template_paths(
    shapes: Iterable[ShapeInfo],
    pinned: Sequence[str] = (),
    min_siblings: int = MIN_SIBLINGS,
) -> dict[tuple[str, str], Template]:
    """Map each (method, shape) to its template; pinned templates (`/files/{path}`) apply first."""
    shapes = list(shapes)
    result: dict[tuple[str, str], Template] = {}
    pins = [_compile_pin(p) for p in pinned]
    free: list[ShapeInfo] = []
    for info in shapes:
        pin = next((p for p in pins if p[1](info.shape)), None)
        if pin is not None:
            result[(info.method, info.shape)] = pin[0]
        else:
            free.append(info)
    root = _Node()
    for info in free:
        root.add(info.shape.strip("/").split("/") if info.shape != "/" else [], info)
    # literals that answered somewhere: route names, never a refused value (`_merge_validated_values`)
    answered = frozenset(seg for info in free if info.success for seg in info.shape.split("/"))
    _collapse(root, min_siblings, answered)
    for segments, info in root.infos():
        result[(info.method, info.shape)] = _name(segments)
    return result


def _compile_pin(pin: str) -> tuple[Template, Callable[[str], bool]]:
    segments = [s for s in pin.split("/") if s]
    params = tuple((s[1:-1], "pinned") for s in segments if s.startswith("{") and s.endswith("}"))
    pattern = "/" + "/".join(
        "[^/]+" if s.startswith("{") else re.escape(_encode_literal(s)) for s in segments
    )
    regex = re.compile(pattern)
    return Template("/" + "/".join(segments), params), lambda shape: bool(regex.fullmatch(shape))


def _collapse(node: _Node, min_siblings: int, answered: frozenset[str], depth: int = 0) -> None:
    """Bottom-up (deeper slugs first), then this level; a merge brings new siblings, so recurse into it."""
    for child in node.children.values():
        _collapse(child, min_siblings, answered, depth + 1)
    _absorb_invalid_values(node)
    literal = [seg for seg in node.children if not seg.startswith("{")]
    changed = _merge_many_values(node, literal, depth)
    changed = _merge_self_named(node, depth) or changed
    changed = _merge_validated_values(node, depth, answered) or changed
    literal = [seg for seg in node.children if not seg.startswith("{")]
    if len(literal) >= min_siblings:
        for group in _cluster(node, literal, depth):
            if (
                len(group) >= min_siblings
                and any(_succeeds(node.children[seg]) for seg in group)
                and not _collections(group)
            ):
                _into_slug(node, group)
                changed = True
    if any(seg.startswith("{") for seg in node.children):
        changed = _join_params(node, depth) or changed
        _absorb_invalid_values(node)
    if changed and "{slug}" in node.children:
        _collapse(node.children["{slug}"], min_siblings, answered, depth + 1)


HIGH_CARDINALITY = 12  # distinct values at one position of the path before their number alone decides


def _into_slug(node: _Node, segments: Iterable[str]) -> None:
    """Make these literal children values of the node's slug parameter (made if there is none)."""
    merged = node.children.pop("{slug}", None) or _Node()
    for seg in segments:
        merged.merge(node.children.pop(seg))
        merged.literals.add(seg)
    node.children["{slug}"] = merged


def _merge_many_values(node: _Node, literal: list[str], depth: int) -> bool:
    """A position where a new value turns up in at least every other request (`/repos/{owner}` with hundreds
    of owners, most seen once) holds a parameter, however little each value's own traffic says: all its
    candidate literals become one slug. Words (`me`, `findByStatus`, versions) stay literal, and so do sets of
    plural nouns (`pods`, `services`): those are collections."""
    candidates = [seg for seg in literal if _is_candidate(seg, depth)]
    if len(candidates) < HIGH_CARDINALITY or _collections(candidates):
        return False
    reached = sum(info.count for seg in candidates for _, info in node.children[seg].infos())
    if len(candidates) * 2 < reached:
        return False
    _into_slug(node, candidates)
    return True


def _merge_self_named(node: _Node, depth: int) -> bool:
    """Literals whose answers name them as their own identifier are values: `/records/abc` answering
    `{"data": {"id": "abc"}}`, `/accounts/alice` answering `{"id": "alice"}` (`/users/me` answers another
    login, `/config/general` no id). Beside a parameter they join it; two or more of them become one."""
    named = [
        seg
        for seg in node.children
        if not seg.startswith("{")
        and _is_candidate(seg, depth)
        and any(unquote(seg) in info.names for info in node.children[seg].here)
    ]
    params = sorted(seg for seg in node.children if seg.startswith("{"))
    if not named or (len(named) < 2 and not params):
        return False
    _into_slug(node, named)
    _join_typed_into_slug(node)  # a typed id beside them takes the same parameter
    return True


def _merge_validated_values(node: _Node, depth: int, answered: frozenset[str]) -> bool:
    """A literal the provider refused as invalid (400/422, never 404) beside literals that answer alike: the
    framework validated it as the value of a parameter with a closed set of values (FastAPI answers 422 for a
    path enum it does not know, 404 for a route it does not have; Spotify's `/me/top/{type}`: `artists`,
    `tracks`, and `bogus` refused). The siblings that continue like it become that parameter. A literal that
    answered anywhere else in the API (`topics` under another repository) is a route, refused only here."""
    literal = [s for s in node.children if not s.startswith("{") and _is_candidate(s, depth)]
    refused = [s for s in literal if s not in answered and _refused(node.children[s])]
    if not refused:
        return False
    routes = {s: {(suffix, info.method) for suffix, info in node.children[s].infos()} for s in literal}
    ok = [s for s in literal if s not in refused and _succeeds(node.children[s])]
    group = [s for s in ok if any(routes[s] == routes[o] for o in ok if o != s)]
    if len(group) < 2:
        return False
    known = routes[group[0]]
    values = [s for s in group if routes[s] == known] + [s for s in refused if routes[s] <= known]
    if len(values) < 3:
        return False
    _into_slug(node, values)
    _join_typed_into_slug(node)
    return True


def _refused(node: _Node) -> bool:
    infos = [info for _, info in node.infos()]
    return bool(infos) and all(info.rejected for info in infos)


def _join_params(node: _Node, depth: int) -> bool:
    """Literals left beside a parameter that continue and answer like it are more of its values: beside a slug,
    alike in their paths or their response fields; beside a typed id (`records/{uuid}`), alike in their
    response fields (`records/abc`, `records/r1` answer what `records/{uuid}` does), and the id is then a slug.
    Plural nouns beside a parameter (`issues/comments` beside `issues/{int}`) are collections, never values."""
    joined = False
    for param in sorted(s for s in node.children if s.startswith("{")):
        target = node.children[param]
        members = []
        for seg in [s for s in node.children if not s.startswith("{")]:
            if not _is_candidate(seg, depth) or _collections([seg, *sorted(target.literals)[:4]]):
                continue
            child = node.children[seg]
            typed = param != "{slug}"
            if typed and not _succeeds(child):
                continue  # an error-only literal is a bad value (_absorb_invalid_values)
            if _compatible(_skeleton(child, None), _skeleton(target, None), by_fields=typed):
                members.append(seg)
        if not members:
            continue
        for seg in members:
            target.merge(node.children.pop(seg))
            target.literals.add(seg)
        if param != "{slug}":
            node.children.pop(param)
            if "{slug}" in node.children:
                node.children["{slug}"].merge(target)
            else:
                node.children["{slug}"] = target
        joined = True
    return _join_typed_into_slug(node) or joined


def _join_typed_into_slug(node: _Node) -> bool:
    """A typed id parameter beside a slug is the same parameter (Stripe's coupons: `FALCON25` reads as an id,
    `ptEqvdCj` does not; both are coupon ids). OpenAPI forbids templated paths that differ only in their
    parameters' names (`/coupons/{couponId}` and `/coupons/{couponSlug}`), and as routes they would match the
    same requests: the slug takes the typed parameter's values and continuations."""
    slug = node.children.get("{slug}")
    typed = sorted(s for s in node.children if s.startswith("{") and s != "{slug}")
    if slug is None or not typed:
        return False
    for param in typed:
        slug.merge(node.children.pop(param))
    return True


_PLURAL = re.compile(r"[a-z][a-z_-]*[a-z]s")


def _collections(group: list[str]) -> bool:
    """Siblings that are nearly all plural nouns (`pods`, `services`, `configmaps`) are resources, not values."""
    plural = sum(1 for seg in group if _PLURAL.fullmatch(unquote(seg)))
    return plural * 5 >= len(group) * 4


def _succeeds(node: _Node) -> bool:
    return any(info.success for _, info in node.infos())


def _absorb_invalid_values(node: _Node) -> None:
    """A literal that only ever got errors, next to a parameter with the same continuations, is a bad value
    of that parameter (`/posts/abc` -> 404 beside `/posts/{int}`), not an operation of its own."""
    params = [seg for seg in node.children if seg.startswith("{")]
    if not params:
        return
    for seg in [s for s in node.children if not s.startswith("{")]:
        child = node.children[seg]
        if _succeeds(child) or not _is_candidate(seg, 99):
            continue
        mine = {suffix for suffix, _ in child.infos()}
        best = None
        for param in params:
            theirs = {suffix for suffix, _ in node.children[param].infos()}
            if mine & theirs or all(any(t[: len(m)] == m for t in theirs) for m in mine):
                best = param
                break
        if best is not None:
            absorbed = node.children.pop(seg)
            for info in (i for _, i in absorbed.infos()):
                info.success = False
            node.children[best].merge(absorbed)


def _is_candidate(segment: str, depth: int) -> bool:
    """Literal segments that could be values; words like `me`, `findByStatus`, `v2` (near the root) and a
    framework's own endpoints (`__heartbeat__`, `_search`, `.well-known`) never are."""
    raw = unquote(segment)
    if raw.lower() in RESERVED or _camel_words(raw) or raw[:1] in ("_", "."):
        return False
    return not (_VERSION.fullmatch(raw) and depth < 2)


def _skeleton(child: _Node, shared: set[tuple[int, str]] | None) -> dict[str, tuple[set[str], set[str]]]:
    """The continuations below a child: suffix path (private literals as `*`) -> (methods, response fields).

    `shared=None` keeps every literal (used to compare a literal with a slug parameter's subtree)."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    for suffix, info in child.infos():
        key = "/".join(
            seg if shared is None or seg.startswith("{") or (i, seg) in shared else "*"
            for i, seg in enumerate(suffix)
        )
        methods, fields = out.setdefault(key, (set(), set()))
        methods.add(info.method)
        if info.success:
            fields |= info.fields
    return out


def _cluster(node: _Node, literal: list[str], depth: int) -> list[list[str]]:
    """Group sibling literals whose subtrees continue alike and whose responses carry the same fields."""
    candidates = [seg for seg in literal if _is_candidate(seg, depth)]
    counts: dict[tuple[int, str], int] = {}
    for seg in candidates:
        seen = {(i, s) for suffix, _ in node.children[seg].infos() for i, s in enumerate(suffix)}
        for item in seen:
            counts[item] = counts.get(item, 0) + 1
    shared = {item for item, c in counts.items() if c >= 2}
    skeletons = {seg: _skeleton(node.children[seg], shared) for seg in candidates}
    order = sorted(candidates, key=lambda s: (-sum(i.count for _, i in node.children[s].infos()), s))
    clusters: list[tuple[list[str], dict[str, tuple[set[str], set[str]]]]] = []
    for seg in order:
        skel = skeletons[seg]
        for members, union in clusters:
            if _compatible(skel, union):
                members.append(seg)
                for key, (methods, fields) in skel.items():
                    m, f = union.setdefault(key, (set(), set()))
                    m |= methods
                    f |= fields
                break
        else:
            clusters.append(([seg], {k: (set(m), set(f)) for k, (m, f) in skel.items()}))
    return [sorted(members) for members, _ in clusters]


def _compatible(
    skel: dict[str, tuple[set[str], set[str]]],
    union: dict[str, tuple[set[str], set[str]]],
    *,
    by_fields: bool = False,
) -> bool:
    """Whether two subtrees continue alike and answer with the same fields (`by_fields`: only the fields may
    say yes, not the path structure alone)."""
    common = set(skel) & set(union)
    if not common:
        return False
    scores = []
    for key in common:
        mine, theirs = skel[key][1], union[key][1]
        if mine and theirs:  # overlap, not Jaccard: optional fields make one side a subset of the other
            scores.append(len(mine & theirs) / min(len(mine), len(theirs)))
    if scores:
        return sum(scores) / len(scores) >= 0.6
    if by_fields:
        return False
    # no response fields to compare (errors, 204s, binary): only the path structure speaks
    return len(common) * 2 >= min(len(skel), len(union))


def _singular(word: str) -> str:
    w = unquote(word)
    w = re.sub(r"[^A-Za-z0-9]+(.)", lambda m: m.group(1).upper(), w)
    w = re.sub(r"[^A-Za-z0-9]", "", w)
    if not w:
        return "param"
    if w[0].isdigit():
        w = "p" + w
    w = w[0].lower() + w[1:]
    lower = w.lower()
    if lower.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if lower.endswith(("sses", "shes", "ches", "xes", "zes")):
        return w[:-2]
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")) and len(w) > 3:
        return w[:-1]
    return w


_SUFFIX = {
    "slug": "Slug",
    "date": "Date",
    "datetime": "Time",
    "email": "Email",
    "semver": "Version",
    "digest": "Digest",
}


def _name(segments: Sequence[str]) -> Template:
    """Give parameters names from the segment before them: `users/{int}` -> `{userId}`."""
    parts: list[str] = []
    params: list[tuple[str, str]] = []
    used: set[str] = set()
    last_literal = ""
    for seg in segments:
        if seg.startswith("{") and seg.endswith("}"):
            kind = seg[1:-1]
            base = _singular(last_literal) if last_literal else "param"
            name = base + _SUFFIX.get(kind, "Id")
            unique, n = name, 2
            while unique in used:
                unique, n = f"{name}{n}", n + 1
            used.add(unique)
            params.append((unique, kind))
            parts.append("{" + unique + "}")
        else:
            parts.append(seg)
            last_literal = seg
    return Template("/" + "/".join(parts), tuple(params))
