"""What operators see: Prometheus metrics, and one JSON log line per request.

Metrics (``/metrics``, prometheus-client's default registry; with several workers, in
prometheus-client's multiprocess mode, see ``gateway/cli.py``). On the API's port by default;
with ``GATEWAY_METRICS_PORT``, on that port only, served by prometheus-client's own server:

* ``gateway_requests_total{operation, outcome}``: outcome ``ok`` or the first error's code;
* ``gateway_request_duration_seconds{operation}``;
* ``gateway_sql_statements_per_request``;
* ``gateway_db_connections_in_use``;
* ``gateway_live_connections``, ``gateway_live_subscriptions``: open now (every worker's, summed);
* ``gateway_live_refetch_statements``: per round of live refetches, the statements it sent;
* ``gateway_live_messages_total``: live results sent to subscribers;
* ``gateway_live_listening``: workers listening for ``db/live_notify.sql``'s notices.

Operation names come from clients: a name that is not a GraphQL name, or one past the first
``MAX_OPERATION_NAMES`` a worker has seen, is counted as ``other`` so that no client can grow the
metrics without bound. Tenants are not a label (they would be, by the same argument).

The log line (logger ``gateway.access``, INFO) holds the request id, tenant, operation, duration,
SQL statement count, outcome and HTTP status: never a token, never a query's variables.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import tempfile
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.registry import REGISTRY, CollectorRegistry
from sqlalchemy import event
from starlette.responses import Response
from starlette.routing import Route
from strawberry.extensions import SchemaExtension

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.requests import Request

    from sessions_gateway.gateway.config import Settings

access_log = logging.getLogger("gateway.access")

REQUESTS = Counter("gateway_requests", "GraphQL requests answered, by operation and outcome", ["operation", "outcome"])
DURATION = Histogram(
    "gateway_request_duration_seconds",
    "Time to answer a GraphQL request, by operation",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
STATEMENTS = Histogram(
    "gateway_sql_statements_per_request",
    "SQL statements one GraphQL request sent",
    buckets=(0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 15, 20),
)
IN_USE = Gauge("gateway_db_connections_in_use", "Database connections taken from the pool", multiprocess_mode="livesum")
LIVE_CONNECTIONS = Gauge("gateway_live_connections", "Live WebSocket connections open", multiprocess_mode="livesum")
LIVE_SUBSCRIPTIONS = Gauge("gateway_live_subscriptions", "Live subscriptions running", multiprocess_mode="livesum")
LIVE_LISTENING = Gauge(
    "gateway_live_listening",
    "Workers listening for db/live_notify.sql's notices (0: every worker polls)",
    multiprocess_mode="livesum",
)
LIVE_STATEMENTS = Histogram(
    "gateway_live_refetch_statements",
    "SQL statements one round of live refetches sent (an interval's, a notice's, a new subscription's first)",
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
LIVE_MESSAGES = Counter("gateway_live_messages", "Live results sent to subscribers")

MAX_OPERATION_NAMES = 200
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_REQUEST_ID = re.compile(r"[0-9A-Za-z._-]{1,64}")
_seen_operations: set[str] = set()


def operation_label(name: str | None) -> str:
    """``name`` as a metrics label: bounded in length, in form and in number."""
    if name is None:
        return "anonymous"
    if not _NAME.fullmatch(name):
        return "other"
    if name not in _seen_operations:
        if len(_seen_operations) >= MAX_OPERATION_NAMES:
            return "other"
        _seen_operations.add(name)
    return name


def request_id_for(request: Request) -> str:
    """The caller's ``X-Request-Id`` when it is a plain token, else a new one.

    A new one is 32 hex digits, as a UUID's: this process's random half, then its count of requests
    (unique in this process, and across processes but by a 1 in 2^64 chance).
    """
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.fullmatch(given) else f"{_PROCESS_ID}{next(_REQUESTS):016x}"


_PROCESS_ID = os.urandom(8).hex()
_REQUESTS = itertools.count(1)


def _new_process() -> None:
    """A forked worker counts under a random half of its own."""
    global _PROCESS_ID, _REQUESTS
    _PROCESS_ID, _REQUESTS = os.urandom(8).hex(), itertools.count(1)


os.register_at_fork(after_in_child=_new_process)


@dataclass(slots=True)
class RequestRecord:
    """What one request did, filled in as it runs."""

    request_id: str
    started: float = field(default_factory=time.perf_counter)
    tenant: str | None = None
    operation: str | None = None
    outcome: str = "ok"
    statements: int = 0


current: ContextVar[RequestRecord | None] = ContextVar("gateway_request", default=None)


def finish(record: RequestRecord, status: int) -> None:
    """Count the request in the metrics and write its log line."""
    seconds = time.perf_counter() - record.started
    label = operation_label(record.operation)
    REQUESTS.labels(label, record.outcome).inc()
    DURATION.labels(label).observe(seconds)
    STATEMENTS.observe(record.statements)
    if access_log.isEnabledFor(logging.INFO):
        line = {
            "request_id": record.request_id,
            "tenant": record.tenant,
            "operation": record.operation,
            "duration_ms": round(seconds * 1000, 2),
            "sql_statements": record.statements,
            "outcome": record.outcome,
            "status": status,
        }
        access_log.info(orjson.dumps(line).decode())


def observe_engine(engine: AsyncEngine) -> None:
    """Count each request's statements, and the connections taken from the pool."""

    def statement(*_args: Any) -> None:
        record = current.get()
        if record is not None:
            record.statements += 1

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(engine.sync_engine.pool, "checkout", lambda *_: IN_USE.inc())
    event.listen(engine.sync_engine.pool, "checkin", lambda *_: IN_USE.dec())


