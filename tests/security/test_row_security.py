"""Row-level security on PostgreSQL: a second wall behind every statement's own tenant filter.

The suite's PostgreSQL app reads as a role that owns nothing and may only SELECT (the
``database_url`` fixture), so every PostgreSQL test already runs behind these policies. The tests
here prove the wall itself: a query with no tenant filter at all still reads one tenant only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import struct
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from sessions_gateway import db
from sessions_gateway.db.engine import READ_TABLES, RoleError, grant_reader, init_db, make_engine, row_security_gaps
from sessions_gateway.db.filters import ListOrder, SessionCriteria
from sessions_gateway.db.reader import TENANT_SETTING, TenantReader, begin_script, tenant_script
from sessions_gateway.db.tables import metadata, sessions
from sessions_gateway.gateway import cli
from sessions_gateway.gateway.app import create_app
from tests.conftest import (
    POSTGRES_URL,
    administer,
    as_role,
    create_postgres_database,
    create_reader_role,
    drop_postgres_database,
    drop_role,
    http_client,
    needs_init_db,
)
from tests.dataset import ALPHA, BETA
from tests.faultproxy import FaultProxy
from tests.helpers import gql

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncEngine

    from sessions_gateway.gateway.config import Settings

pytestmark = [
    pytest.mark.skipif(
        POSTGRES_URL is None, reason="row-level security is PostgreSQL's: set GATEWAY_TEST_POSTGRES_URL"
    ),
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
    needs_init_db,
]


@pytest.fixture
async def reader_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The gateway's own kind of engine, connected as the reader role."""
    engine = make_engine(database_url, pool_size=1)
    yield engine
    await engine.dispose()


@pytest.fixture
async def owner_engine(owner_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(owner_url)
    yield engine
    await engine.dispose()


async def tenants_of(engine: AsyncEngine, table: str) -> list[str]:
    """``tenant_id`` of every row of ``table`` the owner reads, with no filter at all."""
    async with engine.connect() as conn:
        return list((await conn.execute(select(metadata.tables[table].c.tenant_id))).scalars())


async def test_init_db_turns_row_security_on_for_every_table_the_gateway_reads(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, p.cmd, p.qual FROM pg_class c "
                "LEFT JOIN pg_policies p ON p.tablename = c.relname AND p.policyname = 'gateway_tenant_isolation' "
                "WHERE c.relname = ANY(:tables)"
            ),
            {"tables": list(READ_TABLES)},
        )
        found = {r.relname: r for r in rows}
    assert sorted(found) == sorted(READ_TABLES)
    for table, row in found.items():
        assert row.relrowsecurity, table
        assert row.cmd == "SELECT", table
        assert TENANT_SETTING in row.qual, table


@pytest.mark.parametrize("table", READ_TABLES)
@pytest.mark.parametrize("tenant", [ALPHA, BETA])
async def test_a_query_without_any_tenant_filter_reads_only_the_requests_tenant(
    reader_engine: AsyncEngine, owner_engine: AsyncEngine, table: str, tenant: str
) -> None:
    # given: the owner (not subject to the policies) sees both tenants' rows in the table
    everything = await tenants_of(owner_engine, table)
    assert {ALPHA, BETA} <= set(everything)
    # when: the request's reader runs a deliberately unscoped query
    reader = TenantReader(reader_engine, tenant)
    try:
        rows = await reader.rows(select(metadata.tables[table].c.tenant_id))
    finally:
        await reader.close()
    # then: exactly that tenant's rows, nothing foreign
    assert [r.tenant_id for r in rows] == [t for t in everything if t == tenant]


async def test_the_reader_role_reads_nothing_where_no_tenant_is_set(reader_engine: AsyncEngine) -> None:
    async with reader_engine.connect() as conn:
        for table in READ_TABLES:
            count = await conn.scalar(select(func.count()).select_from(metadata.tables[table]))
            assert count == 0, table


async def test_the_tenant_ends_with_the_request_and_the_pooled_connection_forgets_it(
    reader_engine: AsyncEngine,
) -> None:
    # given: a request of alpha has read on the pool's only connection, then closed
    reader = TenantReader(reader_engine, ALPHA)
    assert await reader.rows(select(sessions.c.id).limit(1))
    await reader.close()
    # when: the same connection is taken again without a reader
    async with reader_engine.connect() as conn:
        setting = await conn.scalar(text(f"SELECT current_setting('{TENANT_SETTING}', true)"))
        count = await conn.scalar(select(func.count()).select_from(sessions))
    # then: no tenant, no rows
    assert setting in {None, ""}
    assert count == 0


