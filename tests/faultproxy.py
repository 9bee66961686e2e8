"""A TCP proxy owned by a test, between the gateway and PostgreSQL, that can cut, blackhole or slow the network.

It runs on the test's own event loop. Each accepted connection gets a connection of its own to the
upstream server and two pipes, one per direction. The faults:

* ``cut()``: every open connection is reset (TCP RST) and nothing listens any more: new connections
  are refused, as when the server or its host goes away.
* ``blackhole()``: connections stay open but no byte is forwarded either way, and new connections
  are accepted but never reach the server: the packets vanish, as behind a dropped route or a
  firewall that discards. Nobody is told anything; only a timeout can notice.
* ``slow(seconds)``: every chunk is forwarded ``seconds`` after it was read, in order.
* ``sent``: every chunk a client sent, in order, as forwarded (a test may read what went out, and
  how many writes: a client that waits for each answer writes once per round trip).
* ``restore()``: forwards at full speed again (chunks still held by ``slow`` go out at once) and
  listens again on the same port. A connection that lost bytes to the blackhole has a torn protocol
  stream and can never be used again: it is reset, as a firewall that dropped its state would.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

CHUNK = 65_536


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close at once with a TCP RST (SO_LINGER 0), as a crashed peer or a rebooted router would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _Link:
    """One accepted connection and, unless it was blackholed from the start, its upstream connection."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.writers = [client]
        self.torn = False  # bytes were dropped: the protocol stream is broken for good

    def reset(self) -> None:
        # Its pipes then read EOF or fail to write, and end. The task is never cancelled: Python 3.11's
        # start_server logs a cancelled connection callback as an error.
        for writer in self.writers:
            _reset(writer)


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.port = 0
        self.delay = 0.0
        self.blackholed = False
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[object]] = set()  # one per accepted connection, until it ends
        self._changed = asyncio.Event()  # set (and replaced) whenever a fault starts or ends
        self.sent: list[bytes] = []  # from clients, as forwarded

    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port the first time, the same one after a cut)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        await self._stop_listening()
        self.reset_connections()

    def blackhole(self) -> None:
        self.blackholed = True
        self._notify()

    def slow(self, seconds: float) -> None:
        self.delay = seconds
        self._notify()

    async def restore(self) -> None:
        self.blackholed = False
        self.delay = 0.0
        self.reset_connections(torn_only=True)
        if self._server is None:
            await self.start()

    def reset_connections(self, *, torn_only: bool = False) -> None:
        for link in list(self._links):
            if link.torn or not torn_only:
                self._links.discard(link)
                link.reset()
        self._notify()

    def _notify(self) -> None:
        """Wake every chunk held by ``slow``: it looks again at the delay, the blackhole, its connection."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def close(self) -> None:
        """Stop listening, reset every connection and wait until each is done with."""
        await self._stop_listening()
        self.reset_connections()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _stop_listening(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        link = _Link(writer)
        self._links.add(link)
        try:
            if self.blackholed:
                link.torn = True
                while await reader.read(CHUNK):
                    pass
                return
            upstream_reader, upstream_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
            link.writers.append(upstream_writer)
            await asyncio.gather(
                self._pipe(link, reader, upstream_writer, tap=self.sent), self._pipe(link, upstream_reader, writer)
            )
        except OSError:
            pass  # a side went away: the other goes too, below
        finally:
            self._links.discard(link)
            for each in link.writers:
                each.transport.abort()

    async def _pipe(
        self,
        link: _Link,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tap: list[bytes] | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        while chunk := await reader.read(CHUNK):
            received = loop.time()
            while not (self.blackholed or writer.is_closing()) and (wait := received + self.delay - loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._changed.wait()
            if writer.is_closing():
                return
            if self.blackholed:
                link.torn = True
                continue
            if tap is not None:
                tap.append(chunk)
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                writer.write_eof()
