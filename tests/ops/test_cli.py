"""The installed ``sessions-gateway`` console script, run as a real process with an explicit environment."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import jwt
import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable
from websockets.asyncio.client import connect as ws_connect
from websockets.typing import Subprotocol

from sessions_gateway.db.indexes import GATEWAY_INDEXES
from sessions_gateway.db.tables import metadata
from tests.helpers import SECRET, token_for
from tests.readme import DOCS, page_blocks

if TYPE_CHECKING:
    from collections.abc import Iterator

SCRIPT = Path(sys.executable).parent / "sessions-gateway"
REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 15.0


def cli_env(**gateway: str) -> dict[str, str]:
    """A minimal environment: no ``GATEWAY_*`` variable but those given (``JWT_SECRET=...``)."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    env.update({f"GATEWAY_{key}": value for key, value in gateway.items()})
    return env


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603  (our own console script, fixed arguments)
        [str(SCRIPT), *args], env=env, cwd=cwd, capture_output=True, timeout=timeout, check=False
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def session_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT tenant_id, count(*) FROM sessions GROUP BY tenant_id").fetchall()
    conn.close()
    return {str(tenant): int(count) for tenant, count in rows}


def live_sessions(path: Path, tenant_id: str) -> int:
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM sessions WHERE tenant_id = ? AND deleted_at IS NULL", (tenant_id,)
        ).fetchone()
    conn.close()
    return int(count)


def test_console_script_is_installed() -> None:
    assert SCRIPT.is_file(), SCRIPT


def test_export_schema_is_the_committed_sdl(tmp_path: Path) -> None:
    result = run(["export-schema"], cli_env(), tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == (REPO / "schema.graphql").read_bytes()


def test_token_prints_a_verifiable_jwt(tmp_path: Path) -> None:
    before = int(time.time())
    result = run(["token", "--tenant", "acme", "--ttl", "60"], cli_env(JWT_SECRET=SECRET), tmp_path)
    after = int(time.time()) + 1
    assert result.returncode == 0, result.stderr.decode()
    token = result.stdout.decode().strip()
    assert token.count(".") == 2
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["exp", "tenant_id"]})
    assert claims["tenant_id"] == "acme"
    assert before + 60 <= claims["exp"] <= after + 60
    assert "sub" not in claims


