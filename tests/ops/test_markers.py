"""The suite's markers (``postgres``, ``browser``, ``slow``) select the slices they name.

Each case collects the suite in a fresh ``pytest`` with an environment of its own: collecting reads
``GATEWAY_TEST_POSTGRES_URL`` but connects to nothing, so an unreachable URL stands in for a server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SLOW_MODULES

ROOT = Path(__file__).resolve().parents[2]
# Collecting reads the URL only; nothing listens there.
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


def pytest_run(*args: str, postgres: bool) -> list[str]:
    """The lines ``pytest -q -p no:cacheprovider *args`` prints, with or without a PostgreSQL URL."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"GATEWAY_TEST_POSTGRES_URL", "GATEWAY_TEST_STORAGE_ONLY", "PYTEST_ADDOPTS"}
    }
    if postgres:
        env["GATEWAY_TEST_POSTGRES_URL"] = UNREACHABLE
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def collected(marks: str, *, postgres: bool) -> list[str]:
    """The ids ``pytest --collect-only -m marks`` selects."""
    return [line for line in pytest_run("--collect-only", "-m", marks, postgres=postgres) if "::" in line]


def test_browser_selects_the_tests_that_drive_chromium() -> None:
    assert collected("browser", postgres=False) == [
        "tests/ops/test_graphiql_browser.py::test_graphiql_runs_a_subscription_whose_result_follows_the_pipelines_writes[sqlite]",
        "tests/ops/test_graphiql_analysts.py::test_the_page_opens_with_the_docs_examples_as_tabs_their_variables_filled",
        "tests/ops/test_graphiql_analysts.py::test_the_report_tab_runs_and_the_charts_panel_draws_every_part",
        "tests/ops/test_graphiql_analysts.py::test_the_charts_export_as_png_their_parts_as_csv_and_the_timeline_draws_as_bars",
        "tests/ops/test_graphiql_analysts.py::test_the_weekly_timeline_tab_is_drawn_in_the_browsers_time_zone",
        "tests/ops/test_graphiql_analysts.py::test_a_result_with_no_report_part_is_said_to_have_nothing_to_chart",
        "tests/ops/test_graphiql_analysts.py::test_next_page_runs_the_list_again_after_its_end_cursor",
        "tests/ops/test_graphiql_analysts.py::test_the_explorer_adds_a_field_to_the_query",
        "tests/ops/test_graphiql_browser.py::test_graphiql_loads_from_the_gateway_alone_and_runs_a_typed_query",
        "tests/ops/test_wheel.py::test_the_installed_demos_graphiql_renders_in_chromium",
    ]


def test_postgres_selects_everything_postgresql_adds_and_nothing_sqlite_runs() -> None:
    with_postgres = collected("postgres", postgres=True)
    others = collected("not postgres", postgres=True)
    # What is not marked is exactly what the suite runs without PostgreSQL (its SQLite half and the rest)...
    assert others == collected("not postgres", postgres=False)
    # ...and what is marked holds every test of the postgresql backend and every module that needs the server.
    assert [test for test in with_postgres if "postgresql" not in test] != []
    assert all("sqlite" not in test for test in with_postgres)
    for module in ("security/test_row_security.py", "ops/test_faults.py", "engines/test_shard_routing.py"):
        assert any(test.startswith(f"tests/{module}::") for test in with_postgres), module
    assert "tests/api/test_errors.py::test_a_real_statement_timeout_is_service_unavailable" in with_postgres
    # Without the server, the tests it marks there are all skipped: none runs.
    summary = pytest_run("-m", "postgres", postgres=False)[-1]
    assert re.fullmatch(r"[1-9]\d* skipped, \d+ deselected in [\d.]+s", summary), summary


def test_slow_selects_its_modules_whole_and_not_slow_the_rest() -> None:
    slow = collected("slow", postgres=True)
    fast = collected("not slow", postgres=True)
    assert {test.split("::")[0].removeprefix("tests/") for test in slow} == SLOW_MODULES
    assert not {test.split("::")[0].removeprefix("tests/") for test in fast} & SLOW_MODULES
    assert any(test.startswith("tests/api/test_smoke.py::test_first_page_lists_newest_first") for test in fast)
