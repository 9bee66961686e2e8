"""Live subscriptions with ``db/live_notify.sql`` installed: refetched when a notice names the tenant.

The interval is long in these tests (5 s) where a change must arrive well before it: only a notice
can bring it. Statements are counted as the engine sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from sessions_gateway.db.engine import make_engine
from sessions_gateway.db.notices import APPLICATION_NAME, CHANNEL, notices_installed, notify_sql
from tests import factories as f
from tests.conftest import (
    POSTGRES_URL,
    STORAGE_SQL,
    administer,
    binds_tenant,
    create_postgres_database,
    drop_postgres_database,
    drop_role,
    run_script,
)
from tests.live import QUIET, T0, feed, live_gateway, subscriber, writer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncEngine

    from tests.live import Gateway

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="notices need PostgreSQL (GATEWAY_TEST_POSTGRES_URL)")

LONG_INTERVAL_MS = 5_000
# Well before the interval: a change that arrives within this was brought by a notice.
NOTICED = 2.0
LIST = "subscription { sessions(first: 10) { totalCount edges { node { id status } } } }"
DETAIL = """
subscription Detail($id: ID!) {
  session(id: $id) { id name status recording { status } summary { score } }
}
"""


@contextlib.contextmanager
def sent(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) ``engine`` sends inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def until(condition: Any, within: float = 5.0) -> None:
    """Wait until ``condition()`` holds, ``within`` seconds at most."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + within
    while not condition():
        assert loop.time() < ends, "still not so"
        await asyncio.sleep(0.02)


async def listening(gateway: Gateway) -> None:
    await until(lambda: gateway.app.state.live.listening)


