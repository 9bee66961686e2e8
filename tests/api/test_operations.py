"""Which operation of a document runs: the one ``operationName`` names, or the only one there is.

The same on both paths (compiled plans, and Strawberry's executor alone), over POST and GET. A
document of several operations with no name, or a name it does not hold, is refused before any
read, as the GraphQL spec has it ("GetOperation").
"""

from __future__ import annotations

import functools
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from strawberry.extensions import ParserCache

from sessions_gateway.schema.build import CACHE_SIZE
from tests.conftest import ANSWER_EXTENSIONS, both_paths
from tests.dataset import DATA
from tests.helpers import token_for

if TYPE_CHECKING:
    import httpx

TWO = "query List { sessions(first: 1) { totalCount } } query Report { sessionsReport { totalCount } }"
HEADERS = {"Authorization": f"Bearer {token_for('alpha')}"}
TOTAL = len(DATA.live_sessions("alpha"))


async def ask(client: httpx.AsyncClient, method: str, body: dict[str, Any]) -> httpx.Response:
    if method == "GET":
        return await client.get("/graphql", params=body, headers=HEADERS)
    return await client.post("/graphql", json=body, headers=HEADERS)


def refused(message: str) -> dict[str, Any]:
    return {**ANSWER_EXTENSIONS, "errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]}


@pytest.fixture(scope="module")
async def clients(database_url: str) -> Any:
    async with both_paths(database_url) as pair:
        yield pair


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize(
    ("body", "status", "answer"),
    [
        (
            {"query": TWO},
            400,
            refused("Must provide operation name if query contains multiple operations."),
        ),
        (
            {"query": "{ sessions(first: 1) { totalCount } } query Report { sessionsReport { totalCount } }"},
            400,
            refused("Must provide operation name if query contains multiple operations."),
        ),
        ({"query": TWO, "operationName": "Elsewhere"}, 400, refused('Unknown operation named "Elsewhere".')),
        (
            {"query": "query List { sessions(first: 1) { totalCount } }", "operationName": "Report"},
            400,
            refused('Unknown operation named "Report".'),
        ),
        (
            {"query": TWO, "operationName": "List"},
            200,
            {"data": {"sessions": {"totalCount": TOTAL}}, **ANSWER_EXTENSIONS},
        ),
        (
            {"query": TWO, "operationName": "Report"},
            200,
            {"data": {"sessionsReport": {"totalCount": TOTAL}}, **ANSWER_EXTENSIONS},
        ),
        # One operation and a fragment: the operation needs no name.
        (
            {"query": "query List { sessions(first: 1) { ...T } } fragment T on SessionConnection { totalCount }"},
            200,
            {"data": {"sessions": {"totalCount": TOTAL}}, **ANSWER_EXTENSIONS},
        ),
    ],
    ids=["two-named", "anonymous-and-named", "unknown-name", "name-not-in-document", "first", "second", "fragment"],
)
async def test_the_operation_that_runs(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    method: str,
    body: dict[str, Any],
    status: int,
    answer: dict[str, Any],
) -> None:
    for client in clients:  # compiled plans, then the executor
        response = await ask(client, method, body)
        assert response.status_code == status, response.text
        assert response.json() == answer


async def test_choosing_the_operation_parses_the_document_once(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    # The schema's shared parse cache (an ``lru_cache``), which the view's choice reads through.
    parse: functools._lru_cache_wrapper[Any] = ParserCache(maxsize=CACHE_SIZE).cached_parse_document  # type: ignore[assignment]
    query = f"query Q{uuid.uuid4().hex} {{ sessions(first: 1) {{ totalCount }} }}"
    before = parse.cache_info()
    response = await ask(clients[1], "POST", {"query": query})
    assert response.status_code == 200, response.text
    after = parse.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
