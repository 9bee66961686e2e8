"""Work done through the gateway's app in this process: the deep cursor, SQL counts, the floor check.

The app is ``gateway.app.create_app`` with the served gateway's settings, on the same database,
called over HTTP semantics through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

import httpx
from asgi_lifespan import LifespanManager
from scenarios import WALK_QUERY
from sqlalchemy import event

from sessions_gateway.gateway.app import create_app
from sessions_gateway.gateway.config import Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from scenarios import Scenario

WARM_UP_REQUESTS = 2
COUNTED_REQUESTS = 3


class GatewayError(RuntimeError):
    """The gateway answered a benchmark request with errors."""


@contextlib.asynccontextmanager
async def running(env: Mapping[str, str]) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """A client of the app, and the list every SQL statement its engine sends is appended to."""
    app = create_app(Settings.from_env(env))
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    async with LifespanManager(app):
        event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
            yield client, sent


async def post(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
    payload: dict[str, Any] = response.json()
    if response.status_code != 200 or "errors" in payload:  # noqa: PLR2004
        raise GatewayError(f"{body.get('operationName')}: HTTP {response.status_code}: {payload}")
    return payload


async def deep_cursor(env: Mapping[str, str], token: str, rows: int) -> tuple[str, float]:
    """The cursor ``rows`` rows into the default list, walking it 100 at a time; and the seconds it took."""
    started = time.perf_counter()
    after: str | None = None
    async with running(env) as (client, _sent):
        for _ in range(rows // 100):
            body = {"query": WALK_QUERY, "variables": {"after": after}, "operationName": "Walk"}
            info = (await post(client, token, body))["data"]["sessions"]["pageInfo"]
            if not info["hasNextPage"]:
                raise GatewayError(f"the list ends before {rows} rows")
            after = info["endCursor"]
    assert after is not None
    return after, time.perf_counter() - started


async def statements_per_request(
    env: Mapping[str, str], token: str, scenarios: list[Scenario]
) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """SQL statements each scenario's request sends (after warm-up), and each scenario's response."""
    counts: dict[str, float] = {}
    responses: dict[str, dict[str, Any]] = {}
    async with running(env) as (client, sent):
        for scenario in scenarios:
            for _ in range(WARM_UP_REQUESTS):
                await post(client, token, scenario.body())
            sent.clear()
            for _ in range(COUNTED_REQUESTS):
                responses[scenario.name] = await post(client, token, scenario.body())
            counts[scenario.name] = len(sent) / COUNTED_REQUESTS
    return counts, responses


def without_clock(data: Any) -> Any:
    """``data`` without the values that depend on the request's clock.

    Those are ``durationSeconds`` of in-progress sessions and the report's ``totalDurationSeconds``
    and ``totalDurationHours`` (which sum them).
    """
    if isinstance(data, list):
        return [without_clock(item) for item in data]
    if isinstance(data, dict):
        running_now = data.get("status") == "IN_PROGRESS"
        return {
            key: None
            if (key == "durationSeconds" and running_now) or key in {"totalDurationSeconds", "totalDurationHours"}
            else without_clock(value)
            for key, value in data.items()
        }
    return data


async def floor_matches(floor_url: str, token: str, scenario: Scenario, gateway_response: dict[str, Any]) -> str | None:
    """None when the floor's ``data`` equals the gateway's for this scenario, else what differs."""
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.post(
            f"{floor_url}/graphql", json=scenario.body(), headers={"Authorization": f"Bearer {token}"}
        )
    floor = response.json()
    if response.status_code != 200 or "data" not in floor:  # noqa: PLR2004
        return f"HTTP {response.status_code}: {floor}"
    mine, theirs = without_clock(floor["data"]), without_clock(gateway_response["data"])
    if mine == theirs:
        return None
    return first_difference(theirs, mine, "data")


def first_difference(gateway: Any, other: Any, path: str, *, name: str = "floor") -> str:
    """Where ``other`` (the floor's or a peer's answer) first differs from the gateway's."""
    if isinstance(gateway, dict) and isinstance(other, dict):
        if gateway.keys() != other.keys():
            return f"{path}: keys {sorted(gateway)} (gateway) != {sorted(other)} ({name})"
        for key in gateway:
            if gateway[key] != other[key]:
                return first_difference(gateway[key], other[key], f"{path}.{key}", name=name)
    if isinstance(gateway, list) and isinstance(other, list):
        if len(gateway) != len(other):
            return f"{path}: {len(gateway)} items (gateway) != {len(other)} ({name})"
        for index, (a, b) in enumerate(zip(gateway, other, strict=True)):
            if a != b:
                return first_difference(a, b, f"{path}[{index}]", name=name)
    return f"{path}: {gateway!r} (gateway) != {other!r} ({name})"
