"""Known operations: a list or a detail a plan answered before is answered again without Strawberry's machinery.

``gateway/view.py`` ``_answer_known``: the document passed the limits and validation when it was
first answered; the same text and operation name are then answered by the plan straight. These
tests count Strawberry's executions to tell which path answered, and hold both to the same bytes.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pytest
import strawberry
from asgi_lifespan import LifespanManager

from sessions_gateway.gateway.app import create_app
from tests.conftest import http_client
from tests.helpers import post, token_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import httpx

    from sessions_gateway.gateway.config import Settings

LIST = """query Rows($first: Int!, $after: String) {
  sessions(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id name status user { displayName } } }
  }
}"""
DETAIL = "query One($id: ID!) { session(id: $id) { id name procedures { position name } summary { score } } }"


@pytest.fixture
def executions(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The operations Strawberry's schema executed while the test runs, by name."""
    seen: list[str | None] = []
    real = strawberry.Schema.execute

    async def counted(self: Any, query: str | None, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("operation_name"))
        return await real(self, query, *args, **kwargs)

    monkeypatch.setattr(strawberry.Schema, "execute", counted)
    return seen


@pytest.fixture
async def fresh(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app of its own: no operation is known to it yet."""
    application = create_app(settings)
    async with LifespanManager(application), http_client(application) as client:
        yield client


async def test_a_list_answered_once_is_answered_again_without_strawberry_and_the_same(
    fresh: httpx.AsyncClient, executions: list[str | None]
) -> None:
    # when: the same list three times, then its next page
    answers = [await post(fresh, LIST, {"first": 2}) for _ in range(3)]
    cursor = answers[0].json()["data"]["sessions"]["pageInfo"]["endCursor"]
    following = await post(fresh, LIST, {"first": 2, "after": cursor})
    # then: Strawberry executed the first only; every answer is the same bytes, and headers
    assert executions == [None]
    assert {a.content for a in answers} == {answers[0].content}
    assert [a.headers["cache-control"] for a in answers] == ["private, no-store"] * 3
    assert following.json()["data"]["sessions"]["edges"][0]["node"]["id"] not in answers[0].text
    assert "errors" not in following.json()


async def test_a_detail_of_another_tenant_is_answered_for_that_tenant(
    fresh: httpx.AsyncClient, executions: list[str | None]
) -> None:
    # given: a detail known from alpha's request
    mine = await post(fresh, DETAIL, {"id": "a-01"}, tenant="alpha")
    # when: beta asks for alpha's session, then for one of its own
    theirs = await post(fresh, DETAIL, {"id": "a-01"}, tenant="beta")
    own = await post(fresh, DETAIL, {"id": "b-01"}, tenant="beta")
    # then: known, and each tenant's own answer
    assert executions == [None]
    assert mine.json()["data"]["session"]["id"] == "a-01"
    assert theirs.json() == {"data": {"session": None}, "extensions": {"requestId": theirs.headers["x-request-id"]}}
    assert own.json()["data"]["session"]["id"] == "b-01"


async def test_a_known_document_whose_variables_select_a_report_is_answered_by_strawberry(
    fresh: httpx.AsyncClient, executions: list[str | None]
) -> None:
    # given: a document known from a request whose @include left the list alone
    query = (
        "query Mixed($report: Boolean!) { sessions(first: 1) { edges { node { id } } } "
        "sessionsReport @include(if: $report) { totalCount } }"
    )
    await post(fresh, query, {"report": False})
    await post(fresh, query, {"report": False})
    # when: the report is selected
    answer = await post(fresh, query, {"report": True})
    # then: Strawberry's view answers it (its report cap applies), with the report
    assert executions == [None, None]
    assert answer.json()["data"]["sessionsReport"]["totalCount"] > 0


async def test_a_bad_cursor_on_a_known_list_gets_the_same_error(
    fresh: httpx.AsyncClient, executions: list[str | None]
) -> None:
    await post(fresh, LIST, {"first": 2})
    # when
    answer = await post(fresh, LIST, {"first": 2, "after": "not-a-cursor"})
    # then: the plan could not answer before reading; Strawberry's view answers, as ever
    assert executions == [None, None]
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_known_document_by_get_or_with_extensions_is_answered_by_strawberry(
    fresh: httpx.AsyncClient, executions: list[str | None]
) -> None:
    await post(fresh, DETAIL, {"id": "a-01"})
    headers = {"Authorization": f"Bearer {token_for('alpha')}"}
    # when
    by_get = await fresh.get("/graphql", params={"query": DETAIL, "variables": '{"id": "a-01"}'}, headers=headers)
    with_extensions = await fresh.post(
        "/graphql", json={"query": DETAIL, "variables": {"id": "a-01"}, "extensions": {}}, headers=headers
    )
    # then
    assert executions == [None, None, None]
    assert by_get.json()["data"] == with_extensions.json()["data"]


async def test_without_a_token_a_known_document_is_refused(fresh: httpx.AsyncClient) -> None:
    await post(fresh, DETAIL, {"id": "a-01"})
    answer = await fresh.post("/graphql", json={"query": DETAIL, "variables": {"id": "a-01"}})
    assert answer.status_code == 401


async def test_persisted_only_servers_answer_every_request_through_strawberry(
    settings: Settings, executions: list[str | None], tmp_path: Path
) -> None:
    only = dataclasses.replace(settings, persisted_queries_dir=tmp_path, persisted_queries_only=True)
    application = create_app(only)
    async with LifespanManager(application), http_client(application) as client:
        answers = [await post(client, DETAIL, {"id": "a-01"}) for _ in range(2)]
    # every request reaches the persisted-query check (and is refused there)
    assert {a.json()["errors"][0]["extensions"]["code"] for a in answers} == {"PERSISTED_QUERY_NOT_IN_LIST"}
    assert executions == []
