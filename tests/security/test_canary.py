"""The tenant-setting canary: the gateway never serves answers that row-level security emptied in silence.

At start and in ``/readyz`` the gateway reads, as its own role and as a request does, one live
session of a tenant that has one (``gw_canary_tenant()``, ``db/canary.sql``). Where the policies do
not see the tenant setting (as on a Citus cluster that does not carry it to the workers), every list
would say ``totalCount: 0``: the canary finds no row, ``/readyz`` answers 503 with the reason and
every ``/graphql`` request is refused, never answered empty. Here the setting is broken on purpose
on plain PostgreSQL: the policies are pointed at another setting, then repaired.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import TYPE_CHECKING

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from starlette.datastructures import Secret
from websockets.asyncio.client import connect

from sessions_gateway.db.engine import CANARY_FAILED, READ_TABLES, make_engine, sql_statements
from sessions_gateway.gateway.app import create_app
from sessions_gateway.gateway.config import Settings
from tests.conftest import (
    POSTGRES_URL,
    as_role,
    create_postgres_database,
    create_reader_role,
    drop_postgres_database,
    drop_role,
    http_client,
    load,
    needs_init_db,
)
from tests.dataset import ALPHA, DATA
from tests.helpers import SECRET, post, token_for
from tests.serving import served

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


needs_postgresql = pytest.mark.skipif(POSTGRES_URL is None, reason="row-level security is PostgreSQL's")
on_postgresql = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

LIST = "{ sessions(first: 2) { totalCount edges { node { id } } } }"
# Each policy compares tenant_id with a setting the gateway never sets: every read of the role is empty.
BREAK = (
    "ALTER POLICY gateway_tenant_isolation ON {table} "
    "USING (tenant_id = current_setting('sessions_gateway.other', true))"
)


async def as_owner(url: str, *statements: str) -> None:
    engine = make_engine(url, read_only=False)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def repaired() -> list[str]:
    return sql_statements("row_security.sql")


def broken() -> list[str]:
    return [BREAK.format(table=table) for table in READ_TABLES]


@pytest.fixture(scope="module")
async def own_database() -> AsyncIterator[tuple[str, str]]:
    """A database of the test dataset that these tests may break: its owner's URL and a reader role's."""
    url = await create_postgres_database()
    role = None
    try:
        await load(url)
        role = await create_reader_role(url)
        yield url, as_role(url, role)
    finally:
        await drop_postgres_database(url)
        if role is not None:
            await drop_role(role)


@pytest.fixture
async def broken_database(own_database: tuple[str, str]) -> AsyncIterator[tuple[str, str]]:
    owner, reader = own_database
    await as_owner(owner, *broken())
    try:
        yield owner, reader
    finally:
        await as_owner(owner, *repaired())


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, jwt_secret=Secret(SECRET))


@needs_postgresql
@on_postgresql
@pytest.mark.parametrize("role", ["reader", "owner"])
@needs_init_db
async def test_the_canary_passes_on_the_suites_database_as_the_reader_and_as_the_owner(
    database_url: str, owner_url: str, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.app")
    application = create_app(settings_for(database_url if role == "reader" else owner_url))
    async with LifespanManager(application), http_client(application) as client:
        ready = await client.get("/readyz")
        answer = await post(client, LIST, tenant=ALPHA)
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "missing": [], "canary": "passed"}
    assert answer.json()["data"]["sessions"]["totalCount"] == len(DATA.live_sessions(ALPHA))
    assert [r.getMessage() for r in caplog.records if "canary" in r.getMessage()] == ["tenant-setting canary passed"]


@needs_postgresql
async def test_a_tenant_setting_the_policies_do_not_see_is_not_ready_and_refused_until_repaired(
    broken_database: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    owner, reader = broken_database
    caplog.set_level(logging.INFO, logger="gateway.app")
    application = create_app(settings_for(reader))
    async with LifespanManager(application), http_client(application) as client:
        # then: at start, one line says the canary failed, and why
        said = [r for r in caplog.records if "canary" in r.getMessage()]
        assert [(r.levelname, r.getMessage()) for r in said] == [
            ("ERROR", f"tenant-setting canary failed: {CANARY_FAILED}; not serving /graphql until it passes")
        ]
        # /readyz is 503 with the reason
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "reason": CANARY_FAILED}
        # and a list is refused, not answered empty
        refused = await post(client, LIST, tenant=ALPHA)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "5"
        body = refused.json()
        assert "data" not in body
        assert body["errors"] == [
            {
                "message": f"The gateway is not ready: {CANARY_FAILED}.",
                "extensions": {"code": "SERVICE_UNAVAILABLE"},
            }
        ]
        # when: the policies are repaired, and the canary's result is stale (no waiting in a test)
        await as_owner(owner, *repaired())
        application.state.canary.ttl = 0
        # then: the same app serves again, no restart
        answer = await post(client, LIST, tenant=ALPHA)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["sessions"]["totalCount"] == len(DATA.live_sessions(ALPHA))
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["canary"] == "passed"


@needs_postgresql
async def test_a_setting_broken_while_serving_is_caught_by_readyz_and_then_refused(
    own_database: tuple[str, str],
) -> None:
    owner, reader = own_database
    application = create_app(settings_for(reader))
    try:
        async with LifespanManager(application), http_client(application) as client:
            assert (await post(client, LIST, tenant=ALPHA)).status_code == 200
            # when: the policies stop seeing the setting while the gateway serves
            await as_owner(owner, *broken())
            application.state.canary.ttl = 0
            # then: the next probe finds it, and requests are refused from then on
            assert (await client.get("/readyz")).status_code == 503
            refused = await post(client, LIST, tenant=ALPHA)
            assert refused.status_code == 503
            assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    finally:
        await as_owner(owner, *repaired())


@needs_postgresql
async def test_a_role_that_may_not_call_the_canary_is_not_ready(own_database: tuple[str, str]) -> None:
    owner, reader = own_database
    role = reader.split("://", 1)[1].split("@", 1)[0]
    await as_owner(owner, f'REVOKE EXECUTE ON FUNCTION gw_canary_tenant() FROM "{role}"')
    try:
        application = create_app(settings_for(reader))
        async with LifespanManager(application), http_client(application) as client:
            ready = await client.get("/readyz")
            refused = await post(client, LIST, tenant=ALPHA)
    finally:
        await as_owner(owner, f'GRANT EXECUTE ON FUNCTION gw_canary_tenant() TO "{role}"')
    assert ready.status_code == 503
    assert ready.json()["reason"] == "this role may not call gw_canary_tenant(): run init-db --grant-select-to it"
    assert refused.status_code == 503


@needs_postgresql
async def test_the_canary_function_answers_a_live_sessions_tenant_and_only_to_whom_it_is_granted(
    own_database: tuple[str, str],
) -> None:
    owner, _ = own_database
    engine = make_engine(owner, read_only=False)
    try:
        async with engine.connect() as conn:
            tenant = await conn.scalar(text("SELECT gw_canary_tenant()"))
            live = await conn.scalar(
                text("SELECT count(*) FROM sessions WHERE tenant_id = :t AND deleted_at IS NULL"), {"t": tenant}
            )
            public = await conn.scalar(text("SELECT has_function_privilege('public', 'gw_canary_tenant()', 'EXECUTE')"))
    finally:
        await engine.dispose()
    assert live > 0
    assert public is False


@needs_postgresql
async def test_with_no_live_session_the_canary_has_nothing_to_prove_and_says_so(tmp_path: Path) -> None:
    url = await create_postgres_database()
    role = None
    try:
        await load(url, dataclasses.replace(DATA, sessions=[], recordings=[], procedures=[], session_summaries=[]))
        role = await create_reader_role(url)
        application = create_app(settings_for(as_role(url, role)))
        async with LifespanManager(application), http_client(application) as client:
            ready = await client.get("/readyz")
    finally:
        await drop_postgres_database(url)
        if role is not None:
            await drop_role(role)
    assert ready.status_code == 200
    assert ready.json()["canary"] == "skipped: no live session to read"


async def test_on_sqlite_the_canary_is_skipped(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    await load(url)
    application = create_app(settings_for(url))
    async with LifespanManager(application), http_client(application) as client:
        ready = await client.get("/readyz")
    assert ready.json() == {"status": "ready", "missing": [], "canary": "skipped: SQLite has no row-level security"}


@needs_postgresql
async def test_a_session_setting_the_lone_statements_do_not_see_is_not_ready(
    own_database: tuple[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given: lone statements whose session tenant does not reach the policies (as behind a pooler
    # that hands out server connections per transaction), while transactions' SET LOCAL does
    _, reader = own_database
    monkeypatch.setattr(
        "sessions_gateway.db.reader.tenant_script", lambda _tenant: "SET sessions_gateway.tenant_id = 'nobody'"
    )
    caplog.set_level(logging.INFO, logger="gateway.app")
    application = create_app(settings_for(reader))
    # when
    async with LifespanManager(application), http_client(application) as client:
        ready = await client.get("/readyz")
    # then: the canary, which reads both ways, fails: no list answers silently empty
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "reason": CANARY_FAILED}


@needs_postgresql
async def test_behind_a_transaction_pooler_the_canary_reads_in_transactions_only_and_passes(
    own_database: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the same session setting that would not reach the policies, and the pooler said
    _, reader = own_database
    monkeypatch.setattr(
        "sessions_gateway.db.reader.tenant_script", lambda _tenant: "SET sessions_gateway.tenant_id = 'nobody'"
    )
    application = create_app(dataclasses.replace(settings_for(reader), db_transaction_pooler=True))
    # when
    async with LifespanManager(application), http_client(application) as client:
        ready = await client.get("/readyz")
        answer = await post(client, LIST, tenant=ALPHA)
    # then: no statement runs alone, so every answer is right
    assert ready.status_code == 200, ready.text
    assert answer.json()["data"]["sessions"]["totalCount"] == len(DATA.live_sessions(ALPHA))


@needs_postgresql
@needs_init_db
async def test_a_live_subscription_gets_an_error_not_an_emptied_result_while_the_canary_fails(
    own_database: tuple[str, str],
) -> None:
    owner, reader = own_database
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token_for(ALPHA)}"}}
    subscribe = {"type": "subscribe", "id": "1", "payload": {"query": f"subscription {LIST}"}}
    application = create_app(dataclasses.replace(settings_for(reader), live_interval_ms=100))
    async with (
        served(application) as port,
        connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]) as ws,  # type: ignore[list-item]
    ):
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        await ws.send(json.dumps(subscribe))
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert first["payload"]["data"]["sessions"]["totalCount"] == len(DATA.live_sessions(ALPHA))
        refusal = {
            "data": None,
            "errors": [
                {
                    "message": f"The gateway is not ready: {CANARY_FAILED}.",
                    "extensions": {"code": "SERVICE_UNAVAILABLE"},
                }
            ],
        }
        try:
            # when: the policies stop seeing the tenant setting, and a probe finds it (as /readyz's does)
            await as_owner(owner, *broken())
            application.state.canary.ttl = 0
            assert not (await application.state.canary.check()).ready
            # then: the next rounds say so (one round may have read between the break and the probe)
            event = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if event["payload"] != refusal:
                assert event["payload"]["data"]["sessions"]["totalCount"] == 0
                event = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert event["payload"] == refusal
            # and nothing else while it fails: no result of a tenant with no sessions
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.5)
        finally:
            await as_owner(owner, *repaired())
        # once repaired, the sessions again
        again = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert again == first
