"""The driver's pool for a request's lone statement (``db/reader.py`` ``DriverPool``), on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import TYPE_CHECKING

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import make_url
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from sessions_gateway.db.reader import DriverPool, driver_pool
from sessions_gateway.gateway.app import create_app
from tests.conftest import POSTGRES_URL, http_client
from tests.helpers import gql

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sessions_gateway.gateway.config import Settings

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="needs PostgreSQL: set GATEWAY_TEST_POSTGRES_URL")


@pytest.fixture
async def pool() -> AsyncIterator[DriverPool]:
    assert POSTGRES_URL is not None
    dsn = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    found = DriverPool(dsn, max_size=1, acquire_timeout=0.5, connect_kwargs={})
    yield found
    await found.close()


async def test_a_connection_given_back_is_taken_again_as_it_is(pool: DriverPool) -> None:
    # given: a connection whose session holds a setting
    first = await pool.acquire()
    await first.execute("SET application_name = 'kept'")
    pool.release(first)
    # when
    again = await pool.acquire()
    # then: the same connection, its session as it was left
    assert again is first
    assert await again.fetchval("SHOW application_name") == "kept"
    pool.release(again)
    assert (pool.opened, pool.taken) == (1, 0)


async def test_a_request_waits_for_a_connection_given_back_then_gets_it(pool: DriverPool) -> None:
    # given: the one connection taken
    held = await pool.acquire()
    waiting = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    # when
    pool.release(held)
    # then
    assert await waiting is held
    pool.release(held)


async def test_past_its_timeout_a_request_is_told_the_pool_is_busy(pool: DriverPool) -> None:
    held = await pool.acquire()
    with pytest.raises(PoolTimeoutError):
        await pool.acquire()
    pool.release(held)
    # and the count of taken connections is right again: the next request gets it at once
    assert await pool.acquire() is held
    pool.release(held)


async def test_a_discarded_connection_frees_its_place_for_a_new_one(pool: DriverPool) -> None:
    held = await pool.acquire()
    waiting = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.05)
    # when: the connection is discarded (its statement failed on the network)
    pool.release(held, discard=True)
    # then: the waiting request opens a new one
    fresh = await waiting
    assert fresh is not held
    assert held.is_closed()
    assert await fresh.fetchval("SELECT 1") == 1
    pool.release(fresh)
    assert pool.opened == 1


async def test_a_cancelled_statement_s_connection_comes_back_once_the_server_cancelled_it(pool: DriverPool) -> None:
    # given: a statement cancelled while it runs
    held = await pool.acquire()
    running = asyncio.ensure_future(held.fetchval("SELECT pg_sleep(5)"))
    await asyncio.sleep(0.1)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    # when
    pool.release_cancelled(held)
    # then: the connection comes back, usable, well before the statement would have ended
    again = await pool.acquire()
    assert again is held
    assert await again.fetchval("SELECT 2") == 2
    pool.release(again)


async def test_closing_closes_the_free_connections(pool: DriverPool) -> None:
    held = await pool.acquire()
    pool.release(held)
    await pool.close()
    assert held.is_closed()
    assert pool.opened == 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_list_s_statement_is_planned_once_not_at_each_request(settings: Settings) -> None:
    # given: the app on one connection for lone statements
    application = create_app(dataclasses.replace(settings, pool_size=1))
    async with LifespanManager(application), http_client(application) as client:
        # when: the same list, ten times, each after another cursor
        after = None
        for _ in range(10):
            data = await gql(
                client,
                "query Next($after: String) { sessions(first: 3, after: $after) "
                "{ pageInfo { endCursor } edges { node { id user { displayName } } } } }",
                {"after": after},
            )
            after = data["sessions"]["pageInfo"]["endCursor"] if after is None else after
        lone = driver_pool(application.state.engine.dialect)
        assert lone is not None
        connection = await lone.acquire()
        try:
            plans = await connection.fetch(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%AS page%' AND statement NOT LIKE '%pg_prepared_statements%'"
            )
        finally:
            lone.release(connection)
    # then: the LIMIT is written in the statement, not bound (a generic plan without it is far
    # worse), and PostgreSQL planned it once, not at each request (left to choose, it plans a page
    # after a cursor again at each execution on a large tenant)
    by_text = {statement: (generic, custom) for statement, generic, custom in plans}
    assert len(by_text) == 2, plans  # the first page, the pages after a cursor
    assert all(re.search(r"\bLIMIT 4\b", statement) for statement in by_text), plans
    assert sorted(by_text.values()) == [(1, 0), (9, 0)], plans
