"""Live subscriptions: multiplexed polling, and Strawberry's graphql-transport-ws handler with our rules.

How changes are found: every ``GATEWAY_LIVE_INTERVAL_MS`` the hub runs each cohort's query again
and hands its result to the cohort's subscribers when its hash changed. A cohort is the
subscribers of one tenant with one document (as a query: ``schema/live.py`` ``query_form``),
operation and variables: one read serves them all. Each read is a query like any other: its own
``Context`` (the tenant's reader: row-level security, the tenant in every statement, read only),
the same parse and validation caches and limits, the compiled plans or the executor.

Each subscriber holds the newest result only (``Mailbox``): one that reads slowly skips the
results it had no time for, and never makes a queue grow.

With ``db/live_notify.sql``'s triggers in the database (PostgreSQL, found at start), the hub
listens for their notices instead (``db/notices.py``): a notice names the tenant written to, and
that tenant's cohorts read again at once (the notices of ``NOTICE_DEBOUNCE_SECONDS`` make one
refresh). The rounds then only read every ``SAFETY_REFRESH_SECONDS`` (a notice lost is not lost
forever), and every interval again while the listening connection is down.

Batched reads (PostgreSQL, outside Citus): a cohort whose query a compiled plan answers (its first
read tells) reads again through the plan, and its one statement joins the round's batch of that
statement's shape (``loaders/statements.py``, ``db/batch.py``): the cohorts of one document shape,
whatever their tenants and variables, read in one statement per 100 cohorts; each writes its own
result from its own rows. Without the live batches' role (``db/live_batches.sql``,
``policies_admit_sets``), a batch holds one tenant's cohorts. Anything else (a report,
SQLite, Citus) reads as a request does, a cohort at a time. ``LiveHub.changed`` is the one place a
change is found.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types.execution import ExecutionResult

from sessions_gateway.db.batch import BATCH_SIZE, BatchedReader, policies_admit_sets, run_batch
from sessions_gateway.db.engine import driver_dsn
from sessions_gateway.db.notices import Listener, notices_installed
from sessions_gateway.db.reader import driver_pool, on_citus
from sessions_gateway.gateway.context import Context
from sessions_gateway.gateway.errors import UNAVAILABLE_MESSAGE, ErrorCode, TooManySubscriptions, code_in_place
from sessions_gateway.gateway.observability import (
    LIVE_LISTENING,
    LIVE_MESSAGES,
    LIVE_STATEMENTS,
    LIVE_SUBSCRIPTIONS,
    RequestRecord,
    current,
)
from sessions_gateway.gateway.persisted import PersistedQueryError
from sessions_gateway.loaders.statements import StatementBatches
from sessions_gateway.schema import compiled
from sessions_gateway.schema.live import (
    LiveConnection,
    LiveEvent,
    LiveRequest,
    live_request,
    operation_of,
    query_form,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from graphql import DocumentNode
    from sqlalchemy.ext.asyncio import AsyncEngine
    from strawberry.schema import BaseSchema
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation
    from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
        ConnectionInitMessage,
        Message,
        SubscribeMessage,
    )

    from sessions_gateway.db.batch import Route
    from sessions_gateway.db.reader import Template
    from sessions_gateway.gateway.config import Settings
    from sessions_gateway.gateway.readiness import Canary

logger = logging.getLogger("gateway.live")

# graphql-transport-ws: "4403: Forbidden" is the close code of a connection the server will not
# serve (an init it refuses); a token that expires ends the authorization the init gave. Clients
# of graphql-ws treat 4401 (a subscribe before the init was acknowledged) as fatal and 4403 as a
# reason to connect again: with a fresh token, which is what the client must do.
TOKEN_EXPIRED_CLOSE_CODE = 4403
TOKEN_EXPIRED_REASON = "Token expired"  # noqa: S105  (a close reason, not a secret)
# RFC 6455's "Try Again Later": the worker serves as many connections as it may.
TOO_MANY_CONNECTIONS_CLOSE_CODE = 1013
# With notices: every cohort reads again this often all the same (or every interval, if longer),
# so that a notice lost (a write by a path without the triggers, a TRUNCATE) is seen in the end.
SAFETY_REFRESH_SECONDS = 30.0
# Notices within this time of the first make one refresh of their tenants' cohorts.
NOTICE_DEBOUNCE_SECONDS = 0.05


class Mailbox:
    """The newest result for one subscriber: a new one replaces one not yet taken."""

    __slots__ = ("_ready", "_value")

    def __init__(self) -> None:
        self._value: LiveEvent | None = None
        self._ready = asyncio.Event()

    def put(self, value: LiveEvent) -> None:
        self._value = value
        self._ready.set()

    async def take(self) -> LiveEvent:
        await self._ready.wait()
        self._ready.clear()
        value, self._value = self._value, None
        assert value is not None  # set with the event, taken with it  # noqa: S101
        return value


@dataclass(frozen=True, slots=True)
class CohortKey:
    """What makes two subscriptions one: tenant, query, operation and variables (as sorted JSON)."""

    tenant_id: str
    query: str
    operation_name: str | None
    variables: bytes


@dataclass(slots=True, eq=False)
class Cohort:
    key: CohortKey
    mailboxes: set[Mailbox] = field(default_factory=set)
    digest: bytes | None = None
    last: LiveEvent | None = None
    reading: bool = False
    again: bool = False  # a notice came while it read: read again once it is done
    # The compiled plan's document and operation name, once a plan answered its read: it reads in batches.
    planned: tuple[DocumentNode, str | None] | None = None
    # Its batched read's statement and values (fixed by its tenant and variables), once known; and
    # the rows that made its last result, when writing them did not read the clock: the same rows
    # read again make the same result, and the plan does not run.
    statement: tuple[Template, Mapping[str, Any]] | None = None
    rows: list[Any] | None = None


def unavailable(message: str) -> LiveEvent:
    return LiveEvent(None, [GraphQLError(message, extensions={"code": str(ErrorCode.SERVICE_UNAVAILABLE)})])


def encoded(event: LiveEvent) -> bytes:
    """A result as the payload of its "next" message: its data, and its errors as a client receives them."""
    if not event.errors:
        return orjson.dumps({"data": event.data})
    return orjson.dumps({"data": event.data, "errors": [error.formatted for error in event.errors]})


def digest_of(payload: bytes) -> bytes:
    """A result's hash, of its payload (``encoded``)."""
    return hashlib.blake2b(payload, digest_size=16).digest()


