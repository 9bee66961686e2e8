"""Engines for ``sqlite+aiosqlite`` and ``postgresql+asyncpg`` URLs, and ``init-db``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import db.indexes  # noqa: F401  (registers the gateway's indexes on the metadata)
from db.expressions import SQLITE_LOWER_FUNCTION
from db.tables import metadata

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class UnsupportedDatabaseURL(ValueError):
    """The URL names a database or driver the gateway does not speak."""


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def check_url(url: str) -> None:
    """Refuse a URL of a database or driver the gateway does not speak, before anything connects."""
    try:
        drivername = make_url(url).drivername
    except ArgumentError as exc:  # not a URL at all
        raise UnsupportedDatabaseURL(f"malformed database URL: {exc}") from exc
    if drivername not in SUPPORTED_DRIVERS:
        msg = f"unsupported database URL scheme {drivername!r}: use one of {', '.join(SUPPORTED_DRIVERS)}"
        raise UnsupportedDatabaseURL(msg)


DEFAULT_POOL_SIZE = 30


def make_engine(
    url: str, *, read_only: bool = True, statement_timeout_ms: int = 15_000, pool_size: int = DEFAULT_POOL_SIZE
) -> AsyncEngine:
    """An async engine for ``url``.

    ``read_only`` engines (the server's) refuse writes at the database too: SQLite's
    ``query_only`` pragma, PostgreSQL's ``default_transaction_read_only``. They also run in
    autocommit mode: a read needs no BEGIN/ROLLBACK round trips of its own.
    """
    check_url(url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.drivername.startswith("postgresql"):
        settings = {"statement_timeout": str(statement_timeout_ms), "application_name": "sessions-gateway"}
        if read_only:
            settings["default_transaction_read_only"] = "on"
        kwargs["connect_args"] = {"server_settings": settings, "timeout": 5}
        # A fixed set of connections, opened once and kept: a loaded worker holds several statements
        # in flight per request, and connections opened and closed under load cost more than waiting.
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = 0
        kwargs["pool_timeout"] = 5
        if read_only:
            kwargs["isolation_level"] = "AUTOCOMMIT"
    else:
        # Wait for a writer (the pipeline, the seeder) instead of failing at once.
        kwargs["connect_args"] = {"timeout": statement_timeout_ms / 1000}
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, read_only=read_only)
    return engine


def _configure_sqlite(engine: AsyncEngine, *, read_only: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.create_function(SQLITE_LOWER_FUNCTION, 1, _lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if read_only:
            cursor.execute("PRAGMA query_only = ON")
        cursor.close()


async def init_db(engine: AsyncEngine) -> None:
    """Create the storage-contract tables and the gateway's indexes where they are missing."""
    async with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # Readers (the gateway) and the writer (the pipeline) then do not block each other.
            await conn.exec_driver_sql("PRAGMA journal_mode = WAL")
        await conn.run_sync(metadata.create_all)
