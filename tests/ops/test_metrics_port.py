"""``GATEWAY_METRICS_PORT``: /metrics off the API's port, on a port of its own, as served for real."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from sessions_gateway.gateway.config import Settings, SettingsError
from tests.helpers import token_for
from tests.ops.test_cli import cli_env, free_port, run, serving, sqlite_url, wait_until_healthy

if TYPE_CHECKING:
    from pathlib import Path

COUNTED = 'gateway_requests_total{operation="Counted",outcome="ok"}'


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("metrics")
    path = workdir / "x.db"
    env = cli_env(DATABASE_URL=sqlite_url(path))
    for args in (["init-db"], ["seed", "--tenants", "1", "--sessions", "5"]):
        result = run(args, env, workdir)
        assert result.returncode == 0, result.stderr.decode()
    return path


@pytest.mark.parametrize("workers", [1, 2], ids=["one-worker", "two-workers"])
def test_metrics_are_served_on_their_own_port_only(database: Path, tmp_path: Path, workers: int) -> None:
    metrics = free_port()
    with serving(database, tmp_path, workers=workers, METRICS_PORT=str(metrics)) as (process, api):
        wait_until_healthy(process, f"http://127.0.0.1:{metrics}", tmp_path / "serve.log", probe="/metrics")
        query = {"query": "query Counted { sessions(first: 1) { totalCount } }"}
        for _ in range(3):  # a connection each, so that with two workers both may answer
            with httpx.Client(base_url=api, timeout=10) as http:
                answer = http.post("/graphql", json=query, headers={"Authorization": f"Bearer {token_for('acme')}"})
                assert answer.status_code == 200, answer.text
        with httpx.Client(timeout=10) as http:
            on_api = http.get(f"{api}/metrics")
            scraped = http.get(f"http://127.0.0.1:{metrics}/metrics")
    assert on_api.status_code == 404
    assert "gateway_requests_total" not in on_api.text
    assert scraped.status_code == 200
    counted = [float(line.rsplit(" ", 1)[1]) for line in scraped.text.splitlines() if line.startswith(COUNTED)]
    assert counted == [3.0]


def test_the_metrics_port_and_host_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"GATEWAY_METRICS_PORT": "9100"})
    assert (settings.metrics_port, settings.metrics_host) == (9100, "127.0.0.1")
    settings = Settings.from_env({"GATEWAY_METRICS_PORT": "9100", "GATEWAY_METRICS_HOST": "10.0.0.5"})
    assert (settings.metrics_port, settings.metrics_host) == (9100, "10.0.0.5")
    assert Settings.from_env({}).metrics_port is None
    for wrong in ("0", "65536", "nine"):
        with pytest.raises(SettingsError, match="GATEWAY_METRICS_PORT"):
            Settings.from_env({"GATEWAY_METRICS_PORT": wrong})