async def listener_pids(owner_url: str) -> list[int]:
    """The server processes of the gateway's listening connections to this database."""
    conn = await asyncpg.connect(make_url(owner_url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
            APPLICATION_NAME,
        )
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


async def test_each_write_reaches_its_subscriber_at_once_though_the_interval_is_long(tmp_path: Path) -> None:
    async with (
        live_gateway("postgresql", tmp_path, notify=True, live_interval_ms=LONG_INTERVAL_MS) as gateway,
        subscriber(gateway) as session,
        writer(gateway) as db,
        feed(session, LIST) as dashboard,
        feed(session, DETAIL, {"id": "a-done"}) as detail,
    ):
        first = await dashboard.next()
        assert [e["node"]["status"] for e in first["sessions"]["edges"]] == ["IN_PROGRESS", "COMPLETED"]
        assert (await detail.next())["session"]["recording"] == {"status": "UPLOADING"}
        await listening(gateway)

        # a session completes
        await db.update("sessions", {"id": "a-run"}, status="completed", completed_at=T0 + timedelta(minutes=5))
        completed = await dashboard.next(within=NOTICED)
        assert [e["node"]["status"] for e in completed["sessions"]["edges"]] == ["COMPLETED", "COMPLETED"]

        # a recording becomes ready
        await db.update("recordings", {"session_id": "a-done"}, state="ready")
        assert (await detail.next(within=NOTICED))["session"]["recording"] == {"status": "AVAILABLE"}

        # a summary arrives
        await db.insert("session_summaries", f.summary("a-done", "alpha", score=91, prose="Calm."))
        assert (await detail.next(within=NOTICED))["session"]["summary"] == {"score": 91}

        # a session is erased
        await db.update("sessions", {"id": "a-done"}, deleted_at=T0 + timedelta(days=1))
        assert await detail.next(within=NOTICED) == {"session": None}
        erased = await dashboard.next(within=NOTICED)
        assert erased["sessions"]["totalCount"] == 1
        await detail.nothing(QUIET)
        await gateway.serves_queries()


@pytest.mark.parametrize("notify", [True, False], ids=["notices", "polling"])
async def test_nothing_is_read_while_nothing_changes_with_notices(tmp_path: Path, *, notify: bool) -> None:
    """With notices, no reads between safety refreshes; without, a read each interval (100 ms)."""
    async with (
        live_gateway("postgresql", tmp_path, notify=notify) as gateway,
        subscriber(gateway) as session,
        writer(gateway) as db,
        feed(session, LIST) as dashboard,
    ):
        await dashboard.next()
        if notify:
            await listening(gateway)
        await asyncio.sleep(0.2)  # the round that listening started is over
        with sent(gateway.app.state.engine) as quiet:
            await dashboard.nothing(1.5)
        if notify:
            assert quiet == []
        else:
            assert len(quiet) >= 5  # a read each of 15 intervals (a loaded machine skips some)

        with sent(gateway.app.state.engine) as after_write:
            await db.insert("sessions", f.session("a-new", "alpha", "u-a", started_at=T0 + timedelta(hours=1)))
            assert (await dashboard.next())["sessions"]["totalCount"] == 3
        assert after_write


async def test_a_tenants_notice_reads_and_sends_nothing_of_another_tenant(tmp_path: Path) -> None:
    async with (
        live_gateway("postgresql", tmp_path, notify=True, live_interval_ms=LONG_INTERVAL_MS) as gateway,
        writer(gateway) as db,
        subscriber(gateway, "alpha") as alpha,
        subscriber(gateway, "beta") as beta,
        feed(alpha, LIST) as alphas,
        feed(beta, LIST) as betas,
    ):
        await alphas.next()
        assert [e["node"]["id"] for e in (await betas.next())["sessions"]["edges"]] == ["b-done"]
        await listening(gateway)
        await asyncio.sleep(0.2)

        with sent(gateway.app.state.engine) as reads:
            await db.update("sessions", {"id": "a-done"}, name="Alpha's pipeline wrote this")
            await db.insert("sessions", f.session("a-new", "alpha", "u-a", started_at=T0 + timedelta(hours=2)))
            assert (await alphas.next(within=NOTICED))["sessions"]["totalCount"] == 3
            await betas.nothing(QUIET)
        assert reads
        assert all(binds_tenant(statement, parameters, "alpha") for statement, parameters in reads), reads
        assert not any(binds_tenant(statement, parameters, "beta") for statement, parameters in reads), reads

        # beta's own write: beta's subscriber, at once
        await db.update("sessions", {"id": "b-done"}, status="failed")
        assert (await betas.next(within=NOTICED))["sessions"]["edges"][0]["node"]["status"] == "FAILED"
        await alphas.nothing(0.5)


async def test_a_lost_listening_connection_means_polling_until_it_is_back(tmp_path: Path) -> None:
    async with (
        live_gateway("postgresql", tmp_path, notify=True, live_interval_ms=300) as gateway,
        subscriber(gateway) as session,
        writer(gateway) as db,
        feed(session, LIST) as dashboard,
    ):
        hub = gateway.app.state.live
        await dashboard.next()
        await listening(gateway)
        (pid,) = await listener_pids(gateway.owner_url)
        assert REGISTRY.get_sample_value("gateway_live_listening") == 1
        hub.listener.retry = 3.0  # time enough to see it poll meanwhile

        # when: the server ends the listening connection
        async with make_engine(gateway.owner_url, read_only=False).connect() as admin:
            assert (await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
        await until(lambda: not hub.listening, within=2.0)
        assert REGISTRY.get_sample_value("gateway_live_listening") == 0

        # then: rounds read every interval again, and bring a write
        with sent(gateway.app.state.engine) as polled:
            await asyncio.sleep(1.0)
        assert polled
        assert not hub.listening
        await db.update("sessions", {"id": "a-run"}, status="failed")
        assert (await dashboard.next())["sessions"]["edges"][0]["node"]["status"] == "FAILED"

        # and: it listens again, on a new connection, and polling stops
        await until(lambda: hub.listening, within=8.0)
        assert [p for p in await listener_pids(gateway.owner_url) if p != pid]
        assert REGISTRY.get_sample_value("gateway_live_listening") == 1
        await asyncio.sleep(0.2)
        with sent(gateway.app.state.engine) as quiet:
            await dashboard.nothing(1.0)
        assert quiet == []
        await db.insert("sessions", f.session("a-new", "alpha", "u-a", started_at=T0 + timedelta(hours=1)))
        assert (await dashboard.next(within=NOTICED))["sessions"]["totalCount"] == 3
        await gateway.serves_queries()


async def test_the_file_installs_as_the_tables_owner_on_the_storage_contract_alone() -> None:
    """A role that owns the tables (no superuser) runs the file on storage.sql's tables, twice."""
    role = f"gw_owner_{uuid.uuid4().hex[:12]}"
    await administer(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER')
    url = await create_postgres_database()
    name = make_url(url).database
    try:
        await administer(f'ALTER DATABASE "{name}" OWNER TO "{role}"')
        owner = make_url(url).set(username=role, password=None).render_as_string(hide_password=False)
        await run_script(owner, STORAGE_SQL.read_text(encoding="utf-8"))
        engine = make_engine(owner, read_only=False)
        try:
            assert not await notices_installed(engine)
            await run_script(owner, notify_sql())
            await run_script(owner, notify_sql())  # again: the same triggers, once each
            assert await notices_installed(engine)
        finally:
            await engine.dispose()

        dsn = make_url(owner).set(drivername="postgresql").render_as_string(hide_password=False)
        heard: list[str] = []
        listener = await asyncpg.connect(dsn)
        pipeline = await asyncpg.connect(dsn)
        try:
            await listener.add_listener(CHANNEL, lambda *args: heard.append(args[3]))
            await pipeline.execute("INSERT INTO tenants (id, name) VALUES ('t1', 'One'), ('t2', 'Two')")
            assert heard == []  # tenants are not among the tables read
            # one statement, many rows of two tenants: one notice per tenant
            await pipeline.execute(
                "INSERT INTO users (id, tenant_id, display_name) "
                "SELECT 'u' || n, CASE WHEN n = 1 THEN 't2' ELSE 't1' END, 'User' FROM generate_series(1, 50) AS n"
            )
            await until(lambda: len(heard) >= 2)
            async with pipeline.transaction():  # a transaction's notices: each tenant once, at commit
                await pipeline.execute("UPDATE users SET display_name = 'Renamed' WHERE tenant_id = 't1'")
                await pipeline.execute("DELETE FROM users WHERE tenant_id = 't1' AND id <> 'u2'")
            await pipeline.execute("UPDATE users SET display_name = 'x' WHERE false")  # no row: no notice
            await asyncio.sleep(0.3)
            assert sorted(heard[:2]) == ["t1", "t2"]
            assert heard[2:] == ["t1"]
        finally:
            await listener.close()
            await pipeline.close()
    finally:
        await drop_postgres_database(url)
        await drop_role(role)


async def test_notices_close_together_make_one_refetch(tmp_path: Path) -> None:
    async with (
        live_gateway("postgresql", tmp_path, notify=True, live_interval_ms=LONG_INTERVAL_MS) as gateway,
        subscriber(gateway) as session,
        writer(gateway) as db,
        feed(session, LIST) as dashboard,
    ):
        await dashboard.next()
        await listening(gateway)
        await asyncio.sleep(0.2)
        engine = gateway.app.state.engine

        # given: what one write's refetch costs
        with sent(engine) as one:
            await db.insert("sessions", f.session("a-1", "alpha", "u-a", started_at=T0 + timedelta(hours=1)))
            assert (await dashboard.next(within=NOTICED))["sessions"]["totalCount"] == 3
            await asyncio.sleep(0.3)
        assert one

        # when: three writes commit at once, three notices
        with sent(engine) as burst:
            await asyncio.gather(
                *(
                    db.insert("sessions", f.session(f"a-{n}", "alpha", "u-a", started_at=T0 + timedelta(hours=n)))
                    for n in (2, 3, 4)
                )
            )
            final = None
            while final is None or final["sessions"]["totalCount"] < 6:
                final = await dashboard.next(within=NOTICED)
            await asyncio.sleep(0.3)

        # then: one refetch (two on a machine so loaded the commits spread past the debounce), not three
        assert len(burst) < 3 * len(one), (len(burst), len(one))
