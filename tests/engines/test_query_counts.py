"""SQL statements per request are fixed by the query's shape, never by its page size (no N+1)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.helpers import gql

ROW_FIELDS = """
  id name status role thumbnailUrl durationSeconds startedAt completedAt seatId procedureCount
  user { id displayName }
  linkedTask { id title source externalRef status url }
"""
LIST = f"""
query List($first: Int!) {{
  sessions(first: $first) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {ROW_FIELDS} }} }}
  }}
}}
"""
LIST_EVERYTHING = f"""
query List($first: Int!) {{
  sessions(first: $first) {{
    totalCount
    edges {{ node {{
      {ROW_FIELDS}
      procedures {{ id position name description videoUrl }}
      recording {{ status url expiresAt }}
      summary {{ score prose trainerNotes }}
    }} }}
  }}
}}
"""
DETAIL = f"""
query Detail($id: ID!) {{
  session(id: $id) {{
    {ROW_FIELDS}
    procedures {{ id position name description videoUrl }}
    recording {{ status url expiresAt }}
    summary {{ score prose trainerNotes }}
  }}
}}
"""


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """One clock reading for every request of a test: both paths' answers compare whole (durations, signed URLs)."""
    now = datetime.now(UTC)
    monkeypatch.setattr("sessions_gateway.gateway.context.clock", lambda: now)


@pytest.mark.parametrize("page_size", [5, 50, 100])
async def test_a_list_page_with_its_count_and_relations_is_one_statement(
    client: httpx.AsyncClient,
    statements: list[str],
    executor_client: httpx.AsyncClient,
    executor_statements: list[str],
    page_size: int,
) -> None:
    # when
    data = await gql(client, LIST, {"first": page_size})
    executor_data = await gql(executor_client, LIST, {"first": page_size})
    # then: the compiled plan reads the page, its count, users, tasks (name and linkedTask) and
    # procedure counts in one statement; the executor one batch each
    assert data == executor_data
    assert len(data["sessions"]["edges"]) == min(page_size, 48)
    assert len(statements) == 1, statements
    assert len(executor_statements) == 5, executor_statements
    assert all("tenant_id" in s for s in statements + executor_statements)


@pytest.mark.parametrize("page_size", [5, 50, 100])
async def test_every_relation_of_a_page_is_read_in_its_one_statement(
    client: httpx.AsyncClient,
    statements: list[str],
    executor_client: httpx.AsyncClient,
    executor_statements: list[str],
    page_size: int,
) -> None:
    # when
    data = await gql(client, LIST_EVERYTHING, {"first": page_size})
    executor_data = await gql(executor_client, LIST_EVERYTHING, {"first": page_size})
    # then: one statement, which counts the procedures it read; the executor reads the page,
    # count, users, tasks, procedure counts, procedures, recordings and summaries
    assert data == executor_data
    assert len(statements) == 1, statements
    assert "procedures" in statements[0]
    assert len(executor_statements) == 8, executor_statements


async def test_a_detail_with_every_field_is_one_statement(
    client: httpx.AsyncClient,
    statements: list[str],
    executor_client: httpx.AsyncClient,
    executor_statements: list[str],
) -> None:
    data = await gql(client, DETAIL, {"id": "a-01"})
    executor_data = await gql(executor_client, DETAIL, {"id": "a-01"})
    assert data == executor_data
    assert data["session"]["name"] == "Boiler annual service"
    # the executor: session, users, tasks, procedure counts, procedures, recordings, summaries
    assert len(statements) == 1, statements
    assert len(executor_statements) == 7, executor_statements
    assert all("tenant_id" in s for s in statements + executor_statements)


async def test_total_count_is_not_computed_unless_asked_for(client: httpx.AsyncClient, statements: list[str]) -> None:
    await gql(client, "{ sessions(first: 50) { edges { node { id status } } } }")
    assert len(statements) == 1, statements
    assert "count(" not in statements[0].lower()
