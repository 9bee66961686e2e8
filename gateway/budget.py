"""What one request may spend: a time budget, the client's presence, and a tenant's report slots.

* ``ClientWatch`` reads the ASGI ``receive`` for the app and, once the body is read, goes on
  listening: when the client disconnects, the request's handling is cancelled.
* ``ClientWatch.run`` answers within the request's time budget; past it the handling is cancelled.
  Cancelling it cancels the statement it awaits: asyncpg sends PostgreSQL a cancel request for a
  query whose awaiting task is cancelled, and SQLAlchemy then discards the connection.
* ``ReportSlots`` caps the report requests (those selecting ``sessionsReport``) one tenant may have
  running at once in this worker, so that one tenant's analysts cannot take every pooled connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import TYPE_CHECKING, Any, Self

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from types import TracebackType

    from starlette.types import Message, Receive

REPORT_FIELD = "sessionsReport"
# How long a cancelled request may take to give its connection back before it is answered anyway
# (it then finishes on its own): the cancel request and the connection's close are local and fast.
CLEANUP_SECONDS = 1.0
# What a client refused over the report cap is told to wait, in seconds (``Retry-After``).
REPORT_RETRY_AFTER_SECONDS = 2
_DISCONNECT: Message = {"type": "http.disconnect"}

TIMED_OUT_MESSAGE = "The request ran out of time and was stopped; try again shortly, or ask for less at once."


def reports_busy_message(limit: int) -> str:
    return (
        f"Your organisation already runs {limit} reports at once on this server; "
        "try again shortly (see extensions.retryAfter)."
    )


class RequestTimedOut(Exception):
    """The request's time budget ran out; its handling was cancelled."""


class ClientDisconnected(Exception):
    """The client went away; its request's handling was cancelled."""


# A request still running this long after it started is watched for its client going away.
WATCH_AFTER_SECONDS = 0.05


class ReportsBusy(Exception):
    """The tenant already runs as many reports in this worker as the cap allows."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class ClientWatch:
    """The request's ``receive``, watched for a disconnect while the request runs.

    The app reads its body through ``receive`` straight from the server. Once the body is read
    and the request has run ``WATCH_AFTER_SECONDS`` (most have answered by then: they pay for no
    watcher), a task reads ahead from the server; when it reads ``http.disconnect`` the handling
    ``run`` started is cancelled.
    """

    def __init__(self, receive: Receive) -> None:
        self._server_receive = receive
        self._messages: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)
        self._pump: asyncio.Task[None] | None = None
        self._handling: asyncio.Task[Any] | None = None
        self._body_read = False
        self._reading = False
        self.gone = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    async def receive(self) -> Message:
        """The next message for the app: its body's parts, then ``http.disconnect``."""
        if self.gone and self._messages.empty():
            return _DISCONNECT
        if self._pump is not None:
            return await self._messages.get()
        self._reading = True
        try:
            message = await self._server_receive()
        finally:
            self._reading = False
        if message["type"] == "http.disconnect":
            self.gone = True
        elif not message.get("more_body", False):
            self._body_read = True
        return message

    def _watch(self) -> None:
        """Start reading ahead for a disconnect, unless the app is reading (then a little later)."""
        if self._pump is not None or self.gone:
            return
        if self._reading:
            asyncio.get_running_loop().call_later(WATCH_AFTER_SECONDS, self._watch)
            return
        self._pump = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            message = await self._server_receive()
            if message["type"] == "http.disconnect":
                self.gone = True
                if self._messages.empty():
                    self._messages.put_nowait(message)  # wakes a reader waiting for the body
                if self._handling is not None:
                    self._handling.cancel()
                return
            await self._messages.put(message)

    async def run(self, handling: Coroutine[Any, Any, Any], *, seconds: float) -> Any:
        """``handling``'s result, unless the client goes or ``seconds`` pass first: then it is cancelled.

        Raises ``ClientDisconnected`` or ``RequestTimedOut`` once the cancelled handling has
        ended (its connection given back), or after ``CLEANUP_SECONDS`` if it has not.
        """
        task = asyncio.create_task(handling)
        self._handling = task
        watch = asyncio.get_running_loop().call_later(WATCH_AFTER_SECONDS, self._watch)
        timed_out = False
        try:
            if self.gone:
                task.cancel()
            done, _ = await asyncio.wait((task,), timeout=seconds)
            if not done:
                timed_out = True
                task.cancel()
                await asyncio.wait((task,), timeout=CLEANUP_SECONDS)
        except asyncio.CancelledError:  # the server cancelled us: the handling goes too
            task.cancel()
            raise
        finally:
            watch.cancel()
            self._handling = None
        if task.done() and not task.cancelled() and not timed_out:
            return task.result()  # answered (even if the client went meanwhile: nobody reads it)
        if not task.done():
            _lingering.add(task)  # ends on its own, soon; kept referenced until then
            task.add_done_callback(_forget)
        if self.gone:
            raise ClientDisconnected
        raise RequestTimedOut


