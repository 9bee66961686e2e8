"""Fixtures: a seeded database per backend (SQLite always, PostgreSQL when configured), the app, a client.

``GATEWAY_TEST_POSTGRES_URL`` names a PostgreSQL server (any database on it); the suite creates a
database of its own there and drops it at the end. Without it the suite runs on SQLite alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.datastructures import Secret

from sessions_gateway.db.engine import CANARY_FUNCTION_PROBE, CANARY_TENANT_PROBE, grant_reader, init_db, make_engine
from sessions_gateway.db.tables import metadata
from sessions_gateway.gateway.app import create_app
from sessions_gateway.gateway.config import Settings
from sessions_gateway.gateway.context import MediaSettings
from sessions_gateway.gateway.observability import current
from tests.dataset import DATA
from tests.helpers import SECRET

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from starlette.applications import Starlette

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
# GATEWAY_TEST_STORAGE_ONLY=1: the suite's PostgreSQL database is made from the storage contract's
# storage.sql alone, as the pipeline owns it (no init-db: none of the gateway's indexes, functions,
# policies or canary), and the suite runs on PostgreSQL only. Tests of those objects make their own.
STORAGE_ONLY = os.environ.get("GATEWAY_TEST_STORAGE_ONLY") == "1"
BACKENDS = (["postgresql"] if STORAGE_ONLY else ["sqlite", "postgresql"]) if POSTGRES_URL else ["sqlite"]
STORAGE_SQL = Path(__file__).resolve().parent / "contract" / "storage.sql"


def shared_contract(name: str) -> Path:
    """The shared original of a contract file the tests carry a copy of (``../shared/contract/``).

    A checkout on its own has none beside it, and the check skips; CI (``CI`` set) lays it beside
    every checkout, so there its absence fails the run instead of hiding a stale copy.
    """
    path = Path(__file__).resolve().parent.parent.parent / "shared" / "contract" / name
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run beside the shared contract, and {path.name} is not there")
        pytest.skip(f"the shared {name} is not beside this checkout")
    return path


# A test of what init-db adds (policies, the canary, indexes) on the suite's own database, which
# the storage-contract run leaves without them: that run has nothing for it to check.
needs_init_db = pytest.mark.skipif(STORAGE_ONLY, reason="checks init-db's objects on the suite's database")
MEDIA = MediaSettings(base_url="https://media.example.com/")
READINESS_PROBE = "SELECT 1"  # /readyz: touches no table
# /readyz's canary, before it reads one tenant's session as a request does: no table of a tenant's
CANARY_PROBES = (CANARY_FUNCTION_PROBE, CANARY_TENANT_PROBE)
TEST_REQUEST_ID = "test-request"
# What every GraphQL answer of the app ends with (see ``http_client``).
ANSWER_EXTENSIONS = {"extensions": {"requestId": TEST_REQUEST_ID}}


def postgres_server_url() -> str:
    assert POSTGRES_URL is not None
    return make_url(POSTGRES_URL).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def administer(statement: str) -> None:
    """Run ``statement`` outside any transaction (CREATE/DROP DATABASE, roles) on the test server."""
    admin = create_async_engine(postgres_server_url(), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await admin.dispose()


async def create_postgres_database() -> str:
    """A new, empty database on the test server; its URL."""
    name = f"gw_test_{uuid.uuid4().hex[:12]}"
    await administer(f'CREATE DATABASE "{name}"')
    return make_url(postgres_server_url()).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    await administer(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


async def load(url: str, rows: Any = DATA) -> None:
    """Create the tables and write ``rows`` (a ``Dataset``)."""
    engine = make_engine(url, read_only=False)
    try:
        await init_db(engine)
    finally:
        await engine.dispose()
    await insert(url, rows)


async def run_script(url: str, sql: str) -> None:
    """Run a file's statements as ``psql -f`` does, transaction control included (PostgreSQL)."""
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await conn.execute(sql)  # no arguments: the simple protocol, several statements at once
    finally:
        await conn.close()


async def load_storage_only(url: str, rows: Any = DATA) -> None:
    """The contract's tables from ``storage.sql`` alone, as the pipeline makes them, holding ``rows``."""
    await run_script(url, STORAGE_SQL.read_text(encoding="utf-8"))
    await insert(url, rows)


