"""The shell and SQL blocks for PostgreSQL (docs/operations.md), run as written against a database of their own.

What the page leaves to the reader is replaced, each replacement listed where it is made: its
placeholders (the host ``db.internal``, passwords and secrets written ``...``), the port (each
``serve`` here listens on a free one of 127.0.0.1) and the size of the seed. A block that no longer
holds a placeholder fails the test, so the page and these runs cannot drift apart. The blocks run
in bash with ``set -euo pipefail``, from the repository's root, where ``.venv/bin`` is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import uuid
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from sessions_gateway.db.engine import make_engine
from sessions_gateway.db.tables import sessions
from tests.conftest import (
    POSTGRES_URL,
    administer,
    create_postgres_database,
    drop_postgres_database,
    drop_role,
    load,
)
from tests.helpers import token_for
from tests.ops.test_cli import REPO, SCRIPT, STARTUP_SECONDS, free_port, wait_until_healthy
from tests.readme import block_after

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="the documented PostgreSQL commands need PostgreSQL")

SECRET = "a-secret-for-the-readme-commands-long-enough"
SEED_SESSIONS = 200  # the page seeds 100,000 per tenant: the same command, smaller


def filled_in(code: str, replacements: dict[str, str]) -> str:
    """``code`` with each placeholder replaced; every one must still be in the page."""
    for placeholder, value in replacements.items():
        assert placeholder in code, f"the page's block no longer holds {placeholder!r}:\n{code}"
        code = code.replace(placeholder, value)
    return code


@contextlib.contextmanager
def running(script: str, port: int, log: Path) -> Iterator[str]:
    """Run ``script`` (which ends by serving on ``port``) in bash; its base URL once ``/readyz`` answers."""
    base = f"http://127.0.0.1:{port}"
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603  (the README's own commands, placeholders filled in)
            ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the gateway's workers stop with it
        )
        try:
            # init-db and the seed come first; then the gateway must be ready, not only up
            wait_until_healthy(process, base, log, STARTUP_SECONDS + 60, probe="/readyz")
            yield base
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def ask(base: str, tenant: str) -> dict[str, object]:
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": "{ sessions(first: 2) { totalCount edges { node { id } } } }"},
        headers={"Authorization": f"Bearer {token_for(tenant, secret=SECRET)}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    data: dict[str, object] = body["data"]["sessions"]
    return data


async def live_sessions(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            query = select(sessions.c.tenant_id, func.count()).where(sessions.c.deleted_at.is_(None))
            rows = await conn.execute(query.group_by(sessions.c.tenant_id))
            return {str(tenant): int(count) for tenant, count in rows.all()}
    finally:
        await engine.dispose()


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


def plain(url: str) -> str:
    return make_url(url).render_as_string(hide_password=False)


async def test_on_postgresql_the_readmes_commands_create_seed_and_serve(empty_database: str, tmp_path: Path) -> None:
    port = free_port()
    script = filled_in(
        block_after("## On PostgreSQL").code,
        {
            "postgresql+asyncpg://app@db.internal/sessions": plain(empty_database),
            "GATEWAY_JWT_SECRET=...": f"GATEWAY_JWT_SECRET={SECRET}",
            ".venv/bin/sessions-gateway": str(SCRIPT),
            "--sessions 100000": f"--sessions {SEED_SESSIONS}",
            "--host 0.0.0.0": f"--host 127.0.0.1 --port {port}",
        },
    )
    with running(script, port, tmp_path / "block.log") as base:
        counts = await live_sessions(empty_database)
        assert set(counts) == {"acme", "northwind"}  # seed --tenants 2: the demo's two
        for tenant, count in counts.items():
            page = ask(base, tenant)
            assert page["totalCount"] == count
            assert len(page["edges"]) == 2  # type: ignore[arg-type]


async def test_the_readmes_select_only_role_serves_behind_row_level_security(
    empty_database: str, tmp_path: Path
) -> None:
    # The tables hold the test dataset, written by their owner (the pipeline, in production).
    await load(empty_database)
    role, password, port = f"gw_readme_{uuid.uuid4().hex[:12]}", uuid.uuid4().hex, free_port()
    server = make_url(empty_database)
    marker = "### Row-level security and the gateway's role"
    create_role = filled_in(
        block_after(marker).code, {"sessions_gateway": f'"{role}"', "PASSWORD '...'": f"PASSWORD '{password}'"}
    )
    script = filled_in(
        block_after(marker, 1).code,
        {
            "postgresql+asyncpg://owner@db.internal/sessions": plain(empty_database),
            "postgresql+asyncpg://sessions_gateway:...@db.internal/sessions": (
                f"postgresql+asyncpg://{role}:{password}@{server.host}:{server.port}/{server.database}"
            ),
            "--grant-select-to sessions_gateway": f"--grant-select-to {role}",
            ".venv/bin/sessions-gateway": str(SCRIPT),
            "sessions-gateway serve": f"sessions-gateway serve --port {port}",
        },
    )
    # The secret was exported by the section's first block, in the same shell.
    script = f"export GATEWAY_JWT_SECRET={SECRET}\n{script}"
    await administer(create_role)
    try:
        with running(script, port, tmp_path / "block.log") as base:
            counts = await live_sessions(empty_database)
            for tenant in ("alpha", "beta"):
                assert ask(base, tenant)["totalCount"] == counts[tenant]
            log = (tmp_path / "block.log").read_text()
        # the role the page creates is one the wall holds: no start-up warning
        assert f"role {role} may now SELECT the tables the gateway reads" in log, log
        assert "row-level security does not protect" not in log, log
    finally:
        await drop_postgres_database(empty_database)  # its grants go with it; then the role can go
        await drop_role(role)
