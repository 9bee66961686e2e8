"""What one request may spend (``gateway/budget.py``): a time budget, the client's presence, a tenant's report slots.

On PostgreSQL a request is made slow as in ``tests/ops/test_faults.py``: another session (the test's)
holds a table lock, and the gateway's statement waits on it. What the server still runs is read
from ``pg_stat_activity``, not assumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import httpx
import pytest
from asgi_lifespan import LifespanManager
from graphql import parse
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.datastructures import Secret

from sessions_gateway.gateway.app import create_app
from sessions_gateway.gateway.budget import REPORT_RETRY_AFTER_SECONDS, TIMED_OUT_MESSAGE, selects_report
from sessions_gateway.gateway.config import Settings, SettingsError
from sessions_gateway.gateway.persisted import sha256_hex
from tests.conftest import POSTGRES_URL
from tests.dataset import DATA
from tests.helpers import SECRET, post, token_for
from tests.serving import served

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable

    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.pool import QueuePool
    from starlette.applications import Starlette

WITHIN = 5.0  # an answer, or a statement seen waiting, within this many seconds
HARD_CAP = 8.0  # a request still unanswered by then hangs: fail instead of waiting on it
CANCELLED_WITHIN = 1.0  # a cancelled request's statement is gone from the server within this
LIST = "{ sessions(first: 5) { totalCount edges { node { id status } } } }"
# byTaskSource reads the tasks table: with it locked, this report waits and holds its slot.
HELD_REPORT = "query Held { sessionsReport { totalCount byTaskSource { source count } } }"
REPORT = "{ sessionsReport { totalCount } }"
# The same report, selected in the ways a client may write it.
REPORT_SHAPES = {
    "root field": REPORT,
    "fragment spread": "query { ...Parts } fragment Parts on Query { sessionsReport { totalCount } }",
    "nested fragments": (
        "query { ... on Query { ...Outer } } fragment Outer on Query { ...Inner } "
        "fragment Inner on Query { r: sessionsReport { totalCount } }"
    ),
    "named among others": "query L { sessions(first: 1) { totalCount } } query R { sessionsReport { totalCount } }",
}

needs_postgres = pytest.mark.skipif(POSTGRES_URL is None, reason="set GATEWAY_TEST_POSTGRES_URL")
on_postgres = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


# --- which requests are reports (no database) -----------------------------------------------------


@pytest.mark.parametrize(
    ("query", "operation_name", "expected"),
    [
        (REPORT, None, True),
        (REPORT_SHAPES["fragment spread"], None, True),
        (REPORT_SHAPES["nested fragments"], None, True),
        (REPORT_SHAPES["named among others"], "R", True),
        (REPORT_SHAPES["named among others"], "L", False),
        (REPORT_SHAPES["named among others"], None, True),  # unnamed: any operation counts
        ("{ sessionsReport @skip(if: true) { totalCount } }", None, True),  # directives not evaluated
        (LIST, None, False),
        ("# sessionsReport\n{ sessions { totalCount } }", None, False),  # a comment is not a selection
        ('{ sessions(filter: {search: "sessionsReport"}) { totalCount } }', None, False),
        ("query { ...F } fragment F on Query { sessions { totalCount } }", None, False),
        ("query { ...F } fragment F on Query { ...F }", None, False),  # a cycle ends (validation refuses it)
        ("{ sessionsReport { totalCount ", None, False),  # does not parse: refused as such later
        ("fragment F on Query { sessionsReport { totalCount } }", None, False),  # no operation
    ],
)
def test_a_report_request_is_one_whose_operation_selects_sessions_report(
    query: str,
    operation_name: str | None,
    expected: bool,  # noqa: FBT001
) -> None:
    assert selects_report(query, operation_name, parse=partial(parse, max_tokens=2000)) is expected


# --- settings -------------------------------------------------------------------------------------


def test_the_request_budget_defaults_a_second_above_the_statement_timeout_and_the_cap_to_four() -> None:
    base = {"GATEWAY_JWT_SECRET": SECRET}
    settings = Settings.from_env(base)
    assert (settings.statement_timeout_ms, settings.request_timeout_ms, settings.max_concurrent_reports) == (
        15_000,
        16_000,
        4,
    )
    assert Settings.from_env({**base, "GATEWAY_STATEMENT_TIMEOUT_MS": "30000"}).request_timeout_ms == 31_000
    chosen = Settings.from_env({**base, "GATEWAY_REQUEST_TIMEOUT_MS": "5000", "GATEWAY_MAX_CONCURRENT_REPORTS": "2"})
    assert (chosen.request_timeout_ms, chosen.max_concurrent_reports) == (5_000, 2)


@pytest.mark.parametrize("name", ["GATEWAY_REQUEST_TIMEOUT_MS", "GATEWAY_MAX_CONCURRENT_REPORTS"])
@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_budget_that_is_not_positive_is_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"GATEWAY_JWT_SECRET": SECRET, name: value})
    # and so is a Settings built in code, when the app is created
    changes: dict[str, Any] = {name.removeprefix("GATEWAY_").lower(): int(value)}
    with pytest.raises(SettingsError, match=name):
        dataclasses.replace(Settings(jwt_secret=Secret(SECRET)), **changes).check()


# --- on PostgreSQL: the app, a lock, and what the server runs --------------------------------------


@contextlib.asynccontextmanager
async def running(settings: Settings, **changes: Any) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The app on the suite's database (as its reader role), changed so; an HTTP client of it."""
    application = create_app(dataclasses.replace(settings, **changes))
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield application, client


