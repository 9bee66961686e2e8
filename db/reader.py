"""One request's reads: one connection, one read-only transaction, one tenant.

On PostgreSQL the transaction is ``REPEATABLE READ`` (a read-only default on the gateway's
connections), so every statement of a request reads the same snapshot: a page, its
``totalCount`` and its rows' procedures agree even while the pipeline writes. Its first
statement sets ``sessions_gateway.tenant_id`` for that transaction alone, the setting the
row-level security policies of ``db/row_security.sql`` compare each row's ``tenant_id`` with.
A statement that forgot its own tenant filter still reads nothing of another tenant. The
setting ends with the transaction, so a connection back in the pool carries no tenant.

The connection is taken at the first statement (a refused request never takes one) and given
back by ``close``, which ends the transaction. Statements of one request run one at a time on
it: the executor resolves fields concurrently, and a connection runs one statement at once.
"""

from __future__ import annotations

import asyncio
from collections import namedtuple
from functools import cache, partial
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import text

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Result
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
    from sqlalchemy.sql import Executable

Record: TypeAlias = Any
"""A fetched row: a named tuple of the selected columns.

SQLAlchemy's ``Row`` reads a column by attribute name about fifteen times slower than a named
tuple does, and a page of sessions is read field by field.
"""


@cache
def _record_type(columns: tuple[str, ...]) -> Any:
    return namedtuple("Record", columns)  # noqa: PYI024  (fields are known only at run time)


def records(result: Result[Any]) -> list[Record]:
    """``result``'s rows as named tuples."""
    # tuple.__new__ straight: a C call per row, where namedtuple's _make adds a Python frame.
    make = partial(tuple.__new__, _record_type(tuple(result.keys())))
    return [make(row) for row in result.all()]


TENANT_SETTING = "sessions_gateway.tenant_id"
SET_TENANT_SQL = f"SELECT set_config('{TENANT_SETTING}', :tenant_id, true)"
_SET_TENANT = text(SET_TENANT_SQL)


class TenantReader:
    """Runs one tenant's statements for one request, on one connection taken when first needed."""

    __slots__ = ("_connection", "_failure", "_lock", "dialect", "engine", "tenant_id")

    def __init__(self, engine: AsyncEngine, tenant_id: str) -> None:
        self.engine = engine
        self.tenant_id = tenant_id
        self.dialect: str = engine.dialect.name
        self._connection: AsyncConnection | None = None
        self._failure: BaseException | None = None
        self._lock = asyncio.Lock()

    async def rows(self, statement: Executable, parameters: Mapping[str, Any] | None = None) -> list[Record]:
        """``statement``'s rows, read in this request's transaction.

        After a failed statement the transaction is spent (PostgreSQL refuses anything further
        in it), so every later statement of the request fails with that same error.
        """
        async with self._lock:
            if self._failure is not None:
                raise self._failure
            try:
                connection = self._connection or await self._begin()
                return records(await connection.execute(statement, parameters))
            except Exception as exc:
                self._failure = exc
                raise

    async def _begin(self) -> AsyncConnection:
        connection = await self.engine.connect()
        self._connection = connection
        if self.dialect == "postgresql":
            await connection.execute(_SET_TENANT, {"tenant_id": self.tenant_id})
        return connection

    async def close(self) -> None:
        """End the transaction and give the connection back (a no-op if none was taken)."""
        async with self._lock:
            connection, self._connection = self._connection, None
            self._failure = self._failure or RuntimeError("this request's reader is closed")
        if connection is not None:
            # Closing rolls the read-only transaction back; a broken connection is discarded.
            await connection.close()
