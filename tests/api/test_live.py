"""Live subscriptions over WebSocket: a gql client subscribes, the pipeline writes, the client sees the new state.

Each event is the whole result the same document answers as a query over HTTP at that moment.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import pytest
from strawberry.schema import Schema as StrawberrySchema

from sessions_gateway.schema.live import LiveExecutor
from tests import factories as f
from tests.helpers import token_for
from tests.live import INTERVAL, QUIET, T0, WITHIN, feed, live_gateway, subscriber, writer
from tests.readme import DOCS, page_blocks

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

LIST = """
subscription Dashboard($first: Int) {
  sessions(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name status completedAt user { displayName } recording { status url } } }
  }
}
"""
DETAIL = """
subscription Detail($id: ID!) {
  session(id: $id) {
    id name status durationSeconds completedAt
    recording { status url }
    summary { score prose }
  }
}
"""


def as_query(document: str) -> str:
    return document.replace("subscription", "query", 1)


async def test_the_list_is_sent_at_subscribe_then_at_each_change_and_never_when_unchanged(
    backend: str, tmp_path: Path
) -> None:
    async with live_gateway(backend, tmp_path) as gateway, subscriber(gateway) as session, writer(gateway) as db:
        async with feed(session, LIST, {"first": 10}) as dashboard:
            # given: the first page as the query answers it
            first = await dashboard.next()
            assert {"data": first} == await gateway.query(as_query(LIST), {"first": 10})
            assert [e["node"]["status"] for e in first["sessions"]["edges"]] == ["IN_PROGRESS", "COMPLETED"]
            await dashboard.nothing()

            # when: the running session completes
            await db.update(
                "sessions",
                {"id": "a-run"},
                status="completed",
                completed_at=T0 + timedelta(minutes=30),
                duration_seconds=1800,
            )

            # then: exactly the new state, once
            second = await dashboard.next()
            assert {"data": second} == await gateway.query(as_query(LIST), {"first": 10})
            assert second["sessions"]["edges"][0]["node"]["status"] == "COMPLETED"
            await dashboard.nothing()

            # when: a new session starts
            await db.insert(
                "sessions", f.session("a-new", "alpha", "u-a", status="in_progress", started_at=T0 + timedelta(hours=1))
            )
            third = await dashboard.next()
            assert third["sessions"]["totalCount"] == 3
            assert third["sessions"]["edges"][0]["node"]["id"] == "a-new"
            assert {"data": third} == await gateway.query(as_query(LIST), {"first": 10})
        await gateway.serves_queries()


async def test_after_the_first_result_each_is_sent_as_its_cohort_wrote_it_not_executed_per_subscriber(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    executed: list[object] = []
    execute = LiveExecutor.execute_operation

    def counted(self: LiveExecutor, serially: bool | None = None) -> object:  # noqa: FBT001
        executed.append(self.root_value)
        return execute(self, serially)

    monkeypatch.setattr(LiveExecutor, "execute_operation", counted)
    async with (
        live_gateway(backend, tmp_path) as gateway,
        writer(gateway) as db,
        subscriber(gateway) as one,
        subscriber(gateway) as two,
        feed(one, LIST, {"first": 10}) as first,
        feed(two, LIST, {"first": 10}) as second,
    ):
        assert await first.next() == await second.next()
        assert len(executed) == 2  # each subscription's first result: Strawberry's way
        for name in ("One", "Two"):
            await db.update("sessions", {"id": "a-run"}, name=name)
            changed = await first.next()
            assert changed == await second.next()
            assert {"data": changed} == await gateway.query(as_query(LIST), {"first": 10})
            assert changed["sessions"]["edges"][0]["node"]["name"] == name
        assert len(executed) == 2  # the changes: written once per cohort, sent as they are


async def test_after_the_first_result_strawberrys_stream_is_closed_and_the_subscription_goes_on(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[bool] = []
    stream = StrawberrySchema.stream

    async def watched(self: StrawberrySchema, *args: Any, **kwargs: Any) -> Any:
        source = await stream(self, *args, **kwargs)
        at = len(closed)
        closed.append(False)

        async def results() -> AsyncIterator[Any]:
            try:
                async for result in source:
                    yield result
            finally:
                closed[at] = True
                await source.aclose()

        return results()

    monkeypatch.setattr(StrawberrySchema, "stream", watched)
    async with (
        live_gateway(backend, tmp_path) as gateway,
        writer(gateway) as db,
        subscriber(gateway) as session,
        feed(session, LIST, {"first": 10}) as dashboard,
    ):
        await dashboard.next()
        await asyncio.sleep(INTERVAL)
        assert closed == [True]  # what Strawberry held for the subscription, freed
        await db.update("sessions", {"id": "a-run"}, name="Still live")
        assert (await dashboard.next())["sessions"]["edges"][0]["node"]["name"] == "Still live"
        assert len(gateway.app.state.live.cohorts) == 1
    await asyncio.sleep(INTERVAL)
    assert gateway.app.state.live.cohorts == {}


async def test_the_detail_follows_its_recording_its_summary_and_its_erasure(backend: str, tmp_path: Path) -> None:
    async with live_gateway(backend, tmp_path) as gateway, subscriber(gateway) as session, writer(gateway) as db:
        async with feed(session, DETAIL, {"id": "a-done"}) as detail:
            first = await detail.next()
            assert {"data": first} == await gateway.query(as_query(DETAIL), {"id": "a-done"})
            assert first["session"]["recording"] == {"status": "UPLOADING", "url": None}
            assert first["session"]["summary"] is None

            await db.update("recordings", {"session_id": "a-done"}, state="ready")
            ready = await detail.next()
            assert ready["session"]["recording"] == {
                "status": "AVAILABLE",
                "url": "https://media.example.com/rec/a-done.mp4",
            }
            assert {"data": ready} == await gateway.query(as_query(DETAIL), {"id": "a-done"})

            await db.insert("session_summaries", f.summary("a-done", "alpha", score=87, prose="Steady work."))
            summarised = await detail.next()
            assert summarised["session"]["summary"] == {"score": 87, "prose": "Steady work."}
            assert {"data": summarised} == await gateway.query(as_query(DETAIL), {"id": "a-done"})
            await detail.nothing()

            await db.update("sessions", {"id": "a-done"}, deleted_at=T0 + timedelta(days=1))
            assert await detail.next() == {"session": None}
            await detail.nothing()
        await gateway.serves_queries()


async def test_subscribers_of_one_document_and_variables_share_one_read(backend: str, tmp_path: Path) -> None:
    async with live_gateway(backend, tmp_path) as gateway, writer(gateway) as db:
        hub = gateway.app.state.live
        async with (
            subscriber(gateway) as one,
            subscriber(gateway) as two,
            feed(one, LIST, {"first": 10}) as first,
            # the same document spelled otherwise, the same variables: the same cohort
            feed(two, " ".join(LIST.split()), {"first": 10}) as second,
            feed(two, LIST, {"first": 1}) as other,
        ):
            assert await first.next() == await second.next()
            assert len((await other.next())["sessions"]["edges"]) == 1
            assert sorted(len(cohort.mailboxes) for cohort in hub.cohorts.values()) == [1, 2]

            await db.update("sessions", {"id": "a-run"}, name="Renamed")
            changed = await first.next()
            assert changed == await second.next()
            assert changed["sessions"]["edges"][0]["node"]["name"] == "Renamed"
            assert (await other.next())["sessions"]["edges"][0]["node"]["name"] == "Renamed"
        await gateway.serves_queries()
        assert hub.cohorts == {}  # every subscriber gone: nothing is read any more
        assert hub.per_tenant == {}


async def test_a_tenant_never_receives_what_another_tenant_writes(backend: str, tmp_path: Path) -> None:
    async with (
        live_gateway(backend, tmp_path) as gateway,
        writer(gateway) as db,
        subscriber(gateway, "alpha") as alpha,
        subscriber(gateway, "beta") as beta,
        feed(alpha, LIST, {"first": 10}) as alphas,
        feed(beta, LIST, {"first": 10}) as betas,
        # beta asks for alpha's session by id: null, as the query answers
        feed(beta, DETAIL, {"id": "a-done"}) as probe,
    ):
        await alphas.next()
        beta_first = await betas.next()
        assert [e["node"]["id"] for e in beta_first["sessions"]["edges"]] == ["b-done"]
        assert await probe.next() == {"session": None}

        await db.update("sessions", {"id": "a-done"}, name="Changed by alpha's pipeline")
        await db.update("recordings", {"session_id": "a-done"}, state="ready")
        await db.insert("sessions", f.session("a-new", "alpha", "u-a", started_at=T0 + timedelta(hours=2)))
        # three writes, three commits: a round may fall between them, so alpha may see a state on the way
        seen = [await alphas.next()]
        while seen[-1]["sessions"]["totalCount"] != 3 and len(seen) < 3:
            seen.append(await alphas.next())
        assert seen[-1]["sessions"]["totalCount"] == 3
        await betas.nothing(QUIET)
        await probe.nothing(0)
        await gateway.serves_queries()


async def test_the_client_guides_python_block_runs_as_written(backend: str, tmp_path: Path) -> None:
    (code,) = [b.code for b in page_blocks(DOCS / "clients.md") if b.language == "python" and "subscribe" in b.code]
    (tmp_path / "live.py").write_text(code, encoding="utf-8")
    async with live_gateway(backend, tmp_path) as gateway, writer(gateway) as db:
        env = {
            **os.environ,
            "GATEWAY_URL": f"http://127.0.0.1:{gateway.port}/graphql",
            "GATEWAY_TOKEN": token_for("alpha"),
        }
        client = await asyncio.create_subprocess_exec(
            sys.executable, "live.py", cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE
        )
        assert client.stdout is not None
        query = "query InProgress" + code.split("subscription InProgress", 1)[1].split('""")', 1)[0]
        try:
            # a fresh interpreter imports gql first: a few seconds more for the first line
            first = json.loads(await asyncio.wait_for(client.stdout.readline(), WITHIN + 10))
            assert {"data": first} == await gateway.query(query)
            assert [e["node"]["id"] for e in first["sessions"]["edges"]] == ["a-run"]

            await db.insert("sessions", f.session("a-new", "alpha", "u-a", status="in_progress", started_at=T0))
            second = json.loads(await asyncio.wait_for(client.stdout.readline(), WITHIN))
            assert second["sessions"]["totalCount"] == 2
            assert {"data": second} == await gateway.query(query)
        finally:
            client.kill()
            await client.wait()


async def test_a_running_sessions_duration_is_sent_as_it_changes_once_a_second_not_every_round(
    backend: str, tmp_path: Path
) -> None:
    """``durationSeconds`` grows each second: rounds every 100 ms send it about once a second."""
    loop = asyncio.get_running_loop()
    async with live_gateway(backend, tmp_path) as gateway, subscriber(gateway) as session:
        async with feed(session, 'subscription { session(id: "a-run") { durationSeconds } }') as running:
            durations: list[int] = []
            ends = loop.time() + 2.5
            while (left := ends - loop.time()) > 0:
                try:
                    durations.append((await running.next(within=left))["session"]["durationSeconds"])
                except TimeoutError:
                    break
        # the first result and one a second after it: 25 rounds, 3 events (4 if a second ticked just so)
        assert 2 <= len(durations) <= 4, durations
        assert all(later > earlier for earlier, later in pairwise(durations)), durations
        await gateway.serves_queries()
