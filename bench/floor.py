"""The floor: the least a server can do to answer LIST and DETAIL, to measure the gateway against.

A bare ASGI callable on uvicorn (uvloop, httptools, one worker) and asyncpg directly. Each
request verifies the bearer token (HS256, its ``tenant_id`` claim is the tenant, as in the
gateway), parses the JSON body, and runs ONE hand-written statement that builds the whole JSON
response in PostgreSQL (``json_build_object``/``json_agg``); the server sends those bytes as they
come. It answers the same JSON as the gateway for the benchmark's ``List`` (no ``after``, no
filter) and ``Detail`` operations, chosen by ``operationName``; it knows no GraphQL.

    FLOOR_DATABASE_URL=postgresql://... FLOOR_JWT_SECRET=... python bench/floor.py --port 8702
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

import asyncpg
import jwt
import orjson
import uvicorn

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Send = Callable[[dict[str, Any]], Awaitable[None]]


def iso(column: str) -> str:
    """``DateTime`` as the gateway writes it (Python's ``isoformat()`` in UTC): microseconds only when set."""
    local = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN date_trunc('second', {column}) = {column} THEN '' ELSE to_char({local}, '.US') END || '+00:00')"
    )


def whole_seconds(end: str, start: str) -> str:
    return f"CAST(trunc(EXTRACT(EPOCH FROM ({end} - {start}))) AS integer)"


# Every row field of the list, in the order the query selects them. $1 is the tenant.
ROW_FIELDS = f"""
    'id', s.id,
    'name', coalesce(nullif(s.name, ''), nullif(t.title, ''),
                     'Session ' || to_char(s.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')),
    'status', upper(s.status),
    'role', upper(s.role),
    'thumbnailUrl', s.thumbnail_url,
    'durationSeconds', coalesce(
        s.duration_seconds,
        {whole_seconds("s.completed_at", "s.started_at")},
        CASE WHEN s.status = 'in_progress' THEN greatest(0, {whole_seconds("now()", "s.started_at")}) END),
    'startedAt', {iso("s.started_at")},
    'completedAt', {iso("s.completed_at")},
    'seatId', s.seat_id,
    'procedureCount', (SELECT count(*) FROM procedures p WHERE p.tenant_id = $1 AND p.session_id = s.id),
    'user', json_build_object('id', u.id, 'displayName', u.display_name),
    'linkedTask', CASE WHEN t.id IS NULL THEN NULL ELSE json_build_object(
        'id', t.id, 'title', t.title, 'source', t.source, 'externalRef', t.external_ref,
        'status', t.status, 'url', t.url) END"""  # noqa: S608  (built from constants only)

# $1 tenant, $2 page size.
LIST_SQL = f"""
WITH page AS (
    SELECT * FROM sessions
    WHERE tenant_id = $1 AND deleted_at IS NULL
    ORDER BY started_at DESC, id DESC
    LIMIT $2
)
SELECT json_build_object('data', json_build_object('sessions', json_build_object('edges',
    coalesce(json_agg(json_build_object('node', json_build_object({ROW_FIELDS}
    )) ORDER BY s.started_at DESC, s.id DESC), '[]'::json))))::text
FROM page s
JOIN users u ON u.tenant_id = $1 AND u.id = s.user_id
LEFT JOIN tasks t ON t.tenant_id = $1 AND t.id = s.task_id
"""  # noqa: S608

# A session with no committed recording: still uploading while in progress, else none was captured.
NOT_COMMITTED = "CASE WHEN s.status = 'in_progress' THEN 'UPLOADING' ELSE 'NOT_CAPTURED' END"

