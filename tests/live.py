"""Live subscriptions under test: a database of their own, the gateway served by uvicorn, real clients.

``live_gateway`` serves a fresh database (SQLite, or PostgreSQL read through a role that may only
SELECT, behind row-level security) on a free port; tests write to it as the pipeline does
(``Writer``) and watch what a ``gql`` client receives (``Feed``). ``raw`` opens a bare WebSocket
(the ``websockets`` library gql itself runs on) for what a well-behaved client never sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from sqlalchemy import update
from starlette.datastructures import Secret
from websockets.asyncio.client import connect

from sessions_gateway.db.engine import make_engine
from sessions_gateway.db.notices import notify_sql
from sessions_gateway.db.tables import metadata
from sessions_gateway.gateway.app import create_app
from sessions_gateway.gateway.config import Settings
from tests import factories as f
from tests.conftest import (
    MEDIA,
    as_role,
    create_postgres_database,
    create_reader_role,
    drop_postgres_database,
    drop_role,
    load,
    run_script,
)
from tests.dataset import Dataset
from tests.helpers import SECRET, token_for
from tests.serving import served

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from gql.client import AsyncClientSession
    from starlette.applications import Starlette
    from websockets.asyncio.client import ClientConnection

INTERVAL_MS = 100
INTERVAL = INTERVAL_MS / 1000
# A change reaches its subscribers at the next round, at most an interval after it is written, and
# that round's read takes a few milliseconds: within two intervals. A loaded test machine gets a
# second more before a change counts as missed.
WITHIN = 2 * INTERVAL + 1.0
# Long enough for five rounds of reads: a result that was going to be sent again would have been.
QUIET = 5 * INTERVAL
T0 = f.T0
# A query the worker answers after whatever a test did (within the strictest limits tests set).
STILL_SERVING = '{ session(id: "a-run") { id } }'


def dataset() -> Dataset:
    """Two tenants; alpha's sessions in each state the pipeline moves them through."""
    return Dataset(
        tenants=[f.tenant("alpha"), f.tenant("beta")],
        users=[f.user("u-a", "alpha", "Ana"), f.user("u-b", "beta", "Bo")],
        sessions=[
            f.session("a-run", "alpha", "u-a", status="in_progress", started_at=T0, name="Running"),
            f.session(
                "a-done",
                "alpha",
                "u-a",
                started_at=T0.replace(hour=8),
                completed_at=T0.replace(hour=8, minute=20),
                duration_seconds=1200,
                name="Done",
            ),
            f.session(
                "b-done",
                "beta",
                "u-b",
                started_at=T0,
                completed_at=T0.replace(minute=45),
                duration_seconds=900,
                name="Beta's",
            ),
        ],
        recordings=[f.recording("a-done", "alpha", state="uploading", storage_key="rec/a-done.mp4")],
    )


@dataclass
class Gateway:
    """A served gateway: its port, its app, its settings, and the database's owner URL (for writes)."""

    port: int
    app: Starlette
    settings: Settings
    owner_url: str

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def query(self, query: str, variables: dict[str, Any] | None = None, *, tenant: str = "alpha") -> Any:
        """The JSON answer of ``query`` over HTTP (a query, as a dashboard would send it), without its request id."""
        async with httpx.AsyncClient(base_url=self.http_url) as client:
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token_for(tenant)}"},
            )
        assert response.status_code == 200, response.text
        body = response.json()
        body.pop("extensions")
        return body

    async def serves_queries(self) -> None:
        """The worker still answers a query."""
        assert await self.query(STILL_SERVING) == {"data": {"session": {"id": "a-run"}}}


@contextlib.asynccontextmanager
async def database(backend: str, tmp_path: Path, *, notify: bool = False) -> AsyncIterator[tuple[str, str]]:
    """A fresh database holding ``dataset()``: (owner URL, URL the gateway reads with).

    ``notify``: with ``db/live_notify.sql`` installed by the owner, as the administrator would (PostgreSQL).
    """
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
        await load(url, dataset())
        yield url, url
        return
    owner = await create_postgres_database()
    role = None
    try:
        await load(owner, dataset())
        if notify:
            await run_script(owner, notify_sql())
        role = await create_reader_role(owner)
        yield owner, as_role(owner, role)
    finally:
        await drop_postgres_database(owner)
        if role is not None:
            await drop_role(role)


