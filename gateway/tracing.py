"""OpenTelemetry tracing, on with ``GATEWAY_TRACING``: a span per GraphQL operation, one per SQL statement.

Only ``gateway.app`` imports this module, and only when tracing is on: without it the gateway never
loads ``opentelemetry`` (the ``tracing`` extra). Spans carry the operation's name, resolver paths and
SQL text with its placeholders; never the query text (it may hold literal arguments), a resolver's
arguments, a variable, a bound parameter or a token.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind
from strawberry.extensions import LifecycleStep
from strawberry.extensions.tracing import OpenTelemetryExtension

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from graphql import GraphQLResolveInfo
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("gateway.tracing")

SERVICE = "sessions-gateway"
# opentelemetry-exporter-otlp is the operator's to install; without it spans are made and dropped.
OTLP_EXPORTER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


class OperationSpans(OpenTelemetryExtension):
    """Strawberry's OpenTelemetry extension, minus what a span must not carry.

    Upstream records the whole query text and every resolver's arguments (variables' values). This
    one names the operation and makes its span current, so the SQL statements nest under it.
    """

    def on_operation(self) -> Generator[None, None, None]:
        span = self._tracer.start_span("GraphQL Query", kind=SpanKind.SERVER)
        span.set_attribute("component", "graphql")
        self._span_holder[LifecycleStep.OPERATION] = span
        with trace.use_span(span, end_on_exit=True):
            yield
            # Known once the document is parsed when the request does not name it.
            name = self.execution_context.operation_name
            if name:
                span.update_name(f"GraphQL Query: {name}")
                span.set_attribute("graphql.operation.name", name)

    def filter_resolver_args(self, args: dict[str, Any], info: GraphQLResolveInfo[Any]) -> dict[str, Any]:
        return {}


def provider_from_env() -> TracerProvider:
    """Spans of ``sessions-gateway`` (or ``OTEL_SERVICE_NAME``), sent where ``OTEL_EXPORTER_OTLP_*`` say."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or SERVICE}))
    try:
        exporter: Any = importlib.import_module(OTLP_EXPORTER).OTLPSpanExporter()
    except ImportError:
        logger.warning("GATEWAY_TRACING is on but opentelemetry-exporter-otlp is not installed: spans are dropped")
    else:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


@dataclass(frozen=True, slots=True)
class Tracing:
    """One app's tracing: the schema's extension, and the engine's instrumentation for its lifespan."""

    provider: trace.TracerProvider
    # Built here (not handed in): flushed and shut down with the app.
    owned: bool = False

    @classmethod
    def start(cls, provider: trace.TracerProvider | None = None) -> Tracing:
        return cls(provider, owned=False) if provider is not None else cls(provider_from_env(), owned=True)

    @property
    def extension(self) -> Callable[[], OperationSpans]:
        return partial(OperationSpans, tracer_provider=self.provider)

    def instrument(self, engine: AsyncEngine) -> None:
        """A span per statement: its SQL text, never its parameters (the instrumentation records none).

        The instrumentor is one per process: a second app's call, before the first app's ``stop``,
        does nothing. SQLAlchemy 2.1 is past its declared range (< 2.1) but keeps the events it uses.
        """
        SQLAlchemyInstrumentor().instrument(
            engine=engine.sync_engine, tracer_provider=self.provider, skip_dep_check=True
        )

    def stop(self) -> None:
        SQLAlchemyInstrumentor().uninstrument()
        if self.owned and isinstance(self.provider, TracerProvider):
            self.provider.shutdown()
