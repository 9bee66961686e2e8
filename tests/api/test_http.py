"""The HTTP surface: GET queries, GraphiQL, health and readiness, and refusals of bad requests.

Every refusal is GraphQL-shaped JSON whose errors carry a code of the contract, the limits refuse
before any SQL runs, and the server keeps answering good requests afterwards.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.datastructures import Secret

from sessions_gateway.gateway.app import create_app
from sessions_gateway.gateway.config import Settings
from tests.conftest import ANSWER_EXTENSIONS
from tests.dataset import DATA
from tests.helpers import SECRET, post, token_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

CONTRACT_CODES = {
    "UNAUTHENTICATED",
    "BAD_USER_INPUT",
    "QUERY_TOO_COMPLEX",
    "SERVICE_UNAVAILABLE",
    "INTERNAL_SERVER_ERROR",
}
GOOD_QUERY = "{ sessions(first: 1) { totalCount } }"
# Fragments of SQL or driver output that must never reach a client.
LEAKS = re.compile(r"select|from\s+\w|where\s|sqlite|asyncpg|sqlalchemy|traceback|connect call|errno", re.IGNORECASE)


def auth(tenant: str = "alpha") -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(tenant)}"}


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    """The response's errors, after checking it is JSON and each error carries a contract code."""
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert "errors" in body, body
    errors: list[dict[str, Any]] = body["errors"]
    assert errors, body
    for error in errors:
        assert isinstance(error["message"], str), error
        assert error.get("extensions", {}).get("code") in CONTRACT_CODES, error
    return errors


def codes_of(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in errors_of(response)]


async def assert_still_serving(client: httpx.AsyncClient) -> None:
    response = await post(client, GOOD_QUERY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["sessions"]["totalCount"] == len(DATA.live_sessions("alpha"))


# --- GET, GraphiQL, health ----------------------------------------------------------------------


async def test_get_query_with_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{sessions(first:1){totalCount}}"}, headers=auth("beta"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["sessions"]["totalCount"] == len(DATA.live_sessions("beta"))


async def test_get_query_with_variables(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={
            "query": "query Q($n: Int) { sessions(first: $n) { edges { node { id } } } }",
            "variables": '{"n": 2}',
        },
        headers=auth(),
    )
    assert response.status_code == 200, response.text
    edges = response.json()["data"]["sessions"]["edges"]
    assert [e["node"]["id"] for e in edges] == ["a-04", "a-02"]


async def test_get_cannot_run_a_mutation(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "mutation { x }"}, headers=auth())
    assert response.status_code < 500, response.text
    assert codes_of(response)
    await assert_still_serving(client)


async def test_graphiql_page_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_graphiql_is_not_served_for_a_post_without_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": GOOD_QUERY}, headers={"Accept": "text/html"})
    assert response.status_code == 401
    assert codes_of(response) == ["UNAUTHENTICATED"]


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


async def test_readyz_with_database_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


async def test_success_is_json(client: httpx.AsyncClient) -> None:
    response = await post(client, GOOD_QUERY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "data": {"sessions": {"totalCount": len(DATA.live_sessions("alpha"))}},
        **ANSWER_EXTENSIONS,
    }


