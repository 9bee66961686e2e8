"""OpenTelemetry tracing: a span per operation with its SQL under it, nothing secret in them, none when off."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from asgi_lifespan import LifespanManager
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from sessions_gateway.gateway.app import create_app
from tests.conftest import http_client, recording
from tests.helpers import post, token_for

if TYPE_CHECKING:
    from sessions_gateway.gateway.config import Settings

QUERY = """
query Boilers($filter: SessionFilter, $first: Int) {
  sessions(filter: $filter, first: $first) { totalCount edges { node { id name user { id } } } }
}
"""
VARIABLES = {"filter": {"search": "boiler", "userId": "a-ann"}, "first": 7}
SECRETS = ["boiler", "a-ann"]  # the variables' values, as a span would hold them


def sql_text(span: ReadableSpan) -> str | None:
    """The statement a SQL span records (its attribute's name follows ``OTEL_SEMCONV_STABILITY_OPT_IN``)."""
    attributes = span.attributes or {}
    text = attributes.get("db.statement", attributes.get("db.query.text"))
    return None if text is None else str(text)


async def run_once(settings: Settings, token: str) -> tuple[list[ReadableSpan], list[str]]:
    """QUERY, once, through an app built with ``settings``: the spans it made and the reads it sent."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    application = create_app(settings, tracer_provider=provider)
    async with LifespanManager(application), http_client(application) as http:
        exporter.clear()  # the start-up check's statements
        with recording(application) as sent:
            response = await post(http, QUERY, VARIABLES, token=token)
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    assert body["data"]["sessions"]["totalCount"] > 0, "the filter is chosen to match something"
    return list(exporter.get_finished_spans()), sent


@pytest.mark.parametrize("compiled_plans", [True, False], ids=["compiled", "executor"])
async def test_an_operation_span_holds_one_span_per_statement_and_no_token_or_variable(
    settings: Settings,
    compiled_plans: bool,  # noqa: FBT001
) -> None:
    # given
    token = token_for("alpha")

    # when
    spans, sent = await run_once(dataclasses.replace(settings, tracing=True, compiled_plans=compiled_plans), token)

    # then
    [operation] = [s for s in spans if s.kind is SpanKind.SERVER]
    assert operation.name == "GraphQL Query: Boilers"
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.name"] == "Boilers"
    assert operation.parent is None
    statements = [s for s in spans if sql_text(s) is not None]
    assert sorted(str(sql_text(s)) for s in statements) == sorted(sent)
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    for span in statements:
        assert span.kind is SpanKind.CLIENT
        ancestor = span
        while ancestor.parent is not None:
            ancestor = by_id[ancestor.parent.span_id]
        assert ancestor is operation, f"{span.name} is not under the operation's span"
    recorded = [f"{s.name} {dict(s.attributes or {})}" for s in spans]
    for secret in [token, *SECRETS]:
        assert not [r for r in recorded if secret in r], secret


async def test_tracing_is_off_by_default(settings: Settings) -> None:
    # when: a provider is handed in, but the settings do not turn tracing on
    spans, sent = await run_once(settings, token_for("alpha"))

    # then
    assert sent
    assert spans == []


def test_with_tracing_off_opentelemetry_is_never_imported() -> None:
    program = (
        "import sys; from sessions_gateway.gateway.app import create_app; "
        "from sessions_gateway.gateway.config import Settings; "
        "create_app(Settings(jwt_secret='x' * 32)); "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)  # noqa: S603
    assert done.stdout.strip() == "[]", done.stderr