class Watch:
    """One subscriber's results (an async iterator); closing it leaves its cohort, once.

    ``held``: the transport reads it straight (``LiveProtocol``) and closes it when the operation
    ends; the stream it was read through before may close (``aclose``) without closing it.
    """

    __slots__ = ("_closed", "cohort", "connection", "held", "hub", "mailbox")

    def __init__(self, hub: LiveHub, cohort: Cohort, connection: LiveConnection) -> None:
        self.hub = hub
        self.cohort = cohort
        self.connection = connection
        self.mailbox = Mailbox()
        self._closed = False
        self.held = False

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> LiveEvent:
        if self._closed:
            raise StopAsyncIteration
        event = await self.mailbox.take()
        LIVE_MESSAGES.inc()  # handed to the protocol, which sends it as a "next" message
        return event

    async def aclose(self) -> None:
        if not self.held:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.hub.leave(self)


class LiveHub:
    """One worker's live subscriptions: their cohorts, the polling loop, the limits.

    ``connections`` counts the worker's WebSocket connections (the view checks its limit).
    ``listener``: the notices' listener, when ``start`` found the triggers.
    """

    def __init__(self, schema: BaseSchema, engine: AsyncEngine, settings: Settings, canary: Canary) -> None:
        self.schema = schema
        self.engine = engine
        self.settings = settings
        self.canary = canary
        self.interval = settings.live_interval_ms / 1000
        self.cohorts: dict[CohortKey, Cohort] = {}
        self.per_tenant: Counter[str] = Counter()
        self.connections = 0
        # Reads at once: half the pool at most, so queries keep connections to run on.
        self._reads = asyncio.Semaphore(max(1, settings.pool_size // 2))
        self._poller: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.listener: Listener | None = None
        self.listening = False
        self.safety = max(SAFETY_REFRESH_SECONDS, self.interval)
        self._safety_at = 0.0
        self._stale: set[str] = set()
        self._flush: asyncio.Task[None] | None = None
        self._closing = False
        plans = getattr(schema, "plans", None)
        self.plans: compiled.PlanCache | None = plans if isinstance(plans, compiled.PlanCache) else None
        # Whether a batch may hold several tenants' cohorts (the policies admit a set); checked at
        # start, and again every ``safety`` while nothing could prove it (no live session yet).
        self.across_tenants = False
        self._sets_checked_at: float | None = None

    @property
    def batching(self) -> bool:
        """Whether cohorts read in batches: PostgreSQL's lone statements (a driver pool), not Citus, plans."""
        dialect = self.engine.dialect
        return self.plans is not None and driver_pool(dialect) is not None and not on_citus(dialect)

    async def start(self) -> None:
        """Check whether batches may hold several tenants; listen for notices if ``db/live_notify.sql`` is in.

        Not behind a pooler of transactions (``GATEWAY_DB_TRANSACTION_POOLER``): a ``LISTEN``
        holds a session, which such a pooler does not keep.
        """
        if self.engine.dialect.name != "postgresql":
            return
        await self._check_sets()
        if self.settings.db_transaction_pooler:
            return
        try:
            installed = await notices_installed(self.engine)
        except Exception:  # the database away at start: poll
            logger.warning("could not check for live notices' triggers at start; polling", exc_info=True)
            return
        if not installed:
            logger.info("live subscriptions poll every %s ms (db/live_notify.sql not installed)", self.interval * 1000)
            return
        self.listener = Listener(
            driver_dsn(self.engine.url),
            notice=self.noticed,
            listening=self._listening,
            connect_timeout=self.settings.pool_timeout_ms / 1000,
        )
        self.listener.start()

    async def _check_sets(self) -> None:
        """Whether the policies admit a batch of tenants (``policies_admit_sets``); unproven: ask again later."""
        if not self.batching:
            return
        try:
            admitted = await policies_admit_sets(self.engine)
        except Exception:  # the database away: one tenant per batch until proven
            logger.warning("could not check whether live batches may read several tenants", exc_info=True)
            admitted = None
        self.across_tenants = admitted is True
        self._sets_checked_at = None if admitted is not None else asyncio.get_running_loop().time()
        if admitted is False:
            logger.warning(
                "this role may not read live batches of several tenants (no role sessions_gateway_live, or its "
                "policies): live subscriptions read one statement per tenant and shape; run init-db --grant-select-to"
            )

    def watch(self, connection: LiveConnection, request: LiveRequest) -> Watch:
        """A subscriber's results: the cohort's current one at once if known, then each change.

        ``TooManySubscriptions`` when the connection or its tenant has as many as allowed.
        """
        tenant = connection.tenant_id
        assert tenant is not None  # the subscription root fields check it  # noqa: S101
        if connection.active >= connection.max_subscriptions:
            raise TooManySubscriptions(
                f"This connection already has {connection.active} live subscriptions, the most allowed "
                "(GATEWAY_LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION): complete one, or open another connection."
            )
        if self.per_tenant[tenant] >= self.settings.live_max_subscriptions_per_tenant:
            raise TooManySubscriptions(
                "This tenant has as many live subscriptions on this server as it may "
                "(GATEWAY_LIVE_MAX_SUBSCRIPTIONS_PER_TENANT): complete one, or try again later."
            )
        variables = orjson.dumps(request.variables or {}, option=orjson.OPT_SORT_KEYS)
        key = CohortKey(tenant, query_form(request.query, request.operation_name), request.operation_name, variables)
        cohort = self.cohorts.get(key)
        if cohort is None:
            cohort = self.cohorts[key] = Cohort(key)
            self._spawn(self._round([cohort]))  # its first result now, not at the next tick
        watch = Watch(self, cohort, connection)
        request.opened.append(watch)  # closed when the operation ends, even if never iterated
        cohort.mailboxes.add(watch.mailbox)
        if cohort.last is not None:
            watch.mailbox.put(cohort.last)
        connection.active += 1
        self.per_tenant[tenant] += 1
        LIVE_SUBSCRIPTIONS.inc()
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        return watch

    def leave(self, watch: Watch) -> None:
        cohort = watch.cohort
        cohort.mailboxes.discard(watch.mailbox)
        watch.connection.active -= 1
        self.per_tenant[cohort.key.tenant_id] -= 1
        LIVE_SUBSCRIPTIONS.dec()
        if self.per_tenant[cohort.key.tenant_id] <= 0:
            del self.per_tenant[cohort.key.tenant_id]
        if not cohort.mailboxes and self.cohorts.get(cohort.key) is cohort:
            del self.cohorts[cohort.key]

    async def _poll(self) -> None:
        """Every interval, each cohort not still reading reads again; ends when no cohort is left.

        While notices are heard, a round reads only every ``safety`` seconds.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        while self.cohorts:
            # A round starts an interval after the last one started, or at once if its reads took longer.
            await asyncio.sleep(max(0.0, self.interval - (loop.time() - started)))
            started = loop.time()
            if self.listening and started < self._safety_at:
                continue
            self._safety_at = started + self.safety
            if self._sets_checked_at is not None and started - self._sets_checked_at >= self.safety:
                await self._check_sets()
            await self._round([cohort for cohort in self.cohorts.values() if not cohort.reading])

    async def _round(self, cohorts: list[Cohort]) -> None:
        """Refresh ``cohorts`` together, counting the statements their reads send (one observation)."""
        if not cohorts:
            return
        record = RequestRecord("live")
        token = current.set(record)  # the engine's listener counts statements on it (observe_engine)
        batches = (
            StatementBatches(self.engine, across_tenants=self.across_tenants, limit=self._reads)
            if self.batching
            else None
        )
        known = [] if batches is None else [c for c in cohorts if c.statement is not None and not c.reading]
        rest = [c for c in cohorts if c.statement is None or c.reading] if known else cohorts
        try:
            await asyncio.gather(
                *([self._refresh_known(known)] if known else []),
                *(self.refresh(cohort, batches) for cohort in rest),
            )
        finally:
            current.reset(token)
            LIVE_STATEMENTS.observe(record.statements)

    async def _refresh_known(self, cohorts: list[Cohort]) -> None:
        """Refresh cohorts whose batched statement is known: their statements read in batches, no task each.

        Each batch of ``BATCH_SIZE`` cohorts of one statement (and tenant, unless batches may hold
        several) is one read; a cohort whose rows are those of its last result is done, and only
        the others run their plan, on the rows read (``_read_planned``).
        """
        for cohort in cohorts:
            cohort.reading = True
        try:
            refusal = await self._refusal()
            if refusal is not None:
                for cohort in cohorts:
                    self.changed(cohort, refusal)
                return
            chunked = chunks(cohorts, across_tenants=self.across_tenants)
            found = await asyncio.gather(*(self._read_chunk(chunk) for chunk in chunked), return_exceptions=True)
            for chunk, rows_of in zip(chunked, found, strict=True):
                if isinstance(rows_of, BaseException):  # its cohorts keep their last result; the next round reads again
                    logger.warning("a batch of live subscriptions' reads failed", exc_info=rows_of)
                    continue
                for (cohort, _, _), rows in zip(chunk, rows_of, strict=True):
                    if cohort.rows is not None and rows == cohort.rows:
                        continue  # the rows of its last result: the same result
                    await self._write(cohort, rows)
        finally:
            for cohort in cohorts:
                self._read_done(cohort)

    async def _read_chunk(self, chunk: list[tuple[Cohort, Template, Mapping[str, Any]]]) -> list[list[Any]]:
        """The rows of each cohort of ``chunk`` (one template), in one statement."""
        requests = [(cohort.key.tenant_id, values) for cohort, _, values in chunk]
        async with self._reads, asyncio.timeout(self.settings.request_timeout_ms / 1000):
            return await run_batch(self.engine, chunk[0][1], requests)

    async def _write(self, cohort: Cohort, rows: list[Any]) -> None:
        """Run ``cohort``'s plan on ``rows``, read for it already; hand the result on if it changed."""
        if cohort.planned is None or cohort.statement is None:  # neither is, once the other is not
            cohort.planned = cohort.statement = None
            return
        template, values = cohort.statement
        try:
            event = await self._read_planned(
                cohort, cohort.planned, _read_already(template, values, rows, self._read_alone)
            )
        except compiled.Unsupported:  # not answered before any read: the executor's way, from the next round
            cohort.planned = cohort.statement = None
            return
        except Exception:  # its subscribers keep the last result, and the next round reads again
            logger.warning("a live subscription's read failed", exc_info=True)
            return
        self.changed(cohort, event)

    def _read_done(self, cohort: Cohort) -> None:
        """``cohort`` read; once more if asked while it read (a notice of a write its read may not have seen)."""
        cohort.reading = False
        if cohort.again:
            cohort.again = False
            if not self._closing:  # no new task once the shutdown has collected them
                self._spawn(self._round([cohort]))

    async def _refusal(self) -> LiveEvent | None:
        """The result every cohort gets while the tenant-setting canary fails (``None``: reads go on)."""
        try:
            reason = await self.canary.refusal()
        except Exception:  # the canary had to run, and the database did not answer it
            logger.warning("the tenant-setting canary could not run", exc_info=True)
            return unavailable(UNAVAILABLE_MESSAGE)
        return None if reason is None else unavailable(f"The gateway is not ready: {reason}.")

    def noticed(self, tenant: str) -> None:
        """A notice: ``tenant`` was written to; its cohorts read again (after the debounce)."""
        self._stale.add(tenant)
        if self._flush is None:
            self._flush = asyncio.create_task(self._refresh_stale())
            self._tasks.add(self._flush)
            self._flush.add_done_callback(self._tasks.discard)

    async def _refresh_stale(self) -> None:
        await asyncio.sleep(NOTICE_DEBOUNCE_SECONDS)
        self._flush = None  # a notice from now on starts the next refresh
        tenants, self._stale = self._stale, set()
        await self._round([cohort for cohort in self.cohorts.values() if cohort.key.tenant_id in tenants])

    def _listening(self, listening: bool) -> None:  # noqa: FBT001
        """The listener's state: once it listens, every cohort reads (what was written while it did not)."""
        self.listening = listening
        LIVE_LISTENING.inc(1 if listening else -1)
        if listening:
            self._safety_at = asyncio.get_running_loop().time() + self.safety
            self._spawn(self._round(list(self.cohorts.values())))

    async def refresh(self, cohort: Cohort, batches: StatementBatches | None = None) -> None:
        """Read ``cohort``'s result once (in ``batches`` if it may); hand it to its subscribers if it changed.

        Asked while it reads (a notice of a write its read may not have seen): once more after.
        """
        if cohort.reading:
            cohort.again = True
            return
        cohort.reading = True
        try:
            if batches is not None and cohort.planned is not None:
                event = await self.read(cohort, batches)  # the batch's statement takes a read's place
            else:
                async with self._reads:
                    if self.cohorts.get(cohort.key) is not cohort:
                        return  # every subscriber left while it waited
                    event = await self.read(cohort)
        except Exception:  # a read that failed: its subscribers keep the last result, and the next round reads again
            logger.warning("a live subscription's read failed", exc_info=True)
            return
        finally:
            self._read_done(cohort)
        self.changed(cohort, event)

    def changed(self, cohort: Cohort, event: LiveEvent) -> None:
        if event.errors:  # no rows made it: the rows read next make a result again, whatever they are
            cohort.rows = None
        payload = encoded(event)
        digest = digest_of(payload)
        if digest == cohort.digest:
            return
        if not event.errors:  # written once, sent to each subscriber as it is
            event = LiveEvent(event.data, None, payload.decode())
        cohort.digest, cohort.last = digest, event
        for mailbox in cohort.mailboxes:
            mailbox.put(event)

    async def read(self, cohort: Cohort, batches: StatementBatches | None = None) -> LiveEvent:
        """The cohort's query, run as a request of its tenant runs it (a context and a reader of its own).

        With ``batches``, a cohort a plan answered before reads through the plan, its statement in
        the batch of its shape. While the tenant-setting canary fails, no read: a
        ``SERVICE_UNAVAILABLE`` result, as a request is refused then, never a result row-level
        security emptied.
        """
        refusal = await self._refusal()
        if refusal is not None:
            return refusal
        if batches is not None and cohort.planned is not None:
            try:
                return await self._read_planned(cohort, cohort.planned, batches.rows)
            except compiled.Unsupported:  # not answered before any read: the executor's way, from now on
                cohort.planned = cohort.statement = None
        key = cohort.key
        ctx = Context.for_request(
            tenant_id=key.tenant_id,
            db=self.engine,
            media=self.settings.media,
            cursor_key=self.settings.cursor_key,
        )
        try:
            async with asyncio.timeout(self.settings.request_timeout_ms / 1000):
                result = await self.schema.execute(
                    key.query,
                    variable_values=orjson.loads(key.variables),
                    context_value=ctx,
                    operation_name=key.operation_name,
                )
        finally:
            await ctx.db.close()
        if ctx.answered_by_plan and self.batching:
            cohort.planned = self._plan_of(key)
        return LiveEvent(result.data, list(result.errors) if result.errors else None)

    async def _read_alone(self, tenant_id: str, template: Template, values: Mapping[str, Any]) -> list[Any]:
        """One request's statement, read as a batch of one."""
        return (await run_batch(self.engine, template, [(tenant_id, values)]))[0]

    def _plan_of(self, key: CohortKey) -> tuple[DocumentNode, str | None] | None:
        """The document of the plan that answered ``key``'s query, and the operation name it is kept under."""
        if self.plans is None:
            return None
        for name in dict.fromkeys((key.operation_name, operation_of(key.query))):
            plan = self.plans.peek(key.query, name)
            if plan is not None:
                return plan.document, name
        return None

    async def _read_planned(self, cohort: Cohort, planned: tuple[DocumentNode, str | None], route: Route) -> LiveEvent:
        """The cohort's result through its plan, its one statement read by ``route`` (a batch's, or rows read already).

        The document passed the limits and validation at its first read (the verdict is the
        document's own). ``compiled.Unsupported`` before any read when the plan cannot answer.
        The cohort keeps the statement and values it read, and the rows, unless writing them read
        the clock (an in-progress session's duration, a signed URL): the same rows read again make
        the same result then (``_refresh_known``).
        """
        assert self.plans is not None  # planned only with plans  # noqa: S101
        key = cohort.key
        document, operation_name = planned
        cohort.rows = None  # until this read's rows are known, and their result
        reader = BatchedReader(self.engine, key.tenant_id, route)
        ctx = Context.for_request(
            tenant_id=key.tenant_id,
            db=self.engine,
            media=self.settings.media,
            cursor_key=self.settings.cursor_key,
            reader=reader,
        )
        try:
            async with asyncio.timeout(self.settings.request_timeout_ms / 1000):
                data, errors = await compiled.execute(
                    self.plans,
                    self.schema,  # type: ignore[arg-type]
                    query=key.query,
                    document=document,
                    operation_name=operation_name,
                    variables=orjson.loads(key.variables),
                    ctx=ctx,
                    roots=compiled.ONE_STATEMENT_ROOTS,
                )
        finally:
            await reader.close()
        cohort.statement = reader.routed
        if errors:
            code_in_place(errors)
        elif not ctx.clock_read:
            cohort.rows = reader.found
        return LiveEvent(data, errors or None)

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop polling and listening (the app's shutdown)."""
        self._closing = True
        if self.listener is not None:
            await self.listener.close()
        tasks = [*self._tasks, *([self._poller] if self._poller is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class TextWebSocket(ASGIWebSocketAdapter):
    """Strawberry's WebSocket adapter, sending text frames: graphql-transport-ws messages are text."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        await self.send_text(orjson.dumps(message).decode())

    async def send_text(self, text: str) -> None:
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class LiveProtocol(BaseGraphQLTransportWSHandler[LiveConnection, None]):
    """Strawberry's graphql-transport-ws handler, with the gateway's rules.

    Authentication is the view's ``on_ws_connect`` (``connection_init``); here: the connection
    closes when its token expires, persisted queries resolve as over HTTP, and each operation's
    task knows the subscription it runs (``live_request``).
    """

    expiry: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        expires_at = self.context.expires_at
        if self.connection_acknowledged and self.expiry is None and expires_at is not None:
            self.expiry = asyncio.create_task(self._close_at(expires_at))

    async def _close_at(self, expires_at: float) -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        await self.websocket.close(code=TOKEN_EXPIRED_CLOSE_CODE, reason=TOKEN_EXPIRED_REASON)

    async def shutdown(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.expiry
        await super().shutdown()

    async def handle_message(self, message: Message) -> None:
        if not isinstance(message, dict):  # Strawberry's handler reads any JSON as an object
            await self.handle_invalid_message("WebSocket message must be a JSON object")
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload: Any = message.get("payload")
        tenant = self.context.tenant_id
        if self.connection_acknowledged and not _well_formed(message):
            await self.handle_invalid_message("Invalid subscribe message")
            return
        if self.connection_acknowledged and tenant is not None and isinstance(payload, dict):
            persisted = getattr(self.view, "persisted", None)
            extensions = payload.get("extensions")
            if persisted is not None:
                try:
                    resolved = persisted.resolve(
                        GraphQLRequestData(
                            query=payload.get("query"),
                            variables=payload.get("variables"),
                            operation_name=payload.get("operationName"),
                            extensions=extensions if isinstance(extensions, dict) else None,
                        ),
                        tenant,
                    )
                except PersistedQueryError as exc:
                    await self.send_message(
                        {
                            "id": message["id"],
                            "type": "error",
                            "payload": [{"message": str(exc), "extensions": {"code": exc.code}}],
                        }
                    )
                    return
                message = {**message, "payload": {**payload, "query": resolved.query}}  # type: ignore[typeddict-item]
        await super().handle_subscribe(message)

    async def _send_result_stream(self, operation: Operation[LiveConnection, None], result_source: Any) -> None:
        """Strawberry's, for the first result; then each result of the subscription's ``Watch`` as it was written.

        Strawberry sends each result of a stream through its executor and its extensions; a live
        result is whole already (``LiveExecutor``): after the first, the results are taken from
        the subscription's ``Watch`` straight and sent as their cohort wrote them, once for all
        its subscribers (``LiveEvent.encoded``). A stream with no watch (an error before any)
        goes on Strawberry's way.
        """
        await super()._send_result_stream(operation, _first(result_source))
        request = live_request.get()
        watches = [opened for opened in request.opened if isinstance(opened, Watch)] if request is not None else []
        if len(watches) != 1:
            await super()._send_result_stream(operation, result_source)
            return
        # Strawberry's stream, and graphql-core's beneath it, are done with: closed now, they free
        # what they hold for the subscription (its execution context, its frames), the watch kept.
        watches[0].held = True
        await result_source.aclose()
        async for event in watches[0]:
            if operation.completed:
                return
            if event.encoded is None:
                await operation.send_next(ExecutionResult(event.data, event.errors))
                continue
            await self.websocket.send_text(  # type: ignore[attr-defined]
                f'{{"id":{orjson.dumps(operation.id).decode()},"type":"next","payload":{event.encoded}}}'
            )

    async def run_operation(self, operation: Operation[LiveConnection, None]) -> None:
        request = LiveRequest(operation.query, operation.operation_name, operation.variables)
        token = live_request.set(request)
        try:
            await super().run_operation(operation)
        finally:
            live_request.reset(token)
            for opened in request.opened:
                if isinstance(opened, Watch):
                    opened.close()
                else:
                    await opened.aclose()


def chunks(
    cohorts: Iterable[Cohort], *, across_tenants: bool
) -> list[list[tuple[Cohort, Template, Mapping[str, Any]]]]:
    """Known ``cohorts`` by statement (and tenant, unless a batch may hold several), ``BATCH_SIZE`` a chunk.

    A statement's cohorts go in by tenant, so that a tenant's pages share a chunk, where they are
    read once (``run_batch``): in the order they subscribed, tenants' pages interleave (each
    connection's subscribe messages arrive among the others'), and a tenant's pages of five sizes
    in five chunks were five reads of its sessions.
    """
    groups: dict[Any, list[tuple[Cohort, Template, Mapping[str, Any]]]] = {}
    for cohort in cohorts:
        if cohort.statement is not None:  # known: selected so
            template, values = cohort.statement
            by = template if across_tenants else (template, cohort.key.tenant_id)
            groups.setdefault(by, []).append((cohort, template, values))
    for group in groups.values():
        group.sort(key=lambda known: known[0].key.tenant_id)
    return [group[at : at + BATCH_SIZE] for group in groups.values() for at in range(0, len(group), BATCH_SIZE)]


async def _first(source: Any) -> Any:
    """The first result of ``source`` (left open: the rest is read from where it stopped)."""
    async for result in source:
        yield result
        return


# A subscribe message's members, and what each must be when present (graphql-transport-ws).
_SUBSCRIBE_MEMBERS = (("query", str), ("operationName", str), ("variables", dict), ("extensions", dict))


def _well_formed(message: Any) -> bool:
    """A subscribe message whose id is a string and whose payload's members have their types."""
    payload = message.get("payload")
    return (
        isinstance(message.get("id"), str)
        and isinstance(payload, dict)
        and all(payload.get(name) is None or isinstance(payload[name], kind) for name, kind in _SUBSCRIBE_MEMBERS)
    )


def _read_already(template: Template, values: Mapping[str, Any], rows: list[Any], read: Route) -> Route:
    """A route answering ``template`` with ``values`` by ``rows``, read already; anything else by ``read``."""

    async def route(tenant_id: str, asked: Template, asked_values: Mapping[str, Any]) -> list[Any]:
        if asked is template and asked_values == values:
            return rows
        return await read(tenant_id, asked, asked_values)

    return route


def too_many_connections_reason(limit: int) -> str:
    """The close reason of a connection over ``GATEWAY_LIVE_MAX_CONNECTIONS`` (at most 123 bytes)."""
    return f"{ErrorCode.TOO_MANY_CONNECTIONS}: this server holds {limit} live connections"[:123]
