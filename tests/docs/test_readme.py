"""The code blocks and links of the README and docs/.

Their GraphQL examples run, as written, on every backend and on both execution paths; every code block of
those pages has a test that runs it, and every relative link names a file.
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import post
from tests.readme import README, ROOT, Block, blocks, pages

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

GRAPHQL = blocks("graphql")
EXAMPLES = [block.code for block in GRAPHQL]
# Values for the variables the examples declare, from the test dataset.
VARIABLES: dict[str, Any] = {"id": "a-01", "after": None, "timeZone": "America/New_York"}


def test_the_readme_has_graphql_examples() -> None:
    # one per audience in the README (the list, the detail page, a report), the rest in docs/
    assert [block.page for block in GRAPHQL].count(README) == 3
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("example", EXAMPLES, ids=[block.name for block in GRAPHQL])
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
    # `make demo` serves the demo, which tests/ops/test_demo.py runs; `make test` is the suite, which CI runs
    assert make_dry_run("demo") == [".venv/bin/sessions-gateway demo"]
    assert make_dry_run("test") == [".venv/bin/pytest"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert ci.rstrip().endswith("make test")
    # and the PostgreSQL test command (docs/operations.md) is what CI runs: the suite with that variable set
    [postgres_run] = [
        block.code.strip() for block in blocks("sh") if block.code.startswith("GATEWAY_TEST_POSTGRES_URL")
    ]
    assert re.fullmatch(r"GATEWAY_TEST_POSTGRES_URL=postgresql://\S+ make test", postgres_run)
    assert "export GATEWAY_TEST_POSTGRES_URL=" in ci


# Every block of the README and docs/, by its page, its language and how it begins, and the test that runs it.
RUN_BY = [
    ("README.md", "sh", "make demo", "tests/docs/test_readme.py::test_the_readmes_two_commands_run_what_the_tests_run"),
    (
        "README.md",
        "",
        "GraphiQL:",
        "tests/ops/test_demo.py::test_demo_builds_its_database_prints_a_working_token_and_serves",
    ),
    *(
        (page, "graphql", "", "tests/docs/test_readme.py::test_each_readme_example_answers_without_errors")
        for page in ("README.md", "docs/analysts.md")
    ),
    *(
        (
            "docs/clients.md",
            language,
            start,
            "tests/ops/test_cli.py::test_the_readmes_persisted_query_snippets_run_as_written",
        )
        for language, start in [("js", "import { createHash }"), ("python", "import hashlib")]
    ),
    (
        "docs/clients.md",
        "js",
        "import { createClient }",
        "tests/api/test_live_javascript.py::test_the_client_guides_javascript_block_follows_the_list_and_a_detail_page",
    ),
    (
        "docs/clients.md",
        "python",
        "import asyncio",
        "tests/api/test_live.py::test_the_client_guides_python_block_runs_as_written",
    ),
    (
        "docs/operations.md",
        "sh",
        "export GATEWAY_DATABASE_URL=",
        "tests/docs/test_readme_commands.py::test_on_postgresql_the_readmes_commands_create_seed_and_serve",
    ),
    *(
        (
            "docs/operations.md",
            language,
            start,
            "tests/docs/test_readme_commands.py::test_the_readmes_select_only_role_serves_behind_row_level_security",
        )
        for language, start in [("sql", "CREATE ROLE"), ("sh", "GATEWAY_DATABASE_URL=postgresql+asyncpg://owner@")]
    ),
    (
        "docs/operations.md",
        "sh",
        "GATEWAY_TEST_POSTGRES_URL=",
        "tests/docs/test_readme.py::test_the_readmes_two_commands_run_what_the_tests_run",
    ),
    (
        "docs/design.md",
        "python",
        "@strawberry.type",
        "tests/engines/test_field_rules.py::test_the_design_pages_session_fields_are_as_declared",
    ),
    (
        "docs/operations.md",
        "sql",
        "CREATE EXTENSION IF NOT EXISTS citus",
        "tests/engines/test_citus_migration.py::test_the_readme_shows_the_citus_calls_of_db_citus_sql",
    ),
]


def runners_of(block: Block) -> list[str]:
    page = block.page.relative_to(ROOT).as_posix()
    return [
        test
        for on, language, start, test in RUN_BY
        if (on, language) == (page, block.language) and block.code.startswith(start)
    ]


def test_every_block_of_the_readme_and_docs_is_run_by_a_test() -> None:
    every = blocks()
    for block in every:
        runners = runners_of(block)
        assert len(runners) == 1, f"{block.name} is run by {runners}, not by exactly one test:\n{block.code}"
    for on, language, start, test in RUN_BY:
        assert any(runners_of(block) == [test] for block in every if block.page == ROOT / on), (on, language, start)
        path, name = test.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), f"{test} does not exist"


def test_the_readme_is_a_front_door_and_docs_has_a_page_per_reader() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) < 200
    assert [page.relative_to(ROOT).as_posix() for page in pages()] == [
        "README.md",
        "docs/analysts.md",
        "docs/clients.md",
        "docs/design.md",
        "docs/operations.md",
    ]


# A Markdown link or image: [text](target) or ![alt](target), the target up to a space or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings, as GitHub makes them: lower case, punctuation dropped, spaces as dashes."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def relative_links() -> list[tuple[Path, str]]:
    return [
        (page, target)
        for page in pages()
        for target in LINK.findall(page.read_text(encoding="utf-8"))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # not https:, mailto:, ...
    ]


def test_every_relative_link_names_a_file_and_heading_that_exist() -> None:
    links = relative_links()
    assert len(links) >= 10
    for page, target in links:
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.is_file(), f"{page.relative_to(ROOT)} links to {target}: no such file"
        assert linked.is_relative_to(ROOT), f"{page.relative_to(ROOT)} links outside the repository: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{page.relative_to(ROOT)} links to {target}: no such heading"
