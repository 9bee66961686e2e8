"""Engines for ``sqlite+aiosqlite`` and ``postgresql+asyncpg`` URLs, and ``init-db``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateIndex

from sessions_gateway.db.expressions import (
    DURATION_KEY_FUNCTION,
    DURATION_KEY_SIGNATURE,
    SQLITE_LOWER_FUNCTION,
    SQLITE_PERIOD_FUNCTION,
    period_start,
    use_duration_key_function,
)
from sessions_gateway.db.indexes import GATEWAY_INDEXES
from sessions_gateway.db.reader import (
    CITUS_PROPAGATION,
    LIVE_ROLE,
    DriverPool,
    TenantReader,
    driver_pool,
    use_citus,
    use_driver_pool,
)
from sessions_gateway.db.tables import metadata, sessions

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.ext.asyncio import AsyncConnection
    from sqlalchemy.pool import ConnectionPoolEntry

logger = logging.getLogger("gateway.db")
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
DEFAULT_POOL_TIMEOUT_MS = 2_000
# How much longer than the statement timeout the client waits for an answer before it gives up:
# the server's own timeout fires first, unless the network (or the server) is what hangs.
CLIENT_TIMEOUT_MARGIN_S = 1.0


def driver_dsn(url: URL | str) -> str:
    """The engine's database URL as the driver (asyncpg) connects to it, for connections of the gateway's own."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_engine(
    url: str,
    *,
    read_only: bool = True,
    statement_timeout_ms: int = 15_000,
    pool_size: int = DEFAULT_POOL_SIZE,
    pool_timeout_ms: int = DEFAULT_POOL_TIMEOUT_MS,
    lone_statements: bool = True,
) -> AsyncEngine:
    """An async engine for ``url``.

    ``read_only`` engines (the server's) refuse writes at the database too: SQLite's
    ``query_only`` pragma, PostgreSQL's ``default_transaction_read_only``. On PostgreSQL their
    transactions are ``REPEATABLE READ``: a request's statements share one snapshot. Their
    connections are in autocommit mode: ``db/reader.py`` opens each request's transaction itself,
    with its tenant setting, in one round trip, and the pool never hands out a connection still
    inside a transaction. Every wait is bounded: for a connection, free in the pool or newly
    opened (``pool_timeout_ms``), and for each statement (by the server's ``statement_timeout``
    and, in case the network hangs, by the client a little later).

    ``lone_statements``: a read-only PostgreSQL engine also gets a driver pool (``db/reader.py``)
    of ``pool_size`` more connections, on which a request that reads one statement runs it alone,
    its tenant set on the connection's session. Not behind a pooler that hands out server
    connections per transaction: there a session's setting does not follow its statements.
    """
    check_url(url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.drivername.startswith("postgresql"):
        settings = {"statement_timeout": str(statement_timeout_ms), "application_name": "sessions-gateway"}
        if read_only:
            settings["default_transaction_read_only"] = "on"
            # A request's one statement runs outside a transaction (``db/reader.py``): as its own.
            settings["default_transaction_isolation"] = "repeatable read"
        kwargs["connect_args"] = {
            "server_settings": settings,
            # Opening a connection is part of waiting for one: bounded alike.
            "timeout": pool_timeout_ms / 1000,
            "command_timeout": statement_timeout_ms / 1000 + CLIENT_TIMEOUT_MARGIN_S,
        }
        # A fixed set of connections, opened once and kept: a loaded worker holds several statements
        # in flight per request, and connections opened and closed under load cost more than waiting.
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = 0
        kwargs["pool_timeout"] = pool_timeout_ms / 1000
        if read_only:
            # The reader sends its own BEGIN ... REPEATABLE READ READ ONLY (db/reader.py).
            kwargs["isolation_level"] = "AUTOCOMMIT"
    else:
        # Wait for a writer (the pipeline, the seeder) instead of failing at once.
        kwargs["connect_args"] = {"timeout": statement_timeout_ms / 1000}
        if parsed.database not in {None, "", ":memory:"}:  # a file: a queue pool of connections
            kwargs["pool_timeout"] = pool_timeout_ms / 1000
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "postgresql" and read_only and lone_statements:
        connect = dict(kwargs["connect_args"])
        # A lone statement's text is fixed per shape (its LIMIT written in it), and PostgreSQL's
        # plan for it does not depend on the values bound: planned once per connection, never per
        # request (left to choose, it plans each page after a cursor again: 0.3 ms of its CPU).
        connect["server_settings"] = {**connect["server_settings"], "plan_cache_mode": "force_generic_plan"}
        use_driver_pool(
            engine.dialect,
            DriverPool(
                driver_dsn(parsed),
                pool_size,
                pool_timeout_ms / 1000,
                connect,
            ),
        )
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, read_only=read_only)
    else:
        _detect_functions(engine)
        if read_only:
            _refuse_connections_left_in_a_transaction(engine)
    return engine