def test_token_carries_the_subject(tmp_path: Path) -> None:
    result = run(["token", "--tenant", "acme", "--sub", "user-7"], cli_env(JWT_SECRET=SECRET), tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    claims = jwt.decode(result.stdout.decode().strip(), SECRET, algorithms=["HS256"])
    assert claims["tenant_id"] == "acme"
    assert claims["sub"] == "user-7"


def test_token_is_not_signed_with_another_secret(tmp_path: Path) -> None:
    result = run(["token", "--tenant", "acme"], cli_env(JWT_SECRET=SECRET), tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            result.stdout.decode().strip(),
            "another-secret-that-is-also-long-enough-for-hs256",
            algorithms=["HS256"],
        )


def test_token_without_secret_fails_cleanly_with_a_hint(tmp_path: Path) -> None:
    result = run(["token", "--tenant", "acme"], cli_env(), tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert len(stderr.splitlines()) == 1, stderr
    assert "GATEWAY_JWT_SECRET" in stderr
    assert "make demo" in stderr
    assert "Traceback" not in stderr
    assert result.stdout.strip() == b""


@pytest.mark.parametrize(
    "tenant",
    ["", "   ", " acme", "acme ", "acme\t", "acme\x7f", "acme\u200b", "acme\udcff", "a" * 256],
    ids=["empty", "blank", "leading-space", "trailing-space", "tab", "del", "zero-width-space", "not-utf8", "256"],
)
def test_token_refuses_a_tenant_the_gateway_would_refuse(tmp_path: Path, tenant: str) -> None:
    # "acme\udcff" reaches the program as the bytes b"acme\xff", which are not UTF-8
    result = run(["token", "--tenant", tenant], cli_env(JWT_SECRET=SECRET), tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2, (result.stdout, stderr)
    assert result.stdout == b""
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("sessions-gateway: --tenant must be 1 to 255 printable characters")


def test_token_signs_a_tenant_of_255_printable_characters(tmp_path: Path) -> None:
    tenant = "Acme Ltd " + "é" * 246
    result = run(["token", "--tenant", tenant, "--sub", "user 7"], cli_env(JWT_SECRET=SECRET), tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    claims = jwt.decode(result.stdout.decode().strip(), SECRET, algorithms=["HS256"])
    assert (claims["tenant_id"], claims["sub"]) == (tenant, "user 7")


@pytest.mark.parametrize("sub", ["", "   ", "user\n7", "x" * 256])
def test_token_refuses_a_sub_the_gateway_would_refuse(tmp_path: Path, sub: str) -> None:
    result = run(["token", "--tenant", "acme", "--sub", sub], cli_env(JWT_SECRET=SECRET), tmp_path)
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.decode().startswith("sessions-gateway: --sub must be")


def test_token_signs_with_the_demos_key_when_no_secret_is_set_and_says_so(tmp_path: Path) -> None:
    from sessions_gateway.gateway.cli import demo_secret  # noqa: PLC0415

    key = demo_secret(tmp_path / "sessions-demo.secret")  # as the demo makes it
    result = run(["token", "--tenant", "northwind"], cli_env(), tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "GATEWAY_JWT_SECRET is not set" in stderr
    assert "sessions-demo.secret" in stderr
    assert jwt.decode(result.stdout.decode().strip(), key, algorithms=["HS256"])["tenant_id"] == "northwind"


def test_token_signs_with_gateway_jwt_secret_even_beside_the_demos_key(tmp_path: Path) -> None:
    from sessions_gateway.gateway.cli import demo_secret  # noqa: PLC0415

    demo_secret(tmp_path / "sessions-demo.secret")
    result = run(["token", "--tenant", "acme"], cli_env(JWT_SECRET=SECRET), tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    assert jwt.decode(result.stdout.decode().strip(), SECRET, algorithms=["HS256"])["tenant_id"] == "acme"


def help_entries(text: str) -> dict[str, str]:
    """The options section of ``--help`` output: each option's description (wrapped lines joined), by its flag."""
    section = text.split("\noptions:\n", 1)[1]
    entries = re.findall(r"^  (-\S+(?:,? -\S+)*(?: [A-Z]+)?)(.*?)(?=^  -|\Z)", section, re.MULTILINE | re.DOTALL)
    return {flag.split()[0].rstrip(","): " ".join(description.split()) for flag, description in entries}


# Each command's options and the default its help must state ("required" for one that has none).
OPTIONS: dict[str, dict[str, str]] = {
    "demo": {"--host": "127.0.0.1", "--port": "8000", "--sessions": "3000"},
    "serve": {"--host": "127.0.0.1", "--port": "8000", "--workers": "1"},
    "init-db": {"--grant-select-to": "no grant"},
    "seed": {"--tenants": "2", "--sessions": "3000"},
    "token": {"--tenant": "required", "--sub": "none", "--ttl": "3600"},
    "export-schema": {},
}
COMMANDS = list(OPTIONS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_every_command_says_what_it_does_and_its_default(tmp_path: Path, command: str) -> None:
    result = run([command, "--help"], {**cli_env(), "COLUMNS": "100"}, tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode()
    assert text.split("\n\n")[1].strip(), text  # the command's own description
    entries = help_entries(text)
    assert entries.pop("-h") == "show this help message and exit"
    assert sorted(entries) == sorted(OPTIONS[command]), text
    for option, default in OPTIONS[command].items():
        what, _, said = entries[option].rpartition(" (")
        assert len(what) > 10, (option, text)  # what it does
        assert said == ("required; no default)" if default == "required" else f"default: {default})"), entries[option]


def test_the_top_level_help_describes_every_command(tmp_path: Path) -> None:
    result = run(["--help"], {**cli_env(), "COLUMNS": "100"}, tmp_path)
    assert result.returncode == 0
    text = " ".join(result.stdout.decode().split())
    for command in COMMANDS:
        assert re.search(rf" {command} [a-z]", text), (command, text)


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file made by ``init-db`` then ``seed --tenants 2 --sessions 50``."""
    workdir = tmp_path_factory.mktemp("cli")
    path = workdir / "x.db"
    env = cli_env(DATABASE_URL=sqlite_url(path))
    init = run(["init-db"], env, workdir)
    assert init.returncode == 0, init.stderr.decode()
    seed = run(["seed", "--tenants", "2", "--sessions", "50"], env, workdir)
    assert seed.returncode == 0, seed.stderr.decode()
    return path


def test_init_db_creates_the_tables(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    result = run(["init-db"], cli_env(DATABASE_URL=sqlite_url(path)), tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
    conn.close()
    assert {"tenants", "users", "tasks", "sessions", "recordings", "procedures", "session_summaries"} <= tables


def test_init_db_adds_the_gateways_indexes_to_tables_that_already_exist(tmp_path: Path) -> None:
    # given: the pipeline's tables, without the gateway's indexes
    path = tmp_path / "pipeline.db"
    with sqlite3.connect(path) as conn:
        for table in metadata.sorted_tables:
            conn.execute(str(CreateTable(table).compile(dialect=sqlite.dialect())))
        assert not conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'gw_%'").fetchall()
    conn.close()
    # when
    result = run(["init-db"], cli_env(DATABASE_URL=sqlite_url(path)), tmp_path)
    # then
    assert result.returncode == 0, result.stderr.decode()
    with sqlite3.connect(path) as conn:
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert {index.name for index in GATEWAY_INDEXES} <= indexes


def test_seed_fills_two_tenants_and_reseeding_adds_nothing(seeded_db: Path) -> None:
    counts = session_counts(seeded_db)
    assert len(counts) == 2, counts
    assert sum(counts.values()) == 100
    assert set(counts.values()) == {50}
    with sqlite3.connect(seeded_db) as conn:
        tenants = {row[0] for row in conn.execute("SELECT id FROM tenants")}
    conn.close()
    assert tenants == set(counts)

    again = run(
        ["seed", "--tenants", "2", "--sessions", "50"],
        cli_env(DATABASE_URL=sqlite_url(seeded_db)),
        seeded_db.parent,
    )
    assert again.returncode == 0, again.stderr.decode()
    assert session_counts(seeded_db) == counts


def test_serve_without_secret_refuses_to_start(tmp_path: Path, seeded_db: Path) -> None:
    port = free_port()
    result = run(
        ["serve", "--host", "127.0.0.1", "--port", str(port)],
        cli_env(DATABASE_URL=sqlite_url(seeded_db)),
        tmp_path,
        timeout=30,
    )
    stderr = result.stderr.decode()
    assert result.returncode != 0
    assert "GATEWAY_JWT_SECRET" in stderr
    assert "Traceback" not in stderr


def wait_until_healthy(
    process: subprocess.Popen[bytes], base: str, log: Path, seconds: float = STARTUP_SECONDS, probe: str = "/healthz"
) -> None:
    """Return once ``base`` answers ``probe``; fail with the process's log if it exits or never answers."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            pytest.fail(f"the process exited with {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{base}{probe}", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"no answer from {base}{probe}: {log.read_text()}")
        time.sleep(0.1)


@contextlib.contextmanager
def serving(
    database: Path, workdir: Path, *, workers: int = 1, **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``sessions-gateway serve`` of ``database`` on a free port of 127.0.0.1, ``GATEWAY_*`` ``env`` added.

    Its process and base URL once ``/healthz`` answers; its output goes to ``workdir/serve.log``.
    """
    port = free_port()
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  (our own console script, fixed arguments)
            [str(SCRIPT), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env=cli_env(DATABASE_URL=sqlite_url(database), JWT_SECRET=SECRET, **env),
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(process, base, log_path)
            yield process, base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def server(tmp_path: Path, seeded_db: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """``serving`` the seeded database with the test's indirect parameter as its workers, else one."""
    with serving(seeded_db, tmp_path, workers=getattr(request, "param", 1)) as (_process, base):
        yield base


@pytest.mark.parametrize("server", [1, 2], indirect=True, ids=["one-worker", "two-workers"])
def test_served_requests_are_logged_as_json_lines_and_counted_in_metrics_across_workers(
    server: str, tmp_path: Path
) -> None:
    query = "query Counted { sessions(first: 1) { totalCount } }"
    headers = {"Authorization": f"Bearer {token_for('acme')}"}
    # a connection each: the workers share the listening socket, so requests spread over them
    for n in range(6):
        with httpx.Client(base_url=server, timeout=10) as http:
            answer = http.post("/graphql", json={"query": query}, headers={**headers, "X-Request-Id": f"cli-{n}"})
            assert answer.status_code == 200, answer.text
    # whichever worker answers /metrics counts every worker's requests
    for _ in range(4):
        with httpx.Client(base_url=server, timeout=10) as http:
            counted = [
                float(line.rsplit(" ", 1)[1])
                for line in http.get("/metrics").text.splitlines()
                if line.startswith('gateway_requests_total{operation="Counted",outcome="ok"}')
            ]
        assert counted == [6.0]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines() if line.startswith("{")]
        if len(lines) >= 6:
            break
        time.sleep(0.1)
    assert sorted(line["request_id"] for line in lines) == [f"cli-{n}" for n in range(6)]
    assert {(line["tenant"], line["operation"], line["outcome"], line["status"]) for line in lines} == {
        ("acme", "Counted", "ok", 200)
    }


@pytest.mark.parametrize("compression", [None, "true"], ids=["default", "on"])
def test_serve_compresses_websocket_messages_only_when_told_to(
    tmp_path: Path, seeded_db: Path, compression: str | None
) -> None:
    async def negotiated(base: str) -> str | None:
        url = base.replace("http://", "ws://") + "/graphql"
        # the websockets client offers permessage-deflate, as browsers do
        async with ws_connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
            assert ws.response is not None
            return ws.response.headers.get("Sec-WebSocket-Extensions")

    served = (
        serving(seeded_db, tmp_path)
        if compression is None
        else serving(seeded_db, tmp_path, WS_COMPRESSION=compression)
    )
    with served as (_process, base):
        extensions = asyncio.run(negotiated(base))
    if compression is None:
        assert extensions is None
    else:
        assert extensions is not None
        assert extensions.startswith("permessage-deflate")


def test_serve_answers_over_real_http(server: str, seeded_db: Path) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/readyz").status_code == 200

        query = "{ sessions(first: 2) { totalCount edges { node { id name status } } } }"
        response = http.post(
            "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token_for('acme')}"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        sessions = body["data"]["sessions"]
        assert sessions["totalCount"] == live_sessions(seeded_db, "acme")
        assert len(sessions["edges"]) == 2

        refused = http.post("/graphql", json={"query": query})
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_init_db_with_an_unsupported_url_says_so_without_a_traceback(tmp_path: Path) -> None:
    result = run(["init-db"], cli_env(DATABASE_URL="mysql+aiomysql://root@127.0.0.1/db"), tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert "unsupported database URL scheme 'mysql+aiomysql'" in stderr
    assert "Traceback" not in stderr


RUNNERS = {
    "js": ("snippet.mjs", ["node"]),
    "python": ("snippet.py", [sys.executable]),
}


def snippet_id(language: str, code: str) -> str:
    """The block's language, then the first library it imports beyond the standard one: ``python-gql``."""
    modules = re.findall(r"^(?:from|import) (\w+)", code, re.MULTILINE)
    libraries = [module for module in modules if module not in sys.stdlib_module_names]
    return "-".join([language, *libraries[:1]])


# The JavaScript and Python blocks of docs/clients.md: the persisted-query snippets.
SNIPPETS = {
    snippet_id(block.language, block.code): (block.language, block.code)
    for block in page_blocks(DOCS / "clients.md")
    if block.language in RUNNERS and "persistedQuery" in block.code  # the live block runs in tests/api/test_live.py
}


def test_the_readme_shows_persisted_queries_from_javascript_and_from_python_with_gql_and_by_hand() -> None:
    assert list(SNIPPETS) == ["js", "python-gql", "python-httpx"]


@pytest.mark.parametrize("snippet", list(SNIPPETS))
def test_the_readmes_persisted_query_snippets_run_as_written(
    server: str, seeded_db: Path, tmp_path: Path, snippet: str
) -> None:
    language, code = SNIPPETS[snippet]
    name, command = RUNNERS[language]
    (tmp_path / name).write_text(code)
    env = {**os.environ, "GATEWAY_URL": f"{server}/graphql", "GATEWAY_TOKEN": token_for("acme")}

    def run_snippet() -> dict[str, Any]:
        done = subprocess.run([*command, name], cwd=tmp_path, env=env, capture_output=True, timeout=30, check=False)  # noqa: S603
        assert done.returncode == 0, done.stderr.decode()
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    # the first run finds the hash unknown and sends the text; the second is answered from the hash alone
    first, second = run_snippet(), run_snippet()
    assert first == second
    assert first["sessions"]["totalCount"] == live_sessions(seeded_db, "acme")
    assert len(first["sessions"]["edges"]) == 3
    deadline = time.monotonic() + 5
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(lines) < 3:
        log = (tmp_path / "serve.log").read_text()
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        time.sleep(0.1)
    # a line a request: the hash alone (unknown, so no operation yet), the text, then the hash alone again
    assert [(line["operation"], line["outcome"], line["status"]) for line in lines] == [
        (None, "PERSISTED_QUERY_NOT_FOUND", 200),
        ("Latest", "ok", 200),
        ("Latest", "ok", 200),
    ]
