"""The served protocol writes each response's head and body at once: one write per answer.

uvicorn serves the app with ``gateway.server.OneWriteProtocol`` (``sessions-gateway serve``).
Here a real uvicorn serves it on a free port; the test counts the writes the protocol makes on
its connection's transport (a counting wrapper put under it) and reads the bytes a client gets
over a real socket: the same responses as uvicorn's own protocol gives, in fewer writes. A WebSocket
upgrade goes to uvicorn's WebSocket protocol as before: subscriptions are served too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.asyncio.client import connect

from sessions_gateway.gateway.server import OneWriteProtocol
from tests import serving
from tests.helpers import SESSION_NODE, token_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

WRITES: list[bytes] = []


class _Counting:
    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CountedOneWrite(OneWriteProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Counting(transport))  # type: ignore[arg-type]


class CountedUvicorn(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Counting(transport))  # type: ignore[arg-type]


async def _plain(_request: Request) -> Response:
    return PlainTextResponse("x" * 5000)


async def _stream(_request: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one,", b"two,", b"three"):
            yield part

    return StreamingResponse(parts(), media_type="text/plain")


async def _echo(request: Request) -> Response:
    return PlainTextResponse((await request.body()).decode())


async def _broken(_scope: Any, _receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
    raise RuntimeError("the app failed after starting its response")


async def _ws_hello(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


SMALL = Starlette(
    routes=[
        Route("/plain", _plain, methods=["GET", "HEAD"]),
        Route("/stream", _stream),
        Route("/echo", _echo, methods=["POST"]),
        WebSocketRoute("/ws", _ws_hello),
    ]
)


def served(app: Any, protocol: type[asyncio.Protocol]) -> contextlib.AbstractAsyncContextManager[int]:
    """``app`` served with ``protocol`` (no lifespan: the app runs already)."""
    return serving.served(app, http=protocol, lifespan="off", log_level="critical")


@contextlib.contextmanager
def counted() -> Iterator[list[bytes]]:
    WRITES.clear()
    yield WRITES
    WRITES.clear()


async def exchange(port: int, *requests: bytes, until_closed: bool = False) -> bytes:
    """Send ``requests`` on one connection (each once the previous was answered); all the bytes read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got = b""
    try:
        if until_closed:
            writer.write(b"".join(requests))
            return await asyncio.wait_for(reader.read(), 5)
        for request in requests:
            writer.write(request)
            await writer.drain()
            got += await _one_response(reader, head_only=request.startswith(b"HEAD"))
    finally:
        writer.close()
    return got


async def _one_response(reader: asyncio.StreamReader, *, head_only: bool) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode().lower().split("\r\n")
    if head_only:
        return head
    if "transfer-encoding: chunked" in lines:
        return head + await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 5)
    length = next(int(line.split(":")[1]) for line in lines if line.startswith("content-length:"))
    return head + await asyncio.wait_for(reader.readexactly(length), 5)


def _without_date(response: bytes) -> bytes:
    return b"\r\n".join(line for line in response.split(b"\r\n") if not line.lower().startswith(b"date:"))


GET_PLAIN = b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n"


@pytest.mark.parametrize(
    ("requests", "ours", "uvicorns"),
    [
        ((GET_PLAIN,), 1, 2),
        ((GET_PLAIN, GET_PLAIN, GET_PLAIN), 3, 6),  # keep-alive: one write per answer
        ((b"HEAD /plain HTTP/1.1\r\nHost: t\r\n\r\n",), 1, 1),  # a head alone, written when complete
        ((b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n",), 4, 5),  # the head goes with the first part
        ((b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",), 1, 2),
    ],
)
async def test_each_answer_is_one_write_and_the_same_bytes(
    requests: tuple[bytes, ...], ours: int, uvicorns: int
) -> None:
    async with served(SMALL, CountedUvicorn) as port:
        with counted() as writes:
            expected = await exchange(port, *requests)
            assert len(writes) == uvicorns
    async with served(SMALL, CountedOneWrite) as port:
        with counted() as writes:
            got = await exchange(port, *requests)
            assert len(writes) == ours
    assert _without_date(got) == _without_date(expected)


async def test_100_continue_is_written_at_once() -> None:
    """A client that waits for ``100 Continue`` before its body gets it: it is no response head to hold."""
    async with served(SMALL, CountedOneWrite) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            await writer.drain()
            assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5) == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(b"hello")
            response = await _one_response(reader, head_only=False)
        finally:
            writer.close()
    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    assert response.endswith(b"\r\n\r\nhello")


async def test_a_head_whose_body_never_comes_is_written_before_the_connection_closes() -> None:
    async with served(_broken, CountedOneWrite) as port:
        got = await exchange(port, b"GET /broken HTTP/1.1\r\nHost: t\r\n\r\n", until_closed=True)
    # uvicorn closes the connection of a response the app left unfinished: the head went first
    assert got.startswith(b"HTTP/1.1 200 OK\r\n")


async def test_the_gateways_answer_is_one_write(app: Starlette) -> None:
    query = f"{{ sessions(first: 5) {{ edges {{ node {{ ...Node }} }} }} }} {SESSION_NODE}"
    body = json.dumps({"query": query}).encode()
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token_for('alpha')}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    async with served(app, CountedOneWrite) as port:
        with counted() as writes:
            got = await exchange(port, request, request)
            assert len(writes) == 2
    assert got.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert got.count(b'{"data":{"sessions":{"edges":[{"node":') == 2


UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def test_a_websocket_upgrade_is_handed_to_uvicorns_websocket_protocol() -> None:
    """An upgrade has no response of its own to hold: it is answered ``101`` and the WebSocket speaks."""
    async with served(SMALL, OneWriteProtocol) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(UPGRADE)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            frame = await asyncio.wait_for(reader.readexactly(7), 5)
        finally:
            writer.close()
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert frame == b"\x81\x05hello"  # an unmasked text frame from the server


async def test_the_gateways_subscriptions_are_served(app: Starlette) -> None:
    async with (
        served(app, OneWriteProtocol) as port,
        connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]) as ws,  # type: ignore[list-item]
    ):
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token_for('alpha')}"}}
        await ws.send(orjson.dumps(init).decode())
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        query = "subscription { sessions(first: 1) { totalCount } }"
        await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}).decode())
        message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message["type"] == "next", message
    assert message["payload"]["data"]["sessions"]["totalCount"] > 0