async def test_a_requests_statements_share_one_transaction_and_one_snapshot(reader_engine: AsyncEngine) -> None:
    reader = TenantReader(reader_engine, ALPHA)
    try:
        first = await reader.rows(
            text("SELECT txid_current_if_assigned() IS NULL AS ro, pg_current_snapshot()::text AS s")
        )
        second = await reader.rows(
            text("SELECT pg_current_snapshot()::text AS s, current_setting('transaction_isolation') AS i")
        )
    finally:
        await reader.close()
    assert first[0].s == second[0].s
    assert second[0].i == "repeatable read"


async def test_the_reader_role_cannot_write_even_outside_a_read_only_transaction(database_url: str) -> None:
    engine = make_engine(database_url, read_only=False)
    try:
        with pytest.raises(DBAPIError) as denied:
            async with engine.begin() as conn:
                await conn.execute(sessions.delete().where(sessions.c.tenant_id == ALPHA))
    finally:
        await engine.dispose()
    assert getattr(denied.value.orig, "sqlstate", None) == "42501"  # insufficient_privilege


async def test_the_gateways_engine_refuses_writes_even_as_the_owner(owner_engine: AsyncEngine) -> None:
    with pytest.raises(DBAPIError) as refused:
        async with owner_engine.connect() as conn:
            await conn.execute(sessions.delete().where(sessions.c.tenant_id == ALPHA))
    assert getattr(refused.value.orig, "sqlstate", None) == "25006"  # read_only_sql_transaction


async def test_grant_refuses_a_role_row_security_would_not_apply_to(owner_url: str) -> None:
    engine = make_engine(owner_url, read_only=False)
    try:
        async with engine.connect() as conn:
            superuser = await conn.scalar(text("SELECT current_user"))
        with pytest.raises(RoleError, match="superuser or has BYPASSRLS"):
            await grant_reader(engine, str(superuser))
        with pytest.raises(RoleError, match="no role"):
            await grant_reader(engine, "gw_no_such_role")
        owner = await create_reader_role(owner_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f'ALTER TABLE procedures OWNER TO "{owner}"'))
            with pytest.raises(RoleError, match="owns procedures"):
                await grant_reader(engine, owner)
        finally:
            async with engine.begin() as conn:
                await conn.execute(text(f'ALTER TABLE procedures OWNER TO "{superuser}"'))
                await conn.execute(text(f'DROP OWNED BY "{owner}"'))
            await drop_role(owner)
    finally:
        await engine.dispose()