async def insert(url: str, rows: Any) -> None:
    """Write ``rows`` (a ``Dataset``) into tables that exist."""
    engine = make_engine(url, read_only=False)
    try:
        async with engine.begin() as conn:
            for name, table_rows in rows.tables():
                if table_rows:
                    await conn.execute(metadata.tables[name].insert(), table_rows)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
async def owner_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A database holding the test dataset, one per backend for the whole run, as its owner."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'gateway.db'}"
        await load(url)
        yield url
        return
    url = await create_postgres_database()
    try:
        await (load_storage_only(url) if STORAGE_ONLY else load(url))
        yield url
    finally:
        await drop_postgres_database(url)


async def create_reader_role(owner: str) -> str:
    """A new login role that owns nothing, granted what ``init-db --grant-select-to`` grants."""
    role = f"gw_reader_{uuid.uuid4().hex[:12]}"
    await administer(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS')
    engine = make_engine(owner, read_only=False)
    try:
        await grant_reader(engine, role)
    finally:
        await engine.dispose()
    return role


async def drop_role(role: str) -> None:
    """Drop ``role`` (after the databases it was granted anything in are gone)."""
    await administer(f'DROP ROLE IF EXISTS "{role}"')


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def database_url(backend: str, owner_url: str) -> AsyncIterator[str]:
    """The URL the gateway reads the test dataset with.

    On PostgreSQL that is a role which owns nothing and may only SELECT, as in production: the
    whole suite then runs behind row-level security, with the gateway setting each request's
    tenant. (The owner, like a superuser, is not subject to row-level security.)
    """
    if backend == "sqlite":
        yield owner_url
        return
    role = await create_reader_role(owner_url)
    try:
        yield as_role(owner_url, role)
    finally:
        await drop_postgres_database(owner_url)  # its grants go with it; then the role can go
        await drop_role(role)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, jwt_secret=Secret(SECRET), media=MEDIA)


@contextlib.contextmanager
def recording(app: Starlette) -> Iterator[list[str]]:
    """Every statement the app's engine sends inside the block: the reads a request costs.

    The message that opens each request's transaction and sets its tenant on PostgreSQL goes
    to the driver straight (``db/reader.py``), not through SQLAlchemy: it is not among them
    (``tests/security/test_row_security.py`` watches it on the wire).
    """
    seen: list[str] = []
    sync_engine = app.state.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)


def binds_tenant(statement: str, parameters: Any, tenant: str) -> bool:
    """Whether ``statement`` names ``tenant_id`` and binds ``tenant`` among its parameters' values.

    A batch of live reads (``db/batch.py``) binds its cohorts' tenants as one array: ``tenant`` among them.
    """
    rows = parameters if isinstance(parameters, list) else [parameters]
    values = [v for row in rows for v in (row.values() if isinstance(row, dict) else row or ())]
    arrays = [item for v in values if isinstance(v, list) for item in v]
    return "tenant_id" in statement and (tenant in values or tenant in arrays)


