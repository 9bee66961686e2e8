"""The pieces of live subscriptions that need no server: the newest-only mailbox, a subscription's query, its hash."""

from __future__ import annotations

import asyncio

import orjson
from graphql import GraphQLError

from sessions_gateway.db.batch import BATCH_SIZE
from sessions_gateway.gateway.live import Cohort, CohortKey, Mailbox, chunks, digest_of, encoded
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


def test_a_tenants_pages_go_in_one_batch_though_they_subscribed_among_others() -> None:
    """Cohorts subscribed interleaved (each tenant's page sizes among other tenants'): chunked by tenant.

    ``run_batch`` reads a tenant's pages of one statement once when they share a chunk; chunked in
    the order they subscribed, each of the 150 tenants' two pages fell in different chunks.
    """
    template = object()  # a statement: what chunks compare is its identity
    tenants = [f"tenant-{n:03}" for n in range(150)]
    cohorts = [
        Cohort(
            CohortKey(tenant, "query Live($first: Int!) { x }", "Live", orjson.dumps({"first": first})),
            statement=(template, {"tenant_id": tenant, "page_limit": first}),  # type: ignore[arg-type]
        )
        for first in (20, 19)
        for tenant in tenants
    ]
    made = chunks(cohorts, across_tenants=True)
    assert [len(chunk) for chunk in made] == [BATCH_SIZE, BATCH_SIZE, 2 * len(tenants) - 2 * BATCH_SIZE]
    assert sorted(id(c) for chunk in made for c, _, _ in chunk) == sorted(map(id, cohorts))  # each once
    in_chunks = {tenant: {n for n, chunk in enumerate(made) for c, _, _ in chunk if c.key.tenant_id == tenant}
                 for tenant in tenants}  # fmt: skip
    assert all(len(found) == 1 for found in in_chunks.values())  # 100 per chunk: two pages each, none split
    # one tenant per batch when the policies admit no set: each tenant's pages, alone
    alone = chunks(cohorts, across_tenants=False)
    assert sorted(len(chunk) for chunk in alone) == [2] * len(tenants)
    assert all(len({c.key.tenant_id for c, _, _ in chunk}) == 1 for chunk in alone)
