"""Tenant isolation, by property: random filters, orders, page sizes and cursors, two look-alike tenants.

Whatever a tenant asks, no answer holds a row of the other tenant, and walking every page returns
exactly what the oracle says that tenant has, in order: nothing missing, nothing twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import oracle
from tests.dataset import ALPHA, BETA, DATA
from tests.helpers import token_for

if TYPE_CHECKING:
    import httpx

ORDERS = ["STARTED_AT_DESC", "STARTED_AT_ASC", "COMPLETED_AT_DESC", "DURATION_DESC"]
# Values of both tenants: a filter naming the other tenant's user or task source must match nothing.
USER_IDS = sorted({s["user_id"] for s in DATA.sessions})
SEARCHES = ["boiler", "drill", "Проверка", "session", "e", "%", "_"]

PAGE = """
query ($filter: SessionFilter, $order: SessionOrder!, $first: Int, $after: String) {
  sessions(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id } }
  }
}
"""

filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["COMPLETED", "IN_PROGRESS", "FAILED"]),
        "role": st.sampled_from(["TRAINER", "TRAINEE"]),
        "userId": st.sampled_from(USER_IDS),
        "taskSource": st.sampled_from(["jobber", "servicem8", "JOBBER"]),
        "search": st.sampled_from(SEARCHES),
        "startedAfter": st.sampled_from(["2026-01-01T00:00:00+00:00", "2026-11-20T00:00:00+00:00"]),
    },
)


async def ask(client: httpx.AsyncClient, tenant: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": PAGE, "variables": variables},
        headers={"Authorization": f"Bearer {token_for(tenant)}"},
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["sessions"]
    return page


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(tenant=st.sampled_from([ALPHA, BETA]), flt=filters, order=st.sampled_from(ORDERS), size=st.integers(1, 12))
async def test_walking_every_page_returns_exactly_the_tenants_own_sessions(
    client: httpx.AsyncClient, tenant: str, flt: dict[str, Any], order: str, size: int
) -> None:
    own = {s["id"] for s in DATA.live_sessions(tenant)}
    expected = oracle.ordered_ids(tenant, flt, order)
    seen: list[str] = []
    after = None
    for _ in range(len(expected) // size + 2):
        page = await ask(client, tenant, {"filter": flt, "order": order, "first": size, "after": after})
        ids = [edge["node"]["id"] for edge in page["edges"]]
        assert set(ids) <= own, f"{tenant} was shown sessions of another tenant: {set(ids) - own}"
        assert page["totalCount"] == len(expected)
        seen += ids
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected


@settings(max_examples=20, deadline=None, derandomize=True)
@given(flt=filters, order=st.sampled_from(ORDERS))
async def test_a_cursor_of_one_tenant_is_refused_for_the_other(
    client: httpx.AsyncClient, flt: dict[str, Any], order: str
) -> None:
    page = await ask(client, ALPHA, {"filter": flt, "order": order, "first": 1})
    cursor = page["pageInfo"]["endCursor"]
    if cursor is None:
        return
    response = await client.post(
        "/graphql",
        json={"query": PAGE, "variables": {"filter": flt, "order": order, "first": 5, "after": cursor}},
        headers={"Authorization": f"Bearer {token_for(BETA)}"},
    )
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
