"""One request's reads: one connection, one read-only transaction, one tenant.

On PostgreSQL the transaction is ``REPEATABLE READ`` and read-only, so every statement of a
request reads the same snapshot: a page, its ``totalCount`` and its rows' procedures agree even
while the pipeline writes. The reader opens it itself, in one message to the server (one round
trip, on the simple protocol), together with the tenant setting the row-level security policies
of ``db/row_security.sql`` compare each row's ``tenant_id`` with::

    BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
    SET LOCAL citus.propagate_set_commands = 'local';      -- on Citus only
    SET LOCAL sessions_gateway.tenant_id = '<the tenant>'

A batch of live subscriptions' reads (``db/batch.py``) reads several tenants in one statement that
pins each cohort's reads to its own: it runs as the role ``sessions_gateway_live``, whose own
policies (``db/live_batches.sql``) read ``sessions_gateway.tenant_ids``, the batch's tenants
(``tenant_script`` of several tenants); a request's statement runs as the gateway's role again.

A statement that forgot its own tenant filter still reads nothing of another tenant. ``SET
LOCAL`` (not ``set_config``) because Citus carries ``SET`` commands, and only them, to the
workers that evaluate the policies on their shards, once told to for the transaction. The
setting ends with the transaction, so a connection back in the pool carries no tenant.

The engine's PostgreSQL connections are in autocommit mode for that (``db/engine.py``): the
driver adapter sends no ``BEGIN`` of its own. ``close`` sends ``ROLLBACK`` before giving the
connection back; a connection whose request failed or was cancelled halfway is discarded
instead, and the pool discards any connection still inside a transaction at checkout.

The connection is taken at the first statement (a refused request never takes one) and given
back by ``close``, which ends the transaction. Statements of one request run one at a time on
it: the executor resolves fields concurrently, and a connection runs one statement at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque, namedtuple
from dataclasses import dataclass, field
from functools import cache, partial
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy import Result, Select
    from sqlalchemy.engine import Dialect
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
    from sqlalchemy.sql import Executable

Record: TypeAlias = Any
"""A fetched row: a named tuple of the selected columns.

SQLAlchemy's ``Row`` reads a column by attribute name about fifteen times slower than a named
tuple does, and a page of sessions is read field by field. The queries' rows are typed by the
protocols of ``db/rows.py``; ``Record`` stays for the report's aggregate rows, read in ``db/queries.py``.
"""


@cache
def record_type(columns: tuple[str, ...]) -> Any:
    return namedtuple("Record", columns)  # noqa: PYI024  (fields are known only at run time)


def records(result: Result[Any]) -> list[Record]:
    """``result``'s rows as named tuples."""
    # tuple.__new__ straight: a C call per row, where namedtuple's _make adds a Python frame.
    make = partial(tuple.__new__, record_type(tuple(result.keys())))
    return [make(row) for row in result.all()]


TENANT_SETTING = "sessions_gateway.tenant_id"  # a request's tenant: what the policies read
TENANTS_SETTING = "sessions_gateway.tenant_ids"  # a live batch's tenants: what the live role's policies read
# The role a live batch reads as (``db/live_batches.sql``): the gateway's role is a member, not inheriting it.
LIVE_ROLE = "sessions_gateway_live"
# Citus sends a SET to the workers a transaction touches only with this set to 'local'.
CITUS_PROPAGATION = "citus.propagate_set_commands"
BEGIN_SQL = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# The attribute of an engine's dialect that says whether its database is Citus (``db/engine.py``).
_CITUS_FLAG = "sessions_gateway_citus"


def use_citus(dialect: Dialect, present: bool) -> None:  # noqa: FBT001
    """Say whether ``dialect``'s database has the ``citus`` extension: each request then tells it to carry its SETs."""
    setattr(dialect, _CITUS_FLAG, present)


def on_citus(dialect: Dialect) -> bool:
    return bool(getattr(dialect, _CITUS_FLAG, False))


def quote_literal(value: str) -> str:
    """``value`` as a PostgreSQL string literal, whatever it holds; a NUL (no literal can hold one) is refused.

    Single quotes are doubled. A value holding a backslash is written in the escape form
    (``E'...'``, backslashes doubled too), which reads the same whatever
    ``standard_conforming_strings`` says.
    """
    if "\x00" in value:
        raise ValueError("a PostgreSQL string cannot hold a NUL character")
    quoted = value.replace("'", "''")
    if "\\" in value:
        return "E'" + quoted.replace("\\", "\\\\") + "'"
    return f"'{quoted}'"