@contextlib.asynccontextmanager
async def live_gateway(
    backend: str, tmp_path: Path, *, notify: bool = False, **settings: Any
) -> AsyncIterator[Gateway]:
    """The gateway on a free port of 127.0.0.1, polling every ``INTERVAL_MS``; ``settings`` override.

    ``notify``: ``db/live_notify.sql`` installed in its database (PostgreSQL).
    """
    async with database(backend, tmp_path, notify=notify) as (owner, reader):
        configured = Settings(
            database_url=reader,
            jwt_secret=Secret(SECRET),
            media=MEDIA,
            **{"live_interval_ms": INTERVAL_MS, **settings},
        )
        app = create_app(configured)
        async with served(app) as port:
            yield Gateway(port, app, configured, owner)


def transport(gateway: Gateway, tenant: str = "alpha", *, token: str | None = None) -> WebsocketsTransport:
    """The WebSocket transport of gql, speaking graphql-transport-ws, with the token in connection_init."""
    return WebsocketsTransport(
        url=gateway.ws_url,
        init_payload={"Authorization": f"Bearer {token or token_for(tenant)}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )


@contextlib.asynccontextmanager
async def subscriber(gateway: Gateway, tenant: str = "alpha", **kwargs: Any) -> AsyncIterator[AsyncClientSession]:
    """A gql client session on one connection of ``tenant``."""
    async with Client(transport=transport(gateway, tenant, **kwargs)) as session:
        yield session


class Feed:
    """One subscription's results as they arrive, read with a deadline (errors arrive as exceptions)."""

    def __init__(self, session: AsyncClientSession, document: str, variables: dict[str, Any] | None = None) -> None:
        self.received: asyncio.Queue[Any] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump(session, document, variables))

    async def _pump(self, session: AsyncClientSession, document: str, variables: dict[str, Any] | None) -> None:
        try:
            async for result in session.subscribe(GraphQLRequest(document, variable_values=variables)):
                await self.received.put(result)
        except Exception as exc:  # noqa: BLE001  (handed to the test, which expects it or fails on it)
            await self.received.put(exc)

    async def next(self, within: float = WITHIN) -> Any:
        """The next result, arriving within ``within`` seconds."""
        item = await asyncio.wait_for(self.received.get(), within)
        if isinstance(item, Exception):
            raise item
        return item

    async def error(self, within: float = WITHIN) -> Exception:
        """The error that ends the subscription."""
        item = await asyncio.wait_for(self.received.get(), within)
        assert isinstance(item, Exception), item
        return item

    async def nothing(self, during: float = QUIET) -> None:
        """Nothing arrives for ``during`` seconds."""
        await asyncio.sleep(during)
        assert self.received.empty(), self.received.get_nowait()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def feed(
    session: AsyncClientSession, document: str, variables: dict[str, Any] | None = None
) -> AsyncIterator[Feed]:
    watching = Feed(session, document, variables)
    try:
        yield watching
    finally:
        await watching.close()


class Writer:
    """Writes rows as the pipeline does, each change committed at once."""

    def __init__(self, owner_url: str) -> None:
        self.engine = make_engine(owner_url, read_only=False)

    async def insert(self, table: str, row: dict[str, Any]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(metadata.tables[table].insert(), [row])

    async def update(self, table: str, key: dict[str, Any], **values: Any) -> None:
        target = metadata.tables[table]
        where = [target.c[name] == value for name, value in key.items()]
        async with self.engine.begin() as conn:
            await conn.execute(update(target).where(*where).values(**values))

    async def close(self) -> None:
        await self.engine.dispose()


@contextlib.asynccontextmanager
async def writer(gateway: Gateway) -> AsyncIterator[Writer]:
    w = Writer(gateway.owner_url)
    try:
        yield w
    finally:
        await w.close()


@contextlib.asynccontextmanager
async def raw(gateway: Gateway) -> AsyncIterator[ClientConnection]:
    """A bare graphql-transport-ws connection: nothing sent yet."""
    async with connect(gateway.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        yield ws


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(orjson.dumps(message).decode())


async def receive(ws: ClientConnection, within: float = WITHIN) -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), within))
    return message


async def close_code(ws: ClientConnection, within: float = WITHIN) -> tuple[int | None, str | None]:
    """The code and reason the server closes ``ws`` with (anything it sends before is skipped)."""
    deadline = time.monotonic() + within
    with contextlib.suppress(Exception):
        while time.monotonic() < deadline:
            await asyncio.wait_for(ws.recv(), max(0.0, deadline - time.monotonic()))
    await asyncio.wait_for(ws.wait_closed(), max(0.1, deadline - time.monotonic()))
    return ws.close_code, ws.close_reason
