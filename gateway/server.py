"""The HTTP protocol the gateway is served with: uvicorn's httptools protocol, one write per response.

uvicorn writes a response's head when the app sends ``http.response.start`` and its body when
the app sends ``http.response.body``: two writes, two system calls, for every answer. Here a
request's head is held until its body comes and both go in one write, as Node's HTTP server
does with ``res.end(body)``. A head whose body never comes is written when the response
completes or the connection closes. ``100 Continue`` (written before the response starts), the
protocol's own refusals and WebSocket upgrades are written as uvicorn writes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle


class _OneWrite:
    """A cycle's view of the connection's transport: the response's head is held for its body."""

    __slots__ = ("_cycle", "_head_seen", "_held", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self._transport = transport
        self._cycle = cycle
        self._held: bytes | None = None
        self._head_seen = False

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif not self._head_seen and self._cycle.response_started:
            # The first write once the response started is its head: written with the body's first part.
            self._head_seen = True
            self._held = data
        else:
            self._transport.write(data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing each response's head and body at once."""

    def on_headers_complete(self) -> None:
        previous = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is None or cycle is previous:
            return  # a WebSocket upgrade: no response cycle of its own, the WebSocket protocol takes over
        transport = _OneWrite(self.transport, cycle)
        cycle.transport = transport  # type: ignore[assignment]
        cycle.on_response = _flushed_first(transport, cycle.on_response)


def _flushed_first(transport: _OneWrite, on_response: Callable[..., None]) -> Callable[..., None]:
    """The cycle's completion callback, once a head still held (a body never written: HEAD) is written."""

    def completed() -> None:
        transport.flush()
        on_response()

    return completed