def array_literal(values: Sequence[str]) -> str:
    """``values`` as a PostgreSQL array literal of text (each element quoted: any text reads back as itself)."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def begin_script(tenant_id: str, *, citus: bool) -> str:
    """The one message that opens a request's transaction on PostgreSQL, its tenant set."""
    statements = [BEGIN_SQL]
    if citus:
        statements.append(f"SET LOCAL {CITUS_PROPAGATION} = 'local'")
    statements.append(f"SET LOCAL {TENANT_SETTING} = {quote_literal(tenant_id)}")
    return "; ".join(statements)


async def send_script(connection: AsyncConnection, script: str) -> None:
    """``script`` on ``connection``'s driver, as one simple-protocol message (no parameters, no prepare)."""
    driver: Any = (await connection.get_raw_connection()).driver_connection  # asyncpg's Connection
    try:
        await driver.execute(script)
    except asyncpg.InterfaceError as exc:  # the driver's own (a closed connection): as SQLAlchemy reports it
        raise InterfaceError(script, None, exc) from exc


def tenant_script(tenant_ids: str | Sequence[str]) -> str:
    """The message setting a connection's tenant for statements run outside a transaction.

    A request's tenant (a string): as the gateway's own role. A live batch's tenants (a sequence):
    as ``LIVE_ROLE``, whose policies admit them, the one-tenant setting emptied.
    """
    if isinstance(tenant_ids, str):
        return f"RESET ROLE; SET {TENANT_SETTING} = {quote_literal(tenant_ids)}"
    return (
        f"SET ROLE {LIVE_ROLE}; SET {TENANT_SETTING} = ''; "
        f"SET {TENANTS_SETTING} = {quote_literal(array_literal(tenant_ids))}"
    )


