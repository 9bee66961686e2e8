"""A caller sees its own tenant only, through every entry point, whatever ids or cursors it sends."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests import oracle
from tests.conftest import binds_tenant
from tests.helpers import gql, gql_error

EVERYTHING = """
  id name user { id displayName } linkedTask { id title } procedures { id } procedureCount
  recording { status url } summary { score }
"""


@pytest.mark.parametrize("tenant", ["alpha", "beta"])
async def test_the_list_holds_only_the_callers_sessions(client: httpx.AsyncClient, tenant: str) -> None:
    data = await gql(
        client, f"{{ sessions(first: 100) {{ totalCount edges {{ node {{ {EVERYTHING} }} }} }} }}", tenant=tenant
    )
    nodes = [e["node"] for e in data["sessions"]["edges"]]
    assert [n["id"] for n in nodes] == oracle.ordered_ids(tenant)
    assert data["sessions"]["totalCount"] == len(oracle.ordered_ids(tenant))
    prefix = tenant[0] + "-"
    for node in nodes:
        assert node["user"]["id"].startswith(prefix)
        assert node["linkedTask"] is None or node["linkedTask"]["id"].startswith(prefix)
        assert all(p["id"].startswith(prefix) for p in node["procedures"])


@pytest.mark.parametrize(("tenant", "foreign_id"), [("beta", "a-01"), ("alpha", "b-01"), ("gamma", "a-01")])
async def test_another_tenants_session_is_null(client: httpx.AsyncClient, tenant: str, foreign_id: str) -> None:
    data = await gql(client, f'{{ session(id: "{foreign_id}") {{ {EVERYTHING} }} }}', tenant=tenant)
    assert data == {"session": None}


async def test_a_foreign_user_id_filter_finds_nothing(client: httpx.AsyncClient) -> None:
    data = await gql(
        client, '{ sessions(filter: {userId: "a-ann"}) { totalCount edges { node { id } } } }', tenant="beta"
    )
    assert data == {"sessions": {"totalCount": 0, "edges": []}}


async def test_a_cursor_does_not_cross_tenants(client: httpx.AsyncClient) -> None:
    page = await gql(client, "{ sessions(first: 2) { pageInfo { endCursor } } }", tenant="alpha")
    cursor = page["sessions"]["pageInfo"]["endCursor"]
    code, body = await gql_error(
        client, "query($c: String) { sessions(after: $c) { edges { node { id } } } }", {"c": cursor}, tenant="beta"
    )
    assert code == "BAD_USER_INPUT"
    assert body["data"] is None


async def test_the_report_counts_only_the_callers_sessions(client: httpx.AsyncClient) -> None:
    data = await gql(client, "{ sessionsReport { totalCount procedureCount averageScore } }", tenant="beta")
    # beta: b-01, b-02 and 15 generated sessions (one of them erased)
    assert data["sessionsReport"]["totalCount"] == len(oracle.ordered_ids("beta")) == 16


async def test_a_tenant_with_no_data_sees_an_empty_world(client: httpx.AsyncClient) -> None:
    data = await gql(
        client,
        "{ sessions { totalCount edges { node { id } } } sessionsReport { totalCount averageScore } }",
        tenant="gamma",
    )
    assert data == {
        "sessions": {"totalCount": 0, "edges": []},
        "sessionsReport": {"totalCount": 0, "averageScore": None},
    }


@pytest.mark.parametrize(
    ("statement", "parameters", "bound"),
    [
        ("SELECT id FROM sessions WHERE sessions.tenant_id = $1", ("alpha",), True),
        ("SELECT id FROM sessions WHERE sessions.tenant_id = ?", ("alpha",), True),
        ("SELECT id FROM sessions WHERE sessions.tenant_id = %(t)s", {"t": "alpha"}, True),
        ("SELECT id FROM sessions WHERE sessions.tenant_id IN (?, ?)", [("alpha", "beta")], True),
        # names the column but compares it with itself: every tenant's rows
        ("SELECT id FROM sessions WHERE sessions.tenant_id = sessions.tenant_id", (), False),
        # binds a tenant, but not the request's
        ("SELECT id FROM sessions WHERE sessions.tenant_id = $1", ("beta",), False),
        ("SELECT id FROM sessions WHERE sessions.id = $1", ("alpha",), False),
    ],
)
def test_the_suites_audit_requires_each_read_to_bind_the_requests_tenant(
    statement: str,
    parameters: Any,
    bound: bool,  # noqa: FBT001
) -> None:
    assert binds_tenant(statement, parameters, "alpha") is bound