def _refuse_connections_left_in_a_transaction(engine: AsyncEngine) -> None:
    """Discard, at checkout, a connection its driver knows is closed or still inside a transaction.

    The reader ends each transaction itself; one left open (a request cancelled halfway) would
    hand the next request its snapshot and its tenant. The pool replaces a discarded connection.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry, _proxy: object) -> None:
        driver = dbapi_connection.driver_connection
        if driver.is_closed():
            raise DisconnectionError("the connection is closed")
        if driver.is_in_transaction():
            raise DisconnectionError("the connection is still inside a transaction")


def _callable(signature: str) -> str:
    """SQL: whether the database has the function ``signature`` and this role may call it (false, not an error)."""
    return f"COALESCE(has_function_privilege(to_regprocedure('{signature}'), 'EXECUTE'), false)"


_HAS_DURATION_FUNCTION = f"SELECT {_callable(DURATION_KEY_SIGNATURE)}"
_IS_CITUS = "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"


def _detect_functions(engine: AsyncEngine) -> None:
    """Compile ``DurationKey`` to a call of ``gw_duration_key`` only where the database has it; note Citus.

    Asked on the engine's first connection, before any statement is compiled (and asked again on
    the next connection if that one failed): production tables are the pipeline's, and a database
    made from the storage contract alone lacks the function. Without it, the key is computed inline.
    Where the ``citus`` extension is installed, each request's transaction tells Citus to carry its
    tenant setting to the workers (``db/reader.py``).
    """

    @event.listens_for(engine.sync_engine, "first_connect")
    def _on_first_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"{_HAS_DURATION_FUNCTION}, {_IS_CITUS}")
            row = cursor.fetchone()
        finally:
            cursor.close()
            dbapi_connection.rollback()  # as SQLAlchemy ends its own first-connect queries
        use_duration_key_function(engine.dialect, row is not None and bool(row[0]))
        use_citus(engine.dialect, row is not None and bool(row[1]))


def _configure_sqlite(engine: AsyncEngine, *, read_only: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.create_function(SQLITE_LOWER_FUNCTION, 1, _lower, deterministic=True)
        dbapi_connection.create_function(SQLITE_PERIOD_FUNCTION, 3, period_start, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if read_only:
            cursor.execute("PRAGMA query_only = ON")
        cursor.close()


# The tables the gateway reads: a reader role may SELECT these, and only these.
READ_TABLES = ("users", "tasks", "sessions", "recordings", "procedures", "session_summaries")


class RoleError(ValueError):
    """A role the gateway cannot be given to read as: missing, or not subject to row-level security."""


def sql_statements(name: str) -> list[str]:
    """The statements of ``db/<name>``, one per item (comments dropped)."""
    sql = resources.files("sessions_gateway.db").joinpath(name).read_text(encoding="utf-8")
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in code.split(";") if statement.strip()]


async def _create_functions(conn: AsyncConnection) -> None:
    """``db/functions.sql``'s functions where missing; LEAKPROOF only where a superuser runs this."""
    superuser = (await conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))).scalar()
    for statement in sql_statements("functions.sql"):
        name = statement.split("(", 1)[0].split()[-1]
        if await conn.scalar(text("SELECT to_regproc(:name) IS NOT NULL"), {"name": name}):
            continue
        if not superuser:
            logger.warning(
                "%s is created without LEAKPROOF (that takes a superuser): under row-level security, "
                "pages deep in the list's DURATION_DESC order are then found by scanning",
                name,
            )
            statement = statement.replace(" LEAKPROOF", "")  # noqa: PLW2901
        await conn.exec_driver_sql(statement)
    # From here on this engine's statements (the indexes below first) call the functions.
    use_duration_key_function(conn.dialect, True)  # noqa: FBT003