# $1 tenant, $2 session id, $3 media base URL (storage keys resolve against it; no signing). Thumbnails
# and clips are written as the seed stores them, absolute URLs, which the gateway passes through.
DETAIL_SQL = f"""
SELECT json_build_object('data', json_build_object('session', (
    SELECT json_build_object({ROW_FIELDS},
        'procedures', coalesce((
            SELECT json_agg(json_build_object(
                'id', p.id, 'position', p.position, 'name', p.name,
                'description', p.description, 'videoUrl', p.video_url) ORDER BY p.position)
            FROM procedures p WHERE p.tenant_id = $1 AND p.session_id = s.id), '[]'::json),
        'recording', CASE
            WHEN r.session_id IS NULL THEN json_build_object('status', {NOT_COMMITTED}, 'url', NULL, 'expiresAt', NULL)
            WHEN r.state = 'uploading' THEN json_build_object('status', 'UPLOADING', 'url', NULL, 'expiresAt', NULL)
            WHEN coalesce(r.storage_key, '') <> '' THEN json_build_object(
                'status', 'AVAILABLE', 'url', rtrim($3, '/') || '/' || ltrim(r.storage_key, '/'), 'expiresAt', NULL)
            WHEN coalesce(r.legacy_url, '') <> '' AND r.legacy_expires_at <= now() THEN json_build_object(
                'status', 'EXPIRED', 'url', NULL, 'expiresAt', {iso("r.legacy_expires_at")})
            WHEN coalesce(r.legacy_url, '') <> '' THEN json_build_object(
                'status', 'AVAILABLE', 'url', r.legacy_url, 'expiresAt', {iso("r.legacy_expires_at")})
            ELSE json_build_object('status', {NOT_COMMITTED}, 'url', NULL, 'expiresAt', NULL) END,
        'summary', CASE
            WHEN m.session_id IS NULL OR (m.score IS NULL AND m.prose IS NULL AND m.trainer_notes IS NULL) THEN NULL
            ELSE json_build_object('score', m.score, 'prose', m.prose, 'trainerNotes', m.trainer_notes) END)
    FROM sessions s
    JOIN users u ON u.tenant_id = $1 AND u.id = s.user_id
    LEFT JOIN tasks t ON t.tenant_id = $1 AND t.id = s.task_id
    LEFT JOIN recordings r ON r.tenant_id = $1 AND r.session_id = s.id
    LEFT JOIN session_summaries m ON m.tenant_id = $1 AND m.session_id = s.id
    WHERE s.tenant_id = $1 AND s.id = $2 AND s.deleted_at IS NULL)))::text
"""  # noqa: S608

MAX_PAGE = 100
JSON_HEADERS = [(b"content-type", b"application/json")]


class Floor:
    def __init__(self, dsn: str, jwt_secret: str, media_base_url: str) -> None:
        self.dsn = dsn
        self.jwt_secret = jwt_secret
        self.media_base_url = media_base_url
        self.pool: asyncpg.Pool | None = None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if scope["path"] == "/healthz":
                status, body = 200, b'{"status":"ok"}'
            else:
                status, body = await self._answer(scope, receive)
            await send({"type": "http.response.start", "status": status, "headers": JSON_HEADERS})
            await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Autocommit, read-only, like the gateway's engine; asyncpg caches the prepared statements.
                self.pool = await asyncpg.create_pool(
                    self.dsn,
                    min_size=4,
                    max_size=20,
                    server_settings={"default_transaction_read_only": "on", "application_name": "bench-floor"},
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(self, scope: dict[str, Any], receive: Receive) -> tuple[int, bytes]:
        tenant = self._tenant(scope)
        if tenant is None:
            return 401, b'{"errors":[{"message":"Invalid token.","extensions":{"code":"UNAUTHENTICATED"}}]}'
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        request = orjson.loads(b"".join(chunks))
        variables = request.get("variables") or {}
        assert self.pool is not None
        operation = request.get("operationName")
        if operation == "List" and not variables.get("after") and not variables.get("filter"):
            first = int(variables.get("first", 25))
            if not 0 <= first <= MAX_PAGE:
                return 400, b'{"errors":[{"message":"first","extensions":{"code":"BAD_USER_INPUT"}}]}'
            body: str = await self.pool.fetchval(LIST_SQL, tenant, first)
        elif operation == "Detail":
            body = await self.pool.fetchval(DETAIL_SQL, tenant, str(variables["id"]), self.media_base_url)
        else:
            return 400, b'{"errors":[{"message":"the floor answers List and Detail","extensions":{}}]}'
        return 200, body.encode()

    def _tenant(self, scope: dict[str, Any]) -> str | None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer":
                    return None
                try:
                    claims = jwt.decode(token, self.jwt_secret, algorithms=["HS256"], options={"require": ["exp"]})
                except jwt.PyJWTError:
                    return None
                tenant = claims.get("tenant_id")
                return tenant if isinstance(tenant, str) and tenant else None
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8702)
    args = parser.parse_args()
    dsn = os.environ["FLOOR_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://", 1)
    app = Floor(dsn, os.environ["FLOOR_JWT_SECRET"], os.environ.get("FLOOR_MEDIA_BASE_URL", ""))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