async def test_init_db_grants_select_to_a_role_from_the_command_line(
    owner_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    role = await create_reader_role(owner_url)  # already granted: revoke, then let the CLI grant
    owner = make_engine(owner_url, read_only=False)
    try:
        async with owner.begin() as conn:
            await conn.execute(text(f'REVOKE SELECT ON {", ".join(READ_TABLES)} FROM "{role}"'))  # noqa: S608
        monkeypatch.setenv("GATEWAY_DATABASE_URL", owner_url)
        with pytest.raises(SystemExit) as exited:
            await _in_thread(cli.main, ["init-db", "--grant-select-to", role])
        assert exited.value.code == 0
        assert f"role {role} may now SELECT" in capsys.readouterr().out
        async with owner.connect() as conn:
            granted, writable = (await conn.execute(PRIVILEGES, {"role": role, "tables": list(READ_TABLES)})).one()
        assert granted is True
        assert writable is False
    finally:
        async with owner.begin() as conn:
            await conn.execute(text(f'DROP OWNED BY "{role}"'))
        await owner.dispose()
        await drop_role(role)


PRIVILEGES = text(
    "SELECT bool_and(has_table_privilege(:role, t, 'SELECT')), "
    "bool_or(has_table_privilege(:role, t, 'INSERT,UPDATE,DELETE')) FROM unnest(CAST(:tables AS text[])) t"
)


async def _in_thread(fn: Any, *args: Any) -> Any:
    """Run a blocking CLI entry point (it calls ``asyncio.run``) off the test's event loop."""
    return await asyncio.to_thread(fn, *args)


def frontend_messages(chunk: bytes) -> list[tuple[bytes, bytes]]:
    """The PostgreSQL protocol messages of one chunk a client sent: (type, body) each."""
    found = []
    while chunk:
        kind, (length,) = chunk[:1], struct.unpack("!i", chunk[1:5])
        found.append((kind, chunk[5 : 1 + length]))
        chunk = chunk[1 + length :]
    return found


async def _writes_of(settings: Settings, requests: list[tuple[str, str]]) -> list[tuple[dict[str, Any], list[bytes]]]:
    """Each request's answer and what the app wrote to PostgreSQL for it, on one pooled connection behind a proxy.

    A request of the given tenant is sent first: the connection is open, its statements prepared.
    """
    server = make_url(settings.database_url)
    proxy = FaultProxy(server.host or "127.0.0.1", server.port or 5432)
    await proxy.start()
    through_proxy = server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    out = []
    try:
        application = create_app(dataclasses.replace(settings, database_url=through_proxy, pool_size=1))
        async with LifespanManager(application), http_client(application) as client:
            await gql(client, requests[0][1], tenant=requests[0][0])
            for tenant, query in requests:
                proxy.sent.clear()
                data = await gql(client, query, tenant=tenant)
                out.append((data, list(proxy.sent)))
    finally:
        await proxy.close()
    return out


LIST_WITH_COUNT = "{ sessions(first: 3) { totalCount edges { node { id user { displayName } } } } }"
DETAIL_OF_A = '{ session(id: "a-01") { id name procedures { id } recording { status } summary { score } } }'


async def test_a_list_or_a_detail_is_one_round_trip_and_a_new_tenant_one_more(settings: Settings) -> None:
    # when: alpha's list (its statement prepared), beta's list twice, alpha's detail twice
    (
        (_, alpha_again),
        (beta_first, beta_writes),
        (_, beta_again),
        (detail, detail_writes),
        (_, detail_again),
    ) = await _writes_of(
        settings,
        [
            (ALPHA, LIST_WITH_COUNT),
            (BETA, LIST_WITH_COUNT),
            (BETA, LIST_WITH_COUNT),
            (ALPHA, DETAIL_OF_A),
            (ALPHA, DETAIL_OF_A),
        ],
    )
    # then: the same tenant on the same connection: one write, the statement (prepared already),
    # with no BEGIN and no ROLLBACK around it
    assert len(alpha_again) == 1, alpha_again
    assert [kind for kind, _ in frontend_messages(alpha_again[0])] == [b"B", b"E", b"S"]
    assert beta_first["sessions"]["totalCount"] > 0
    # another tenant: first one simple-protocol message that sets the session's tenant, then the statement
    assert frontend_messages(beta_writes[0]) == [(b"Q", tenant_script(BETA).encode() + b"\x00")]
    assert len(beta_writes) == 2, beta_writes
    assert len(beta_again) == 1, beta_again
    # the detail: its first time prepares the statement (one more round trip), then one write
    assert detail["session"]["procedures"]
    assert frontend_messages(detail_writes[0])[0] == (b"Q", tenant_script(ALPHA).encode() + b"\x00")
    assert len(detail_again) == 1, detail_again
    for writes in (alpha_again, beta_writes, beta_again, detail_writes, detail_again):
        assert b"BEGIN" not in b"".join(writes)
        assert b"ROLLBACK" not in b"".join(writes)


async def test_a_request_of_several_statements_opens_its_transaction_and_sets_its_tenant_in_one_round_trip(
    settings: Settings,
) -> None:
    # given: a list and a report in one request: several statements, which must share one snapshot
    query = "{ sessions(first: 3) { totalCount } sessionsReport { totalCount byStatus { count } } }"
    # when
    [(_, alpha_again), (data, writes)] = await _writes_of(settings, [(ALPHA, query), (BETA, query)])
    # then: the request's first write, before any read, is one simple-protocol message that begins
    # the read-only transaction and sets the tenant; the last write ends the transaction
    assert data["sessionsReport"]["totalCount"] > 0
    for sent, tenant in ((alpha_again, ALPHA), (writes, BETA)):
        assert frontend_messages(sent[0]) == [(b"Q", begin_script(tenant, citus=False).encode() + b"\x00")]
        assert b"BEGIN" not in b"".join(sent[1:-1])
        assert b"set_config" not in b"".join(sent)
        assert frontend_messages(sent[-1]) == [(b"Q", b"ROLLBACK\x00")]
        assert len(sent) == 1 + 2 + 1  # the list, the report's one statement


async def test_through_the_api_a_list_that_forgot_its_tenant_filter_still_shows_one_tenant(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a gateway whose sessions filter has lost its tenant clause (a bug row security must catch)
    real_where = db.filters.session_where

    def forgetful_where(tenant_id: str, filter_: Any) -> list[Any]:
        return [c for c in real_where(tenant_id, filter_) if "tenant_id" not in str(c)]

    monkeypatch.setattr("sessions_gateway.db.queries.session_where", forgetful_where)
    monkeypatch.setattr("sessions_gateway.db.queries._TEMPLATES", {})  # no statement built before the slip
    application = create_app(settings)  # not audited: its statements lack the filter on purpose
    async with LifespanManager(application), http_client(application) as client:
        # when
        data = await gql(client, "{ sessions(first: 100) { totalCount edges { node { id } } } }", tenant=ALPHA)
    # then: alpha's sessions only; beta's ("b-...") are not there
    ids = [e["node"]["id"] for e in data["sessions"]["edges"]]
    assert ids
    assert all(i.startswith("a-") for i in ids), ids
    assert data["sessions"]["totalCount"] == len(ids)


@pytest.mark.parametrize("order", list(ListOrder))
@pytest.mark.parametrize("status", [None, "completed"])
async def test_behind_row_security_every_order_still_seeks_its_index_to_a_cursor(
    reader_engine: AsyncEngine, owner_engine: AsyncEngine, order: ListOrder, status: str | None
) -> None:
    """Each order's seek is leakproof, so it may stay an index condition under row-level security.

    A condition PostgreSQL deems leaky is applied only after the policy: a deep page would then
    be found by reading every row before it.
    """
    # given: a cursor in the middle of alpha's sessions in this order
    async with owner_engine.connect() as conn:
        keyed = select(order.key.label("key"), sessions.c.id).where(sessions.c.tenant_id == ALPHA)
        middle = (await conn.execute(keyed.order_by(order.key, sessions.c.id).offset(20).limit(1))).one()
    statement = db.queries.page_statement(
        tenant_id=ALPHA,
        filter_=SessionCriteria(status=status),
        order=order,
        after=db.queries.Position(middle.key, middle.id),
        before=None,
        limit=10,
        from_end=False,
    )
    compiled = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})  # type: ignore[no-untyped-call]
    # when: the reader role plans it (a table this small would be read whole: no sequential scans)
    reader = TenantReader(reader_engine, ALPHA)
    try:
        await reader.rows(text("SELECT set_config('enable_seqscan', 'off', true) AS off"))
        await reader.rows(text("SELECT 1 AS warm"))
        connection = reader._connection
        assert connection is not None
        plan = (await connection.execute(text(f"EXPLAIN {compiled}"))).scalars().all()
    finally:
        await reader.close()
    # then: the row comparison is an index condition, not a filter applied after reading
    conditions = [line for line in plan if "Index Cond" in line]
    filters = [line for line in plan if "Filter:" in line and "One-Time" not in line]
    assert any("ROW(" in line for line in conditions), plan
    assert not any("ROW(" in line for line in filters), plan


