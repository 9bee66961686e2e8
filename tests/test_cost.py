"""The cost limit: a query that could make the gateway write too many objects is refused unread."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from graphql import parse, validate

from schema.build import build_schema
from schema.cost import cost_limit_rule
from tests.helpers import post

if TYPE_CHECKING:
    import httpx

GRAPHQL_SCHEMA = build_schema()._schema

DEEP_ROW = "edges { node { id user { id } linkedTask { id } recording { url } summary { score } procedures { id } } }"


def cost_errors(query: str, max_cost: int) -> list[str]:
    return [e.message for e in validate(GRAPHQL_SCHEMA, parse(query), [cost_limit_rule(max_cost)])]


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
        ("{ sessionsReport { byStatus { count } byRole { count } } }", 1 + 3 + 2),
    ],
)
def test_the_estimate(query: str, cost: int) -> None:
    assert cost_errors(query, cost) == []
    assert cost_errors(query, cost - 1) == [
        f"Query cost {cost} exceeds the maximum of {cost - 1}: ask for fewer rows or fields."
    ]


async def test_a_query_over_the_cost_limit_is_refused_before_any_read(
    client: httpx.AsyncClient, statements: list[str]
) -> None:
    # four full pages with every relation: about 10,400 objects, over the default 10,000
    aliases = " ".join(f"p{i}: sessions(first: 100) {{ {DEEP_ROW} }}" for i in range(4))
    response = await post(client, f"{{ {aliases} }}")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["message"].startswith("Query cost 10404 exceeds the maximum of 10000")
    assert statements == []
    # three such pages are within the limit and answer
    allowed = " ".join(f"p{i}: sessions(first: 100) {{ {DEEP_ROW} }}" for i in range(3))
    assert "errors" not in (await post(client, f"{{ {allowed} }}")).json()