_lingering: set[asyncio.Task[Any]] = set()


def _forget(task: asyncio.Task[Any]) -> None:
    _lingering.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a cancelled request's late failure is not worth a log line


class ReportSlots:
    """At most ``limit`` report requests of one tenant at once (in this worker)."""

    def __init__(self, limit: int, retry_after: int = REPORT_RETRY_AFTER_SECONDS) -> None:
        self.limit = limit
        self.retry_after = retry_after
        self._running: Counter[str] = Counter()

    def running(self, tenant_id: str) -> int:
        return self._running[tenant_id]

    def hold_until_done(self, tenant_id: str, task: asyncio.Task[Any]) -> None:
        """Take one of ``tenant_id``'s slots until ``task`` ends, whichever way; ``ReportsBusy`` if none is free.

        Held by the task, not a block of code: the slot is free only once the request has given
        its connection back (after its last ``finally``), even when it was cancelled.
        """
        if self._running[tenant_id] >= self.limit:
            raise ReportsBusy(self.retry_after)
        self._running[tenant_id] += 1
        task.add_done_callback(lambda _task: self._release(tenant_id))

    def _release(self, tenant_id: str) -> None:
        self._running[tenant_id] -= 1
        if self._running[tenant_id] <= 0:
            del self._running[tenant_id]  # no entry per tenant ever seen


def selects_report(query: str | None, operation_name: str | None, *, parse: Callable[[str], DocumentNode]) -> bool:
    """Whether the operation that runs selects ``sessionsReport``, at its root or through fragments.

    Read from the document before validation, so it holds whichever engine runs the operation;
    ``parse`` is the schema's own (cached) parser, so the document is parsed once per text. A
    document that does not parse is not one (it fails with its own error). Without an operation
    name, any operation of the document counts; ``@skip``/``@include`` are not evaluated (a report
    they might leave out still counts).
    """
    if not query or REPORT_FIELD not in query:  # most requests: no parsing
        return False
    try:
        document = parse(query)
    except GraphQLError:
        return False
    return any(_selection_has_report(op.selection_set, document) for op in _operations(document, operation_name))


def _operations(document: DocumentNode, name: str | None) -> list[OperationDefinitionNode]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations
    return [op for op in operations if op.name is not None and op.name.value == name]


def _selection_has_report(selection_set: SelectionSetNode, document: DocumentNode) -> bool:
    """Root selections only (``sessionsReport`` is a field of ``Query``); each fragment read once."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    seen: set[str] = set()
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                if selection.name.value == REPORT_FIELD:
                    return True
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
    return False


def current_task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("no running task")  # never: called from a request's coroutine
    return task


__all__ = [
    "TIMED_OUT_MESSAGE",
    "ClientDisconnected",
    "ClientWatch",
    "ReportSlots",
    "ReportsBusy",
    "RequestTimedOut",
    "current_task",
    "reports_busy_message",
    "selects_report",
]
