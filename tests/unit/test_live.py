"""The pieces of live subscriptions that need no server: the newest-only mailbox, a subscription's query, its hash."""

from __future__ import annotations

import asyncio

import orjson
from graphql import GraphQLError

from sessions_gateway.gateway.live import Mailbox, digest_of, encoded
from sessions_gateway.schema.live import LiveEvent, query_form


async def test_a_slow_subscriber_gets_the_newest_result_never_a_queue() -> None:
    mailbox = Mailbox()
    results = [LiveEvent({"n": n}) for n in range(3)]
    for result in results:
        mailbox.put(result)
    assert await mailbox.take() is results[-1]
    # nothing more until the next result
    waiting = asyncio.create_task(mailbox.take())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    mailbox.put(results[0])
    assert await waiting is results[0]


def test_a_subscription_asks_the_query_with_the_same_selection() -> None:
    document = """
    subscription Live($first: Int) { sessions(first: $first) { ...Page } }
    query Other { session(id: "x") { id } }
    fragment Page on SessionConnection { totalCount }
    """
    assert query_form(document, "Live") == (
        "query Live($first: Int) {\n  sessions(first: $first) {\n    ...Page\n  }\n}\n\n"
        "fragment Page on SessionConnection {\n  totalCount\n}"
    )
    # two spellings of one document are one query
    assert query_form('subscription{session(id:"a"){ id }}', None) == query_form(
        'subscription {\n session(id: "a") {\n id\n }\n}', None
    )


def test_a_result_hash_covers_its_data_and_its_errors() -> None:
    data = {"session": {"id": "a", "name": "A"}}

    def digest(event: LiveEvent) -> bytes:
        return digest_of(encoded(event))

    assert digest(LiveEvent(data)) == digest(LiveEvent({"session": {"id": "a", "name": "A"}}))
    assert digest(LiveEvent(data)) != digest(LiveEvent({"session": {"id": "a", "name": "B"}}))
    failed = LiveEvent(None, [GraphQLError("unavailable", extensions={"code": "SERVICE_UNAVAILABLE"})])
    assert digest(failed) != digest(LiveEvent(None))


def test_a_result_is_written_as_the_payload_a_client_receives() -> None:
    assert orjson.loads(encoded(LiveEvent({"session": None}))) == {"data": {"session": None}}
    failed = LiveEvent(None, [GraphQLError("unavailable", extensions={"code": "SERVICE_UNAVAILABLE"})])
    assert orjson.loads(encoded(failed)) == {
        "data": None,
        "errors": [{"message": "unavailable", "extensions": {"code": "SERVICE_UNAVAILABLE"}}],
    }
