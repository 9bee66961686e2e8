"""Faults between the gateway and PostgreSQL, through a TCP proxy the test owns (``tests/faultproxy.py``).

The app reads the suite's PostgreSQL database (as the suite's reader role) through the proxy, and
each test breaks something: the network (cut, blackhole, slow), the database (a lock another
session holds) or the pool (its every connection taken). A query must then answer HTTP 200 with
``SERVICE_UNAVAILABLE`` within ``WITHIN`` seconds, the process must keep serving, and once the
fault is gone the same app (no restart) must answer queries again within ``WITHIN`` seconds.

Everything is observed over HTTP, as a client sees it, so the tests hold however the gateway uses
its connections (one per statement, or one per request).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
from typing import TYPE_CHECKING, Any, Literal, cast

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sessions_gateway.db.engine import make_engine
from sessions_gateway.db.reader import TenantReader, driver_pool
from sessions_gateway.db.tables import sessions
from sessions_gateway.gateway.app import create_app
from sessions_gateway.gateway.errors import BUSY_MESSAGE, UNAVAILABLE_MESSAGE
from tests.conftest import POSTGRES_URL
from tests.dataset import ALPHA, DATA
from tests.faultproxy import FaultProxy
from tests.helpers import post

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine

    from sqlalchemy.pool import QueuePool
    from starlette.applications import Starlette

    from sessions_gateway.gateway.config import Settings

pytestmark = [
    pytest.mark.skipif(POSTGRES_URL is None, reason="network faults are PostgreSQL's: set GATEWAY_TEST_POSTGRES_URL"),
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

WITHIN = 5.0  # a fault is answered, and a recovery seen, within this many seconds
HARD_CAP = 8.0  # a request still unanswered by then hangs: fail instead of waiting on it
STATEMENT_TIMEOUT_MS = 500
SLOW_SECONDS = 30.0  # the slow network holds every chunk this long: 60 times the statement timeout
QUERY = "{ sessions(first: 5) { totalCount edges { node { id name } } } }"
# Words a client must never read in an error: the pool's, the driver's, the SQL's.
LEAKS = re.compile(r"QueuePool|asyncpg|sqlalchemy|SELECT|overflow|timeout \d", re.IGNORECASE)

Fault = Literal["cut", "blackhole", "slow"]


# --- the app behind the proxy ----------------------------------------------------------------------


@pytest.fixture
async def proxy(settings: Settings) -> AsyncIterator[FaultProxy]:
    server = make_url(settings.database_url)
    fault_proxy = FaultProxy(server.host or "127.0.0.1", server.port or 5432)
    await fault_proxy.start()
    try:
        yield fault_proxy
    finally:
        await fault_proxy.close()


@contextlib.asynccontextmanager
async def gateway(
    proxy: FaultProxy, settings: Settings, **changes: Any
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The app on the suite's settings, through the proxy, with a short statement timeout; an HTTP client.

    Built and called as conftest's ``app`` and ``client`` are (create_app, its lifespan, ASGI).
    """
    through_proxy = make_url(settings.database_url).set(host="127.0.0.1", port=proxy.port)
    overrides = {
        "database_url": through_proxy.render_as_string(hide_password=False),
        "statement_timeout_ms": STATEMENT_TIMEOUT_MS,
        "pool_size": 2,
        **changes,
    }
    application = create_app(dataclasses.replace(settings, **overrides))
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            try:
                yield application, client
            finally:
                # Whatever the test left broken, the engine's dispose must not wait on a torn link.
                proxy.reset_connections()


# --- what a client sees ---------------------------------------------------------------------------


async def timed(request: Coroutine[Any, Any, httpx.Response]) -> tuple[httpx.Response, float]:
    """The response and how long it took; a request that hangs past ``HARD_CAP`` fails the test."""
    start = time.monotonic()
    try:
        async with asyncio.timeout(HARD_CAP):
            response = await request
    except TimeoutError:
        pytest.fail(f"no answer within {HARD_CAP} s: the request hangs (nothing bounds the wait)")
    return response, time.monotonic() - start