async def test_the_reader_role_has_no_gap_in_the_wall(reader_engine: AsyncEngine) -> None:
    assert await row_security_gaps(reader_engine) == []


async def test_an_owner_or_a_table_without_row_security_is_a_gap(
    owner_engine: AsyncEngine, reader_engine: AsyncEngine, owner_url: str
) -> None:
    gaps = await row_security_gaps(owner_engine)
    assert any("superuser or has BYPASSRLS" in gap for gap in gaps), gaps
    assert any("owns" in gap and "sessions" in gap for gap in gaps), gaps
    writer = make_engine(owner_url, read_only=False)
    try:
        async with writer.begin() as conn:
            await conn.execute(text("ALTER TABLE procedures DISABLE ROW LEVEL SECURITY"))
        assert await row_security_gaps(reader_engine) == [
            "row-level security is not enabled on procedures (run init-db)"
        ]
    finally:
        async with writer.begin() as conn:
            await conn.execute(text("ALTER TABLE procedures ENABLE ROW LEVEL SECURITY"))
        await writer.dispose()


@pytest.mark.parametrize(("as_owner", "warned"), [(True, True), (False, False)])
async def test_the_gateway_says_at_start_when_row_security_does_not_protect_it(
    settings: Settings, owner_url: str, caplog: pytest.LogCaptureFixture, *, as_owner: bool, warned: bool
) -> None:
    chosen = dataclasses.replace(settings, database_url=owner_url) if as_owner else settings
    with caplog.at_level(logging.WARNING, logger="gateway.app"):
        async with LifespanManager(create_app(chosen)):
            pass
    warnings = [r.getMessage() for r in caplog.records if "row-level security does not protect" in r.getMessage()]
    assert bool(warnings) is warned, warnings