def _create_gateway_indexes(conn: Connection) -> None:
    for index in GATEWAY_INDEXES:
        conn.execute(CreateIndex(index, if_not_exists=True))


async def init_db(engine: AsyncEngine) -> None:
    """Create the storage-contract tables and the gateway's indexes where they are missing.

    On PostgreSQL, first the functions of ``db/functions.sql`` the indexes use, and after them the
    row-level security policies of ``db/row_security.sql`` and the canary's function of
    ``db/canary.sql`` (both re-applied each time).
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # Readers (the gateway) and the writer (the pipeline) then do not block each other.
            await conn.exec_driver_sql("PRAGMA journal_mode = WAL")
        if conn.dialect.name == "postgresql":
            if await conn.scalar(text(f"SELECT {_IS_CITUS}")):
                # Re-run on distributed tables, the policies change every shard, and Citus runs a
                # function's DDL after them in one transaction only over one connection per node.
                await conn.exec_driver_sql("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
            await _create_functions(conn)
        await conn.run_sync(metadata.create_all)
        # create_all makes a table's indexes only with the table: on tables that were already
        # there (the pipeline's), each of the gateway's own indexes is made where missing.
        await conn.run_sync(_create_gateway_indexes)
        if conn.dialect.name == "postgresql":
            for statement in sql_statements("row_security.sql"):
                await conn.exec_driver_sql(statement)
            await _create_canary_function(conn)


# The canary's function (db/canary.sql): the tenant of one live session, read as the tables' owner.
CANARY_FUNCTION = "gw_canary_tenant"
_TABLES_OWNER = text("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'sessions'::regclass")


async def _create_canary_function(conn: AsyncConnection) -> None:
    """``db/canary.sql`` in the tables' schema, the function owned by the tables' owner."""
    quote = conn.dialect.identifier_preparer.quote
    schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
    for statement in sql_statements("canary.sql"):
        await conn.exec_driver_sql(statement.replace("{schema}", quote(schema)))
    owner = (await conn.execute(_TABLES_OWNER)).scalar_one()
    current = (await conn.execute(text("SELECT current_user"))).scalar_one()
    if owner != current:  # a superuser ran init-db: the function reads as the owner, no more
        await conn.exec_driver_sql(f"ALTER FUNCTION {CANARY_FUNCTION}() OWNER TO {quote(owner)}")


_WALL_DOWN = text(
    "SELECT current_user AS role, r.rolsuper OR r.rolbypassrls AS bypasses, "
    "(SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c "
    " JOIN pg_namespace n ON n.oid = c.relnamespace "
    " WHERE n.nspname = current_schema() AND c.relname = ANY(:tables) "
    " AND pg_has_role(current_user, c.relowner, 'USAGE')) AS owns, "
    "(SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c "
    " JOIN pg_namespace n ON n.oid = c.relnamespace "
    " WHERE n.nspname = current_schema() AND c.relname = ANY(:tables) AND NOT c.relrowsecurity) AS open "
    "FROM pg_roles r WHERE r.rolname = current_user"
)


async def row_security_gaps(engine: AsyncEngine) -> list[str]:
    """Why row-level security would not protect this engine's reads (PostgreSQL); empty when it does."""
    if engine.dialect.name != "postgresql":
        return []
    async with engine.connect() as conn:
        found = (await conn.execute(_WALL_DOWN, {"tables": list(READ_TABLES)})).one()
    gaps = []
    if found.bypasses:
        gaps.append(f"role {found.role} is a superuser or has BYPASSRLS")
    if found.owns:
        gaps.append(f"role {found.role} owns (or is a member of the owner of) {found.owns}")
    if found.open:
        gaps.append(f"row-level security is not enabled on {found.open} (run init-db)")
    return gaps


# What adds every object ``missing_objects`` names (run as the tables' owner).
INIT_DB_COMMAND = "sessions-gateway init-db"
POLICY_NAME = "gateway_tenant_isolation"  # db/row_security.sql's, on each of READ_TABLES