def metrics_registry() -> CollectorRegistry:
    """The default registry, or in multiprocess mode one that reads every worker's files."""
    if prometheus_multiprocess_dir() is None:
        return REGISTRY
    registry = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def prometheus_multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


async def metrics(_request: Request) -> Response:
    return Response(generate_latest(metrics_registry()), media_type=CONTENT_TYPE_LATEST)


def metrics_routes(settings: Settings) -> list[Route]:
    """``/metrics`` on the API's port, unless it has a port of its own (``serve_metrics``)."""
    if settings.metrics_port is not None:
        return []
    return [Route("/metrics", metrics, methods=["GET"])]


def serve_metrics(settings: Settings) -> None:
    """``/metrics`` on ``metrics_host:metrics_port``, when set, from a thread of this process.

    Called once, in the process that starts uvicorn and before its workers: with several, it
    reads every worker's files (prometheus-client's multiprocess mode), as its documentation
    has it; with one, the worker is this process.
    """
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=metrics_registry())


def log_config(*, access_log: bool = True) -> dict[str, Any]:
    """Uvicorn's logging configuration, plus the gateway's.

    The gateway's warnings go to stderr as uvicorn's do; each request's JSON line goes to stdout
    as it is, with no prefix, so that a log shipper reads it whole.
    """
    from uvicorn.config import LOGGING_CONFIG  # noqa: PLC0415

    config: dict[str, Any] = {
        **LOGGING_CONFIG,
        "formatters": {**LOGGING_CONFIG["formatters"], "line": {"format": "%(message)s"}},
        "handlers": {
            **LOGGING_CONFIG["handlers"],
            "access_lines": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            **LOGGING_CONFIG["loggers"],
            "gateway": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "gateway.access": {
                "handlers": ["access_lines"],
                "level": "INFO" if access_log else "WARNING",
                "propagate": False,
            },
        },
    }
    return config


def share_metrics_between_workers(workers: int) -> None:
    """With several workers, prometheus-client's multiprocess mode, in a fresh folder of its own.

    Set before the workers start (they inherit it), so that /metrics, whichever worker answers,
    sums them all. ``PROMETHEUS_MULTIPROC_DIR`` set by the operator is kept.
    """
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sessions-gateway-metrics-")


class OperationNames(SchemaExtension):
    """Tells the request's record which operation runs (added to the schema by ``gateway/app.py``).

    The name a client sent, or else the one of the document's single operation, as Strawberry
    resolved it.
    """

    def on_execute(self) -> Iterator[None]:
        record = current.get()
        if record is not None:
            record.operation = self.execution_context.operation_name
        yield
