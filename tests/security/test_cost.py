"""The cost limit: a query that could make the gateway write too many objects is refused unread.

So is one that would make the database scan the tenant's sessions too often.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from graphql import parse

from sessions_gateway.schema.cost import SCAN_COST, operation_estimates
from sessions_gateway.schema.limits import Limits, refusals
from tests.helpers import WHOLE_REPORT, gql, post

if TYPE_CHECKING:
    import httpx

DEEP_ROW = "edges { node { id user { id } linkedTask { id } recording { url } summary { score } procedures { id } } }"
SEARCH = '{search: "a"}'
# The report the security review sent thirty times over (61 full-tenant statements, 47.8 s on a
# 200,000-session tenant, at a cost of about 330 before scans were priced).
HEAVY_REPORT = (
    f"sessionsReport(filter: {SEARCH}) {{ totalCount averageScore procedureCount totalDurationHours "
    "byStatus { count } scoreDeciles { count } }"
)


def cost_errors(query: str, max_cost: int) -> list[str]:
    return [e.message for e in refusals(parse(query), Limits(max_cost=max_cost))]


def scans(query: str) -> int:
    [(_, estimate)] = operation_estimates(parse(query))
    return estimate.scans


def aliased(count: int, field: str) -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        # 1 connection + 100 edges x (edge + node + user, task, recording, summary + 20 procedures)
        (f"{{ sessions(first: 100) {{ {DEEP_ROW} }} }}", 1 + 100 * (1 + 1 + 4 + 20)),
        # no first/last: the default page of 25
        ("{ sessions { edges { node { id } } } }", 1 + 25 * 2),
        # a variable may ask for the most a page holds
        ("query ($n: Int) { sessions(first: $n) { edges { node { id } } } }", 1 + 100 * 2),
        # aliases and fragments count each time they are written
        ('{ a: session(id: "x") { ...F } b: session(id: "y") { ...F } } fragment F on Session { user { id } }', 4),
        # a page's rows are those of the page the fragment lands in
        ("{ sessions(first: 3) { ...P } } fragment P on SessionConnection { edges { node { id } } }", 1 + 3 * 2),
        # a count of the matching sessions is a scan, whatever the page's size
        ("{ sessions(first: 0) { totalCount } }", 1 + SCAN_COST),
        # asked twice under one name it runs once; under two names, twice
        ("{ sessions(first: 0) { totalCount ... on SessionConnection { totalCount } } }", 1 + SCAN_COST),
        ("{ sessions(first: 0) { totalCount n: totalCount } }", 1 + 2 * SCAN_COST),
        # the report's scalar parts share one statement: one scan
        (
            "{ sessionsReport { byStatus { count } byRole { count } totalCount totalDurationHours } }",
            1 + 3 + 2 + SCAN_COST,
        ),
        # averageScore and procedureCount each join another table to the matching sessions: one more pass each
        ("{ sessionsReport { averageScore procedureCount } }", 1 + 3 * SCAN_COST),
        ("{ sessionsReport { scoreDeciles { count } } }", 1 + 10 + SCAN_COST),
        # each breakdown is a statement, each alias its own; one of no entries reads nothing
        ("{ sessionsReport { a: byUser(first: 2) { count } b: byUser(first: 3) { count } } }", 1 + 5 + 2 * SCAN_COST),
        ("{ sessionsReport { byUser(first: 0) { count } } }", 1),
        ("{ sessionsReport { __typename } }", 1),
    ],
)
def test_the_estimate(query: str, cost: int) -> None:
    assert cost_errors(query, cost) == []
    assert cost_errors(query, cost - 1) == [
        f"Query cost {cost} exceeds the maximum of {cost - 1}: ask for fewer rows or fields."
    ]


def scans_run(statements: list[str]) -> int:
    """How many times the aggregates among ``statements`` read the sessions table (each FROM or JOIN of it).

    A page of sessions reads the table too, but stops at the page's end (it is priced by its rows):
    a page read in the same statement as its count (the subquery named ``page``) is no pass.
    """
    aggregates = [s for s in statements if re.search(r"\b(?:count|sum|avg)\(|\bgroup by\b", s, re.IGNORECASE)]
    return sum(
        len(re.findall(r'\b(?:from|join)\s+"?sessions"?(?:\s|$)', s, re.IGNORECASE))
        - len(re.findall(r"\)\s+AS\s+page\b", s, re.IGNORECASE))
        for s in aggregates
    )


@pytest.mark.parametrize(
    "query",
    [
        "{ sessions(first: 0) { totalCount } }",
        "{ sessions(first: 2) { totalCount n: totalCount edges { node { id } } } }",
        "{ sessionsReport { totalCount byStatus { count } byRole { count } totalDurationSeconds } }",
        "{ sessionsReport { averageScore } }",
        "{ sessionsReport { procedureCount scoreDeciles { count } } }",
        "{ sessionsReport { d: timeline(bucket: DAY) { count } m: timeline(bucket: MONTH) { n: count } } }",
        "{ sessionsReport { byTaskSource { count } byUser(first: 0) { count } } }",
        WHOLE_REPORT,
        f"{{ a: {HEAVY_REPORT} b: {HEAVY_REPORT} }}",
    ],
)
async def test_the_scans_priced_are_the_passes_the_database_makes(
    client: httpx.AsyncClient,
    statements: list[str],
    executor_client: httpx.AsyncClient,
    executor_statements: list[str],
    query: str,
) -> None:
    # given: the passes over the tenant's sessions the estimate prices
    priced = scans(query)
    # when
    await gql(executor_client, query)
    await gql(client, query)
    # then: Strawberry's executor makes as many; a compiled plan no more (it reads a field
    # asked for under two names once)
    assert scans_run(executor_statements) == priced, executor_statements
    assert scans_run(statements) <= priced, statements


@pytest.mark.parametrize(
    "query",
    [aliased(30, HEAVY_REPORT), aliased(30, f"sessions(first: 0, filter: {SEARCH}) {{ totalCount }}")],
    ids=["30-reports", "30-total-counts"],
)
async def test_a_query_that_would_scan_the_tenant_over_and_over_is_refused_before_any_read(
    client: httpx.AsyncClient, statements: list[str], query: str
) -> None:
    response = await post(client, query)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert re.fullmatch(r"Query cost \d+ exceeds the maximum of 10000: .*", body["errors"][0]["message"])
    assert statements == []


async def test_as_many_scans_as_the_limit_prices_run(client: httpx.AsyncClient, statements: list[str]) -> None:
    # twenty counts (20 x (1 + SCAN_COST)) are over the default 10,000; nineteen run
    assert cost_errors(aliased(20, "sessions(first: 0) { totalCount }"), 10_000)
    data = await gql(client, aliased(19, "sessions(first: 0) { totalCount }"))
    assert len(data) == 19
    assert scans_run(statements) == 19


async def test_a_query_over_the_cost_limit_is_refused_before_any_read(
    client: httpx.AsyncClient, statements: list[str]
) -> None:
    # four full pages with every relation: about 10,400 objects, over the default 10,000
    pages = " ".join(f"p{i}: sessions(first: 100) {{ {DEEP_ROW} }}" for i in range(4))
    response = await post(client, f"{{ {pages} }}")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["message"].startswith("Query cost 10404 exceeds the maximum of 10000")
    assert statements == []
    # three such pages are within the limit and answer
    allowed = " ".join(f"p{i}: sessions(first: 100) {{ {DEEP_ROW} }}" for i in range(3))
    assert "errors" not in (await post(client, f"{{ {allowed} }}")).json()