@contextlib.asynccontextmanager
async def locked(owner_url: str, table: str) -> AsyncIterator[AsyncEngine]:
    """``table`` locked by another session for the block; an engine that watches the server."""
    locker = create_async_engine(owner_url)
    watcher = create_async_engine(owner_url, isolation_level="AUTOCOMMIT")
    try:
        async with locker.begin() as conn:
            await conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            yield watcher
    finally:
        await locker.dispose()
        await watcher.dispose()


async def gateway_statements(watcher: AsyncEngine) -> list[str]:
    """The statements the gateway's connections run on the server right now (waiting on a lock too)."""
    async with watcher.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'sessions-gateway' AND state = 'active' AND pid <> pg_backend_pid()"
            )
        )
        return list(found.scalars())


async def until(watcher: AsyncEngine, count: int, within: float) -> list[str]:
    """Polls until the gateway runs ``count`` statements; fails past ``within`` seconds."""
    deadline = time.monotonic() + within
    while len(found := await gateway_statements(watcher)) != count:
        if time.monotonic() > deadline:
            pytest.fail(f"the gateway runs {len(found)} statements, not {count}, after {within} s: {found}")
        await asyncio.sleep(0.05)
    return found


async def answered(request: Awaitable[httpx.Response]) -> httpx.Response:
    try:
        async with asyncio.timeout(HARD_CAP):
            return await request
    except TimeoutError:
        pytest.fail(f"no answer within {HARD_CAP} s: the request waits on the lock")


def checked_out(application: Starlette) -> int:
    return cast("QueuePool", application.state.engine.pool).checkedout()


def assert_answers(response: httpx.Response, root: str) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"][root]
    return data


# --- the time budget ------------------------------------------------------------------------------


@needs_postgres
@on_postgres
@pytest.mark.parametrize("compiled_plans", [True, False], ids=["compiled", "executor"])
async def test_a_request_past_its_time_budget_is_service_unavailable_and_its_statement_cancelled(
    settings: Settings,
    owner_url: str,
    compiled_plans: bool,  # noqa: FBT001
) -> None:
    # given: a statement may run 30 s, the whole request 500 ms
    changes = {"statement_timeout_ms": 30_000, "request_timeout_ms": 500, "compiled_plans": compiled_plans}
    async with running(settings, **changes) as (application, client):
        async with locked(owner_url, "sessions") as watcher:
            # when: the request's statement waits on the lock
            response = await answered(post(client, LIST))
            # then: it answers SERVICE_UNAVAILABLE as a lost database does (HTTP 200), with no data,
            body = response.json()
            assert response.status_code == 200, body
            assert "data" not in body, body
            assert body["errors"] == [{"message": TIMED_OUT_MESSAGE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}]
            # the server runs its statement no more, though the lock is still held,
            await until(watcher, 0, CANCELLED_WITHIN)
            # and its connection is back in the pool (or discarded)
            assert checked_out(application) == 0
        # and the worker keeps serving
        assert assert_answers(await answered(post(client, LIST)), "sessions")["totalCount"] == len(
            DATA.live_sessions("alpha")
        )


# --- the client goes ------------------------------------------------------------------------------


def outcomes(outcome: str) -> float:
    """Requests counted with ``outcome`` so far (anonymous operations)."""
    labels = {"operation": "anonymous", "outcome": outcome}
    return REGISTRY.get_sample_value("gateway_requests_total", labels) or 0.0


