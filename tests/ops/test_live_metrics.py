"""Live subscriptions in /metrics: connections and subscriptions open, refetch statements, results sent."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests import factories as f
from tests.live import T0, feed, live_gateway, subscriber, writer

if TYPE_CHECKING:
    from pathlib import Path

    from tests.live import Gateway

LIST = "subscription { sessions(first: 10) { totalCount edges { node { id } } } }"
DETAIL = 'subscription { session(id: "a-done") { name } }'


async def scrape(gateway: Gateway) -> dict[str, float]:
    """/metrics' live samples, by name."""
    async with httpx.AsyncClient(base_url=gateway.http_url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name.startswith("gateway_live_") and not sample.labels.get("le")
    }


async def moved(gateway: Gateway, before: dict[str, float], expected: dict[str, float]) -> None:
    """/metrics shows ``expected`` changes from ``before`` (waiting a little for the server to count them)."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + 3.0
    while True:
        now = await scrape(gateway)
        changes = {name: now.get(name, 0.0) - before.get(name, 0.0) for name in expected}
        if changes == expected or loop.time() > ends:
            break
        await asyncio.sleep(0.05)
    assert changes == expected


async def test_live_metrics_move_with_connections_subscriptions_reads_and_results(backend: str, tmp_path: Path) -> None:
    async with live_gateway(backend, tmp_path) as gateway, writer(gateway) as db:
        before = await scrape(gateway)

        async with subscriber(gateway) as one, subscriber(gateway) as two:
            async with feed(one, LIST) as first, feed(two, LIST) as second, feed(two, DETAIL) as detail:
                for watching in (first, second, detail):
                    await watching.next()
                await moved(
                    gateway,
                    before,
                    {
                        "gateway_live_connections": 2,
                        "gateway_live_subscriptions": 3,
                        "gateway_live_messages_total": 3,
                    },
                )
                rounds = await scrape(gateway)
                assert rounds["gateway_live_refetch_statements_count"] > before.get(
                    "gateway_live_refetch_statements_count", 0.0
                )
                assert rounds["gateway_live_refetch_statements_sum"] > before.get(
                    "gateway_live_refetch_statements_sum", 0.0
                )

                # a write the list shows, not the detail: one result to each of the list's two subscribers
                await db.insert("sessions", f.session("a-new", "alpha", "u-a", started_at=T0 + timedelta(hours=1)))
                await first.next()
                await second.next()
                await moved(gateway, rounds, {"gateway_live_messages_total": 2, "gateway_live_subscriptions": 0})
            await moved(gateway, before, {"gateway_live_connections": 2, "gateway_live_subscriptions": 0})
        await moved(gateway, before, {"gateway_live_connections": 0, "gateway_live_subscriptions": 0})
        after = await scrape(gateway)
        # the rounds' statements: each round a few per cohort read, many rounds since
        assert after["gateway_live_refetch_statements_sum"] > rounds["gateway_live_refetch_statements_sum"]
        assert after["gateway_live_listening"] == before.get("gateway_live_listening", 0.0)  # no triggers: polling
