"""Live connections refused, closed and bounded: each with the protocol's code or a coded error, never a crash.

After each, the worker still answers queries.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest
from gql.transport.exceptions import TransportQueryError

from sessions_gateway.gateway.live import TextWebSocket
from sessions_gateway.gateway.persisted import sha256_hex
from sessions_gateway.schema.limits import Limits
from tests.helpers import token_for
from tests.live import STILL_SERVING, close_code, feed, live_gateway, raw, receive, send, subscriber, writer

if TYPE_CHECKING:
    from pathlib import Path

DETAIL = 'subscription { session(id: "a-done") { name } }'
INIT = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token_for('alpha')}"}}


def code_of(error: Exception) -> str:
    assert isinstance(error, TransportQueryError), error
    assert error.errors is not None
    return str(error.errors[0]["extensions"]["code"])


async def test_a_connection_without_connection_init_is_closed_at_the_init_timeout(backend: str, tmp_path: Path) -> None:
    async with live_gateway(backend, tmp_path, ws_init_timeout_ms=300) as gateway:
        async with raw(gateway) as ws:
            assert await close_code(ws) == (4408, "Connection initialisation timeout")
        await gateway.serves_queries()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {token_for('alpha', secret='another key, long enough for HS256, 32+ bytes')}"},
        {"Authorization": f"Bearer {token_for('alpha', ttl=-60)}"},
        {"Authorization": f"Bearer {token_for(None)}"},
        {"Authorization": 42},
    ],
    ids=["no token", "not a token", "wrong key", "expired", "no tenant", "not text"],
)
async def test_a_bad_token_is_refused_at_connection_init(backend: str, tmp_path: Path, payload: object) -> None:
    async with live_gateway(backend, tmp_path) as gateway:
        async with raw(gateway) as ws:
            await send(ws, {"type": "connection_init", "payload": payload})
            assert await close_code(ws) == (4403, "Forbidden")
        await gateway.serves_queries()


async def test_a_subscribe_before_the_init_is_acknowledged_closes_4401(backend: str, tmp_path: Path) -> None:
    async with live_gateway(backend, tmp_path) as gateway:
        async with raw(gateway) as ws:
            await send(ws, {"type": "subscribe", "id": "1", "payload": {"query": DETAIL}})
            assert await close_code(ws) == (4401, "Unauthorized")
        await gateway.serves_queries()


async def test_the_connection_closes_when_its_token_expires(backend: str, tmp_path: Path) -> None:
    async with live_gateway(backend, tmp_path) as gateway:
        async with raw(gateway) as ws:
            await send(
                ws, {"type": "connection_init", "payload": {"Authorization": f"Bearer {token_for('alpha', ttl=2)}"}}
            )
            assert await receive(ws) == {"type": "connection_ack"}
            await send(ws, {"type": "subscribe", "id": "1", "payload": {"query": DETAIL}})
            assert await receive(ws) == {"id": "1", "type": "next", "payload": {"data": {"session": {"name": "Done"}}}}
            assert await close_code(ws, within=4.0) == (4403, "Token expired")
        await gateway.serves_queries()


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        '{"type": "no such type"}',
        '{"type": "subscribe", "id": "1", "payload": {"query": 42}}',
        '{"type": "subscribe", "id": "1", "payload": {"query": "subscription { x }", "variables": [1]}}',
        '{"type": "subscribe", "id": "1"}',
        '["connection_init"]',
    ],
    ids=["not json", "unknown type", "query not text", "variables not an object", "no payload", "not an object"],
)
async def test_a_malformed_message_closes_the_connection_cleanly(
    backend: str, tmp_path: Path, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with live_gateway(backend, tmp_path) as gateway:
        async with raw(gateway) as ws:
            await send(ws, INIT)
            assert await receive(ws) == {"type": "connection_ack"}
            await ws.send(message)
            code, _ = await close_code(ws)
            assert code == 4400
        await gateway.serves_queries()
    assert not [r for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"}]


async def test_subscriptions_over_the_per_connection_limit_get_a_coded_error(backend: str, tmp_path: Path) -> None:
    async with (
        live_gateway(backend, tmp_path, live_max_subscriptions_per_connection=2) as gateway,
        subscriber(gateway) as session,
        feed(session, DETAIL) as one,
        feed(session, DETAIL) as two,
    ):
        await one.next()
        await two.next()
        async with feed(session, DETAIL) as third:
            assert code_of(await third.error()) == "TOO_MANY_SUBSCRIPTIONS"
        await two.close()
        async with feed(session, DETAIL) as again:  # a place came free
            assert (await again.next()) == {"session": {"name": "Done"}}
        await gateway.serves_queries()


async def test_subscriptions_over_the_per_tenant_limit_get_a_coded_error(backend: str, tmp_path: Path) -> None:
    async with (
        live_gateway(backend, tmp_path, live_max_subscriptions_per_tenant=1) as gateway,
        subscriber(gateway, "alpha") as first,
        subscriber(gateway, "alpha") as second,
        subscriber(gateway, "beta") as other,
        feed(first, DETAIL) as held,
    ):
        await held.next()
        async with feed(second, DETAIL) as refused:
            assert code_of(await refused.error()) == "TOO_MANY_SUBSCRIPTIONS"
        async with feed(other, DETAIL) as betas:  # another tenant's count is its own
            assert await betas.next() == {"session": None}
        await gateway.serves_queries()


async def test_connections_over_the_worker_limit_are_closed_with_a_coded_reason(backend: str, tmp_path: Path) -> None:
    async with live_gateway(backend, tmp_path, live_max_connections=1) as gateway, subscriber(gateway) as session:
        async with feed(session, DETAIL) as held:
            await held.next()
            async with raw(gateway) as ws:
                code, reason = await close_code(ws)
            assert code == 1013
            assert reason is not None
            assert reason.startswith("TOO_MANY_CONNECTIONS")
            await gateway.serves_queries()
        # once the first connection is gone, another is served
        await asyncio.sleep(0)
    (tmp_path / "again").mkdir()
    async with live_gateway(backend, tmp_path / "again", live_max_connections=0) as gateway, raw(gateway) as ws:
        assert (await close_code(ws))[0] == 1013


@pytest.mark.parametrize(
    ("limits", "document"),
    [
        (Limits(max_depth=1), 'subscription { session(id: "a-done") { user { displayName } } }'),
        (Limits(max_aliases=0), 'subscription { s: session(id: "a-done") { name } }'),
        (Limits(max_cost=5), "subscription { sessions(first: 10) { edges { node { name } } } }"),
    ],
    ids=["depth", "aliases", "cost"],
)
async def test_the_query_limits_apply_to_subscription_documents(
    backend: str, tmp_path: Path, limits: Limits, document: str
) -> None:
    async with live_gateway(backend, tmp_path, limits=limits) as gateway, subscriber(gateway) as session:
        async with feed(session, document) as refused:
            assert code_of(await refused.error()) == "QUERY_TOO_COMPLEX"
        assert gateway.app.state.live.cohorts == {}
        await gateway.serves_queries()


async def test_a_query_over_websocket_is_refused(backend: str, tmp_path: Path) -> None:
    async with live_gateway(backend, tmp_path) as gateway, subscriber(gateway) as session:
        async with feed(session, '{ session(id: "a-done") { name } }') as refused:
            assert code_of(await refused.error()) == "BAD_USER_INPUT"
        await gateway.serves_queries()


async def test_a_persisted_only_gateway_runs_registered_subscriptions_only(backend: str, tmp_path: Path) -> None:
    registered = tmp_path / "registered"
    registered.mkdir()
    (registered / "detail.graphql").write_text(DETAIL, encoding="utf-8")
    (registered / "serving.graphql").write_text(STILL_SERVING, encoding="utf-8")
    by_hash = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(DETAIL)}}
    async with (
        live_gateway(backend, tmp_path, persisted_queries_dir=registered, persisted_queries_only=True) as gateway,
        raw(gateway) as ws,
    ):
        await send(ws, INIT)
        assert await receive(ws) == {"type": "connection_ack"}
        await send(ws, {"type": "subscribe", "id": "text", "payload": {"query": DETAIL}})
        assert await receive(ws) == {"id": "text", "type": "next", "payload": {"data": {"session": {"name": "Done"}}}}
        await send(ws, {"type": "subscribe", "id": "hash", "payload": {"extensions": by_hash}})
        assert await receive(ws) == {"id": "hash", "type": "next", "payload": {"data": {"session": {"name": "Done"}}}}
        await send(
            ws,
            {
                "type": "subscribe",
                "id": "other",
                "payload": {"query": 'subscription { session(id: "a-run") { name } }'},
            },
        )
        refused = await receive(ws)
        assert refused["id"] == "other"
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"] == {"code": "PERSISTED_QUERY_NOT_IN_LIST"}
        await gateway.serves_queries()


async def test_a_subscription_over_http_is_refused(backend: str, tmp_path: Path) -> None:
    async with live_gateway(backend, tmp_path) as gateway, httpx.AsyncClient(base_url=gateway.http_url) as http:
        headers = {"Authorization": f"Bearer {token_for('alpha')}"}
        posted = await http.post("/graphql", json={"query": DETAIL}, headers=headers)
        got = await http.get("/graphql", params={"query": DETAIL}, headers=headers)
        for response in (posted, got):
            assert response.status_code == 400
            assert response.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
            assert "data" not in response.json()
        await gateway.serves_queries()


async def test_a_connection_whose_sends_hang_holds_up_no_one_and_gets_the_newest_result_after(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client that stops reading fills the socket's buffers, and then each send to it waits: here
    # the first connection's sends wait on a gate, which is that, without megabytes of buffers.
    gate = asyncio.Event()
    gate.set()
    first: list[TextWebSocket] = []
    send_text = TextWebSocket.send_text

    async def held(self: TextWebSocket, text: str) -> None:
        if not first:
            first.append(self)
        if self is first[0]:
            await gate.wait()
        await send_text(self, text)

    monkeypatch.setattr(TextWebSocket, "send_text", held)
    async with (
        live_gateway(backend, tmp_path) as gateway,
        writer(gateway) as db,
        subscriber(gateway) as stuck_session,  # the first connection: its acknowledgement sent first
        feed(stuck_session, DETAIL) as stuck,
        subscriber(gateway) as prompt_session,
        feed(prompt_session, DETAIL) as prompt,
    ):
        assert (await stuck.next())["session"]["name"] == "Done"
        await prompt.next()
        # when: the first connection's sends hang, through twenty changes
        gate.clear()
        for n in range(20):
            await db.update("sessions", {"id": "a-done"}, name=f"change {n}")
            # then: the other connection gets each, and queries are answered
            assert (await prompt.next())["session"]["name"] == f"change {n}"
        await gateway.serves_queries()
        # and once its sends go through: the send it was in, then the newest, not twenty
        gate.set()
        received = [(await stuck.next())["session"]["name"]]
        while received[-1] != "change 19":
            received.append((await stuck.next())["session"]["name"])
        assert len(received) <= 2, received
        await stuck.nothing()