def raw_post(port: int, query: str) -> bytes:
    body = f'{{"query": "{query}"}}'.encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token_for('alpha')}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@needs_postgres
@on_postgres
async def test_a_client_that_disconnects_has_its_statements_cancelled(settings: Settings, owner_url: str) -> None:
    application = create_app(dataclasses.replace(settings, statement_timeout_ms=30_000, request_timeout_ms=30_000))
    disconnected_before = outcomes("CLIENT_DISCONNECTED")
    async with served(application) as port:
        async with locked(owner_url, "sessions") as watcher:
            # given: a request whose statement waits on the lock, over a real socket
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw_post(port, "{ sessions(first: 5) { totalCount } }"))
            await writer.drain()
            assert len(await until(watcher, 1, WITHIN)) == 1
            # when: the client hangs up
            writer.close()
            await writer.wait_closed()
            # then: the server runs its statement no more, though the lock is still held,
            await until(watcher, 0, CANCELLED_WITHIN)
            assert checked_out(application) == 0
            # and the request is counted as its client's going
            for _ in range(int(WITHIN / 0.02)):  # once its handling has ended
                if outcomes("CLIENT_DISCONNECTED") != disconnected_before:
                    break
                await asyncio.sleep(0.02)
            assert outcomes("CLIENT_DISCONNECTED") == disconnected_before + 1
        # and the same worker keeps serving (the lock is gone)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            listed = assert_answers(await answered(post(client, LIST)), "sessions")
            assert listed["totalCount"] == len(DATA.live_sessions("alpha"))


# --- a tenant's report slots ----------------------------------------------------------------------


def assert_refused_with_retry_hint(response: httpx.Response) -> None:
    body = response.json()
    assert response.status_code == 200, body
    assert "data" not in body, body
    [error] = body["errors"]
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE", "retryAfter": REPORT_RETRY_AFTER_SECONDS}, error
    assert "try again" in error["message"], error
    assert response.headers["Retry-After"] == str(REPORT_RETRY_AFTER_SECONDS)


@needs_postgres
@on_postgres
@pytest.mark.parametrize("compiled_plans", [True, False], ids=["compiled", "executor"])
async def test_a_tenant_past_its_report_cap_is_refused_while_other_tenants_and_lists_answer(
    settings: Settings,
    owner_url: str,
    compiled_plans: bool,  # noqa: FBT001
) -> None:
    cap = 2
    changes = {"max_concurrent_reports": cap, "pool_size": 5, "compiled_plans": compiled_plans}
    async with running(settings, **changes) as (application, client):
        persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(REPORT)}}
        registered = await client.post(
            "/graphql",
            json={"query": REPORT, "extensions": persisted},
            headers={"Authorization": f"Bearer {token_for('alpha')}"},
        )
        assert_answers(registered, "sessionsReport")
        async with locked(owner_url, "tasks") as watcher:
            # given: the cap's worth of alpha's reports wait on the lock, each holding a connection
            held = [asyncio.create_task(post(client, HELD_REPORT)) for _ in range(cap)]
            await until(watcher, cap, WITHIN)
            # when/then: one more alpha report is refused at once, however it is written,
            for name, shape in REPORT_SHAPES.items():
                if name != "named among others":
                    assert_refused_with_retry_hint(await answered(post(client, shape)))
            named = client.post(
                "/graphql",
                json={"query": REPORT_SHAPES["named among others"], "operationName": "R"},
                headers={"Authorization": f"Bearer {token_for('alpha')}"},
            )
            assert_refused_with_retry_hint(await answered(named))
            # or sent as a persisted query (by its hash alone),
            by_hash = client.post(
                "/graphql", json={"extensions": persisted}, headers={"Authorization": f"Bearer {token_for('alpha')}"}
            )
            assert_refused_with_retry_hint(await answered(by_hash))
            # and it took no connection
            assert checked_out(application) == cap
            # while another tenant's report, and alpha's list, answer
            beta = assert_answers(await answered(post(client, REPORT, tenant="beta")), "sessionsReport")
            assert beta["totalCount"] == len(DATA.live_sessions("beta"))
            listed = assert_answers(await answered(post(client, LIST)), "sessions")
            assert listed["totalCount"] == len(DATA.live_sessions("alpha"))
        # once the lock is gone the held reports complete, and their slots come free
        for report in held:
            assert_answers(await answered(report), "sessionsReport")
        assert_answers(await answered(post(client, REPORT)), "sessionsReport")