@contextlib.asynccontextmanager
async def audited(settings: Settings) -> AsyncIterator[Starlette]:
    """The app, running; on the way out, an audit of every statement it sent."""
    application = create_app(settings)
    unbound: list[str] = []

    def bound_to_the_request(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        # A request's read names tenant_id and binds the request's own tenant among its values:
        # ``tenant_id = tenant_id`` or a tenant taken from elsewhere does not pass.
        record = current.get()
        if record is None or record.tenant is None:
            return  # the app's own reads (readiness, the canary), outside any request
        if not binds_tenant(statement, parameters, record.tenant):
            unbound.append(statement)

    async with LifespanManager(application):
        event.listen(application.state.engine.sync_engine, "before_cursor_execute", bound_to_the_request)
        with recording(application) as sent:
            yield application
    unscoped = [s for s in sent if "tenant_id" not in s and s != READINESS_PROBE and s not in CANARY_PROBES]
    assert sent, "the audit saw no statement: is the listener attached?"
    assert not unscoped, f"statements without a tenant filter: {unscoped}"
    assert not unbound, f"statements of a request that do not bind its tenant: {unbound}"


@contextlib.asynccontextmanager
async def http_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app``, whose requests carry one fixed ``X-Request-Id``.

    Two apps' answers to the same request are then the same bytes, ``extensions.requestId`` included.
    """
    transport = httpx.ASGITransport(app=app)
    headers = {"X-Request-Id": TEST_REQUEST_ID}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as http:
        yield http


@contextlib.asynccontextmanager
async def both_paths(url: str) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients of two audited apps on ``url``: compiled plans on, and Strawberry's executor alone."""
    settings = Settings(database_url=url, jwt_secret=Secret(SECRET))
    async with (
        audited(settings) as compiled,
        audited(dataclasses.replace(settings, compiled_plans=False)) as executor,
        http_client(compiled) as compiled_client,
        http_client(executor) as executor_client,
    ):
        yield compiled_client, executor_client


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app every HTTP test talks to (compiled plans on, as served by default)."""
    async with audited(settings) as application:
        yield application


@pytest.fixture(scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as http:
        yield http


@pytest.fixture(scope="session")
async def executor_app(settings: Settings) -> AsyncIterator[Starlette]:
    """The same app with compiled plans off: every query runs through Strawberry's executor."""
    async with audited(dataclasses.replace(settings, compiled_plans=False)) as application:
        yield application


@pytest.fixture(scope="session")
async def executor_client(executor_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(executor_app) as http:
        yield http


@pytest.fixture(autouse=True)
def _heap_left_out_of_collections() -> None:
    """What the suite holds when a test starts is left out of the garbage collector's passes (``gc.freeze``).

    The tests serve the gateway in this process, beside its clients, and the process holds every
    module's leftovers by the end (hypothesis' data, schemas, apps): a full collection over it took
    up to a second, a pause in which no result arrived, and a test waiting a second for one failed.
    A serving process freezes what it starts with for the same reason (``create_app(freeze_heap=)``).
    What a test makes is collected as it goes, and what it left is collected here before the freeze.
    """
    gc.collect()
    gc.freeze()


@pytest.fixture
def statements(app: Starlette) -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends while the test runs."""
    with recording(app) as seen:
        yield seen


@pytest.fixture
def executor_statements(executor_app: Starlette) -> Iterator[list[str]]:
    """Every SQL statement the executor-only app's engine sends while the test runs."""
    with recording(executor_app) as seen:
        yield seen


# The markers of [tool.pytest.ini_options], set here rather than by hand so that `pytest -m` selects a
# slice: `-m "not slow"` runs everything in process, `-m postgres` what PostgreSQL adds, `-m browser`
# what drives Chromium. `slow` is decided by module: those that start the gateway as a process or a
# server, run tools per test or build a wheel (a bare interpreter's import, or `make --dry-run`, is not).
SLOW_MODULES = frozenset(
    {
        "api/test_live.py",
        "api/test_live_batches.py",
        "api/test_live_javascript.py",
        "api/test_live_notices.py",
        "docs/test_readme_commands.py",
        "ops/test_cli.py",
        "ops/test_demo.py",
        "ops/test_graphiql_analysts.py",
        "ops/test_graphiql_browser.py",
        "ops/test_import_layers.py",
        "ops/test_markers.py",
        "ops/test_live_metrics.py",
        "ops/test_metrics_port.py",
        "ops/test_wheel.py",
        "security/test_budget.py",
        "security/test_canary.py",
        "security/test_live_connections.py",
        "security/test_replay.py",
    }
)
TESTS = Path(__file__).resolve().parent


def runs_on_postgres(item: pytest.Item) -> bool:
    """Parametrized with the ``postgresql`` backend, or skipped (a ``skipif`` naming PostgreSQL) without it.

    The few tests that exist only with ``GATEWAY_TEST_POSTGRES_URL`` set carry ``@pytest.mark.postgres``.
    """
    callspec = getattr(item, "callspec", None)
    if callspec is not None and any(value == "postgresql" for value in callspec.params.values()):
        return True
    reasons = [str(mark.kwargs.get("reason", "")) for mark in item.iter_markers("skipif")]
    return any("PostgreSQL" in reason or "GATEWAY_TEST_POSTGRES_URL" in reason for reason in reasons)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if runs_on_postgres(item):
            item.add_marker(pytest.mark.postgres)
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        path = item.path.resolve()
        if path.is_relative_to(TESTS) and path.relative_to(TESTS).as_posix() in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