# --- unreachable database -------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["postgresql-refused", "sqlite-missing-directory"])
async def down_client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose database cannot be reached: nothing listens on port 1; the directory does not exist."""
    if request.param == "postgresql-refused":
        url = "postgresql+asyncpg://root@127.0.0.1:1/none"
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('down') / 'missing' / 'x.db'}"
    application = create_app(Settings(database_url=url, jwt_secret=Secret(SECRET)))
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_readyz_503_when_database_is_unreachable(down_client: httpx.AsyncClient) -> None:
    response = await down_client.get("/readyz")
    assert response.status_code == 503
    assert (await down_client.get("/healthz")).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        GOOD_QUERY,
        "{ sessions(first: 2) { edges { node { id name user { displayName } } } } }",
        '{ session(id: "a-01") { id } }',
        "{ sessionsReport { totalCount } }",
    ],
)
async def test_query_when_database_is_unreachable(down_client: httpx.AsyncClient, query: str) -> None:
    response = await post(down_client, query)
    assert response.status_code != 500, response.text
    errors = errors_of(response)
    assert {e["extensions"]["code"] for e in errors} == {"SERVICE_UNAVAILABLE"}, errors
    for error in errors:
        assert not LEAKS.search(error["message"]), error["message"]
    assert not LEAKS.search(response.text), response.text
    # The process keeps running.
    assert (await down_client.get("/healthz")).status_code == 200


# --- refused requests -------------------------------------------------------------------------------


async def test_invalid_json_body(client: httpx.AsyncClient, statements: list[str]) -> None:
    response = await client.post(
        "/graphql", content=b'{"query": "{ sessions', headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert codes_of(response) == ["BAD_USER_INPUT"]
    assert "data" not in response.json()
    assert statements == []
    await assert_still_serving(client)


@pytest.mark.parametrize("body", [{}, {"variables": {}}, {"query": None}, {"query": ""}])
async def test_body_without_query(client: httpx.AsyncClient, statements: list[str], body: dict[str, Any]) -> None:
    response = await client.post("/graphql", json=body, headers=auth())
    assert response.status_code < 500, response.text
    assert codes_of(response) == ["BAD_USER_INPUT"]
    assert statements == []
    await assert_still_serving(client)


async def test_body_that_is_not_an_object(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=["{ sessions { totalCount } }"], headers=auth())
    assert response.status_code < 500, response.text
    assert codes_of(response) == ["BAD_USER_INPUT"]
    await assert_still_serving(client)


@pytest.mark.parametrize(
    "query",
    [
        "{ sessions(first: 1) { totalCount ",
        "{ sessions(first: 1) { totalCount } } }",
        "query {",
        "{ sessions(first: 1) { totalCount @ } }",
        "not graphql at all",
    ],
)
async def test_syntax_error(client: httpx.AsyncClient, statements: list[str], query: str) -> None:
    response = await post(client, query)
    assert response.status_code < 500, response.text
    assert codes_of(response) == ["BAD_USER_INPUT"]
    assert statements == []
    await assert_still_serving(client)


@pytest.mark.parametrize(
    "query",
    [
        "{ nope }",
        "{ sessions(first: 1) { totalCount nope } }",
        "{ sessions(nope: 1) { totalCount } }",
        "{ sessions(first: 1) }",
        '{ session(id: "a-01") { id user { nope } } }',
    ],
)
async def test_unknown_field_or_argument(client: httpx.AsyncClient, statements: list[str], query: str) -> None:
    response = await post(client, query)
    assert response.status_code < 500, response.text
    assert set(codes_of(response)) == {"BAD_USER_INPUT"}
    assert response.json().get("data") is None
    assert statements == []
    await assert_still_serving(client)


async def test_wrong_variable_type(client: httpx.AsyncClient, statements: list[str]) -> None:
    response = await post(client, "query Q($n: Int) { sessions(first: $n) { totalCount } }", {"n": "many"})
    assert response.status_code < 500, response.text
    assert codes_of(response) == ["BAD_USER_INPUT"]
    assert statements == []


@pytest.mark.parametrize("query", ["mutation { x }", "subscription { x }"])
async def test_mutation_is_refused_with_a_code(client: httpx.AsyncClient, statements: list[str], query: str) -> None:
    response = await post(client, query)
    assert response.status_code < 500, response.text
    assert codes_of(response)
    assert response.json().get("data") is None
    assert statements == []
    await assert_still_serving(client)


async def test_wrong_method(client: httpx.AsyncClient) -> None:
    response = await client.put("/graphql", json={"query": GOOD_QUERY}, headers=auth())
    assert 400 <= response.status_code < 500, response.text
    assert codes_of(response)
    await assert_still_serving(client)


# --- query limits (QUERY_TOO_COMPLEX, no SQL) -------------------------------------------------------


def nested(depth: int) -> str:
    """Fields nested ``depth`` levels below ``sessions { edges { node { user`` (the schema has no cycle)."""
    inner = "id"
    for level in range(depth):
        inner = f"f{level} {{ {inner} }}"
    return f"{{ sessions(first: 1) {{ edges {{ node {{ user {{ {inner} }} }} }} }} }}"


def nested_fragments(depth: int) -> str:
    """The same nesting, spread across a chain of named fragments."""
    head = "{ sessions(first: 1) { edges { node { user { ...F0 } } } } }"
    chain = [f"fragment F{level} on User {{ x{level} {{ ...F{level + 1} }} }}" for level in range(depth)]
    return "\n".join([head, *chain, f"fragment F{depth} on User {{ id }}"])


def aliases(count: int) -> str:
    """``count`` aliases of one cheap page (a ``totalCount`` each would be over the cost limit: a scan apiece)."""
    return "{ " + " ".join(f"a{i}: sessions(first: 1) {{ edges {{ node {{ id }} }} }}" for i in range(count)) + " }"


def tokens(fragments: int) -> str:
    """A valid query of ``11 + 6 * fragments`` tokens that would read the database."""
    return "{ sessions(first: 1) { totalCount " + "... on SessionConnection { totalCount } " * fragments + "} }"


@pytest.mark.parametrize(
    "query",
    [nested(12), nested_fragments(12), aliases(31), aliases(100), tokens(350)],
    ids=["depth", "depth-fragments", "aliases-31", "aliases-100", "tokens"],
)
async def test_limits_refuse_before_any_sql(client: httpx.AsyncClient, statements: list[str], query: str) -> None:
    response = await post(client, query)
    assert response.status_code < 500, response.text
    assert "QUERY_TOO_COMPLEX" in codes_of(response)
    assert response.json().get("data") is None
    assert statements == []
    await assert_still_serving(client)


async def test_aliases_at_the_limit_run(client: httpx.AsyncClient) -> None:
    response = await post(client, aliases(30))
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    assert len(body["data"]) == 30
    assert len({v["edges"][0]["node"]["id"] for v in body["data"].values()}) == 1


async def test_many_tokens_under_the_limit_run(client: httpx.AsyncClient) -> None:
    response = await post(client, tokens(300))
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["sessions"]["totalCount"] == len(DATA.live_sessions("alpha"))


async def test_with_graphiql_switched_off_a_browser_gets_the_401_body_not_a_page(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, jwt_secret=Secret(SECRET), graphiql=False))
    transport = httpx.ASGITransport(app=app)
    async with LifespanManager(app), httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        with_token = await http.get(
            "/graphql", headers={"Accept": "text/html", "Authorization": f"Bearer {token_for('alpha')}"}
        )
    assert page.status_code == 401
    assert page.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert with_token.status_code == 404
    assert with_token.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_batch_of_operations_is_refused_unread(client: httpx.AsyncClient, statements: list[str]) -> None:
    batch = [{"query": "{ sessions { totalCount } }"}, {"query": "{ sessionsReport { totalCount } }"}]
    response = await client.post("/graphql", json=batch, headers=auth())
    assert response.status_code == 400
    assert response.json() == {
        **ANSWER_EXTENSIONS,
        "errors": [
            {
                "message": "Send one operation per request: batches are not accepted.",
                "extensions": {"code": "QUERY_TOO_COMPLEX"},
            }
        ],
    }
    assert statements == []
    await assert_still_serving(client)


@pytest.mark.parametrize("sent", ["with-content-length", "streamed"])
async def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(
    client: httpx.AsyncClient, statements: list[str], sent: str
) -> None:
    padding = " " * 70_000  # JSON allows white space; the query itself is harmless
    body = f'{{"query": "{{ sessions {{ totalCount }} }}"{padding}}}'.encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    content: bytes | AsyncIterator[bytes] = body if sent == "with-content-length" else chunks()
    headers = {**auth(), "Content-Type": "application/json"}
    response = await client.post("/graphql", content=content, headers=headers)
    assert response.status_code == 413
    assert response.json() == {
        **ANSWER_EXTENSIONS,
        "errors": [
            {"message": "The request body is larger than 65536 bytes.", "extensions": {"code": "QUERY_TOO_COMPLEX"}}
        ],
    }
    assert statements == []
    await assert_still_serving(client)


async def test_introspection_answers_by_default_and_can_be_switched_off(settings: Settings) -> None:
    query = "{ __schema { queryType { name } } }"
    for introspection, expected in ((True, {"data": {"__schema": {"queryType": {"name": "Query"}}}}), (False, None)):
        app = create_app(dataclasses.replace(settings, introspection=introspection))
        transport = httpx.ASGITransport(app=app)
        async with LifespanManager(app), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await post(http, query)
            if expected is not None:
                assert response.json()["data"] == expected["data"]
            else:
                body = response.json()
                assert body["data"] is None
                assert body["errors"]
                assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}
                assert "introspection" in body["errors"][0]["message"].lower()
                # ordinary queries still answer
                ordinary = await post(http, "{ sessions(first: 1) { edges { node { id } } } }")
                assert "errors" not in ordinary.json()


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("https://dashboard.example.com", True), ("https://evil.example.net", False)],
)
async def test_cors_answers_only_the_configured_origins(settings: Settings, origin: str, *, allowed: bool) -> None:
    configured = dataclasses.replace(settings, cors_origins=("https://dashboard.example.com",))
    app = create_app(configured)
    transport = httpx.ASGITransport(app=app)
    async with LifespanManager(app), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        # the browser's preflight
        preflight = await http.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        response = await http.post(
            "/graphql", json={"query": "{ sessions(first: 1) { totalCount } }"}, headers={**auth(), "Origin": origin}
        )
    assert response.status_code == 200
    if allowed:
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-allow-origin"] == origin
    else:
        assert preflight.status_code == 400
        assert "access-control-allow-origin" not in preflight.headers
        assert "access-control-allow-origin" not in response.headers


def test_cors_origins_come_from_a_comma_separated_setting() -> None:
    settings = Settings.from_env(
        {"GATEWAY_JWT_SECRET": "s" * 40, "GATEWAY_CORS_ORIGINS": "https://a.example.com, https://b.example.com"}
    )
    assert settings.cors_origins == ("https://a.example.com", "https://b.example.com")
    assert Settings.from_env({"GATEWAY_JWT_SECRET": "s" * 40}).cors_origins == ()


# --- request shapes: every mistake is a 400 with a GraphQL-shaped body --------------------------


def bad_input(response: httpx.Response, message: str) -> None:
    """A 400 whose one error is ``message``, coded BAD_USER_INPUT, with no ``data``."""
    assert response.status_code == 400, response.text
    assert response.json() == {
        **ANSWER_EXTENSIONS,
        "errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}],
    }


NOT_AN_OBJECT = "The request must be a JSON object with a `query` member."


def wrong_member(member: str, kind: str) -> str:
    return f"The GraphQL operation's `{member}` must be {kind} or null, if provided."


@pytest.mark.parametrize("body", [b'"x"', b"5", b"null", b"true", b"[1]", b"[]", b'["{ sessions { totalCount } }"]'])
async def test_a_body_that_is_not_an_object(client: httpx.AsyncClient, statements: list[str], body: bytes) -> None:
    response = await client.post("/graphql", content=body, headers={**auth(), "Content-Type": "application/json"})
    bad_input(response, NOT_AN_OBJECT)
    assert statements == []
    await assert_still_serving(client)


@pytest.mark.parametrize(
    ("member", "value", "kind"),
    [
        ("operationName", 5, "a string"),
        ("operationName", ["Q"], "a string"),
        ("query", 5, "a string"),
        ("variables", 5, "an object"),
        ("variables", "{}", "an object"),
        ("variables", [1], "an object"),
        ("extensions", [1], "an object"),
        ("extensions", True, "an object"),
    ],
)
async def test_a_member_of_the_wrong_type_in_a_post(
    client: httpx.AsyncClient, statements: list[str], member: str, value: object, kind: str
) -> None:
    body = {"query": "query Q { sessions(first: 1) { totalCount } }", member: value}
    response = await client.post("/graphql", json=body, headers=auth())
    bad_input(response, wrong_member(member, kind))
    assert statements == []
    await assert_still_serving(client)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"variables": "5"}, wrong_member("variables", "an object")),
        ({"variables": "[1]"}, wrong_member("variables", "an object")),
        ({"variables": '"x"'}, wrong_member("variables", "an object")),
        ({"variables": "{"}, "Unable to parse request body as JSON"),
        ({"extensions": "[1]"}, wrong_member("extensions", "an object")),
        ({"extensions": "true"}, wrong_member("extensions", "an object")),
        ({"operationName": "5"}, 'Unknown operation named "5".'),
    ],
)
async def test_a_query_parameter_of_the_wrong_type(
    client: httpx.AsyncClient, statements: list[str], params: dict[str, str], message: str
) -> None:
    query = {"query": "query Q { sessions(first: 1) { totalCount } }", **params}
    response = await client.get("/graphql", params=query, headers=auth())
    bad_input(response, message)
    assert statements == []


async def test_a_post_with_null_members_still_runs(client: httpx.AsyncClient) -> None:
    body = {"query": GOOD_QUERY, "operationName": None, "variables": None, "extensions": None}
    response = await client.post("/graphql", json=body, headers=auth())
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"sessions": {"totalCount": len(DATA.live_sessions("alpha"))}}


# --- caching: an answer is one tenant's, chosen by its token ------------------------------------

PERSISTED_MISS = {
    "extensions": '{"persistedQuery": {"version": 1, "sha256Hash": "' + "0" * 64 + '"}}',
}


@pytest.mark.parametrize(
    ("method", "request_kwargs", "status"),
    [
        ("POST", {"json": {"query": GOOD_QUERY}, "headers": auth()}, 200),
        ("GET", {"params": {"query": GOOD_QUERY}, "headers": auth()}, 200),
        ("POST", {"json": {"query": "{ nope }"}, "headers": auth()}, 200),
        ("GET", {"params": {"query": "{ nope }"}, "headers": auth()}, 200),
        ("POST", {"json": {"query": GOOD_QUERY}}, 401),
        ("GET", {"params": {"query": GOOD_QUERY}}, 401),
        ("POST", {"content": b"5", "headers": {**auth(), "Content-Type": "application/json"}}, 400),
        ("GET", {"params": PERSISTED_MISS, "headers": auth()}, 200),
        (
            "POST",
            {"json": {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}, "headers": auth()},
            200,
        ),
        ("POST", {"json": [{"query": GOOD_QUERY}], "headers": auth()}, 400),
        ("PUT", {"json": {"query": GOOD_QUERY}, "headers": auth()}, 405),
    ],
    ids=[
        "post",
        "get",
        "post-error",
        "get-error",
        "post-401",
        "get-401",
        "bad-body",
        "get-persisted-miss",
        "post-persisted-miss",
        "batch",
        "wrong-method",
    ],
)
async def test_no_answer_is_kept_by_a_shared_cache(
    client: httpx.AsyncClient, method: str, request_kwargs: dict[str, Any], status: int
) -> None:
    response = await client.request(method, "/graphql", **request_kwargs)
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "private, no-store"
    assert "Authorization" in response.headers.get_list("vary", split_commas=True)


async def test_vary_keeps_cors_origin_alongside_authorization(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, cors_origins=("https://dashboard.example.com",)))
    transport = httpx.ASGITransport(app=app)
    async with LifespanManager(app), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get(
            "/graphql", params={"query": GOOD_QUERY}, headers={**auth(), "Origin": "https://dashboard.example.com"}
        )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "https://dashboard.example.com"
    assert response.headers["cache-control"] == "private, no-store"
    assert sorted(response.headers.get_list("vary", split_commas=True)) == ["Authorization", "Origin"]


# --- with introspection off, errors do not describe the schema ----------------------------------

# (query, variables, the message with introspection on, the same with it off)
SUGGESTING = [
    (
        "{ sessions(first: 1) { totalCont } }",
        {},
        "Cannot query field 'totalCont' on type 'SessionConnection'. Did you mean 'totalCount'?",
        "Cannot query field 'totalCont' on type 'SessionConnection'.",
    ),
    (
        "{ sessions(frist: 1) { totalCount } }",
        {},
        "Unknown argument 'frist' on field 'Query.sessions'. Did you mean 'first' or 'last'?",
        "Unknown argument 'frist' on field 'Query.sessions'.",
    ),
    (
        "{ sessions(first: 1, filter: {status: COMPLETE}) { totalCount } }",
        {},
        "Value 'COMPLETE' does not exist in 'SessionStatus' enum. Did you mean the enum value 'COMPLETED'?",
        "Value 'COMPLETE' does not exist in 'SessionStatus' enum.",
    ),
    (
        "query Q($s: SessionStatus) { sessions(first: 1, filter: {status: $s}) { totalCount } }",
        {"s": "COMPLETE"},
        (
            "Variable '$s' has invalid value: Value 'COMPLETE' does not exist in 'SessionStatus' enum."
            " Did you mean the enum value 'COMPLETED'?"
        ),
        "Variable '$s' has invalid value: Value 'COMPLETE' does not exist in 'SessionStatus' enum.",
    ),
    (
        "{ sessions(first: 1, filter: {stats: COMPLETED}) { totalCount } }",
        {},
        (
            "Expected value of type 'SessionFilter' not to include unknown field 'stats'. Did you mean 'status'?"
            " Found: { stats: COMPLETED }."
        ),
        "Expected value of type 'SessionFilter' not to include unknown field 'stats'. Found: { stats: COMPLETED }.",
    ),
]


@pytest.mark.parametrize(
    ("query", "variables", "suggesting", "plain"),
    SUGGESTING,
    ids=["field", "argument", "enum", "enum-variable", "input-field"],
)
async def test_suggestions_only_while_introspection_is_on(
    settings: Settings, query: str, variables: dict[str, Any], suggesting: str, plain: str
) -> None:
    for introspection, expected in ((True, suggesting), (False, plain)):
        for compiled_plans in (True, False):
            configured = dataclasses.replace(settings, introspection=introspection, compiled_plans=compiled_plans)
            app = create_app(configured)
            transport = httpx.ASGITransport(app=app)
            async with LifespanManager(app), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                response = await post(http, query, variables)
            assert response.status_code == 200, response.text
            assert [(e["message"], e["extensions"]["code"]) for e in errors_of(response)] == [
                (expected, "BAD_USER_INPUT")
            ]
