"""``sessions-gateway demo``: a database of realistic data, a token that works, a server that answers."""

from __future__ import annotations

import re
import subprocess
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.test_cli import SCRIPT, STARTUP_SECONDS, cli_env, free_port

if TYPE_CHECKING:
    from pathlib import Path

DEMO_QUERY = """
{
  sessionsReport { totalCount byStatus { status count } byRole { role count } }
  sessions(first: 100, orderBy: STARTED_AT_ASC) {
    edges { node { recording { status } summary { score } linkedTask { source } } }
  }
}
"""


def wait_for_demo(process: subprocess.Popen[bytes], log: Path, base: str) -> str:
    """The bearer token the demo printed, once its server answers."""
    deadline = time.monotonic() + STARTUP_SECONDS + 30  # it seeds first
    while True:
        if process.poll() is not None:
            pytest.fail(f"demo exited with {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"demo did not answer: {log.read_text()}")
        time.sleep(0.2)
    match = re.search(r'"Authorization": "Bearer ([\w.-]+)"', log.read_text())
    assert match, log.read_text()
    return match.group(1)


def test_demo_builds_its_database_prints_a_working_token_and_serves(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "demo.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  (our own console script, fixed arguments)
            [str(SCRIPT), "demo", "--port", str(port), "--sessions", "400"],
            env=cli_env(),
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            token = wait_for_demo(process, log_path, base)
            response = httpx.post(
                f"{base}/graphql", json={"query": DEMO_QUERY}, headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert (tmp_path / "sessions-demo.db").is_file()
    assert f"GraphiQL:  {base}/graphql" in log_path.read_text()
    body = response.json()
    assert "errors" not in body, body
    report = body["data"]["sessionsReport"]
    # 400 sessions for the demo tenant, less the few the generator marks erased
    assert 380 <= report["totalCount"] < 400
    assert all(entry["count"] > 0 for entry in report["byStatus"] + report["byRole"]), report
    nodes = [edge["node"] for edge in body["data"]["sessions"]["edges"]]
    assert {n["recording"]["status"] for n in nodes} == {"AVAILABLE", "UPLOADING", "EXPIRED", "NOT_CAPTURED"}
    assert any(n["summary"] is None for n in nodes)
    assert any(n["summary"] is not None for n in nodes)
    assert {n["linkedTask"]["source"] for n in nodes if n["linkedTask"]} >= {"jobber", "servicem8"}
    assert any(n["linkedTask"] is None for n in nodes)