_HAS_CANARY_FUNCTION = f"SELECT {_callable(f'{CANARY_FUNCTION}()')}"
_PG_INDEXES = text(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind = 'i' AND c.relname = ANY(:names)"
)
_PG_ROW_SECURITY = text(
    "SELECT c.relname AS table, c.relrowsecurity AS enabled, "
    "EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = :policy) AS has_policy "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relname = ANY(:tables)"
)


async def missing_objects(engine: AsyncEngine) -> list[str]:
    """The gateway's own objects this engine's database lacks, each as ``"<kind> <name>"``; empty when none.

    Kinds: ``function gw_duration_key`` and ``function gw_canary_tenant`` (PostgreSQL; missing also
    when this role may not call it),
    ``index <name>`` (``db/indexes.py``), and per table the gateway reads (PostgreSQL)
    ``row-level security on <table>`` (not enabled) and ``policy gateway_tenant_isolation on <table>``
    (``db/row_security.sql``). The gateway answers every query without them: they make it fast
    and add the second wall. ``init-db`` adds them all.
    """
    names = [str(index.name) for index in GATEWAY_INDEXES]
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            found = await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
            indexes = set(found.scalars())
            return [f"index {name}" for name in names if name not in indexes]
        missing = []
        if not await conn.scalar(text(_HAS_DURATION_FUNCTION)):
            missing.append(f"function {DURATION_KEY_FUNCTION}")
        if not await conn.scalar(text(_HAS_CANARY_FUNCTION)):
            missing.append(f"function {CANARY_FUNCTION}")
        indexes = set((await conn.execute(_PG_INDEXES, {"names": names})).scalars())
        missing += [f"index {name}" for name in names if name not in indexes]
        found_tables = await conn.execute(_PG_ROW_SECURITY, {"policy": POLICY_NAME, "tables": list(READ_TABLES)})
        tables = {row.table: row for row in found_tables}
    for table in READ_TABLES:
        row = tables.get(table)
        if row is None or not row.enabled:
            missing.append(f"row-level security on {table}")
        if row is None or not row.has_policy:
            missing.append(f"policy {POLICY_NAME} on {table}")
    return missing


async def grant_reader(engine: AsyncEngine, role: str) -> list[str]:
    """Let ``role`` SELECT the tables the gateway reads, and nothing more (PostgreSQL only); what was done.

    Also lets it call the canary's function (``db/canary.sql``) where ``init-db`` made it, and on
    Citus sets ``citus.propagate_set_commands = 'local'`` for the role, so that the tenant setting
    reaches the workers even for a transaction that did not ask (the gateway's own do).
    Refuses a role that row-level security would not apply to: a superuser, a role with
    BYPASSRLS, or one that owns a table the gateway reads.
    """
    if engine.dialect.name != "postgresql":
        raise RoleError("roles and row-level security are PostgreSQL's: there is nothing to grant on SQLite")
    async with engine.begin() as conn:
        found = await conn.execute(
            text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = :role"), {"role": role}
        )
        bypasses = found.scalar_one_or_none()
        if bypasses is None:
            raise RoleError(f"no role {role!r}: create it first (docs/operations.md, Row-level security)")
        if bypasses:
            raise RoleError(f"role {role!r} is a superuser or has BYPASSRLS: row-level security would not apply")
        owned = await conn.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE r.rolname = :role AND c.relname = ANY(:tables) AND n.nspname = current_schema()"
            ),
            {"role": role, "tables": list(READ_TABLES)},
        )
        if names := owned.scalars().all():
            raise RoleError(f"role {role!r} owns {', '.join(names)}: an owner is not subject to row-level security")
        schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
        quote = conn.dialect.identifier_preparer.quote
        await conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {quote(role)}")
        await conn.exec_driver_sql(f"GRANT SELECT ON {', '.join(READ_TABLES)} TO {quote(role)}")
        done = [f"role {role} may now SELECT the tables the gateway reads"]
        if await conn.scalar(text(f"SELECT to_regprocedure('{CANARY_FUNCTION}()') IS NOT NULL")):
            await conn.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {CANARY_FUNCTION}() TO {quote(role)}")
            done.append(f"and call {CANARY_FUNCTION}() (the readiness canary)")
        if await conn.scalar(text(f"SELECT {_IS_CITUS}")):
            await conn.exec_driver_sql(f"ALTER ROLE {quote(role)} SET {CITUS_PROPAGATION} = 'local'")
            done.append(f"and on Citus has {CITUS_PROPAGATION} = 'local' (its tenant setting reaches the workers)")
        else:
            done.append(await _grant_live_batches(conn, role))
    return done


