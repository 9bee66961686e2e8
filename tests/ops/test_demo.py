"""``sessions-gateway demo``: a database of realistic data, a token that works, a server that answers."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import stat
import subprocess
from typing import TYPE_CHECKING

import httpx
import jwt
import pytest

from sessions_gateway.gateway.config import Settings
from tests.docs.test_readme import make_dry_run
from tests.helpers import token_for
from tests.ops.test_cli import SCRIPT, STARTUP_SECONDS, cli_env, free_port, live_sessions, run, wait_until_healthy
from tests.readme import README, block_after

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

DEMO_QUERY = """
{
  sessionsReport { totalCount byStatus { status count } byRole { role count } }
  sessions(first: 100, orderBy: STARTED_AT_ASC) {
    edges { node { recording { status } summary { score } linkedTask { source } } }
  }
}
"""


JWT = r"[\w-]+\.[\w-]+\.[\w-]+"
SECRET_FILE = "sessions-demo.secret"


def printed_token(log: Path) -> str:
    """The token of the headers the demo printed (its first tenant's: GraphiQL's)."""
    match = re.search(rf'"Authorization": "Bearer ({JWT})"', log.read_text())
    assert match, log.read_text()
    return match.group(1)


def printed_tokens(log: Path) -> dict[str, str]:
    """The token the demo printed for each tenant, by tenant."""
    return dict(re.findall(rf"^  (\w+): +({JWT})$", log.read_text(), re.MULTILINE))


def sessions_of(base: str, token: str) -> httpx.Response:
    query = {"query": "{ sessions(first: 1) { totalCount } }"}
    return httpx.post(f"{base}/graphql", json=query, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@contextlib.contextmanager
def running_demo(
    tmp_path: Path, sessions: int, log_name: str = "demo.log", script: Path = SCRIPT
) -> Iterator[tuple[str, str, Path]]:
    """``script demo`` (sessions-gateway) in ``tmp_path`` on a free port: its base URL, the token printed, its log."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / log_name
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  (our own console script, fixed arguments)
            [str(script), "demo", "--port", str(port), "--sessions", str(sessions)],
            env=cli_env(),
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_healthy(process, base, log_path, STARTUP_SECONDS + 30)  # it seeds first
            yield base, printed_token(log_path), log_path
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_demo_builds_its_database_prints_a_working_token_and_serves(tmp_path: Path) -> None:
    with running_demo(tmp_path, 400) as (base, token, log_path):
        response = httpx.post(
            f"{base}/graphql", json={"query": DEMO_QUERY}, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        printed = log_path.read_text()
        # what it prints is what the README shows, but for the tokens, the port and where the script is
        shown = block_after("`make demo` prints something like:").code
        expected = (
            re.escape(shown)
            .replace(re.escape("eyJhbGciOi..."), JWT)
            .replace("8000", base.rsplit(":", 1)[1])
            .replace(re.escape(".venv/bin/sessions-gateway"), re.escape(SCRIPT.name))
        )
        assert re.search(expected, printed), (shown, printed)
        tokens = printed_tokens(log_path)
        # a token for each demo tenant, each answering for its own tenant
        counts = {tenant: sessions_of(base, tenant_token).json() for tenant, tenant_token in tokens.items()}
        # and the curl line it prints answers, pasted into a shell
        [curl] = re.findall(r"^  (curl .*\\\n.*)$", printed, re.MULTILINE)
        pasted = subprocess.run(["bash", "-c", curl], capture_output=True, timeout=10, check=True)  # noqa: S603, S607
    assert (tmp_path / "sessions-demo.db").is_file()
    assert f"GraphiQL:  {base}/graphql" in printed
    assert list(tokens) == ["acme", "northwind"]
    assert tokens["acme"] == token
    assert {
        tenant: jwt.decode(t, options={"verify_signature": False})["tenant_id"] for tenant, t in tokens.items()
    } == {
        "acme": "acme",
        "northwind": "northwind",
    }
    for tenant, answer in counts.items():
        assert answer["data"]["sessions"]["totalCount"] == live_sessions(tmp_path / "sessions-demo.db", tenant), answer
    curl_data = json.loads(pasted.stdout)["data"]["sessions"]
    assert len(curl_data["edges"]) == 3
    body = response.json()
    assert "errors" not in body, body
    report = body["data"]["sessionsReport"]
    # 400 sessions for the demo tenant, less the few the generator marks erased
    assert 380 <= report["totalCount"] < 400
    assert curl_data["totalCount"] == report["totalCount"]
    assert all(entry["count"] > 0 for entry in report["byStatus"] + report["byRole"]), report
    nodes = [edge["node"] for edge in body["data"]["sessions"]["edges"]]
    assert {n["recording"]["status"] for n in nodes} == {"AVAILABLE", "UPLOADING", "EXPIRED", "NOT_CAPTURED"}
    assert any(n["summary"] is None for n in nodes)
    assert any(n["summary"] is not None for n in nodes)
    assert {n["linkedTask"]["source"] for n in nodes if n["linkedTask"]} >= {"jobber", "servicem8"}
    assert any(n["linkedTask"] is None for n in nodes)


def test_the_demo_keeps_its_key_so_tokens_outlive_a_restart_and_token_signs_with_it(tmp_path: Path) -> None:
    # given: a first run, which makes the key and prints a token
    with running_demo(tmp_path, 5, "first.log") as (_base, first_token, _log):
        key_file = tmp_path / SECRET_FILE
        key = key_file.read_text()
    assert len(key.strip()) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # when: the demo starts again, and `token` runs beside it with no GATEWAY_JWT_SECRET
    with running_demo(tmp_path, 5, "second.log") as (base, _token, log_path):
        made = run(["token", "--tenant", "northwind"], cli_env(), tmp_path)
        # then: the first run's token still answers, and so does the one `token` made
        before_restart = sessions_of(base, first_token)
        minted = made.stdout.decode().strip()
        northwind = sessions_of(base, minted) if made.returncode == 0 else None
        printed = log_path.read_text()
    assert key_file.read_text() == key
    assert f"signed with the key in ./{SECRET_FILE}" in printed
    assert before_restart.status_code == 200, before_restart.text
    assert before_restart.json()["data"]["sessions"]["totalCount"] == live_sessions(
        tmp_path / "sessions-demo.db", "acme"
    )
    assert made.returncode == 0, made.stderr.decode()
    assert SECRET_FILE in made.stderr.decode()
    assert "GATEWAY_JWT_SECRET is not set" in made.stderr.decode()
    assert jwt.decode(minted, key.strip(), algorithms=["HS256"])["tenant_id"] == "northwind"
    assert northwind is not None
    assert northwind.status_code == 200, northwind.text
    count = northwind.json()["data"]["sessions"]["totalCount"]
    assert count == live_sessions(tmp_path / "sessions-demo.db", "northwind") > 0


def test_the_demo_answers_browsers_on_this_machine_on_any_port(tmp_path: Path) -> None:
    def preflight(base: str, origin: str) -> httpx.Response:
        headers = {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        }
        return httpx.options(f"{base}/graphql", headers=headers, timeout=10)

    with running_demo(tmp_path, 5) as (base, token, _log):
        allowed = {origin: preflight(base, origin) for origin in ("http://localhost:5173", "http://127.0.0.1:3000")}
        refused = {
            origin: preflight(base, origin)
            for origin in ("https://evil.example", "http://localhost.evil.example:5173", "https://localhost:5173")
        }
        query = {"query": "{ sessions(first: 1) { totalCount } }"}
        headers = {"Authorization": f"Bearer {token}", "Origin": "http://localhost:5173"}
        simple = httpx.post(f"{base}/graphql", json=query, headers=headers, timeout=10)
    for origin, answer in allowed.items():
        assert answer.status_code == 200, (origin, answer.status_code, answer.text)
        assert answer.headers["access-control-allow-origin"] == origin
    for origin, answer in refused.items():
        assert answer.status_code == 400, (origin, answer.status_code, answer.text)
        assert "access-control-allow-origin" not in answer.headers
    assert simple.status_code == 200
    assert simple.headers["access-control-allow-origin"] == "http://localhost:5173"


async def test_serve_allows_only_the_configured_origins(client: httpx.AsyncClient) -> None:
    # the app as `serve` builds it: GATEWAY_CORS_ORIGINS only (none here), whatever the environment says
    settings = Settings.from_env({"GATEWAY_JWT_SECRET": "x" * 32, "GATEWAY_CORS_ORIGIN_REGEX": ".*"})
    assert settings.cors_origin_regex is None
    origin = {"Origin": "http://localhost:5173"}
    preflight = await client.options("/graphql", headers={**origin, "Access-Control-Request-Method": "POST"})
    answer = await client.post(
        "/graphql",
        json={"query": "{ sessions(first: 1) { totalCount } }"},
        headers={**origin, "Authorization": f"Bearer {token_for('alpha')}"},
    )
    assert preflight.status_code == 400
    assert answer.status_code == 200
    for response in (preflight, answer):
        assert "access-control-allow-origin" not in response.headers


def test_a_busy_port_is_one_line_naming_port_before_anything_is_built(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["demo", "--port", str(port), "--sessions", "5"], cli_env(), tmp_path, timeout=30)
    stderr = result.stderr.decode()
    assert result.returncode != 0
    assert result.stdout == b""
    assert len(stderr.splitlines()) == 1, stderr
    assert "--port" in stderr
    assert str(port) in stderr
    # before the seed and the key: nothing was made
    assert sorted(path.name for path in tmp_path.iterdir()) == []


@pytest.mark.parametrize(("assignments", "command"), [((), "demo"), (("PORT=8001",), "demo --port 8001")])
def test_make_demo_takes_a_port(assignments: tuple[str, ...], command: str) -> None:
    assert make_dry_run("demo", *assignments) == [f".venv/bin/sessions-gateway {command}"]


def test_make_clean_removes_the_demos_key_and_git_ignores_it() -> None:
    [clean] = make_dry_run("clean")
    assert SECRET_FILE in clean.split()
    assert SECRET_FILE in (README.parent / ".gitignore").read_text().splitlines()