def succeeded(response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    body = response.json()
    return "errors" not in body and body["data"]["sessions"]["totalCount"] == len(DATA.live_sessions("alpha"))


async def assert_unavailable(client: httpx.AsyncClient, message: str | None = UNAVAILABLE_MESSAGE) -> float:
    """A query answers HTTP 200, SERVICE_UNAVAILABLE only, within ``WITHIN``; the time it took.

    Every error's message is ``message``, or (``None``) some fixed text that tells the client to
    try again and leaks nothing of the server.
    """
    response, elapsed = await timed(post(client, QUERY))
    assert response.status_code == 200, (elapsed, response.text)
    errors = response.json()["errors"]
    assert errors[0]["extensions"]["code"] == "SERVICE_UNAVAILABLE", (elapsed, errors)
    assert {e["extensions"]["code"] for e in errors} == {"SERVICE_UNAVAILABLE"}, (elapsed, errors)
    for error in errors:
        if message is None:
            assert "try again" in error["message"], error
            assert not LEAKS.search(error["message"]), error
        else:
            assert error["message"] == message, error
    assert elapsed < WITHIN, f"SERVICE_UNAVAILABLE came after {elapsed:.2f} s"
    return elapsed


async def assert_not_ready(client: httpx.AsyncClient) -> None:
    response, elapsed = await timed(client.get("/readyz"))
    assert response.status_code == 503, response.text
    assert elapsed < WITHIN, f"/readyz answered 503 after {elapsed:.2f} s"


async def assert_serving(client: httpx.AsyncClient) -> None:
    """The process is up, ready, and answers queries."""
    assert (await client.get("/healthz")).status_code == 200
    response, _ = await timed(post(client, QUERY))
    assert succeeded(response), response.text
    assert (await client.get("/readyz")).status_code == 200


async def recovery_time(client: httpx.AsyncClient) -> float:
    """Seconds until a query succeeds again; fails the test past ``WITHIN``."""
    start = time.monotonic()
    last = "no answer"
    while (elapsed := time.monotonic() - start) < WITHIN:
        try:
            async with asyncio.timeout(WITHIN - elapsed):
                response = await post(client, QUERY)
        except TimeoutError:
            break
        if succeeded(response):
            return time.monotonic() - start
        last = response.text
        await asyncio.sleep(0.05)
    pytest.fail(f"no successful query within {WITHIN} s of the fault's end; last answer: {last}")


async def break_network(proxy: FaultProxy, fault: Fault) -> None:
    if fault == "cut":
        await proxy.cut()
    elif fault == "blackhole":
        proxy.blackhole()
    else:
        proxy.slow(SLOW_SECONDS)


# --- the network fails ----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["cut", "blackhole"])
async def test_a_lost_database_is_service_unavailable_within_seconds(
    proxy: FaultProxy, settings: Settings, fault: Fault
) -> None:
    async with gateway(proxy, settings) as (_, client):
        await assert_serving(client)  # the pool now holds open connections, which the fault breaks
        # when: every connection is reset and new ones refused (cut), or every byte vanishes (blackhole)
        await break_network(proxy, fault)
        # then: a query on the pool's open connections answers SERVICE_UNAVAILABLE promptly,
        await assert_unavailable(client)
        # the gateway says it is not ready,
        await assert_not_ready(client)
        # and a query that has to connect anew answers promptly too
        await assert_unavailable(client)
        # and the process keeps serving
        assert (await client.get("/healthz")).status_code == 200


async def test_a_slow_network_is_service_unavailable_within_seconds(proxy: FaultProxy, settings: Settings) -> None:
    async with gateway(proxy, settings) as (_, client):
        await assert_serving(client)
        # when: every byte takes far longer than the statement timeout (the server itself answers at once)
        await break_network(proxy, "slow")
        # then: only the client's own timeout can notice
        await assert_unavailable(client)
        assert (await client.get("/healthz")).status_code == 200


@pytest.mark.parametrize("fault", ["cut", "blackhole", "slow"])
async def test_the_same_app_recovers_within_seconds_once_the_network_is_back(
    proxy: FaultProxy, settings: Settings, fault: Fault
) -> None:
    async with gateway(proxy, settings) as (_, client):  # one app, one lifespan: no restart
        await assert_serving(client)
        await break_network(proxy, fault)
        # a request caught by the fault, still in flight when the network comes back
        caught = asyncio.create_task(post(client, QUERY))
        await asyncio.sleep(1)
        # when
        await proxy.restore()
        # then: the caught request answers, and new ones succeed, all within seconds
        async with asyncio.timeout(WITHIN):
            response = await caught
        assert response.status_code == 200, response.text
        assert succeeded(response) or response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        await recovery_time(client)
        await assert_serving(client)


# --- the database is slow -------------------------------------------------------------------------


async def test_a_query_waiting_on_a_lock_is_cut_by_the_statement_timeout(
    proxy: FaultProxy, settings: Settings, owner_url: str
) -> None:
    locker = create_async_engine(owner_url)  # straight to the server, not through the proxy
    try:
        async with gateway(proxy, settings) as (_, client):
            await assert_serving(client)
            # when: another session holds the table, so the gateway's SELECT waits on the lock
            async with locker.begin() as conn:
                await conn.execute(text("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE"))
                elapsed = await assert_unavailable(client)
            # then: it waited for the statement timeout, no less; and once the lock is gone it answers
            assert elapsed >= STATEMENT_TIMEOUT_MS / 1000 * 0.9, elapsed
            await assert_serving(client)
    finally:
        await locker.dispose()


# --- the pool is exhausted ------------------------------------------------------------------------


async def test_an_exhausted_pool_answers_service_unavailable_promptly(proxy: FaultProxy, settings: Settings) -> None:
    async with gateway(proxy, settings, pool_size=1) as (application, client):
        await assert_serving(client)
        # when: the pools' one connection each is taken (the engine's, and the one for a request's
        # lone statement)
        lone = driver_pool(application.state.engine.dialect)
        assert lone is not None
        async with application.state.engine.connect() as held:
            await held.execute(text("SELECT 1"))
            taken = await lone.acquire()
            try:
                # then: a request does not queue for ever, and says why in words a client may read
                await assert_unavailable(client, message=BUSY_MESSAGE)
            finally:
                lone.release(taken)
        # and once it is back, the same app serves again
        await assert_serving(client)


async def test_a_burst_beyond_the_pool_is_answered_promptly_and_the_rest_still_served(
    proxy: FaultProxy, settings: Settings, owner_url: str
) -> None:
    locker = create_async_engine(owner_url)
    try:
        async with gateway(proxy, settings, pool_size=2, pool_timeout_ms=300) as (_, client):
            await assert_serving(client)
            # when: both connections wait on a lock, and a burst of 20 requests arrives
            async with locker.begin() as conn:
                await conn.execute(text("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE"))
                answers = await asyncio.gather(*(timed(post(client, QUERY)) for _ in range(20)))
            # then: every one is answered within seconds, those that found no connection as busy
            messages = [response.json()["errors"][0]["message"] for response, _ in answers]
            assert max(elapsed for _, elapsed in answers) < WITHIN
            assert messages.count(BUSY_MESSAGE) >= 18, messages
            assert set(messages) <= {BUSY_MESSAGE, UNAVAILABLE_MESSAGE}, messages
            await assert_serving(client)
    finally:
        await locker.dispose()


# --- what the gateway does with a connection whose network hung ------------------------------------


@pytest.mark.parametrize("fault", ["blackhole", "slow"])
async def test_a_request_whose_network_timed_out_gives_its_connection_back_at_once(
    proxy: FaultProxy, settings: Settings, fault: Fault
) -> None:
    through_proxy = make_url(settings.database_url).set(host="127.0.0.1", port=proxy.port)
    engine = make_engine(through_proxy.render_as_string(hide_password=False), statement_timeout_ms=200, pool_size=1)
    try:
        reader = TenantReader(engine, ALPHA)
        assert await reader.rows(select(sessions.c.id).limit(1))
        # when: the network hangs mid-request, and a read times out at the client
        await break_network(proxy, fault)
        with pytest.raises(TimeoutError):
            await reader.rows(select(sessions.c.id).limit(1))
        # then: ending the request waits for nothing (the connection is invalidated, not rolled back
        # over a network that does not answer: the response would wait for it), and frees the pool
        _, elapsed = await timed_call(reader.close())
        assert elapsed < 0.3, elapsed
        assert cast("QueuePool", engine.pool).checkedout() == 0
        # and once the network is back, the next request reads on a new connection
        await proxy.restore()
        again = TenantReader(engine, ALPHA)
        try:
            assert await again.rows(select(sessions.c.id).limit(1))
        finally:
            await again.close()
    finally:
        proxy.reset_connections()
        await engine.dispose()


async def timed_call(awaitable: Coroutine[Any, Any, Any]) -> tuple[Any, float]:
    start = time.monotonic()
    async with asyncio.timeout(HARD_CAP):
        result = await awaitable
    return result, time.monotonic() - start
