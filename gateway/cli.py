"""``sessions-gateway``: demo, serve, init-db, seed, token, export-schema. Each command is thin."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import secrets
import sys
from typing import TYPE_CHECKING

from starlette.datastructures import Secret

from db.engine import UnsupportedDatabaseURL
from gateway.config import Settings, SettingsError

if TYPE_CHECKING:
    from collections.abc import Sequence

DEMO_DATABASE_URL = "sqlite+aiosqlite:///./sessions-demo.db"
DEMO_TENANT = "acme"
DEMO_SESSIONS_PER_TENANT = 3_000
DEMO_MEDIA_BASE_URL = "https://media.example.com"


def _serve(app_or_path: object, *, host: str, port: int, workers: int = 1) -> None:
    import uvicorn  # noqa: PLC0415  (only the serving commands need it)

    from gateway.observability import log_config, serve_metrics, share_metrics_between_workers  # noqa: PLC0415

    share_metrics_between_workers(workers)
    serve_metrics(Settings.from_env())  # after the line above: with several workers it reads their files
    uvicorn.run(
        app_or_path,  # type: ignore[arg-type]
        host=host,
        port=port,
        workers=workers,
        factory=isinstance(app_or_path, str),
        log_level="info",
        # The gateway's own loggers where uvicorn's go; one JSON line per request on stdout.
        log_config=log_config(),
        # uvicorn's access line costs more than a sessions page; failures are logged by the gateway.
        access_log=False,
        loop="uvloop",
        http="httptools",
        proxy_headers=False,
    )


async def _init_and_seed(url: str, *, tenants: int | None, sessions: int | None) -> str:
    from db.engine import init_db, make_engine  # noqa: PLC0415
    from db.seed import seed  # noqa: PLC0415

    engine = make_engine(url, read_only=False)
    try:
        await init_db(engine)
        if tenants is None or sessions is None:
            return "created the tables and indexes"
        report = await seed(engine, tenants_count=tenants, sessions_per_tenant=sessions)
    finally:
        await engine.dispose()
    parts = [f"seeded {report.sessions} sessions in {len(report.tenant_ids)} new tenant(s)"]
    if report.tenant_ids:
        parts.append(f"({', '.join(report.tenant_ids)})")
    if report.skipped_tenants:
        parts.append(f"; kept existing tenant(s) {', '.join(report.skipped_tenants)}")
    return " ".join(parts)


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.app import create_app  # noqa: PLC0415
    from gateway.auth import issue_token  # noqa: PLC0415

    env = dict(os.environ)
    env["GATEWAY_DATABASE_URL"] = DEMO_DATABASE_URL
    env.setdefault("GATEWAY_JWT_SECRET", secrets.token_urlsafe(32))
    env.setdefault("GATEWAY_MEDIA_BASE_URL", DEMO_MEDIA_BASE_URL)
    settings = Settings.from_env(env)
    print(asyncio.run(_init_and_seed(DEMO_DATABASE_URL, tenants=2, sessions=args.sessions)), file=sys.stderr)
    token = issue_token(settings, tenant_id=DEMO_TENANT, subject="demo", ttl_seconds=7 * 86400)
    settings = dataclasses.replace(settings, graphiql_token=Secret(token))  # GraphiQL opens with it
    url = f"http://{args.host}:{args.port}/graphql"
    print(
        f"\nGraphiQL:  {url}\n"
        f"Tenant:    {DEMO_TENANT}\n"
        f"Headers (GraphiQL opens with them in its Headers tab; other clients send them):\n"
        f'  {{"Authorization": "Bearer {token}"}}\n'
        f"curl:\n"
        f"  curl -s {url} -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"query": "{{ sessions(first: 3) {{ totalCount edges {{ node {{ name status }} }} }} }}"}}\'\n',
        flush=True,
    )
    _serve(create_app(settings), host=args.host, port=args.port)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    Settings.from_env().check()  # refuse to start without a key, before forking workers
    _serve("gateway.app:app_from_env", host=args.host, port=args.port, workers=args.workers)
    return 0


async def _grant(url: str, role: str) -> str:
    from db.engine import grant_reader, make_engine  # noqa: PLC0415

    engine = make_engine(url, read_only=False)
    try:
        await grant_reader(engine, role)
    finally:
        await engine.dispose()
    return f"role {role} may now SELECT the tables the gateway reads"


def cmd_init_db(args: argparse.Namespace) -> int:
    from db.engine import RoleError  # noqa: PLC0415

    settings = Settings.from_env()
    print(asyncio.run(_init_and_seed(settings.database_url, tenants=None, sessions=None)))
    if args.grant_select_to is not None:
        try:
            print(asyncio.run(_grant(settings.database_url, args.grant_select_to)))
        except RoleError as exc:
            print(f"sessions-gateway: {exc}", file=sys.stderr)
            return 2
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    print(asyncio.run(_init_and_seed(settings.database_url, tenants=args.tenants, sessions=args.sessions)))
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from gateway.auth import issue_token  # noqa: PLC0415

    settings = Settings.from_env()
    if settings.jwt_secret is None:
        raise SettingsError("GATEWAY_JWT_SECRET is not set: the token command signs with it")
    print(issue_token(settings, tenant_id=args.tenant, subject=args.sub, ttl_seconds=args.ttl))
    return 0


def cmd_export_schema(_args: argparse.Namespace) -> int:
    from schema.build import schema  # noqa: PLC0415

    sys.stdout.write(schema.as_str() + "\n")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sessions-gateway", description="GraphQL read gateway for training sessions.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="build ./sessions-demo.db with demo data, print a token, serve")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--sessions", type=_positive, default=DEMO_SESSIONS_PER_TENANT, help="sessions per tenant")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="serve GATEWAY_DATABASE_URL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=_positive, default=1)
    serve.set_defaults(func=cmd_serve)

    init_db = sub.add_parser("init-db", help="create the tables, the gateway's indexes and row-level security")
    init_db.add_argument(
        "--grant-select-to",
        metavar="ROLE",
        default=None,
        help="PostgreSQL: let ROLE (which must own nothing) SELECT the tables the gateway reads",
    )
    init_db.set_defaults(func=cmd_init_db)

    seed = sub.add_parser("seed", help="fill GATEWAY_DATABASE_URL with generated data")
    seed.add_argument("--tenants", type=_positive, default=2)
    seed.add_argument("--sessions", type=_positive, default=DEMO_SESSIONS_PER_TENANT, help="sessions per tenant")
    seed.set_defaults(func=cmd_seed)

    token = sub.add_parser("token", help="print a signed bearer token (GATEWAY_JWT_SECRET)")
    token.add_argument("--tenant", required=True)
    token.add_argument("--sub", default=None)
    token.add_argument("--ttl", type=_positive, default=3600, help="seconds")
    token.set_defaults(func=cmd_token)

    sub.add_parser("export-schema", help="print the SDL").set_defaults(func=cmd_export_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except (SettingsError, UnsupportedDatabaseURL) as exc:
        print(f"sessions-gateway: {exc}", file=sys.stderr)
        code = 2
    raise SystemExit(code)
