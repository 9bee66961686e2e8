"""Live subscriptions read in batches (PostgreSQL): one statement per document shape per round, whatever the tenants.

Each subscriber still gets exactly what its own query answers, and without the live batches'
role's policies (``db/live_batches.sql``) there is one batch per tenant rather than empty results.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client import REGISTRY

from sessions_gateway.db import queries
from sessions_gateway.db.reader import TENANTS_SETTING
from tests.conftest import run_script
from tests.helpers import token_for
from tests.live import INTERVAL, QUIET, feed, live_gateway, raw, receive, send, subscriber, writer

if TYPE_CHECKING:
    from pathlib import Path

    from tests.live import Feed, Gateway

pytestmark = pytest.mark.skipif(
    not os.environ.get("GATEWAY_TEST_POSTGRES_URL"), reason="batched reads are PostgreSQL's (GATEWAY_TEST_POSTGRES_URL)"
)

LIST = """
subscription Rows($first: Int) {
  sessions(first: $first) { edges { node { id name status user { displayName } } } }
}
"""
QUERY = LIST.replace("subscription", "query", 1)
# A database whose live batches' role has no policies (init-db --grant-select-to not run since).
WITHOUT_LIVE_POLICIES = "".join(
    f"DROP POLICY IF EXISTS gateway_live_batches ON {table}; "
    for table in ("users", "tasks", "sessions", "recordings", "procedures", "session_summaries")
)


def rounds_and_statements() -> tuple[float, float]:
    """The live rounds so far in this process, and the statements they sent."""
    count = REGISTRY.get_sample_value("gateway_live_refetch_statements_count") or 0.0
    total = REGISTRY.get_sample_value("gateway_live_refetch_statements_sum") or 0.0
    return count, total


async def statements_per_round(rounds: int) -> float:
    """The statements each of the next ``rounds`` polling rounds sent, on average."""
    before = rounds_and_statements()
    await asyncio.sleep(rounds * INTERVAL)
    while rounds_and_statements()[0] - before[0] < rounds:  # a loaded machine: a round or two late  # noqa: ASYNC110
        await asyncio.sleep(INTERVAL / 4)
    after = rounds_and_statements()
    return (after[1] - before[1]) / (after[0] - before[0])


async def check_each_feed(gateway: Gateway, feeds: list[tuple[str, int, Feed]]) -> list[Any]:
    """Each feed's next result, which must be what its tenant's query answers now."""
    received = []
    for tenant, first, watching in feeds:
        result = await watching.next()
        assert {"data": result} == await gateway.query(QUERY, {"first": first}, tenant=tenant)
        received.append(result)
    return received


@pytest.mark.parametrize("policies", ["with the live role's", "without them"])
async def test_cohorts_of_every_tenant_read_in_one_statement_per_round_each_getting_its_own_result(
    tmp_path: Path, policies: str
) -> None:
    async with live_gateway("postgresql", tmp_path) as gateway, writer(gateway) as db:
        hub = gateway.app.state.live
        if policies == "without them":
            await run_script(gateway.owner_url, WITHOUT_LIVE_POLICIES)
            await hub._check_sets()  # as at start without them
        assert hub.batching
        assert hub.across_tenants is (policies == "with the live role's")
        async with (
            subscriber(gateway, "alpha") as alpha,
            subscriber(gateway, "beta") as beta,
            feed(alpha, LIST, {"first": 1}) as alpha_one,
            feed(alpha, LIST, {"first": 5}) as alpha_five,
            feed(beta, LIST, {"first": 1}) as beta_one,
            feed(beta, LIST, {"first": 5}) as beta_five,
        ):
            feeds = [("alpha", 1, alpha_one), ("alpha", 5, alpha_five), ("beta", 1, beta_one), ("beta", 5, beta_five)]
            # given: each subscriber's first result, its own tenant's rows (never empty)
            first = await check_each_feed(gateway, feeds)
            assert all(result["sessions"]["edges"] for result in first)
            # each cohort read once alone (its plan found), then in the rounds' batches (its
            # statement known): a cohort that read once more (asked while it read) joins a round later
            assert all(cohort.planned is not None for cohort in hub.cohorts.values())
            for _ in range(20):
                if all(cohort.statement is not None for cohort in hub.cohorts.values()):
                    break
                await asyncio.sleep(INTERVAL)
            assert all(cohort.statement is not None for cohort in hub.cohorts.values())

            # then: four cohorts of two tenants, one statement a round (one a tenant, without the live policies)
            assert await statements_per_round(3) == (1 if hub.across_tenants else 2)

            # when: alpha's newest session is renamed
            await db.update("sessions", {"id": "a-run"}, name="Renamed by the pipeline")
            # then: alpha's subscribers get it, as their query answers it; beta's get nothing
            changed = await check_each_feed(gateway, feeds[:2])
            assert all(r["sessions"]["edges"][0]["node"]["name"] == "Renamed by the pipeline" for r in changed)
            await beta_one.nothing()
            await beta_five.nothing(QUIET / 5)
        await gateway.serves_queries()


async def test_a_batch_sets_its_tenants_once_and_keeps_them_for_the_next_round(tmp_path: Path) -> None:
    async with (
        live_gateway("postgresql", tmp_path) as gateway,
        subscriber(gateway, "alpha") as alpha,
        subscriber(gateway, "beta") as beta,
        feed(alpha, LIST, {"first": 2}) as alpha_feed,
        feed(beta, LIST, {"first": 2}) as beta_feed,
    ):
        await alpha_feed.next()
        await beta_feed.next()
        await statements_per_round(2)
        # then: a pooled connection holds the batch's tenants on its session, as a tuple (taken
        # from the pool as a batch takes it: between two rounds, when no round holds it)
        pool = gateway.app.state.engine.dialect.sessions_gateway_driver_pool
        settings = None
        for _ in range(50):
            connection = await pool.acquire(prefer=("alpha", "beta"))
            try:
                if connection.session_tenant == ("alpha", "beta"):
                    settings = await connection.fetchrow(
                        f"SELECT current_setting('{TENANTS_SETTING}') AS tenants, "
                        "current_setting('sessions_gateway.tenant_id') AS tenant, current_user AS role"
                    )
                    break
            finally:
                pool.release(connection)
            await asyncio.sleep(INTERVAL / 10)
        assert settings is not None, "no connection kept the batch's tenants"
        assert tuple(settings) == ('{"alpha","beta"}', "", "sessions_gateway_live")


@pytest.mark.parametrize(
    ("selection", "writes_each_round"),
    [("id name status", False), ("id name status durationSeconds", True)],
    ids=["timeless", "reads-the-clock"],
)
async def test_rows_read_again_are_not_written_again_unless_their_result_reads_the_clock(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    selection: str,
    writes_each_round: bool,  # noqa: FBT001
) -> None:
    written: list[int] = []
    split = queries.split_joined

    def counted(*args: Any, **kwargs: Any) -> Any:
        written.append(1)
        return split(*args, **kwargs)

    monkeypatch.setattr(queries, "split_joined", counted)
    document = f"subscription {{ sessions(first: 5) {{ edges {{ node {{ {selection} }} }} }} }}"
    async with (
        live_gateway("postgresql", tmp_path) as gateway,
        writer(gateway) as db,
        subscriber(gateway, "alpha") as alpha,
        feed(alpha, document) as rows,
    ):
        await rows.next()
        await statements_per_round(2)  # its plan found, its rows known
        before = len(written)
        await statements_per_round(3)
        # then: three more rounds, one statement each; the rows written again only if the clock moves the result
        assert (len(written) - before >= 3) is writes_each_round
        assert (len(written) == before) is not writes_each_round
        # and a write still reaches the subscriber
        await db.update("sessions", {"id": "a-done"}, name="Renamed")
        changed = await rows.next()
        if not writes_each_round:
            assert "Renamed" in [e["node"]["name"] for e in changed["sessions"]["edges"]]


async def test_after_a_refusal_the_same_rows_make_the_result_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with live_gateway("postgresql", tmp_path) as gateway, raw(gateway) as ws:
        hub = gateway.app.state.live
        await send(ws, {"type": "connection_init", "payload": {"Authorization": f"Bearer {token_for('alpha')}"}})
        assert (await receive(ws))["type"] == "connection_ack"
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": LIST, "variables": {"first": 5}}})
        first = (await receive(ws))["payload"]
        await statements_per_round(2)  # its statement and rows known: rounds read them straight
        assert all(cohort.rows is not None for cohort in hub.cohorts.values())

        # when: the tenant-setting canary fails for a while (nothing written meanwhile)
        async def failing() -> str:
            return "the canary failed"

        monkeypatch.setattr(hub.canary, "refusal", failing)
        refused = (await receive(ws))["payload"]
        assert refused["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        monkeypatch.undo()
        # then: once it passes, the same rows as before make the result again
        assert (await receive(ws))["payload"] == first
