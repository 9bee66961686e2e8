"""The ``/graphql`` endpoint: Strawberry's ASGI view, behind bearer-token authentication."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import orjson
from cross_web import HTTPException
from graphql import GraphQLError, OperationDefinitionNode
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import ParserCache
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from sessions_gateway.gateway.auth import VerifiedTokens, authenticate
from sessions_gateway.gateway.budget import (
    TIMED_OUT_MESSAGE,
    ClientDisconnected,
    ClientWatch,
    ReportsBusy,
    ReportSlots,
    RequestTimedOut,
    current_task,
    reports_busy_message,
    selects_report,
)
from sessions_gateway.gateway.context import Context
from sessions_gateway.gateway.errors import UNAVAILABLE_MESSAGE, ErrorCode, Unauthenticated, code_in_place
from sessions_gateway.gateway.live import (
    TOO_MANY_CONNECTIONS_CLOSE_CODE,
    LiveProtocol,
    TextWebSocket,
    too_many_connections_reason,
)
from sessions_gateway.gateway.observability import LIVE_CONNECTIONS, RequestRecord, current, finish, request_id_for
from sessions_gateway.gateway.persisted import PersistedQueries, PersistedQueryError, load_registered
from sessions_gateway.gateway.readiness import CANARY_TTL_SECONDS
from sessions_gateway.gateway.responses import error_response
from sessions_gateway.schema import compiled
from sessions_gateway.schema.build import CACHE_SIZE
from sessions_gateway.schema.compiled import ONE_STATEMENT_ROOTS, KnownOperations
from sessions_gateway.schema.extensions import log_path, plans_log
from sessions_gateway.schema.live import LiveConnection

if TYPE_CHECKING:
    from cross_web import AsyncHTTPRequestAdapter
    from starlette.types import Message, Receive, Scope, Send
    from strawberry.http import GraphQLHTTPResponse
    from strawberry.http.base import BaseRequestProtocol
    from strawberry.types import ExecutionResult

    from sessions_gateway.gateway.config import Settings
    from sessions_gateway.gateway.live import LiveHub
    from sessions_gateway.gateway.readiness import Canary


logger = logging.getLogger("gateway.view")


class BodyTooLarge(Exception):
    """The request body went past the configured limit while it was being read."""


def _bounded(receive: Receive, limit: int) -> Receive:
    """``receive`` that stops reading a request body once it passes ``limit`` bytes."""
    seen = 0

    async def bounded() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return bounded


# What each member of a request may hold (GraphQL over HTTP): anything else is the client's mistake.
_MEMBERS = (
    ("query", str, "a string"),
    ("operationName", str, "a string"),
    ("variables", dict, "an object"),
    ("extensions", dict, "an object"),
)
# graphql-core's words, which its executor says only when asked to choose with no name: Strawberry
# picks the first operation by itself instead.
MULTIPLE_OPERATIONS = "Must provide operation name if query contains multiple operations."
# Every answer may hold one tenant's data, chosen by the Authorization header: no shared cache keeps it.
ANSWER_HEADERS = {"Cache-Control": "private, no-store"}


def operation_request(data: object) -> GraphQLRequestData:
    """One operation's request from a decoded body or query string, each member of the right type."""
    if not isinstance(data, dict):
        raise HTTPException(400, "The request must be a JSON object with a `query` member.")
    for member, kind, name in _MEMBERS:
        value = data.get(member)
        if value is not None and not isinstance(value, kind):
            raise HTTPException(400, f"The GraphQL operation's `{member}` must be {name} or null, if provided.")
    return GraphQLRequestData(
        query=data.get("query"),
        variables=data.get("variables"),
        operation_name=data.get("operationName"),
        extensions=data.get("extensions"),
    )


async def _json_request(request: Request) -> tuple[str, str | None, dict[str, Any] | None] | None:
    """The members of a JSON body as ``_plain_request`` takes them, or ``None``."""
    if "application/json" not in request.headers.get("content-type", ""):
        return None
    try:
        return _plain_request(orjson.loads(await request.body()))
    except orjson.JSONDecodeError:
        return None


def _plain_request(data: object) -> tuple[str, str | None, dict[str, Any] | None] | None:
    """A body's ``query``, ``operationName`` and ``variables``, well typed, and no ``extensions``; else ``None``."""
    if type(data) is not dict or data.get("extensions") is not None:
        return None
    query, operation_name, variables = data.get("query"), data.get("operationName"), data.get("variables")
    if type(query) is not str or (operation_name is not None and type(operation_name) is not str):
        return None
    if variables is not None and type(variables) is not dict:
        return None
    return query, operation_name, variables