class Template:
    """A statement whose text is fixed: each execution binds its values by name.

    Compiled once per dialect (the engine's own: ``DurationKey`` compiles as its database allows)
    to the text, the parameter names in their ``$n`` order and their bind processors, so a
    request that runs it alone goes to the driver straight, with no statement built or compiled.
    """

    __slots__ = ("_compiled", "batch", "columns", "order", "statement")

    def __init__(self, statement: Select[Any], order: tuple[tuple[str, bool], ...] = ()) -> None:
        self.statement = statement
        self.columns = tuple(statement.selected_columns.keys())
        # The statement's ORDER BY, as (column label, descending): what a batch of it orders by (``db/batch.py``).
        self.order = order
        # What a batch reads instead, if not this: a template of the same rows for more values
        # (a page of any size: its limit bound), and the values it binds besides this one's.
        self.batch: tuple[Template, dict[str, Any]] | None = None
        self._compiled: dict[int, tuple[str, tuple[Any, ...]]] = {}

    def compiled(self, dialect: Dialect) -> tuple[str, tuple[Any, ...]]:
        """The text, and per ``$n`` its name (a value of the request) or its constant, with its bind processor.

        The request binds its values by the names it gave them (``bindparam("tenant_id")``); the
        statement's anonymous parameters (a literal ``''`` of ``nullif``) are constants of its text.
        """
        found = self._compiled.get(id(dialect))
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            slots: list[tuple[str | None, Any, Any]] = []
            for name in compiled.positiontup or ():
                bind = compiled.binds[name]
                processor: Any = compiled._bind_processors.get(name)
                if bind.unique:  # anonymous: a constant of the statement
                    value = bind.effective_value
                    slots.append((None, value if processor is None else processor(value), None))
                else:
                    slots.append((name, None, processor))
            found = (str(compiled), tuple(slots))
            self._compiled[id(dialect)] = found
        return found

    def arguments(self, dialect: Dialect, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The text for ``dialect`` and its arguments, in order, for ``values`` (one per named parameter)."""
        text, slots = self.compiled(dialect)
        arguments = []
        for name, constant, processor in slots:
            if name is None:
                arguments.append(constant)
            else:
                arguments.append(values[name] if processor is None else processor(values[name]))
        return text, arguments


class TenantConnection(asyncpg.Connection):  # type: ignore[misc]
    """asyncpg's connection, remembering the tenant its session is set to (``None``: none yet)."""

    # The tenant set on its session (a tuple: a batch's tenants; ``None``: none yet).
    session_tenant: str | tuple[str, ...] | None = None


# How long a cancelled statement's connection waits for the server to confirm the cancellation.
CANCEL_WAIT_SECONDS = 0.5
# The attribute of an engine's dialect that holds how its driver pool connects, and the pool.
_DRIVER_POOL = "sessions_gateway_driver_pool"


@dataclass(slots=True)
class DriverPool:
    """The driver's connections for the statements a request runs alone (``TenantReader``), beside the engine's pool.

    At most ``max_size``, opened when needed with the engine's connection settings, kept while
    they work, closed with the app (``close_driver_pool``). Taking and giving back a connection
    costs no round trip and no task: a free one is handed over as it is, its session (and the
    tenant set on it) kept. A request waits ``acquire_timeout`` at most for one, opening included.
    """

    dsn: str
    max_size: int
    acquire_timeout: float
    connect_kwargs: dict[str, Any]
    free: list[TenantConnection] = field(default_factory=list)
    opened: int = 0  # open, or being opened
    taken: int = 0  # taken, or being taken, by requests
    waiting: deque[asyncio.Future[TenantConnection | None]] = field(default_factory=deque)
    settling: set[asyncio.Task[None]] = field(default_factory=set)
    closed: bool = False

    async def acquire(self, prefer: tuple[str, ...] | None = None) -> TenantConnection:
        """A connection, within ``acquire_timeout``; ``prefer``: one whose session has these tenants set, if free.

        Past it, SQLAlchemy's pool timeout when every connection was taken (as the engine's pool
        reports it), else ``TimeoutError`` (a new connection did not open in time).
        """
        if self.closed:
            raise InterfaceError("the driver pool is closed", None, RuntimeError("closed"))
        if prefer is not None:  # a batch of the same tenants as the last one: no SET to send
            for at, connection in enumerate(self.free):
                if connection.session_tenant == prefer and not connection.is_closed():
                    del self.free[at]
                    self.taken += 1
                    return connection
        while self.free:
            connection = self.free.pop()
            if not connection.is_closed():
                self.taken += 1
                return connection
            self.opened -= 1
        full = self.opened >= self.max_size
        self.taken += 1
        try:
            async with asyncio.timeout(self.acquire_timeout):
                if not full:
                    return await self._open()
                handed = await self._wait()
                return handed if handed is not None else await self._open()
        except BaseException as exc:
            self.taken -= 1
            if full and isinstance(exc, TimeoutError):
                raise PoolTimeoutError("no connection came free in time") from exc
            raise

    async def _open(self) -> TenantConnection:
        self.opened += 1
        try:
            connection: TenantConnection = await asyncpg.connect(
                self.dsn, connection_class=TenantConnection, **self.connect_kwargs
            )
        except BaseException:
            self.opened -= 1  # the slot is free again for the next request (waiters wait on: as SQLAlchemy's pool)
            raise
        return connection

    async def _wait(self) -> TenantConnection | None:
        """The next connection given back (``None``: a slot freed, to open a connection in)."""
        waiter: asyncio.Future[TenantConnection | None] = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():  # handed over just as the wait ended: give it on
                self._hand(waiter.result())
            raise

    def release(self, connection: TenantConnection, *, discard: bool = False) -> None:
        """Give ``connection`` back: to a waiting request, else to the free ones; ``discard`` closes it."""
        self.taken -= 1
        if discard or self.closed or connection.is_closed() or connection.is_in_transaction():
            connection.terminate()
            self.opened -= 1
            self._hand(None)
            return
        self._hand(connection)

    def release_cancelled(self, connection: TenantConnection) -> None:
        """Give back a connection whose statement was cancelled, once the server has cancelled it.

        The driver sends PostgreSQL a cancel request when its caller is cancelled; until it is
        done the connection cannot run anything. Waited for in the background, at most
        ``CANCEL_WAIT_SECONDS``; a connection still busy then is discarded.
        """
        task = asyncio.get_running_loop().create_task(self._settle(connection))
        self.settling.add(task)
        task.add_done_callback(self.settling.discard)

    async def _settle(self, connection: TenantConnection) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CANCEL_WAIT_SECONDS
        while loop.time() < deadline and not connection.is_closed():
            try:
                await connection.execute("SELECT 1")
            except asyncpg.InterfaceError:  # still cancelling
                await asyncio.sleep(0.01)
            except Exception:  # noqa: BLE001  (anything else: not worth keeping)
                break
            else:
                self.release(connection)
                return
        self.release(connection, discard=True)

    def _hand(self, connection: TenantConnection | None) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        if connection is not None:
            self.free.append(connection)

    async def close(self) -> None:
        self.closed = True
        for task in list(self.settling):
            task.cancel()
        free, self.free = self.free, []
        for connection in free:
            self.opened -= 1
            with contextlib.suppress(Exception):
                await connection.close(timeout=CANCEL_WAIT_SECONDS)


def use_driver_pool(dialect: Dialect, pool: DriverPool) -> None:
    """Let ``dialect``'s engine run a request's lone statement on ``pool`` (PostgreSQL, outside Citus)."""
    setattr(dialect, _DRIVER_POOL, pool)


def driver_pool(dialect: Dialect) -> DriverPool | None:
    return getattr(dialect, _DRIVER_POOL, None)


async def close_driver_pool(engine: AsyncEngine) -> None:
    """Close the driver pool of ``engine``'s connections (those taken are closed as they come back)."""
    found = driver_pool(engine.dialect)
    if found is not None:
        await found.close()


class _Execution:
    """What SQLAlchemy's cursor events receive as the execution's context, for a statement run on the driver.

    Listeners may keep state on it between ``before_cursor_execute`` and ``after_cursor_execute``
    (OpenTelemetry keeps its span).
    """


class TenantReader:
    """Runs one tenant's statements for one request, on one connection taken when first needed.

    A request that will read one statement alone (``one_statement``) runs it on PostgreSQL
    outside any transaction, in one round trip (two when the connection's tenant changes): a
    single statement reads one snapshot whatever
    the isolation level, read only (the connection's ``default_transaction_read_only``). Its
    tenant is set on the connection's session (``SET``, not ``SET LOCAL``) when the connection
    last served another tenant, and remembered with the connection (forgotten before it is set,
    so what is remembered is always what is set). The connection comes from asyncpg's own pool
    (``DriverPool``), which costs no round trip to take or give back.
    Not on Citus, which carries only ``SET LOCAL`` to its workers: there the statement runs in a
    transaction like any other.
    """

    __slots__ = (
        "_alone",
        "_connection",
        "_failure",
        "_in_transaction",
        "_lock",
        "dialect",
        "engine",
        "tenant_id",
    )

    def __init__(self, engine: AsyncEngine, tenant_id: str) -> None:
        self.engine = engine
        self.tenant_id = tenant_id
        self.dialect: str = engine.dialect.name
        self._connection: AsyncConnection | None = None
        self._failure: BaseException | None = None
        self._lock = asyncio.Lock()
        self._alone = False
        self._in_transaction = False

    def one_statement(self) -> None:
        """Say that this request reads one statement: its next runs outside a transaction, if it is the first."""
        if self._connection is None and self._failure is None:
            dialect = self.engine.dialect
            self._alone = driver_pool(dialect) is not None and not on_citus(dialect)

    async def rows(
        self, statement: Executable | Template, parameters: Mapping[str, Any] | None = None, *, named: bool = True
    ) -> list[Record]:
        """``statement``'s rows, read in this request's transaction.

        ``named``: as named tuples; else they may be the driver's records, read by position only.

        After a failed statement the transaction is spent (PostgreSQL refuses anything further
        in it), so every later statement of the request fails with that same error. One
        cancelled halfway leaves the connection in a state nobody knows: the request reads no
        more, and ``close`` discards the connection.
        """
        async with self._lock:
            if self._failure is not None:
                raise self._failure
            try:
                if self._alone:
                    return await self._run_alone(statement, parameters or {}, named=named)
                connection = self._connection or await self._begin()
                if isinstance(statement, Template):
                    statement = statement.statement
                return records(await connection.execute(statement, parameters))
            except Exception as exc:
                self._failure = exc
                raise
            except asyncio.CancelledError:
                self._failure = RuntimeError("this request's reader was cancelled")
                raise

    async def _begin(self) -> AsyncConnection:
        script = begin_script(self.tenant_id, citus=on_citus(self.engine.dialect))  # refuses before connecting
        connection = await self.engine.connect()
        self._connection = connection
        if self.dialect == "postgresql":
            self._in_transaction = True
            await send_script(connection, script)
        return connection

    async def _run_alone(
        self, statement: Executable | Template, values: Mapping[str, Any], *, named: bool = True
    ) -> list[Record]:
        """The request's one statement, outside a transaction, on the driver straight (see the class).

        The connection goes back to the pool as soon as the rows are read. Anything the request
        reads after it (the executor, when the compiled plan could not answer) reads in a
        transaction of its own, as usual.
        """
        self._alone = False
        template = statement if isinstance(statement, Template) else Template(statement)  # type: ignore[arg-type]
        text, arguments = template.arguments(self.engine.dialect, values)
        found = await fetch_alone(self.engine, self.tenant_id, text, arguments)
        if not named:  # the caller reads columns by position: the driver's records do
            return found
        make = partial(tuple.__new__, record_type(template.columns))
        return [make(row) for row in found]

    async def close(self) -> None:
        """End the transaction and give the connection back (a no-op if none was taken).

        On PostgreSQL ``ROLLBACK`` ends it; after a failed or cancelled statement the connection
        is discarded instead (a network that does not answer is not waited for).
        """
        async with self._lock:
            connection, self._connection = self._connection, None
            failed = self._failure is not None
            self._failure = self._failure or RuntimeError("this request's reader is closed")
        if connection is None:
            return
        discard = failed and self.dialect == "postgresql"
        in_transaction, self._in_transaction = self._in_transaction, False
        try:
            if not discard and in_transaction:
                try:
                    await send_script(connection, "ROLLBACK")
                except BaseException:
                    discard = True
                    raise
        finally:
            if discard and not connection.invalidated:
                await connection.invalidate()
            await connection.close()  # SQLite: rolls its transaction back


async def fetch_alone(
    engine: AsyncEngine, tenants: str | tuple[str, ...], text: str, arguments: Sequence[Any]
) -> list[asyncpg.Record]:
    """``text``'s rows, run alone on a connection of ``engine``'s driver pool with ``tenants`` set on its session.

    ``tenants``: a request's tenant, or a batch's (a tuple, sorted: the same batch finds the
    connection its tenants are set on). The connection goes back to the pool as soon as the rows
    are read; its session's tenants are forgotten before they are set and remembered once they
    are, so what is remembered is always what is set.
    """
    script = tenant_script(tenants)  # refuses a tenant no literal can hold before connecting
    pools = driver_pool(engine.dialect)
    if pools is None:
        raise RuntimeError("no driver pool")
    driver = await pools.acquire(prefer=tenants if isinstance(tenants, tuple) else None)
    try:
        if driver.session_tenant != tenants:
            driver.session_tenant = None
            await driver.execute(script)
            driver.session_tenant = tenants
        # Listeners (statement counts, audits, tracing) see it as they see SQLAlchemy's own.
        sync_engine = engine.sync_engine
        events = sync_engine.dispatch
        call = (sync_engine, None, text, tuple(arguments), _Execution(), False)
        if events.before_cursor_execute:
            events.before_cursor_execute(*call)
        try:
            found: list[asyncpg.Record] = await driver.fetch(text, *arguments)
        finally:
            if events.after_cursor_execute:
                events.after_cursor_execute(*call)
    except asyncpg.PostgresError as exc:  # a database error: as SQLAlchemy reports it
        pools.release(driver)
        raise DBAPIError(text, None, exc, connection_invalidated=False) from exc
    except asyncio.CancelledError:
        # The request is cancelled (its client went, or its time is up): the pool waits a moment
        # for the server to have cancelled the statement, then discards the connection (a network
        # that does not answer is not waited for).
        pools.release_cancelled(driver)
        raise
    except BaseException as exc:
        # The network or the driver failed (a timeout, a closed connection): discarded at once,
        # as the engine's pool discards a connection that failed.
        pools.release(driver, discard=True)
        if isinstance(exc, asyncpg.InterfaceError):  # as SQLAlchemy reports the driver's own
            raise InterfaceError(text, None, exc) from exc
        raise
    pools.release(driver)
    return found
