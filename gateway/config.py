"""Settings, read once from ``GATEWAY_*`` environment variables into a frozen object."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.config import Config
from starlette.datastructures import CommaSeparatedStrings, Secret

from sessions_gateway.db.engine import DEFAULT_POOL_SIZE, DEFAULT_POOL_TIMEOUT_MS, UnsupportedDatabaseURL, check_url
from sessions_gateway.gateway.context import MediaSettings
from sessions_gateway.schema.limits import Limits

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./sessions-demo.db"
MAX_PORT = 65_535
# By default a request may run this much longer than one statement may.
REQUEST_TIMEOUT_MARGIN_MS = 1_000


class SettingsError(ValueError):
    """The environment does not describe a gateway that can start."""


def public_key_algorithm(pem: str) -> str:
    """RS256 for an RSA public key, ES256 for a P-256 one; anything else is refused."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise SettingsError("GATEWAY_JWT_PUBLIC_KEY is not a PEM public key") from exc
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise SettingsError("GATEWAY_JWT_PUBLIC_KEY must be an RSA or a P-256 EC public key")


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    jwt_secret: Secret | None = None
    jwt_public_key: str | None = None
    # When set, tokens must carry this "iss" / an "aud" naming this audience.
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    media: MediaSettings = field(default_factory=MediaSettings)
    # Signs cursors; see ``cursor_key``.
    cursor_secret: Secret | None = None
    statement_timeout_ms: int = 15_000
    # The whole request's time budget (a little above one statement's): past it, SERVICE_UNAVAILABLE
    # and its statements cancelled at the server.
    request_timeout_ms: int = 16_000
    # Report requests (selecting sessionsReport) one tenant may have running at once, per worker.
    max_concurrent_reports: int = 4
    pool_size: int = DEFAULT_POOL_SIZE
    # How long a request waits for a free connection before it is answered SERVICE_UNAVAILABLE.
    pool_timeout_ms: int = DEFAULT_POOL_TIMEOUT_MS
    # Behind a pooler that hands out server connections per transaction (PgBouncer's transaction
    # mode): a setting on a connection's session does not follow its statements, so every request
    # reads in a transaction of its own, its tenant set in it (no statement runs alone).
    db_transaction_pooler: bool = False
    limits: Limits = field(default_factory=Limits)
    graphiql: bool = True
    # Set by ``demo`` only, never read from the environment: GraphiQL's page opens with this token in its
    # Headers tab. Anywhere else the page holds no token.
    graphiql_token: Secret | None = None
    # Browser origins allowed to call the gateway (CORS); none by default.
    cors_origins: tuple[str, ...] = ()
    # Set by ``demo`` only (a frontend on this machine, any port), never read from the environment:
    # origins matching it are allowed too.
    cors_origin_regex: str | None = None
    # Analysts explore the schema in GraphiQL; a deployment that serves only known clients may refuse it.
    introspection: bool = True
    # Run validated queries the compiler knows through compiled plans; off: Strawberry's executor only.
    compiled_plans: bool = True
    # Operations registered ahead, one per .graphql file; with persisted_queries_only, nothing else runs.
    persisted_queries_dir: Path | None = None
    persisted_queries_only: bool = False
    # OpenTelemetry spans (the ``tracing`` extra), exported as the standard ``OTEL_*`` variables say.
    tracing: bool = False
    # When set, /metrics is served on this port of metrics_host only, not on the API's port.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # Live subscriptions (WebSocket, graphql-transport-ws on /graphql): each cohort's query runs again
    # every live_interval_ms; a connection sends connection_init within ws_init_timeout_ms or is closed.
    live_interval_ms: int = 1_000
    ws_init_timeout_ms: int = 5_000
    live_max_subscriptions_per_connection: int = 20
    # Per worker: one tenant's live subscriptions, and WebSocket connections (0: no live subscriptions).
    live_max_subscriptions_per_tenant: int = 200
    live_max_connections: int = 1_000
    # WebSocket permessage-deflate: off, as Hasura's default (compressing each result costs the worker
    # more CPU than its bytes cost a dashboard's network); on when the clients are far and results large.
    ws_compression: bool = False

    @property
    def jwt_algorithms(self) -> list[str]:
        """The one algorithm tokens may use: decided by the configured key, never by a token's header."""
        if self.jwt_public_key is None:
            return ["HS256"]
        return [public_key_algorithm(self.jwt_public_key)]

    @property
    def jwt_key(self) -> str:
        if self.jwt_public_key is not None:
            return self.jwt_public_key
        if self.jwt_secret is None:
            raise SettingsError("set GATEWAY_JWT_SECRET or GATEWAY_JWT_PUBLIC_KEY")
        return str(self.jwt_secret)

    @property
    def cursor_key(self) -> bytes:
        """HMAC key for cursors: ``GATEWAY_CURSOR_SECRET``, else derived from the JWT key.

        Derived keys keep cursors valid across restarts and workers with no extra setting. With
        a public key (which is public), set ``GATEWAY_CURSOR_SECRET`` so cursors cannot be forged.
        """
        material = str(self.cursor_secret) if self.cursor_secret is not None else self.jwt_key
        return hashlib.sha256(b"sessions-gateway cursor\x00" + material.encode()).digest()

    def check(self) -> Settings:
        """Fail before serving: no key to verify tokens, a database URL we do not speak, a bound not positive."""
        _ = self.jwt_key, self.jwt_algorithms
        try:
            check_url(self.database_url)
        except UnsupportedDatabaseURL as exc:
            raise SettingsError(f"GATEWAY_DATABASE_URL: {exc}") from exc
        if self.persisted_queries_dir is not None and not self.persisted_queries_dir.is_dir():
            raise SettingsError(f"GATEWAY_PERSISTED_QUERIES_DIR: {self.persisted_queries_dir} is not a folder")
        if self.persisted_queries_only and self.persisted_queries_dir is None:
            raise SettingsError("GATEWAY_PERSISTED_QUERIES_ONLY needs GATEWAY_PERSISTED_QUERIES_DIR: nothing would run")
        if self.request_timeout_ms < 1:
            raise SettingsError("GATEWAY_REQUEST_TIMEOUT_MS must be at least 1")
        if self.max_concurrent_reports < 1:
            raise SettingsError("GATEWAY_MAX_CONCURRENT_REPORTS must be at least 1")
        return self.check_live()

    def _live_bounds(self) -> list[tuple[str, int, int]]:
        """The live settings, each with its environment name and its least value."""
        return [
            ("LIVE_INTERVAL_MS", self.live_interval_ms, 10),
            ("WS_INIT_TIMEOUT_MS", self.ws_init_timeout_ms, 1),
            ("LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION", self.live_max_subscriptions_per_connection, 1),
            ("LIVE_MAX_SUBSCRIPTIONS_PER_TENANT", self.live_max_subscriptions_per_tenant, 1),
            ("LIVE_MAX_CONNECTIONS", self.live_max_connections, 0),
        ]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        config = Config(environ=os.environ if environ is None else environ, env_prefix="GATEWAY_")
        secret = config("JWT_SECRET", cast=Secret, default=None)
        public_key = config("JWT_PUBLIC_KEY", default=None)
        if secret is not None and public_key is not None:
            raise SettingsError("set GATEWAY_JWT_SECRET or GATEWAY_JWT_PUBLIC_KEY, not both")
        signing_key = config("MEDIA_SIGNING_KEY", cast=Secret, default=None)
        try:
            ttl = config("MEDIA_URL_TTL_SECONDS", cast=int, default=3600)
            timeout = config("STATEMENT_TIMEOUT_MS", cast=int, default=15_000)
            request_timeout = config("REQUEST_TIMEOUT_MS", cast=int, default=timeout + REQUEST_TIMEOUT_MARGIN_MS)
            if request_timeout < 1:
                raise ValueError("GATEWAY_REQUEST_TIMEOUT_MS must be at least 1")
            max_reports = config("MAX_CONCURRENT_REPORTS", cast=int, default=4)
            if max_reports < 1:
                raise ValueError("GATEWAY_MAX_CONCURRENT_REPORTS must be at least 1")
            pool_size = config("DB_POOL_SIZE", cast=int, default=DEFAULT_POOL_SIZE)
            if pool_size < 1:
                raise ValueError("GATEWAY_DB_POOL_SIZE must be at least 1")
            pool_timeout = config("DB_POOL_TIMEOUT_MS", cast=int, default=DEFAULT_POOL_TIMEOUT_MS)
            if pool_timeout < 1:
                raise ValueError("GATEWAY_DB_POOL_TIMEOUT_MS must be at least 1")
            default = Limits()
            limits = Limits(
                max_depth=config("MAX_DEPTH", cast=int, default=default.max_depth),
                max_aliases=config("MAX_ALIASES", cast=int, default=default.max_aliases),
                max_tokens=config("MAX_TOKENS", cast=int, default=default.max_tokens),
                max_fields=config("MAX_FIELDS", cast=int, default=default.max_fields),
                max_body_bytes=config("MAX_BODY_BYTES", cast=int, default=default.max_body_bytes),
                max_cost=config("MAX_COST", cast=int, default=default.max_cost),
            )
            graphiql = config("GRAPHIQL", cast=bool, default=True)
            introspection = config("INTROSPECTION", cast=bool, default=True)
            origins = config("CORS_ORIGINS", cast=CommaSeparatedStrings, default="")
            compiled_plans = config("COMPILED_PLANS", cast=bool, default=True)
            transaction_pooler = config("DB_TRANSACTION_POOLER", cast=bool, default=False)
            persisted_dir = config("PERSISTED_QUERIES_DIR", default=None) or None
            persisted_only = config("PERSISTED_QUERIES_ONLY", cast=bool, default=False)
            tracing = config("TRACING", cast=bool, default=False)
            ws_compression = config("WS_COMPRESSION", cast=bool, default=False)
            live = {
                name: config(name.upper(), cast=int, default=getattr(LIVE_DEFAULTS, name))
                for name in (
                    "live_interval_ms",
                    "ws_init_timeout_ms",
                    "live_max_subscriptions_per_connection",
                    "live_max_subscriptions_per_tenant",
                    "live_max_connections",
                )
            }
            metrics_port = config("METRICS_PORT", cast=int, default=None)
            if metrics_port is not None and not 1 <= metrics_port <= MAX_PORT:
                raise ValueError("GATEWAY_METRICS_PORT must be a TCP port, 1 to 65535")
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
        return cls(
            database_url=config("DATABASE_URL", default=DEFAULT_DATABASE_URL),
            jwt_secret=secret,
            jwt_public_key=public_key,
            jwt_issuer=config("JWT_ISSUER", default=None) or None,
            jwt_audience=config("JWT_AUDIENCE", default=None) or None,
            media=MediaSettings(
                base_url=config("MEDIA_BASE_URL", default=None),
                signing_key=None if signing_key is None else str(signing_key).encode(),
                ttl=timedelta(seconds=ttl),
            ),
            cursor_secret=config("CURSOR_SECRET", cast=Secret, default=None),
            statement_timeout_ms=timeout,
            request_timeout_ms=request_timeout,
            max_concurrent_reports=max_reports,
            pool_size=pool_size,
            pool_timeout_ms=pool_timeout,
            db_transaction_pooler=transaction_pooler,
            limits=limits,
            graphiql=graphiql,
            introspection=introspection,
            cors_origins=tuple(o for o in origins if o),
            compiled_plans=compiled_plans,
            persisted_queries_dir=None if persisted_dir is None else Path(persisted_dir),
            persisted_queries_only=persisted_only,
            tracing=tracing,
            ws_compression=ws_compression,
            metrics_port=metrics_port,
            metrics_host=config("METRICS_HOST", default="127.0.0.1"),
            **live,
        ).check_live()

    def check_live(self) -> Settings:
        """The live settings within their bounds."""
        for name, value, least in self._live_bounds():
            if value < least:
                raise SettingsError(f"GATEWAY_{name} must be at least {least}")
        return self


LIVE_DEFAULTS = Settings()
