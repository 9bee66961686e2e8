"""SQL statements per request are fixed by the query's shape, never by its page size (no N+1)."""

from __future__ import annotations

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


@pytest.mark.parametrize("page_size", [5, 50])
async def test_list_rows_cost_five_statements_whatever_the_page_size(
    client: httpx.AsyncClient, statements: list[str], page_size: int
) -> None:
    # when
    data = await gql(client, LIST, {"first": page_size})
    # then: page, count, users, tasks (name and linkedTask share one batch), procedure counts
    assert len(data["sessions"]["edges"]) == min(page_size, 48)
    assert len(statements) == 5, statements
    assert all("tenant_id" in s for s in statements), statements


async def test_every_relation_costs_one_statement_per_page(client: httpx.AsyncClient, statements: list[str]) -> None:
    counts = []
    for page_size in (5, 20, 50):
        statements.clear()
        await gql(client, LIST_EVERYTHING, {"first": page_size})
        counts.append(len(statements))
    # page, count, users, tasks, procedures, recordings, summaries (procedureCount is counted
    # from the procedures fetched anyway)
    assert counts == [7, 7, 7]


async def test_detail_with_every_field_costs_six_statements(client: httpx.AsyncClient, statements: list[str]) -> None:
    data = await gql(client, DETAIL, {"id": "a-01"})
    assert data["session"]["name"] == "Boiler annual service"
    # session, users, tasks, procedures, recordings, summaries
    assert len(statements) == 6, statements
    assert all("tenant_id" in s for s in statements), statements


async def test_total_count_is_not_computed_unless_asked_for(client: httpx.AsyncClient, statements: list[str]) -> None:
    await gql(client, "{ sessions(first: 50) { edges { node { id status } } } }")
    assert len(statements) == 1, statements
    assert "count(" not in statements[0].lower()
