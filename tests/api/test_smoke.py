from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests import oracle
from tests.helpers import gql


async def test_first_page_lists_newest_first(client: httpx.AsyncClient) -> None:
    data = await gql(client, "{ sessions(first: 3) { edges { node { id } } } }")
    assert [e["node"]["id"] for e in data["sessions"]["edges"]] == ["a-04", "a-02", "a-01"]
    assert oracle.ordered_ids("alpha")[:3] == ["a-04", "a-02", "a-01"]


@pytest.mark.parametrize(
    "module",
    [
        "sessions_gateway.schema.writers",
        "sessions_gateway.schema.compiled",
        "sessions_gateway.schema.enums",
        "sessions_gateway.schema.scalars",
        "sessions_gateway.schema.report",
    ],
)
def test_a_module_imports_on_its_own(module: str) -> None:
    """No import cycle through the assembled schema: each module loads first in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False)  # noqa: S603
    assert result.returncode == 0, result.stderr
