"""A database the pipeline owns: the storage contract's tables alone, without anything of ``init-db``.

The gateway's own objects (the functions of ``db/functions.sql``, the indexes of ``db/indexes.py``,
the policies of ``db/row_security.sql``) make it fast and add a second wall; none is needed for a
right answer. On a PostgreSQL database made from ``storage.sql`` only, as its owner and as a
SELECT-only role, on both execution paths, the whole API answers the bytes it answers on the
suite's database (every order, paged both ways, every filter, the detail, every report part). The
gateway says at start, once, what is missing and how to add it, and ``/readyz`` lists it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import Integer, literal_column, select, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from starlette.datastructures import Secret

from sessions_gateway.db.engine import make_engine
from sessions_gateway.db.expressions import DurationKey, use_duration_key_function
from sessions_gateway.db.tables import Timestamp
from sessions_gateway.gateway.app import create_app
from sessions_gateway.gateway.config import Settings
from tests import factories as f
from tests.conftest import (
    POSTGRES_URL,
    as_role,
    audited,
    create_postgres_database,
    create_reader_role,
    drop_postgres_database,
    drop_role,
    http_client,
    load,
    load_storage_only,
    needs_init_db,
    recording,
)
from tests.dataset import ALPHA, BETA, DATA, DELTA, Dataset
from tests.helpers import SECRET, SESSION_NODE, WHOLE_REPORT, post

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.applications import Starlette


NOW = datetime(2026, 11, 24, 9, 41, 7, tzinfo=UTC)  # in-progress sessions have a duration to sort by
TENANTS = (ALPHA, BETA, DELTA)
ORDERS = ("STARTED_AT_DESC", "STARTED_AT_ASC", "COMPLETED_AT_DESC", "DURATION_DESC")
FILTERS: list[dict[str, Any] | None] = [
    None,
    {"status": "COMPLETED"},
    {"status": "IN_PROGRESS"},
    {"role": "TRAINER"},
    {"startedAfter": "2026-10-01T14:00:00+00:00", "startedBefore": "2026-11-20T00:00:00+00:00"},
    {"userId": "a-bob"},
    {"taskSource": "JOBBER"},
    {"search": "boiler"},
    {"search": "проверка", "status": "IN_PROGRESS"},
]
PAGE = 4

LIST = (
    """
query List($filter: SessionFilter, $order: SessionOrder, $first: Int, $after: String, $last: Int, $before: String) {
  sessions(filter: $filter, orderBy: $order, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { ...Node } }
  }
}
"""
    + SESSION_NODE
)
DETAIL = "query Detail($id: ID!) { session(id: $id) { ...Node } }" + SESSION_NODE
REPORT_PARTS = """
query Parts($filter: SessionFilter) {
  sessionsReport(filter: $filter) {
    totalDurationSeconds
    days: timeline(bucket: DAY, timeZone: "America/St_Johns") { start count completed averageScore }
    months: timeline(bucket: MONTH) { start count completed averageScore }
    top: byUser(first: 1) { user { displayName } count }
    sources: byTaskSource(first: 1) { source count }
  }
}
"""

# What init-db adds, as /readyz and the start-up warning name it: none of it is on the contract's tables.
STORAGE_ONLY_MISSING = [
    "function gw_duration_key",
    "function gw_canary_tenant",
    "index gw_sessions_started",
    "index gw_sessions_completed_key",
    "index gw_sessions_duration_key",
    "index gw_sessions_status_started",
    "index gw_sessions_role_started",
    "index gw_sessions_user_started",
    "index gw_sessions_task",
    "index gw_tasks_source",
    "index gw_procedures_session",
    "index gw_recordings_tenant",
    "index gw_summaries_tenant",
    *(
        item
        for name in ("users", "tasks", "sessions", "recordings", "procedures", "session_summaries")
        for item in (f"row-level security on {name}", f"policy gateway_tenant_isolation on {name}")
    ),
]

needs_postgresql = pytest.mark.skipif(POSTGRES_URL is None, reason="needs PostgreSQL: set GATEWAY_TEST_POSTGRES_URL")
on_postgresql = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture(scope="module")
async def storage_only() -> AsyncIterator[str]:
    """A PostgreSQL database made from storage.sql alone and filled with the suite's dataset; its owner's URL."""
    url = await create_postgres_database()
    try:
        await load_storage_only(url)  # no init-db: no function, index, policy or row-level security
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture(scope="module")
async def reader_role(storage_only: str) -> AsyncIterator[str]:
    """A role that owns nothing and may only SELECT the contract's tables (``init-db --grant-select-to``'s grants)."""
    role = await create_reader_role(storage_only)
    try:
        yield role
    finally:
        owner = make_engine(storage_only, read_only=False)
        async with owner.begin() as conn:
            await conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
        await owner.dispose()
        await drop_role(role)


@dataclasses.dataclass
class Gateways:
    """The gateway on the storage-only database: as its owner and as a SELECT-only role, each on both paths."""

    apps: dict[str, Starlette]
    clients: dict[str, httpx.AsyncClient]


@pytest.fixture
async def gateways(storage_only: str, reader_role: str, settings: Settings) -> AsyncIterator[Gateways]:
    urls = {"owner": storage_only, "reader": as_role(storage_only, reader_role)}
    async with contextlib.AsyncExitStack() as stack:
        apps: dict[str, Starlette] = {}
        clients: dict[str, httpx.AsyncClient] = {}
        for who, url in urls.items():
            for path, compiled in (("compiled", True), ("executor", False)):
                name = f"{who}/{path}"
                on_it = dataclasses.replace(settings, database_url=url, compiled_plans=compiled)
                apps[name] = await stack.enter_async_context(audited(on_it))
                clients[name] = await stack.enter_async_context(http_client(apps[name]))
        yield Gateways(apps, clients)


async def same_answers(
    suite: httpx.AsyncClient, gateways: Gateways, query: str, variables: dict[str, Any], tenant: str
) -> dict[str, Any]:
    """The suite database's answer (no error), which every storage-only gateway gives byte for byte."""
    expected = await post(suite, query, variables, tenant=tenant)
    assert expected.status_code == 200
    assert "errors" not in expected.json(), expected.json()
    for name, client in gateways.clients.items():
        got = await post(client, query, variables, tenant=tenant)
        assert got.content == expected.content, (name, query[:40], variables, tenant, got.json())
    return expected.json()["data"]  # type: ignore[no-any-return]


