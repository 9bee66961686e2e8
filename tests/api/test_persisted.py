"""Persisted queries: Apollo's automatic protocol over POST and GET, and the allow-list mode."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import pytest
from strawberry.http import GraphQLRequestData

from sessions_gateway.gateway.config import Settings, SettingsError
from sessions_gateway.gateway.persisted import PersistedQueries, sha256_hex
from tests.conftest import audited, http_client, recording
from tests.dataset import ALPHA, BETA
from tests.helpers import token_for

if TYPE_CHECKING:
    from pathlib import Path

    import httpx
    from starlette.applications import Starlette

LIST = "query Sessions { sessions(first: 2) { totalCount edges { node { id name } } } }"
COUNT = "query Count { sessionsReport { totalCount } }"


def persisted(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(query)}}


async def send(
    client: httpx.AsyncClient, body: dict[str, Any], *, tenant: str = ALPHA, method: str = "POST"
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token_for(tenant)}"}
    if method == "GET":
        params = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in body.items()}
        response = await client.get("/graphql", params=params, headers=headers)
    else:
        response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def code_of(answer: dict[str, Any]) -> str:
    assert "data" not in answer or answer["data"] is None, answer
    code: str = answer["errors"][0]["extensions"]["code"]
    return code


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("operations")
    (folder / "sessions.graphql").write_text(LIST)
    (folder / "reports").mkdir()
    (folder / "reports" / "count.graphql").write_text(COUNT)
    return folder


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_an_unknown_hash_is_persisted_query_not_found_and_reads_nothing(
    app: Starlette, client: httpx.AsyncClient, method: str
) -> None:
    query = LIST.replace("first: 2", f"first: {3 if method == 'POST' else 4}")
    with recording(app) as sent:
        answer = await send(client, {"extensions": persisted(query)}, method=method)
    assert code_of(answer) == "PERSISTED_QUERY_NOT_FOUND"
    assert answer["errors"][0]["message"] == "PersistedQueryNotFound"
    assert sent == []


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_the_text_registers_the_hash_and_the_hash_alone_then_answers(
    client: httpx.AsyncClient, method: str
) -> None:
    query = LIST.replace("first: 2", f"first: {5 if method == 'POST' else 6}")
    full = await send(client, {"query": query, "extensions": persisted(query)}, method=method)
    assert full["data"]["sessions"]["totalCount"] > 0
    by_hash = await send(client, {"extensions": persisted(query)}, method=method)
    assert by_hash == full


async def test_variables_and_the_operation_name_travel_with_the_hash(client: httpx.AsyncClient) -> None:
    query = "query One($id: ID!) { session(id: $id) { id } } query Other { sessionsReport { totalCount } }"
    body = {"query": query, "extensions": persisted(query), "variables": {"id": "a-01"}, "operationName": "One"}
    assert (await send(client, body))["data"] == {"session": {"id": "a-01"}}
    del body["query"]
    assert (await send(client, body))["data"] == {"session": {"id": "a-01"}}


async def test_a_hash_registered_by_one_tenant_is_unknown_to_another(client: httpx.AsyncClient) -> None:
    query = LIST.replace("first: 2", "first: 7")
    await send(client, {"query": query, "extensions": persisted(query)}, tenant=ALPHA)
    assert code_of(await send(client, {"extensions": persisted(query)}, tenant=BETA)) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex("{ sessions { totalCount } }")}},
        {"persistedQuery": {"version": 2, "sha256Hash": sha256_hex(LIST)}},
        {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(LIST).upper()}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": "yes"},
    ],
    ids=["hash-of-another-text", "version-2", "upper-case-hash", "no-hash", "not-an-object"],
)
async def test_a_malformed_persisted_query_is_bad_user_input(
    app: Starlette, client: httpx.AsyncClient, extensions: dict[str, Any]
) -> None:
    with recording(app) as sent:
        answer = await send(client, {"query": LIST, "extensions": extensions})
    assert code_of(answer) == "BAD_USER_INPUT"
    assert sent == []


async def test_registered_operations_answer_by_hash_for_every_tenant(settings: Settings, registered: Path) -> None:
    async with (
        audited(dataclasses.replace(settings, persisted_queries_dir=registered)) as application,
        http_client(application) as client,
    ):
        for tenant in (ALPHA, BETA):
            assert (await send(client, {"extensions": persisted(COUNT)}, tenant=tenant))["data"]["sessionsReport"]
        # and the other kinds of request still run as usual
        assert (await send(client, {"query": "{ sessionsReport { totalCount } }"}))["data"]


async def test_with_the_allow_list_only_registered_operations_run(settings: Settings, registered: Path) -> None:
    allow_list = dataclasses.replace(settings, persisted_queries_dir=registered, persisted_queries_only=True)
    async with audited(allow_list) as application, http_client(application) as client:
        # registered: by hash, by text, by both
        assert (await send(client, {"extensions": persisted(LIST)}))["data"]["sessions"]
        assert (await send(client, {"query": COUNT}))["data"]["sessionsReport"]
        assert (await send(client, {"query": LIST, "extensions": persisted(LIST)}))["data"]["sessions"]
        # anything else is refused, before any read, and registers nothing
        other = "{ sessions { totalCount } }"
        with recording(application) as sent:
            refusals = [
                await send(client, {"query": other}),
                await send(client, {"query": other, "extensions": persisted(other)}),
                await send(client, {"extensions": persisted(other)}),
                await send(client, {"query": "{ __schema { types { name } } }"}),
            ]
        assert [code_of(answer) for answer in refusals] == ["PERSISTED_QUERY_NOT_IN_LIST"] * 4
        assert sent == []


def test_the_allow_list_needs_a_folder_that_exists(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="needs GATEWAY_PERSISTED_QUERIES_DIR"):
        dataclasses.replace(settings, persisted_queries_only=True).check()
    with pytest.raises(SettingsError, match="is not a folder"):
        dataclasses.replace(settings, persisted_queries_dir=tmp_path / "missing").check()


def test_settings_read_the_folder_and_the_mode_from_the_environment(tmp_path: Path) -> None:
    env = {"GATEWAY_PERSISTED_QUERIES_DIR": str(tmp_path), "GATEWAY_PERSISTED_QUERIES_ONLY": "true"}
    settings = Settings.from_env(env)
    assert settings.persisted_queries_dir == tmp_path
    assert settings.persisted_queries_only is True
    assert Settings.from_env({}).persisted_queries_dir is None


def test_automatic_registrations_are_bounded_and_the_least_recently_used_go_first() -> None:
    first, second, third = (LIST.replace("first: 2", f"first: {n}") for n in (11, 12, 13))
    store = PersistedQueries(cache_characters=2 * len(first))  # room for two

    def ask(query: str, *, with_text: bool) -> GraphQLRequestData:
        data = GraphQLRequestData(
            query=query if with_text else None, variables=None, operation_name=None, extensions=persisted(query)
        )
        return store.resolve(data, ALPHA)

    ask(first, with_text=True)
    ask(second, with_text=True)
    assert ask(first, with_text=False).query == first  # first is now the most recently used
    ask(third, with_text=True)  # over the bound: second goes
    assert ask(first, with_text=False).query == first
    assert ask(third, with_text=False).query == third
    with pytest.raises(Exception, match="PersistedQueryNotFound"):
        ask(second, with_text=False)
