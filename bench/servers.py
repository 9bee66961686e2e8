"""Starting and stopping the servers under test, and driving them with wrk."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

BENCH = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH / "post.lua"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
WRK_TIMEOUT = "30s"
WRK_MISSING = (
    "wrk is not installed. Install it with your package manager, e.g. on Debian or Ubuntu:\n"
    "    sudo apt-get install wrk\n"
    "(or build it from https://github.com/wg/wrk), then run the benchmark again."
)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(WRK_MISSING)
    return path


def wrk_version() -> str:
    result = subprocess.run([require_wrk(), "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    first = (result.stdout or result.stderr).splitlines()
    return first[0].split(" [")[0] if first else "wrk"


@dataclass(frozen=True, slots=True)
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def _wait_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited ({server.process.returncode}); see {server.log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}{path}", timeout=2).status_code == 200:  # noqa: PLR2004
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not become ready in {READY_TIMEOUT_SECONDS:.0f} s; see {server.log}")


@contextlib.contextmanager
def serving(command: list[str], env: Mapping[str, str], *, port: int, log: Path, ready_path: str) -> Iterator[Server]:
    """Run ``command`` (a server listening on ``port``) until the block ends; stop it with SIGTERM."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        # Its own session: SIGTERM reaches uvicorn's supervisor, which stops its workers.
        process = subprocess.Popen(command, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
        server = Server(process, f"http://127.0.0.1:{port}", log)
        try:
            _wait_ready(server, ready_path)
            yield server
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group of the process we started, and nothing else
        process.wait()


def gateway_command(*, port: int, workers: int) -> list[str]:
    script = Path(sys.executable).parent / "sessions-gateway"
    return [str(script), "serve", "--port", str(port), "--workers", str(workers)]


def floor_command(*, port: int) -> list[str]:
    return [sys.executable, str(BENCH / "floor.py"), "--port", str(port)]


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    raw: dict[str, Any]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    url: str,
    *,
    body: dict[str, Any],
    token: str,
    seconds: float,
    connections: int,
    threads: int,
    work_dir: Path,
    echo: IO[str] | None = None,
) -> WrkResult:
    body_file = work_dir / "body.json"
    body_file.write_text(json.dumps(body))
    raw = wrk_json(
        url,
        script=LUA_SCRIPT,
        env={"BENCH_BODY_FILE": str(body_file), "BENCH_TOKEN": token},
        seconds=seconds,
        connections=connections,
        threads=threads,
        echo=echo,
    )
    errors = sum(
        raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts", "non_2xx", "graphql_errors")
    )
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=errors,
        raw=raw,
    )


def wrk_json(
    url: str,
    *,
    script: Path,
    env: Mapping[str, str],
    seconds: float,
    connections: int,
    threads: int,
    echo: IO[str] | None = None,
) -> dict[str, Any]:
    """Run wrk on ``url``/graphql with a Lua ``script`` (given ``env``) whose ``done`` prints ``BENCH_JSON {...}``.

    Returns that JSON object.
    """
    command = [
        require_wrk(),
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={WRK_TIMEOUT}",
        f"-s{script}",
        f"{url}/graphql",
    ]
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, check=False)  # noqa: S603
    if echo is not None:
        echo.write(result.stdout + result.stderr)
    lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    raw: dict[str, Any] = json.loads(lines[-1].removeprefix("BENCH_JSON "))
    return raw
