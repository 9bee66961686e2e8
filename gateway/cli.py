"""``sessions-gateway``: demo, serve, init-db, seed, token, export-schema. Each command is thin."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.datastructures import Secret

from sessions_gateway.db.engine import UnsupportedDatabaseURL
from sessions_gateway.gateway.config import MAX_PORT, Settings, SettingsError

if TYPE_CHECKING:
    from collections.abc import Sequence

DEMO_DATABASE_URL = "sqlite+aiosqlite:///./sessions-demo.db"
# The demo's signing key, beside its database: tokens it printed still verify after a restart.
DEMO_SECRET_FILE = Path("sessions-demo.secret")
DEMO_TENANTS = ("acme", "northwind")  # the first two tenants the seed makes; GraphiQL opens as the first
DEMO_SESSIONS_PER_TENANT = 3_000
DEMO_TOKEN_TTL_SECONDS = 7 * 86400
DEMO_MEDIA_BASE_URL = "https://media.example.com"
# A frontend served from this machine, on any port, may call the demo (never ``serve``).
DEMO_CORS_ORIGIN_REGEX = r"http://(localhost|127\.0\.0\.1)(:[0-9]+)?"


def _serve(app_or_path: object, *, host: str, port: int, workers: int = 1) -> None:
    import uvicorn  # noqa: PLC0415  (only the serving commands need it)

    from sessions_gateway.gateway.observability import log_config, serve_metrics, share_metrics_between_workers  # noqa: PLC0415

    share_metrics_between_workers(workers)
    settings = Settings.from_env()
    serve_metrics(settings)  # after the line above: with several workers it reads their files
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
        ws_per_message_deflate=settings.ws_compression,
    )


async def _init_and_seed(url: str, *, tenants: int | None, sessions: int | None) -> str:
    from sessions_gateway.db.engine import init_db, make_engine  # noqa: PLC0415
    from sessions_gateway.db.seed import seed  # noqa: PLC0415

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


def demo_secret(path: Path = DEMO_SECRET_FILE) -> str:
    """The demo's signing key: the one in ``path``, else a new one written there, readable by its owner only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_demo_secret(path)
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")
    return secret


def read_demo_secret(path: Path = DEMO_SECRET_FILE) -> str:
    secret = path.read_text().strip()
    if not secret:
        raise SettingsError(f"{path} holds no key: remove it (make clean removes it) and run the demo again")
    return secret


def cannot_listen(host: str, port: int) -> str | None:
    """Why nothing could listen on ``host:port`` (bound as uvicorn binds), or None when it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _shown_script() -> str:
    """How to run this script again from here: ``.venv/bin/sessions-gateway`` under ``make demo``."""
    script = Path(sys.argv[0]).absolute()
    return str(script.relative_to(Path.cwd())) if script.is_relative_to(Path.cwd()) else script.name


def _demo_banner(url: str, tokens: dict[str, str], key_note: str) -> str:
    """What the demo prints once its data is there (the README shows it)."""
    first, token = next(iter(tokens.items()))
    width = max(map(len, tokens)) + 3  # "name:" and two spaces
    query = '{"query": "{ sessions(first: 3) { totalCount edges { node { name status } } } }"}'
    return "\n".join(
        [
            "",
            f"GraphiQL:  {url}",
            f"Tokens (7 days; still valid after a restart: signed with {key_note}):",
            *(f"  {tenant + ':':<{width}}{tenant_token}" for tenant, tenant_token in tokens.items()),
            f"Headers for {first} (GraphiQL opens with them in its Headers tab; other clients send them):",
            f'  {{"Authorization": "Bearer {token}"}}',
            "curl:",
            f"  curl -s {url} -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\",
            f"    -d '{query}'",
            f"More tokens, signed with the same key: {_shown_script()} token --tenant ID [--sub ID] [--ttl SECONDS]",
            "",
        ]
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from sessions_gateway.gateway.app import create_app  # noqa: PLC0415
    from sessions_gateway.gateway.auth import issue_token  # noqa: PLC0415

    # Before anything is built or printed: a busy port is one line, not a traceback after the seed.
    reason = cannot_listen(args.host, args.port)
    if reason is not None:
        print(
            f"sessions-gateway: cannot listen on {args.host}:{args.port} ({reason}): "
            f"choose another port with --port (make demo PORT={args.port % MAX_PORT + 1}) or another --host",
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ)
    env["GATEWAY_DATABASE_URL"] = DEMO_DATABASE_URL
    if "GATEWAY_JWT_SECRET" not in env:
        env["GATEWAY_JWT_SECRET"] = demo_secret()
        key_note = f"the key in ./{DEMO_SECRET_FILE}"
    else:
        key_note = "GATEWAY_JWT_SECRET"
    env.setdefault("GATEWAY_MEDIA_BASE_URL", DEMO_MEDIA_BASE_URL)
    settings = Settings.from_env(env)
    print(
        asyncio.run(_init_and_seed(DEMO_DATABASE_URL, tenants=len(DEMO_TENANTS), sessions=args.sessions)),
        file=sys.stderr,
    )
    tokens = {
        tenant: issue_token(settings, tenant_id=tenant, subject="demo", ttl_seconds=DEMO_TOKEN_TTL_SECONDS)
        for tenant in DEMO_TENANTS
    }
    first = DEMO_TENANTS[0]
    settings = dataclasses.replace(
        settings,
        graphiql_token=Secret(tokens[first]),  # GraphiQL opens with it
        cors_origin_regex=DEMO_CORS_ORIGIN_REGEX,
    )
    print(_demo_banner(f"http://{args.host}:{args.port}/graphql", tokens, key_note), flush=True)
    _serve(create_app(settings), host=args.host, port=args.port)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    Settings.from_env().check()  # refuse to start without a key, before forking workers
    _serve("sessions_gateway.gateway.app:app_from_env", host=args.host, port=args.port, workers=args.workers)
    return 0


async def _grant(url: str, role: str) -> str:
    from sessions_gateway.db.engine import grant_reader, make_engine  # noqa: PLC0415

    engine = make_engine(url, read_only=False)
    try:
        done = await grant_reader(engine, role)
    finally:
        await engine.dispose()
    return ", ".join(done)


def cmd_init_db(args: argparse.Namespace) -> int:
    from sessions_gateway.db.engine import RoleError  # noqa: PLC0415

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


def _demo_key_for_token(settings: Settings) -> Secret:
    """With no ``GATEWAY_JWT_SECRET``: the demo's key, when the demo ran here, said on stderr; else a hint."""
    if settings.jwt_public_key is None and DEMO_SECRET_FILE.is_file():
        print(
            f"sessions-gateway: GATEWAY_JWT_SECRET is not set: signing with the demo's key in ./{DEMO_SECRET_FILE}",
            file=sys.stderr,
        )
        return Secret(read_demo_secret())
    raise SettingsError(
        "GATEWAY_JWT_SECRET is not set: set it to the key the gateway verifies tokens with, "
        "or run `make demo` in this folder first (this command then signs with the demo's key)"
    )


