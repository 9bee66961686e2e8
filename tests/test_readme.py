"""The README's GraphQL examples run, as written, on every backend and on both execution paths."""

from __future__ import annotations

import os
import re
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import post
from tests.readme import README, blocks

if TYPE_CHECKING:
    import httpx

EXAMPLES = [block.code for block in blocks("graphql")]
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


def make_dry_run(target: str, *assignments: str) -> list[str]:
    """The commands ``make <target> [VAR=value...]`` runs once the install is done (its stamps taken as up to date)."""
    done = subprocess.run(  # noqa: S603
        [  # noqa: S607
            "make",
            "--dry-run",
            "--old-file=.venv/.installed",
            "--old-file=graphiql/node_modules/.installed",
            target,
            *assignments,
        ],
        cwd=README.parent,
        # as typed in a shell, not as a recipe of `make test` (which would pass on its flags and level),
        # nor with a PORT the environment happens to hold
        env={
            key: value for key, value in os.environ.items() if key not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PORT"}
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.splitlines()


def test_the_readmes_two_commands_run_what_the_tests_run() -> None:
    [two_commands] = [block for block in blocks("sh") if block.code.startswith("make demo")]
    assert [line.split("#")[0].strip() for line in two_commands.code.splitlines()] == ["make demo", "make test"]
    # `make demo` serves the demo, which tests/test_demo.py runs; `make test` is the suite, which CI runs
    assert make_dry_run("demo") == [".venv/bin/sessions-gateway demo"]
    assert make_dry_run("test") == [".venv/bin/pytest"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert ci.rstrip().endswith("make test")
    # and the README's PostgreSQL test command is what CI runs: the suite with that variable set
    [postgres_run] = [
        block.code.strip() for block in blocks("sh") if block.code.startswith("GATEWAY_TEST_POSTGRES_URL")
    ]
    assert re.fullmatch(r"GATEWAY_TEST_POSTGRES_URL=postgresql://\S+ make test", postgres_run)
    assert "export GATEWAY_TEST_POSTGRES_URL=" in ci


# Every block of the README, by its language and how it begins, and the test that runs it.
RUN_BY = [
    ("sh", "make demo", "tests/test_readme.py::test_the_readmes_two_commands_run_what_the_tests_run"),
    ("", "GraphiQL:", "tests/test_demo.py::test_demo_builds_its_database_prints_a_working_token_and_serves"),
    ("graphql", "", "tests/test_readme.py::test_each_readme_example_answers_without_errors"),
    (
        "sh",
        "export GATEWAY_DATABASE_URL=",
        "tests/test_readme_commands.py::test_on_postgresql_the_readmes_commands_create_seed_and_serve",
    ),
    *(
        (
            language,
            start,
            "tests/test_readme_commands.py::test_the_readmes_select_only_role_serves_behind_row_level_security",
        )
        for language, start in [("sql", "CREATE ROLE"), ("sh", "GATEWAY_DATABASE_URL=postgresql+asyncpg://owner@")]
    ),
    ("sh", "GATEWAY_TEST_POSTGRES_URL=", "tests/test_readme.py::test_the_readmes_two_commands_run_what_the_tests_run"),
    ("js", "", "tests/test_cli.py::test_the_readmes_persisted_query_snippets_run_as_written"),
    ("python", "", "tests/test_cli.py::test_the_readmes_persisted_query_snippets_run_as_written"),
    (
        "sql",
        "CREATE EXTENSION IF NOT EXISTS citus",
        "tests/test_citus_migration.py::test_the_readme_shows_the_citus_calls_of_db_citus_sql",
    ),
]


def test_every_block_of_the_readme_is_run_by_a_test() -> None:
    for block in blocks():
        runners = [
            test for language, start, test in RUN_BY if language == block.language and block.code.startswith(start)
        ]
        assert len(runners) == 1, f"{block.name} is run by {runners}, not by exactly one test:\n{block.code}"
    for language, start, test in RUN_BY:
        assert any(b.language == language and b.code.startswith(start) for b in blocks()), (language, start)
        path, name = test.split("::")
        assert f"def {name}(" in (README.parent / path).read_text(), f"{test} does not exist"
