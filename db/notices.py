"""Notices of writes (PostgreSQL, optional): ``db/live_notify.sql``'s triggers, and a listener for them.

The triggers ``NOTIFY`` the channel ``CHANNEL`` with the tenant id after each write to the tables
the gateway reads. ``notices_installed`` tells whether they are there (all of them, enabled);
``Listener`` holds a connection of its own that ``LISTEN``s, hands each notice's tenant on, and
connects again when the connection drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from importlib import resources
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import text

from sessions_gateway.db.engine import READ_TABLES

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("gateway.live")

CHANNEL = "sessions_gateway_live"
NOTIFY_FILE = "live_notify.sql"
TRIGGER_NAMES = ("gw_live_notify_insert", "gw_live_notify_update", "gw_live_notify_delete")
APPLICATION_NAME = "sessions-gateway live notices"

# The triggers of live_notify.sql on the tables (as the gateway's role resolves their names),
# enabled, calling its function: one for each kind of write on each table when installed.
_INSTALLED = text(
    "SELECT count(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
    "WHERE p.proname = 'gw_live_notify' AND NOT t.tgisinternal AND t.tgenabled <> 'D' "
    "AND t.tgname = ANY(CAST(:names AS text[])) "
    "AND t.tgrelid IN (SELECT to_regclass(name) FROM unnest(CAST(:tables AS text[])) AS name)"
)


def notify_sql() -> str:
    """``db/live_notify.sql``'s text, for the database's administrator to run as the tables' owner."""
    return resources.files("sessions_gateway.db").joinpath(NOTIFY_FILE).read_text(encoding="utf-8")


async def notices_installed(engine: AsyncEngine) -> bool:
    """Whether every table the gateway reads has ``live_notify.sql``'s triggers (never on SQLite)."""
    if engine.dialect.name != "postgresql":
        return False
    async with engine.connect() as conn:
        found = (
            await conn.execute(_INSTALLED, {"names": list(TRIGGER_NAMES), "tables": list(READ_TABLES)})
        ).scalar_one()
    return int(found) == len(TRIGGER_NAMES) * len(READ_TABLES)


class Listener:
    """A connection of its own ``LISTEN``ing on ``CHANNEL``; each notice's payload to ``notice``.

    ``listening(True)`` once it listens, ``listening(False)`` when its connection is lost (closed
    by the server, or silent to a ping every ``ping`` seconds); it connects again after ``retry``
    seconds, twice as long after each failure (up to ``max_retry``).
    """

    def __init__(
        self,
        dsn: str,
        *,
        notice: Callable[[str], None],
        listening: Callable[[bool], None],
        connect_timeout: float,
        retry: float = 1.0,
        max_retry: float = 30.0,
        ping: float = 15.0,
    ) -> None:
        self.dsn = dsn
        self.notice = notice
        self.listening = listening
        self.connect_timeout = connect_timeout
        self.retry = retry
        self.max_retry = max_retry
        self.ping = ping
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = self.retry
        while True:
            try:
                await self._listen()
                delay = self.retry  # it listened: the next loss waits the shortest time
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away: say so, and try again
                logger.warning("live notices: could not listen on %s", CHANNEL, exc_info=True)
                delay = min(delay * 2, self.max_retry)
            await asyncio.sleep(delay)

    async def _listen(self) -> None:
        """Listen until the connection is lost."""
        conn: Any = await asyncpg.connect(
            self.dsn,
            timeout=self.connect_timeout,
            server_settings={"application_name": APPLICATION_NAME},
        )
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        listened = False
        try:
            await conn.add_listener(CHANNEL, self._received)
            listened = True
            self.listening(True)  # noqa: FBT003
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self.ping)
                if not lost.is_set():
                    await conn.execute("SELECT 1", timeout=self.connect_timeout)  # raises when silent
            logger.warning("live notices: the listening connection was lost; polling until it is back")
        finally:
            if listened:
                self.listening(False)  # noqa: FBT003
            conn.terminate()

    def _received(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.notice(payload)
