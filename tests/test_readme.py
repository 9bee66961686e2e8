"""The README's GraphQL examples run, as written, on every backend and on both execution paths."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import post

if TYPE_CHECKING:
    import httpx

README = Path(__file__).parent.parent / "README.md"
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
# Values for the variables the examples declare, from the test dataset.
VARIABLES: dict[str, Any] = {"id": "a-01", "after": None}


def test_the_readme_has_graphql_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{n}" for n in range(len(EXAMPLES))])
async def test_each_readme_example_answers_without_errors(
    client: httpx.AsyncClient, executor_client: httpx.AsyncClient, example: str
) -> None:
    declared = set(re.findall(r"\$(\w+)\s*:", example))
    variables = {name: VARIABLES[name] for name in declared}
    answers = [await post(http, example, variables) for http in (client, executor_client)]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert "errors" not in body, body["errors"]
        assert all(value is not None for value in body["data"].values()), body
    assert answers[0].content == answers[1].content