async def _grant_live_batches(conn: AsyncConnection, role: str) -> str:
    """``db/live_batches.sql`` for ``role``: the role its live batches read as, if it exists or can be made."""
    quote = conn.dialect.identifier_preparer.quote
    exists = await conn.scalar(text("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :r)"), {"r": LIVE_ROLE})
    if not exists:
        may = await conn.scalar(text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"))
        if not may:
            return (
                f"but not live batches of many tenants: this role may not create the role {LIVE_ROLE} "
                f"(CREATE ROLE {LIVE_ROLE} NOLOGIN, then run this again): live subscriptions read a tenant a statement"
            )
        await conn.exec_driver_sql(f"CREATE ROLE {LIVE_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT")
    schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
    await conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {LIVE_ROLE}")
    for statement in sql_statements("live_batches.sql"):
        await conn.exec_driver_sql(statement.replace("{role}", quote(role)))
    return f"and, as {LIVE_ROLE} (which it does not inherit), read live batches of several tenants"


@dataclass(frozen=True, slots=True)
class CanaryResult:
    """What the canary found: ``passed``, ``failed`` (the gateway must not serve) or ``skipped``, and why."""

    status: Literal["passed", "failed", "skipped"]
    reason: str = ""

    @property
    def ready(self) -> bool:
        return self.status != "failed"

    def __str__(self) -> str:
        return self.status if not self.reason else f"{self.status}: {self.reason}"


# The canary's own statements on the role's connection, before it reads as a request does.
CANARY_FUNCTION_PROBE = (
    f"SELECT to_regprocedure('{CANARY_FUNCTION}()') IS NOT NULL AS present, "
    f"{_callable(f'{CANARY_FUNCTION}()')} AS callable"
)
CANARY_TENANT_PROBE = f"SELECT {CANARY_FUNCTION}()"
CANARY_FAILED = (
    "the canary read no row of a tenant that has live sessions, with that tenant set as every request sets it: "
    "the row-level security policies do not see sessions_gateway.tenant_id "
    f"(on Citus, the workers get it only with {CITUS_PROPAGATION} = 'local')"
)


async def tenant_setting_canary(engine: AsyncEngine) -> CanaryResult:
    """Prove that row-level security lets this engine's tenant setting through: never serve silently empty answers.

    Takes the tenant of one live session (``gw_canary_tenant()``, read as the tables' owner), then,
    as this engine's role and exactly as a request reads (``TenantReader``), one live session of
    that tenant: it must find a row. A database without the function (``init-db`` did not run: no
    policies either) or without a live session has nothing to prove: ``skipped``. Raises what the
    database raises when it does not answer.
    """
    if engine.dialect.name != "postgresql":
        return CanaryResult("skipped", "SQLite has no row-level security")
    async with engine.connect() as conn:
        found = (await conn.execute(text(CANARY_FUNCTION_PROBE))).one()
        if not found.present:
            return CanaryResult("skipped", f"no function {CANARY_FUNCTION} (no init-db: no policies to prove)")
        if not found.callable:
            return CanaryResult(
                "failed", f"this role may not call {CANARY_FUNCTION}(): run init-db --grant-select-to it"
            )
        tenant = await conn.scalar(text(CANARY_TENANT_PROBE))
    if tenant is None:
        return CanaryResult("skipped", "no live session to read")
    # As a request of several statements reads (in a transaction, SET LOCAL) and, where the engine
    # runs lone statements, as a list or a detail does (alone, the tenant set on the session).
    for alone in (False, True) if driver_pool(engine.dialect) is not None else (False,):
        reader = TenantReader(engine, tenant)
        if alone:
            reader.one_statement()
        try:
            rows = await reader.rows(
                select(sessions.c.id).where(sessions.c.tenant_id == tenant, sessions.c.deleted_at.is_(None)).limit(1)
            )
        finally:
            await reader.close()
        if not rows:
            return CanaryResult("failed", CANARY_FAILED)
    return CanaryResult("passed")
