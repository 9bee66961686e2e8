from __future__ import annotations

import httpx

from tests import oracle
from tests.helpers import gql


async def test_first_page_lists_newest_first(client: httpx.AsyncClient) -> None:
    data = await gql(client, "{ sessions(first: 3) { edges { node { id } } } }")
    assert [e["node"]["id"] for e in data["sessions"]["edges"]] == ["a-04", "a-02", "a-01"]
    assert oracle.ordered_ids("alpha")[:3] == ["a-04", "a-02", "a-01"]
