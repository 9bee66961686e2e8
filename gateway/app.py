"""The Starlette application: ``/graphql``, ``/healthz`` and ``/readyz``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import TYPE_CHECKING

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from sessions_gateway.db.engine import INIT_DB_COMMAND, make_engine, missing_objects, row_security_gaps
from sessions_gateway.db.reader import close_driver_pool
from sessions_gateway.gateway.config import Settings
from sessions_gateway.gateway.graphiql import graphiql_routes
from sessions_gateway.gateway.live import LiveHub
from sessions_gateway.gateway.observability import OperationNames, metrics_routes, observe_engine
from sessions_gateway.gateway.readiness import Canary
from sessions_gateway.gateway.view import GraphQLView
from sessions_gateway.schema.build import build_schema

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from opentelemetry.trace import TracerProvider
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.requests import Request

logger = logging.getLogger("gateway.app")
READY_TIMEOUT_SECONDS = 2.0
# A serving process's collector thresholds (CPython's are 700, 10, 10). A live worker wakes each
# subscriber once a round, and what each wake makes (its coroutine, its future) lives until the next:
# at CPython's, the young collections promoted every round's 10,000 of them, which set off a full
# collection of the whole heap (a half-second pause, nothing collected) every two or three rounds.
# Young collections every 50,000 allocations, and the middle one every 50 of them, leave such
# objects to die young; a full collection still follows the middle's tenth, as CPython's does.
SERVING_GC_THRESHOLDS = (50_000, 50, 10)


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """200 only while the database answers and the tenant-setting canary holds.

    ``{"status": "ready", "missing": [...], "canary": "passed"}``: the gateway's own objects the
    database lacks (``db/engine.py`` ``missing_objects``: empty when ``init-db`` has added them all),
    and the canary's result (``passed``, or ``skipped: <why>``). Else 503 ``{"status": "unavailable"}``,
    with ``"reason"`` when the canary failed (``gateway/readiness.py``).
    """
    engine = request.app.state.engine
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            if request.app.state.missing is None:  # the database was away at start: ask once now
                request.app.state.missing = await _check_objects(engine)
            canary = await request.app.state.canary.check()
    except Exception:
        logger.warning("readiness check failed", exc_info=True)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    if not canary.ready:
        return JSONResponse({"status": "unavailable", "reason": canary.reason}, status_code=503)
    return JSONResponse({"status": "ready", "missing": request.app.state.missing, "canary": str(canary)})


async def _check_objects(engine: AsyncEngine) -> list[str]:
    """What the database lacks of the gateway's own objects, said once in the log."""
    missing = await missing_objects(engine)
    if missing:
        logger.warning(
            "the database lacks the gateway's own objects: %s; every query still answers, but lists are "
            "read without their indexes, DURATION_DESC computes its key inline, and no row-level security "
            "backs the tenant filter: run `%s` as the tables' owner to add them",
            ", ".join(missing),
            INIT_DB_COMMAND,
        )
    return missing


async def _objects_at_start(engine: AsyncEngine) -> list[str] | None:
    """``_check_objects`` at start; ``None`` when the database does not answer (``/readyz`` asks later)."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            return await _check_objects(engine)
    except Exception:
        logger.warning("could not check the database's objects at start", exc_info=True)
        return None


def _warn_if_media_keys_stay_bare(settings: Settings) -> None:
    if settings.media.base_url is None:
        logger.warning(
            "GATEWAY_MEDIA_BASE_URL is not set: recordings, thumbnails and procedure videos stored as "
            "object keys are returned as bare keys, which a client cannot open"
        )


async def _warn_if_row_security_is_off(engine: AsyncEngine) -> None:
    """Say so at start when PostgreSQL's second wall does not stand (the gateway still serves)."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            gaps = await row_security_gaps(engine)
    except Exception:  # the database may be away at start: /readyz tells, and the gateway recovers
        logger.warning("could not check row-level security at start", exc_info=True)
        return
    if gaps:
        logger.warning(
            "row-level security does not protect this gateway's reads: %s; every statement still filters "
            "on tenant_id, but connect as a role that owns nothing and may only SELECT "
            "(init-db --grant-select-to ROLE)",
            "; ".join(gaps),
        )


def create_app(
    settings: Settings, *, tracer_provider: TracerProvider | None = None, freeze_heap: bool = False
) -> Starlette:
    """The gateway; with ``settings.tracing``, ``tracer_provider`` replaces the one built from ``OTEL_*``.

    ``freeze_heap`` (a serving process's own app): once started, every object alive then (modules,
    the schema, plans, the pools) is left out of the garbage collector's passes (``gc.freeze``),
    so a full collection under load walks what requests made, not the whole process: shorter
    pauses, a lower p99; and the collector runs at ``SERVING_GC_THRESHOLDS``.
    """
    settings.check()
    tracing = None
    if settings.tracing:
        # Only here: with tracing off, opentelemetry (the ``tracing`` extra) is never imported.
        from sessions_gateway.gateway.tracing import Tracing  # noqa: PLC0415

        tracing = Tracing.start(tracer_provider)
    schema = build_schema(
        settings.limits,
        compiled_plans=settings.compiled_plans,
        introspection=settings.introspection,
        tracing=None if tracing is None else tracing.extension,
        observers=[OperationNames],
    )
    view = GraphQLView(schema, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.engine = make_engine(
            settings.database_url,
            statement_timeout_ms=settings.statement_timeout_ms,
            pool_size=settings.pool_size,
            pool_timeout_ms=settings.pool_timeout_ms,
            lone_statements=not settings.db_transaction_pooler,
        )
        observe_engine(app.state.engine)
        if tracing is not None:
            tracing.instrument(app.state.engine)
        await _warn_if_row_security_is_off(app.state.engine)
        app.state.missing = await _objects_at_start(app.state.engine)
        app.state.canary = Canary(app.state.engine)
        app.state.live = LiveHub(schema, app.state.engine, settings, app.state.canary)
        await app.state.canary.at_start()
        await app.state.live.start()
        _warn_if_media_keys_stay_bare(settings)
        if freeze_heap:
            gc.collect()
            gc.freeze()
            gc.set_threshold(*SERVING_GC_THRESHOLDS)
        try:
            yield
        finally:
            await app.state.live.close()
            await close_driver_pool(app.state.engine)
            await app.state.engine.dispose()
            if tracing is not None:
                tracing.stop()

    return Starlette(
        routes=[
            Route("/graphql", view),
            WebSocketRoute("/graphql", view),  # live subscriptions (graphql-transport-ws)
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *metrics_routes(settings),
            *graphiql_routes(settings),
        ],
        middleware=[
            # Browsers on the configured origins only (none by default): others get no CORS headers.
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_origin_regex=settings.cors_origin_regex,  # demo only: this machine's origins
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=600,
            ),
        ],
        lifespan=lifespan,
    )


def app_from_env() -> Starlette:
    """The app for ``serve``: settings from ``GATEWAY_*`` (uvicorn's factory, once per worker)."""
    return create_app(Settings.from_env(), freeze_heap=True)