def cmd_token(args: argparse.Namespace) -> int:
    from sessions_gateway.gateway.auth import CLAIM_TEXT, is_claim_text, issue_token  # noqa: PLC0415

    # The gateway refuses a token whose tenant_id or sub it could not use: none is minted.
    for option, value in (("--tenant", args.tenant), ("--sub", args.sub)):
        if value is not None and not is_claim_text(value):
            print(f"sessions-gateway: {option} must be {CLAIM_TEXT}", file=sys.stderr)
            return 2
    settings = Settings.from_env()
    if settings.jwt_secret is None:
        settings = dataclasses.replace(settings, jwt_secret=_demo_key_for_token(settings))
    print(issue_token(settings, tenant_id=args.tenant, subject=args.sub, ttl_seconds=args.ttl))
    return 0


def cmd_export_schema(_args: argparse.Namespace) -> int:
    from sessions_gateway.schema.build import schema  # noqa: PLC0415

    sys.stdout.write(schema.as_str() + "\n")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"must be within 1..{MAX_PORT}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sessions-gateway", description="GraphQL read gateway for training sessions.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        # Each option's help says what it does and its default, "(default: %(default)s)".
        return sub.add_parser(name, help=summary, description=summary)

    def listen(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
        parser.add_argument("--port", type=_port, default=8000, help="port to listen on (default: %(default)s)")

    demo = command(
        "demo",
        f"build or reuse ./sessions-demo.db (tenants {' and '.join(DEMO_TENANTS)}) and its signing key "
        f"./{DEMO_SECRET_FILE}, print a token for each tenant, serve",
    )
    listen(demo)
    demo.add_argument(
        "--sessions",
        type=_positive,
        default=DEMO_SESSIONS_PER_TENANT,
        help="sessions per tenant when the database is first built (default: %(default)s)",
    )
    demo.set_defaults(func=cmd_demo)

    serve = command("serve", "serve GATEWAY_DATABASE_URL (needs GATEWAY_JWT_SECRET or GATEWAY_JWT_PUBLIC_KEY)")
    listen(serve)
    serve.add_argument(
        "--workers", type=_positive, default=1, help="worker processes, which share the port (default: %(default)s)"
    )
    serve.set_defaults(func=cmd_serve)

    init_db = command("init-db", "create the tables, the gateway's indexes and row-level security where missing")
    init_db.add_argument(
        "--grant-select-to",
        metavar="ROLE",
        default=None,
        help="PostgreSQL: let ROLE (which must own nothing) SELECT the tables the gateway reads (default: no grant)",
    )
    init_db.set_defaults(func=cmd_init_db)

    seed = command(
        "seed",
        "fill GATEWAY_DATABASE_URL with generated data: create the first N of the tenants acme, northwind, "
        "globex, initech, umbrella, tenant-6, ... that are missing; tenants already there are left as they are",
    )
    seed.add_argument(
        "--tenants",
        type=_positive,
        default=2,
        metavar="N",
        help="how many of that list of tenants should exist afterwards (default: %(default)s)",
    )
    seed.add_argument(
        "--sessions",
        type=_positive,
        default=DEMO_SESSIONS_PER_TENANT,
        metavar="N",
        help="sessions in each tenant it creates (default: %(default)s)",
    )
    seed.set_defaults(func=cmd_seed)

    token = command(
        "token",
        f"print an HS256 bearer token signed with GATEWAY_JWT_SECRET (when unset: the demo's key "
        f"in ./{DEMO_SECRET_FILE}, if the demo ran here)",
    )
    token.add_argument("--tenant", required=True, metavar="ID", help="its tenant_id claim (required; no default)")
    token.add_argument("--sub", metavar="ID", default=None, help="its sub claim (default: none)")
    token.add_argument(
        "--ttl", type=_positive, default=3600, metavar="SECONDS", help="lifetime in seconds (default: %(default)s)"
    )
    token.set_defaults(func=cmd_token)

    command("export-schema", "print the SDL (schema.graphql is exactly this)").set_defaults(func=cmd_export_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except (SettingsError, UnsupportedDatabaseURL) as exc:
        print(f"sessions-gateway: {exc}", file=sys.stderr)
        code = 2
    raise SystemExit(code)
