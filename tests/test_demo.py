"""``sessions-gateway demo``: a database of realistic data, a token that works, a server that answers."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from typing import TYPE_CHECKING

import httpx

from tests.readme import block_after
from tests.test_cli import SCRIPT, STARTUP_SECONDS, cli_env, free_port, wait_until_healthy

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


def printed_token(log: Path) -> str:
    match = re.search(r'"Authorization": "Bearer ([\w.-]+)"', log.read_text())
    assert match, log.read_text()
    return match.group(1)


@contextlib.contextmanager
def running_demo(tmp_path: Path, sessions: int) -> Iterator[tuple[str, str, Path]]:
    """``sessions-gateway demo`` in ``tmp_path`` on a free port: its base URL, the token it printed, its log."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "demo.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  (our own console script, fixed arguments)
            [str(SCRIPT), "demo", "--port", str(port), "--sessions", str(sessions)],
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
        # what it prints is what the README shows, but for the token and the port
        shown = block_after("`make demo` prints something like:").code
        expected = re.escape(shown).replace(re.escape("eyJhbGciOi..."), re.escape(token))
        assert re.search(expected.replace("8000", base.rsplit(":", 1)[1]), printed), (shown, printed)
        # and the curl line it prints answers, pasted into a shell
        [curl] = re.findall(r"^  (curl .*\\\n.*)$", printed, re.MULTILINE)
        pasted = subprocess.run(["bash", "-c", curl], capture_output=True, timeout=10, check=True)  # noqa: S603, S607
    assert (tmp_path / "sessions-demo.db").is_file()
    assert f"GraphiQL:  {base}/graphql" in printed
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