def _is_batch(body: bytes) -> bool:
    """A JSON array of operation objects (``[{"query": ...}, ...]``): a batch, not a request."""
    stripped = body.lstrip()
    return stripped[:1] == b"[" and stripped[1:].lstrip()[:1] == b"{"


class GraphQLView(GraphQL[Context, None]):
    """Every request but GraphiQL's page needs a valid bearer token; its tenant scopes the context.

    A WebSocket on the same path speaks graphql-transport-ws (live subscriptions, ``gateway/live.py``):
    its token comes in ``connection_init``'s payload, and its tenant is fixed from then on.
    """

    graphql_transport_ws_handler_class = LiveProtocol  # type: ignore[assignment]
    websocket_adapter_class = TextWebSocket

    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(milliseconds=settings.ws_init_timeout_ms),
            # Counted per live subscription, with a coded error (gateway/live.py), not per operation.
            max_subscriptions_per_connection=None,
            allowed_origins=settings.cors_origins,
        )
        self.settings = settings
        self.cursor_key = settings.cursor_key
        folder = settings.persisted_queries_dir
        self.persisted = PersistedQueries(
            load_registered(folder) if folder is not None else {}, only_registered=settings.persisted_queries_only
        )
        # The schema's own parse cache (``CachedParser``, same size, same token limit): a document
        # parsed here to choose its operation is not parsed again.
        self.parse = partial(
            ParserCache(maxsize=CACHE_SIZE).cached_parse_document, max_tokens=settings.limits.max_tokens
        )
        self.reports = ReportSlots(settings.max_concurrent_reports)
        self.tokens = VerifiedTokens()
        plans = getattr(schema, "plans", None)
        # Persisted-only servers check each request's hash, traced ones make an operation span: both
        # need Strawberry's machinery for every request.
        self.known = (
            KnownOperations(plans, CACHE_SIZE)
            if plans is not None and not settings.persisted_queries_only and not settings.tracing
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._serve_websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        async with ClientWatch(receive) as client:
            request = Request(scope, _bounded(client.receive, self.settings.limits.max_body_bytes))
            request.state.client = client
            response = await self._respond(request)
        if not client.gone:  # nobody to answer
            await response(scope, receive, send)

    async def _serve_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A live connection, within the worker's ``GATEWAY_LIVE_MAX_CONNECTIONS``; else closed with 1013."""
        websocket = WebSocket(scope, receive=receive, send=send)
        live: LiveHub = websocket.app.state.live
        limit = self.settings.live_max_connections
        if live.connections >= limit:
            offered = GRAPHQL_TRANSPORT_WS_PROTOCOL in websocket.scope.get("subprotocols", ())
            await websocket.accept(subprotocol=GRAPHQL_TRANSPORT_WS_PROTOCOL if offered else None)
            await websocket.close(code=TOO_MANY_CONNECTIONS_CLOSE_CODE, reason=too_many_connections_reason(limit))
            return
        live.connections += 1
        LIVE_CONNECTIONS.inc()
        try:
            await self.run(websocket)
        finally:
            live.connections -= 1
            LIVE_CONNECTIONS.dec()

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """A page on another origin: those of ``GATEWAY_CORS_ORIGINS``, and the demo's own (as for CORS)."""
        pattern = self.settings.cors_origin_regex
        return super().is_websocket_origin_allowed(request, origin) or (
            pattern is not None and re.fullmatch(pattern, origin) is not None
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """``connection_init``: its payload's ``Authorization`` fixes the connection's tenant, or it closes (4403)."""
        connection = cast("LiveConnection", context)
        authorization = connection.connection_params.get("Authorization")
        try:
            claims = authenticate(authorization if isinstance(authorization, str) else None, self.settings, self.tokens)
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"message": str(exc)}) from exc
        if claims.expires_at is not None and claims.expires_at <= time.time():
            raise ConnectionRejectionError({"message": "Token expired."})
        connection.tenant_id = claims.tenant_id
        connection.expires_at = claims.expires_at
        acknowledged: UnsetType = UNSET  # connection_ack with no payload
        return acknowledged

    async def render_graphql_ide(self, request: Request) -> Response:
        # GraphiQL from this server's own files, not Strawberry's page (which loads it from a CDN).
        from sessions_gateway.gateway.graphiql import graphiql_page  # noqa: PLC0415  (only this method may change here)

        return graphiql_page(self.settings)

    async def _refuse_while_not_ready(self, request: Request) -> Response | None:
        """503 ``SERVICE_UNAVAILABLE`` while the tenant-setting canary fails: never an answer the policies emptied."""
        canary: Canary = request.app.state.canary
        try:
            reason = await canary.refusal()
        except Exception:  # the canary had to run, and the database did not answer it
            logger.warning("the tenant-setting canary could not run", exc_info=True)
            return error_response(200, UNAVAILABLE_MESSAGE, ErrorCode.SERVICE_UNAVAILABLE)
        if reason is None:
            return None
        return error_response(
            503,
            f"The gateway is not ready: {reason}.",
            ErrorCode.SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(int(CANARY_TTL_SECONDS))},
        )

    async def _refuse_body(self, request: Request) -> Response | None:
        """A body too large, or a batch of operations: refused before any parsing or reading."""
        if request.method != "POST":
            return None
        limit = self.settings.limits.max_body_bytes
        declared = request.headers.get("content-length", "")
        try:
            if declared.isdigit() and int(declared) > limit:
                raise BodyTooLarge
            body = await request.body()
        except BodyTooLarge:
            return error_response(413, f"The request body is larger than {limit} bytes.", ErrorCode.QUERY_TOO_COMPLEX)
        if _is_batch(body):
            return error_response(
                400, "Send one operation per request: batches are not accepted.", ErrorCode.QUERY_TOO_COMPLEX
            )
        return None

    async def _respond(self, request: Request) -> Response:
        adapter = self.request_adapter_class(request)
        if self.should_render_graphql_ide(adapter) and self.graphql_ide:
            return await self.render_graphql_ide(request)
        record = RequestRecord(request_id_for(request))
        request.state.record = record
        token = current.set(record)  # the engine's listener counts this request's statements
        try:
            response = await self._answer_within_budget(request, record)
        finally:
            current.reset(token)
        response.headers["X-Request-Id"] = record.request_id
        response.headers.update(ANSWER_HEADERS)
        response.headers.add_vary_header("Authorization")
        finish(record, response.status_code)
        return response

    async def _answer_within_budget(self, request: Request, record: RequestRecord) -> Response:
        """``_answer``, cancelled (its statements too) past the time budget or once the client is gone."""
        client: ClientWatch = request.state.client
        try:
            response: Response = await client.run(
                self._answer(request, record), seconds=self.settings.request_timeout_ms / 1000
            )
        except RequestTimedOut:
            record.outcome = ErrorCode.SERVICE_UNAVAILABLE
            return error_response(200, TIMED_OUT_MESSAGE, ErrorCode.SERVICE_UNAVAILABLE)
        except ClientDisconnected:
            record.outcome = "CLIENT_DISCONNECTED"
            return Response(status_code=499)  # never sent: for the log line and the metrics
        except ReportsBusy as exc:
            record.outcome = ErrorCode.SERVICE_UNAVAILABLE
            return error_response(
                200,
                reports_busy_message(self.reports.limit),
                ErrorCode.SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(exc.retry_after)},
                extensions={"retryAfter": exc.retry_after},
            )
        return response

    async def _answer(self, request: Request, record: RequestRecord) -> Response:
        try:
            request.state.claims = authenticate(request.headers.get("authorization"), self.settings, self.tokens)
        except Unauthenticated as exc:
            record.outcome = ErrorCode.UNAUTHENTICATED
            return error_response(401, str(exc), ErrorCode.UNAUTHENTICATED, {"WWW-Authenticate": "Bearer"})
        record.tenant = request.state.claims.tenant_id
        if (not_ready := await self._refuse_while_not_ready(request)) is not None:
            record.outcome = ErrorCode.SERVICE_UNAVAILABLE
            return not_ready
        refused = await self._refuse_body(request)
        if refused is not None:
            record.outcome = ErrorCode.QUERY_TOO_COMPLEX
            return refused
        try:
            known = await self._answer_known(request, record)
            return known if known is not None else await self.run(request)
        except HTTPException as exc:
            # Strawberry's own refusals (bad JSON, no query, wrong method): GraphQL-shaped, not text.
            record.outcome = ErrorCode.BAD_USER_INPUT
            return error_response(exc.status_code, exc.reason, ErrorCode.BAD_USER_INPUT)
        except PersistedQueryError as exc:
            # As Apollo's clients expect: HTTP 200, the code in the one error.
            record.outcome = exc.code
            return error_response(200, str(exc), exc.code)
        finally:
            context: Context | None = getattr(request.state, "context", None)
            if context is not None:
                await context.db.close()

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """The response body; the request's outcome is its first error's code."""
        record: RequestRecord = request.state.record
        if result.errors:
            record.outcome = (result.errors[0].extensions or {}).get("code", "INTERNAL_SERVER_ERROR")
        body = await super().process_result(request, result)
        body["extensions"] = {**(body.get("extensions") or {}), "requestId": record.request_id}
        return body

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """A browser's GET with no query gets GraphiQL; one naming a persisted query gets its answer."""
        return super().should_render_graphql_ide(request) and request.query_params.get("extensions") is None

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> Any:
        """The operation, its text first looked up when the request names a persisted query."""
        if not isinstance(request_data, list):  # batches never get here: refused unread
            request_data = self.persisted.resolve(request_data, context.tenant_id)
            request.state.record.operation = request_data.operation_name
            self._check_operation_is_chosen(request_data)
            if selects_report(request_data.query, request_data.operation_name, parse=self.parse):
                # Until the request has ended and given its connection back: ReportsBusy if none is free.
                self.reports.hold_until_done(context.tenant_id, current_task())
        result = await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )
        if (
            self.known is not None
            and context.answered_by_plan
            and not isinstance(request_data, list)
            and request_data.query is not None
        ):
            self.known.note(request_data.query, request_data.operation_name, request.state.record.operation)
        return result

    async def _answer_known(self, request: Request, record: RequestRecord) -> Response | None:
        """The answer to a POST of a document a compiled plan answered before, without Strawberry's machinery.

        The document passed the limits and validation then (the verdict is the document's own:
        the same text and operation get the same one), so what remains is the plan: coerce the
        variables, read, write. Only a list or a detail alone is answered so (one statement, no
        report to count against the cap). ``None`` when this request is not one of those, or
        the plan cannot answer it before reading: Strawberry's view answers it as any other.
        """
        known = self.known
        if known is None or not known or request.method != "POST":
            return None
        asked = await _json_request(request)
        found = None if asked is None else known.get(asked[0], asked[1])
        if asked is None or found is None:
            return None
        query, _, variables = asked
        document, operation = found
        context = await self.get_context(request, None)  # type: ignore[arg-type]
        record.operation = operation
        try:
            result, errors = await compiled.execute(
                known.plans,
                self.schema,  # type: ignore[arg-type]
                query=query,
                document=document,
                operation_name=operation,  # as resolved when the plan was made
                variables=variables,
                ctx=context,
                roots=ONE_STATEMENT_ROOTS,
            )
        except Exception as exc:  # noqa: BLE001  (a fault of the plan itself: Strawberry's view still answers)
            if not isinstance(exc, compiled.Unsupported):
                plans_log.exception("compiled plan failed; running the executor")
            request.state.context = None
            await context.db.close()
            return None
        log_path(operation, None)
        body: dict[str, Any] = {"data": result}
        if errors:
            code_in_place(errors)
            record.outcome = (errors[0].extensions or {}).get("code", "INTERNAL_SERVER_ERROR")
            body["errors"] = [error.formatted for error in errors]
        body["extensions"] = {"requestId": record.request_id}
        return Response(orjson.dumps(body), media_type="application/json")

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        """The request's one operation: from the query string of a GET, or the JSON body of a POST."""
        if request.method == "GET":
            return operation_request(self.parse_query_params(request.query_params))
        content_type, _ = parse_content_type(request.content_type or "")
        if "application/json" in content_type:
            return operation_request(self.parse_json(await request.get_body()))
        raise HTTPException(400, "Unsupported content type")

    def _check_operation_is_chosen(self, request_data: GraphQLRequestData) -> None:
        """Refuse a document of several operations that names none (Strawberry would run the first).

        An unknown ``operationName`` is refused by Strawberry itself; a document that does not
        parse is left for Strawberry to report.
        """
        if request_data.operation_name is not None or request_data.query is None:
            return
        try:
            document = self.parse(request_data.query)
        except GraphQLError:
            return
        operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
        if operations > 1:
            raise HTTPException(400, MULTIPLE_OPERATIONS)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        if isinstance(request, WebSocket):
            # A live connection's: its tenant comes with connection_init (``on_ws_connect``).
            connection = LiveConnection(
                feed=request.app.state.live, max_subscriptions=self.settings.live_max_subscriptions_per_connection
            )
            return cast("Context", connection)
        context = Context.for_request(
            tenant_id=request.state.claims.tenant_id,
            db=request.app.state.engine,
            media=self.settings.media,
            cursor_key=self.cursor_key,
        )
        request.state.context = context  # closed by _respond once the response is built
        return context

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # orjson's JSONDecodeError is json's: Strawberry's 400 for a malformed body still applies.
        return orjson.loads(data)