@needs_postgresql
@on_postgresql
@pytest.mark.parametrize("order", ORDERS)
async def test_every_order_pages_the_same_both_ways_on_the_storage_contract_alone(
    client: httpx.AsyncClient, gateways: Gateways, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sessions_gateway.gateway.context.clock", lambda: NOW)
    for tenant in TENANTS:
        # forwards, page by page, with the suite's cursors (which the storage-only gateways must accept)
        variables: dict[str, Any] = {"order": order, "first": PAGE}
        pages = 0
        while True:
            connection = (await same_answers(client, gateways, LIST, variables, tenant))["sessions"]
            pages += 1
            if not connection["pageInfo"]["hasNextPage"]:
                break
            variables = {"order": order, "first": PAGE, "after": connection["pageInfo"]["endCursor"]}
        assert connection["totalCount"] > 0
        assert pages == -(-connection["totalCount"] // PAGE)
        # and backwards from the end
        variables = {"order": order, "last": PAGE}
        while True:
            connection = (await same_answers(client, gateways, LIST, variables, tenant))["sessions"]
            if not connection["pageInfo"]["hasPreviousPage"]:
                break
            variables = {"order": order, "last": PAGE, "before": connection["pageInfo"]["startCursor"]}


@needs_postgresql
@on_postgresql
@pytest.mark.parametrize("flt", FILTERS)
async def test_every_filter_and_report_part_is_the_same_on_the_storage_contract_alone(
    client: httpx.AsyncClient, gateways: Gateways, flt: dict[str, Any] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sessions_gateway.gateway.context.clock", lambda: NOW)
    for tenant in TENANTS:
        for order in ORDERS:
            await same_answers(client, gateways, LIST, {"filter": flt, "order": order, "first": 100}, tenant)
        await same_answers(client, gateways, WHOLE_REPORT, {"filter": flt}, tenant)
        await same_answers(client, gateways, REPORT_PARTS, {"filter": flt}, tenant)


@needs_postgresql
@on_postgresql
async def test_the_detail_is_the_same_on_the_storage_contract_alone(
    client: httpx.AsyncClient, gateways: Gateways, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sessions_gateway.gateway.context.clock", lambda: NOW)
    for session in DATA.sessions:
        data = await same_answers(client, gateways, DETAIL, {"id": session["id"]}, session["tenant_id"])
        assert (data["session"] is None) == (session["deleted_at"] is not None)


@needs_postgresql
@on_postgresql
@needs_init_db
async def test_duration_desc_calls_gw_duration_key_only_where_the_database_has_it(
    app: Starlette, client: httpx.AsyncClient, gateways: Gateways
) -> None:
    query = "{ sessions(orderBy: DURATION_DESC, first: 2) { edges { node { id } } } }"
    with recording(app) as suite_sent:
        await post(client, query)
    assert any("gw_duration_key(" in s for s in suite_sent), suite_sent
    for name, storage_app in gateways.apps.items():
        with recording(storage_app) as sent:
            response = await post(gateways.clients[name], query)
        assert "errors" not in response.json(), (name, response.json())
        assert sent, name
        assert not any("gw_duration_key(" in s for s in sent), (name, sent)


def await_client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@needs_postgresql
@on_postgresql
@needs_init_db
async def test_the_inline_duration_key_equals_gw_duration_key_at_every_edge(owner_url: str) -> None:
    """The fallback is the function's body: the same key for every value, infinite and out-of-Int spans too."""
    values = (
        "(VALUES (NULL::integer, timestamptz '2026-01-01 00:00:00+00', NULL::timestamptz),"
        " (7, timestamptz '2026-01-01 00:00:00+00', timestamptz '2026-01-01 01:00:00+00'),"
        " (0, timestamptz '2026-01-01 00:00:00+00', NULL),"
        " (NULL, timestamptz '2026-01-01 00:00:00+00', timestamptz '2026-01-01 00:00:01.9+00'),"
        " (NULL, timestamptz '2026-01-01 00:00:00+00', timestamptz '2025-12-31 23:59:58.5+00'),"
        " (NULL, timestamptz '0001-01-01 00:00:00+00', timestamptz '9999-12-31 23:59:59.999999+00'),"
        " (NULL, timestamptz '9999-12-31 00:00:00+00', timestamptz '0001-01-01 00:00:00+00'),"
        " (NULL, timestamptz '2026-01-01 00:00:00+00', timestamptz 'infinity'),"
        " (NULL, timestamptz '-infinity', timestamptz '2026-01-01 00:00:00+00'),"
        " (5, timestamptz '-infinity', timestamptz 'infinity')) AS v (d, s, c)"
    )
    d, s, c = (literal_column(name, kind) for name, kind in (("d", Integer()), ("s", Timestamp()), ("c", Timestamp())))
    stmt = select(DurationKey(d, s, c)).select_from(text(values))
    texts = []
    for present in (True, False):
        dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
        use_duration_key_function(dialect, present)
        texts.append(str(stmt.compile(dialect=dialect)))
    assert "gw_duration_key(" in texts[0]
    assert "gw_duration_key(" not in texts[1]
    engine = make_engine(owner_url)
    try:
        async with engine.connect() as conn:
            by_function, inline = [[row[0] for row in await conn.exec_driver_sql(t)] for t in texts]
    finally:
        await engine.dispose()
    assert by_function == [-1, 7, 0, 1, -1, 2147483647, -2147483648, -1, -1, 5]
    assert inline == by_function


# --- What is missing: said once at start, and by /readyz -------------------------------------

# What /readyz says of the tenant-setting canary (tests/security/test_canary.py): nothing to prove without policies.
CANARY = {"sqlite": "skipped: SQLite has no row-level security", "postgresql": "passed"}
NO_CANARY = "skipped: no function gw_canary_tenant (no init-db: no policies to prove)"


@needs_init_db
async def test_readyz_lists_nothing_missing_on_a_database_init_db_made(client: httpx.AsyncClient, backend: str) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "missing": [], "canary": CANARY[backend]}


@needs_postgresql
@on_postgresql
async def test_readyz_and_the_start_up_warning_name_what_init_db_would_add(
    storage_only: str, reader_role: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    for url in (storage_only, as_role(storage_only, reader_role)):
        caplog.clear()
        caplog.set_level(logging.WARNING, logger="gateway.app")
        application = create_app(dataclasses.replace(settings, database_url=url))
        async with LifespanManager(application), await_client(application) as http:
            warnings = [r.getMessage() for r in caplog.records if "lacks the gateway's own objects" in r.getMessage()]
            first = await http.get("/readyz")
            again = await http.get("/readyz")
        assert first.status_code == 200
        assert first.json() == {"status": "ready", "missing": STORAGE_ONLY_MISSING, "canary": NO_CANARY}
        assert again.json() == first.json()
        # once, naming each missing object and the command that adds them
        assert len(warnings) == 1, warnings
        assert all(item in warnings[0] for item in STORAGE_ONLY_MISSING)
        assert "`sessions-gateway init-db`" in warnings[0]


async def test_readyz_names_an_index_missing_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.db"
    url = f"sqlite+aiosqlite:///{path}"
    await load(url, Dataset(tenants=[f.tenant(ALPHA)], users=[f.user("u-1", ALPHA, "Una")]))
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("DROP INDEX gw_sessions_task")
        conn.execute("DROP INDEX gw_tasks_source")
    application = create_app(Settings(database_url=url, jwt_secret=Secret(SECRET)))
    async with LifespanManager(application), await_client(application) as http:
        response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "missing": ["index gw_sessions_task", "index gw_tasks_source"],
        "canary": CANARY["sqlite"],
    }


async def test_readyz_says_what_is_missing_once_the_database_that_was_away_at_start_answers(tmp_path: Path) -> None:
    path = tmp_path / "later" / "pipeline.db"  # the directory does not exist yet
    url = f"sqlite+aiosqlite:///{path}"
    application = create_app(Settings(database_url=url, jwt_secret=Secret(SECRET)))
    async with LifespanManager(application), await_client(application) as http:
        assert (await http.get("/readyz")).status_code == 503
        (tmp_path / "later").mkdir()
        await load(url, Dataset(tenants=[f.tenant(ALPHA)]))
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("DROP INDEX gw_sessions_role_started")
        response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "missing": ["index gw_sessions_role_started"],
        "canary": CANARY["sqlite"],
    }