async def test_init_db_by_a_role_that_is_no_superuser_makes_the_duration_key_without_leakproof(
    backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert backend == "postgresql"
    # given: a database owned by a role that may create in it, but is no superuser
    role = f"gw_owner_{uuid.uuid4().hex[:12]}"
    await administer(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER')
    url = await create_postgres_database()
    try:
        # (since PostgreSQL 15 the public schema belongs to whoever owns the database)
        await administer(f'ALTER DATABASE "{make_url(url).database}" OWNER TO "{role}"')
        engine = make_engine(as_role(url, role), read_only=False)
        # when
        with caplog.at_level(logging.WARNING, logger="gateway.db"):
            try:
                await init_db(engine)
                async with engine.connect() as conn:
                    leakproof = await conn.scalar(
                        text("SELECT proleakproof FROM pg_proc WHERE proname = 'gw_duration_key'")
                    )
                    policies = await conn.scalar(text("SELECT count(*) FROM pg_policies"))
            finally:
                await engine.dispose()
        # then: everything else is there; the function is not LEAKPROOF, and the log says what that costs
        assert leakproof is False
        assert policies == len(READ_TABLES)
        assert any("without LEAKPROOF" in r.getMessage() for r in caplog.records)
    finally:
        await drop_postgres_database(url)
        await drop_role(role)


# --- The tenant setting's literal, and connections left mid-transaction -----------------------------

AWKWARD_TENANTS = ["o'brien", "a'; SET LOCAL x.y = 'z", "back\\slash'", "\\'; --", "$$dollar$$", "проверка ☃", "  "]


@pytest.mark.parametrize("tenant", AWKWARD_TENANTS)
async def test_any_tenant_id_is_set_as_it_is_and_never_read_as_sql(reader_engine: AsyncEngine, tenant: str) -> None:
    reader = TenantReader(reader_engine, tenant)
    try:
        [row] = await reader.rows(
            text(f"SELECT current_setting('{TENANT_SETTING}', true) AS tenant, current_setting('x.y', true) AS x")
        )
    finally:
        await reader.close()
    assert row.tenant == tenant
    assert row.x in {None, ""}


async def test_a_tenant_id_holding_a_nul_is_refused_before_any_connection_is_taken(reader_engine: AsyncEngine) -> None:
    reader = TenantReader(reader_engine, "al\x00pha")
    with pytest.raises(ValueError, match="NUL"):
        await reader.rows(select(sessions.c.id).limit(1))
    await reader.close()
    assert reader_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def backend_pid(engine: AsyncEngine) -> tuple[int, bool]:
    """The pid of the connection the pool hands out next, and whether it is inside a transaction."""
    async with engine.connect() as conn:
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        return int(pid), bool(driver.is_in_transaction())


async def test_a_connection_given_back_inside_a_transaction_is_discarded_at_checkout(
    reader_engine: AsyncEngine,
) -> None:
    # given: the pool's one connection goes back still inside a transaction, a tenant set in it
    async with reader_engine.connect() as conn:
        first = await conn.scalar(text("SELECT pg_backend_pid()"))
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.execute(f"BEGIN; SET LOCAL {TENANT_SETTING} = 'alpha'")
    # when: a request takes a connection
    pid, in_transaction = await backend_pid(reader_engine)
    # then: a new one, outside any transaction
    assert pid != first
    assert not in_transaction


async def test_a_request_cancelled_halfway_discards_its_connection(reader_engine: AsyncEngine) -> None:
    # given: a request's statement is running on the pool's one connection
    reader = TenantReader(reader_engine, ALPHA)
    [before] = await reader.rows(text("SELECT pg_backend_pid() AS pid"))
    running = asyncio.create_task(reader.rows(text("SELECT pg_sleep(30) AS slept")))
    await asyncio.sleep(0.2)
    # when: the request is cancelled (its budget spent, its client gone) and ends
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    async with asyncio.timeout(5):
        await reader.close()
    # then: the next request reads on another connection, outside any transaction
    pid, in_transaction = await backend_pid(reader_engine)
    assert pid != before.pid
    assert not in_transaction
