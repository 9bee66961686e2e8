"""Operators' view: Prometheus metrics at /metrics, and one JSON log line per request."""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from sessions_gateway.gateway import observability
from tests.conftest import TEST_REQUEST_ID
from tests.dataset import ALPHA
from tests.helpers import token_for
from tests.readme import text_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx
    from starlette.applications import Starlette

LIST = "query Dashboard { sessions(first: 3) { totalCount edges { node { id user { displayName } } } } }"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def ask(
    client: httpx.AsyncClient, query: str, *, token: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    sent = {"Authorization": f"Bearer {token or token_for(ALPHA)}", **(headers or {})}
    return await client.post("/graphql", json={"query": query}, headers=sent)


@pytest.fixture
def all_statements(app: Starlette) -> Iterator[list[str]]:
    """Every statement the app sends through SQLAlchemy (the tenant setting goes to the driver straight)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(app.state.engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="gateway.access")
    return caplog


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "gateway.access"]


async def test_metrics_count_requests_by_operation_and_outcome_and_their_statements(
    client: httpx.AsyncClient, all_statements: list[str]
) -> None:
    before = {
        "ok": sample("gateway_requests_total", operation="Dashboard", outcome="ok"),
        "bad": sample("gateway_requests_total", operation="Dashboard", outcome="BAD_USER_INPUT"),
        "denied": sample("gateway_requests_total", operation="anonymous", outcome="UNAUTHENTICATED"),
        "latency": sample("gateway_request_duration_seconds_count", operation="Dashboard"),
        "statements": sample("gateway_sql_statements_per_request_sum"),
    }
    assert (await ask(client, LIST)).status_code == 200
    statements = len(all_statements)
    await ask(client, LIST.replace("first: 3", 'first: 3, after: "nope"'))
    await client.post("/graphql", json={"query": LIST})  # no token
    assert sample("gateway_requests_total", operation="Dashboard", outcome="ok") == before["ok"] + 1
    assert sample("gateway_requests_total", operation="Dashboard", outcome="BAD_USER_INPUT") == before["bad"] + 1
    assert sample("gateway_requests_total", operation="anonymous", outcome="UNAUTHENTICATED") == before["denied"] + 1
    assert sample("gateway_request_duration_seconds_count", operation="Dashboard") == before["latency"] + 2
    assert statements == 1  # the page with its count and users: one statement
    assert sample("gateway_sql_statements_per_request_sum") == before["statements"] + statements


async def test_metrics_are_served_in_prometheus_text_format(client: httpx.AsyncClient) -> None:
    await ask(client, LIST)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "gateway_requests",
        "gateway_request_duration_seconds",
        "gateway_sql_statements_per_request",
        "gateway_db_connections_in_use",
    } <= names


async def test_connections_in_use_follow_the_pool(app: Starlette) -> None:
    before = sample("gateway_db_connections_in_use")
    async with app.state.engine.connect():
        assert sample("gateway_db_connections_in_use") == before + 1
    assert sample("gateway_db_connections_in_use") == before


def test_operation_labels_are_bounded_in_form_and_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observability, "_seen_operations", set())
    monkeypatch.setattr(observability, "MAX_OPERATION_NAMES", 2)
    assert observability.operation_label(None) == "anonymous"
    assert observability.operation_label("x" * 65) == "other"
    assert observability.operation_label("not a name") == "other"
    assert [observability.operation_label(n) for n in ("A", "B", "C", "A")] == ["A", "B", "other", "A"]


async def test_one_json_line_per_request_with_its_id_tenant_operation_and_statements(
    client: httpx.AsyncClient, access: pytest.LogCaptureFixture, all_statements: list[str]
) -> None:
    token = token_for(ALPHA)
    response = await ask(client, LIST, token=token)
    [line] = lines(access)
    assert line == {
        "request_id": response.headers["x-request-id"],
        "tenant": ALPHA,
        "operation": "Dashboard",
        "duration_ms": line["duration_ms"],
        "sql_statements": len(all_statements),
        "outcome": "ok",
        "status": 200,
    }
    assert 0 < line["duration_ms"] < 10_000
    assert token not in access.text
    # the operators' page's example line has these fields, in this order
    [shown] = re.findall(r"`(\{\"request_id\".*?\})`", text_of("docs/operations.md"))
    assert list(json.loads(shown)) == list(line)


async def test_a_callers_request_id_is_kept_and_a_malformed_one_replaced(
    client: httpx.AsyncClient, access: pytest.LogCaptureFixture
) -> None:
    kept = await ask(client, LIST, headers={"X-Request-Id": "lb-7f3a.1"})
    replaced = await ask(client, LIST, headers={"X-Request-Id": "bad id\nwith a newline"})
    assert kept.headers["x-request-id"] == "lb-7f3a.1"
    assert replaced.headers["x-request-id"] != "bad id\nwith a newline"
    assert len(replaced.headers["x-request-id"]) == 32
    assert [line["request_id"] for line in lines(access)] == ["lb-7f3a.1", replaced.headers["x-request-id"]]


async def test_a_refused_request_is_logged_with_its_code_and_no_tenant(
    client: httpx.AsyncClient, access: pytest.LogCaptureFixture
) -> None:
    response = await ask(client, LIST, token="not.a.jwt")
    [line] = lines(access)
    assert response.status_code == 401
    assert line["outcome"] == "UNAUTHENTICATED"
    assert line["tenant"] is None
    assert line["status"] == 401
    assert line["sql_statements"] == 0


@pytest.mark.parametrize(
    ("query", "token"),
    [(LIST, None), ('{ session(id: "a b") { id } }', None), (LIST, "not.a.jwt")],
    ids=["answer", "error", "refused"],
)
async def test_every_answer_carries_its_request_id_in_its_extensions(
    client: httpx.AsyncClient, query: str, token: str | None
) -> None:
    response = await ask(client, query, token=token)
    assert response.json()["extensions"] == {"requestId": response.headers["x-request-id"]}
    assert response.headers["x-request-id"] == TEST_REQUEST_ID  # the test client's own (tests/conftest.py)
