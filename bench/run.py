"""The benchmark: the gateway (compiled plans on and off) and the floor, driven by wrk on loopback.

    .venv/bin/python bench/run.py [--sessions 100000] [--workers 1] [--duration 10] [--connections 32]
                                  [--threads 1] [--scaling] [--quick] [--postgres-url URL]

Seeds (or reuses) ``gw_bench_<sessions>`` on the PostgreSQL server, measures every scenario and
writes ``bench/RESULTS.md``. Needs ``wrk`` and Linux ``/proc``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import inprocess
import procstat
import seeding
from results import COMPILED, EXECUTOR, FLOOR, Measurement, Run, render
from scenarios import DETAIL_QUERY, GROWTH_SCENARIOS, PAGE_SIZE, Scenario, scenarios
from servers import floor_command, gateway_command, require_wrk, run_wrk, serving, wrk_version
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sessions_gateway.gateway.auth import issue_token
from sessions_gateway.gateway.config import Settings

if TYPE_CHECKING:
    from servers import Server

BENCH = Path(__file__).resolve().parent
DEFAULT_POSTGRES_URL = "postgresql://root@127.0.0.1:5432/test"
GATEWAY_PORT = 8701
FLOOR_PORT = 8702
MEDIA_BASE_URL = "https://media.example.com"
DEEP_ROWS = 50_000
GROWTH_BASE_SESSIONS = 100_000
TOKEN_TTL_SECONDS = 12 * 3600
PATHS = {COMPILED: "true", EXECUTOR: "false"}
# A run during which other processes used more than this share of the machine is measured again.
NOISE_LIMIT_PCT = 10.0

# Sessions of several shapes for the DETAIL floor check (each name is a WHERE over sessions s).
DETAIL_SHAPES = {
    "benchmarked": "s.status = 'completed' AND s.task_id IS NOT NULL AND s.name <> '' AND r.storage_key IS NOT NULL"
    " AND m.score IS NOT NULL AND (SELECT count(*) FROM procedures p WHERE p.session_id = s.id) >= 5",
    "in progress": "s.status = 'in_progress'",
    "no recording": "r.session_id IS NULL",
    "expired legacy recording": "r.legacy_url IS NOT NULL AND r.legacy_expires_at <= now()",
    "live legacy recording": "r.legacy_url IS NOT NULL AND r.legacy_expires_at > now()",
    "unnamed, no task": "(s.name IS NULL OR s.name = '') AND s.task_id IS NULL",
    "blank summary row": "m.session_id IS NOT NULL AND m.score IS NULL AND m.prose IS NULL AND m.trainer_notes IS NULL",
}

DETAIL_ID_SQL = (
    "SELECT s.id FROM sessions s LEFT JOIN recordings r ON r.session_id = s.id "
    "LEFT JOIN session_summaries m ON m.session_id = s.id "
    "WHERE s.tenant_id = :tenant AND s.deleted_at IS NULL AND {where} ORDER BY s.id LIMIT 1 OFFSET 100"
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def _scalar_rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


async def detail_ids(url: str, tenant: str) -> dict[str, str]:
    out = {}
    for shape, where in DETAIL_SHAPES.items():
        sql = DETAIL_ID_SQL.format(where=where)
        rows = await _scalar_rows(url, sql, tenant=tenant)
        if rows:
            out[shape] = str(rows[0][0])
    return out


def machine(postgres_version: str) -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": str(os.cpu_count()),
        "CPU": cpu,
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "PostgreSQL": postgres_version,
        "load generator": f"{wrk_version()} on loopback, on the same machine",
    }


def data_lines(p: dict[str, Any], sessions: int) -> list[str]:
    live = p["live"] or 1

    def pct(n: int) -> str:
        return f"{n:,} ({100 * n / live:.1f}%)"

    return [
        (
            f"tenant `{seeding.BIG_TENANT}`: {sessions:,} sessions seeded, {p['live']:,} live, {p['erased']:,} erased "
            f"(deleted_at set); plus tenants {', '.join(seeding.SMALL_TENANTS)} of "
            f"{seeding.SMALL_TENANT_SESSIONS:,} sessions each"
        ),
        (
            f"procedures: {p['procedures']:,}, {p['procedures'] / live:.2f} per live session; "
            f"sessions without any: {pct(p['no_procedures'])}"
        ),
        f"summaries: rows for {pct(p['summary_rows'])}; non-blank (what `summary` returns) {pct(p['summaries'])}",
        f"linked tasks: {pct(p['linked'])} (over {p['tasks']:,} tasks); unnamed sessions: {pct(p['unnamed'])}",
        (
            f"status: completed {pct(p['completed'])}, failed {pct(p['failed'])}, in progress {pct(p['in_progress'])}; "
            f"role trainer {pct(p['trainer'])}; users: {p['users']:,}"
        ),
        (
            f"recordings: none {pct(p['rec_none'])}, uploading {pct(p['rec_uploading'])}, "
            f"ready in storage {pct(p['rec_storage'])}, legacy live {pct(p['rec_legacy_live'])}, "
            f"legacy expired {pct(p['rec_legacy_expired'])}"
        ),
    ]


@dataclasses.dataclass
class Bench:
    args: argparse.Namespace
    secret: str
    work_dir: Path
    run: Run

    def env(self, database_url: str, compiled: str) -> dict[str, str]:
        return {
            **os.environ,
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_JWT_SECRET": self.secret,
            "GATEWAY_MEDIA_BASE_URL": MEDIA_BASE_URL,
            "GATEWAY_COMPILED_PLANS": compiled,
            "GATEWAY_GRAPHIQL": "false",
        }

    def token(self, database_url: str) -> str:
        settings = Settings.from_env(self.env(database_url, "true"))
        return str(issue_token(settings, tenant_id=seeding.BIG_TENANT, subject="bench", ttl_seconds=TOKEN_TTL_SECONDS))

    def measure(
        self,
        server: Server,
        scenario: Scenario,
        *,
        target: str,
        sessions: int,
        workers: int,
        token: str,
        sql: float | None,
    ) -> Measurement:
        connections = min(self.args.connections, scenario.max_connections or self.args.connections)
        m = None
        for attempt in range(1 + self.args.retries):
            candidate = self._measure_once(
                server,
                scenario,
                target=target,
                sessions=sessions,
                workers=workers,
                token=token,
                sql=sql,
                connections=connections,
            )
            if m is None or candidate.other_cpu_pct < m.other_cpu_pct:
                m = candidate
            if candidate.other_cpu_pct <= NOISE_LIMIT_PCT or attempt == self.args.retries:
                break
            log(
                f"{scenario.name} on {target}: other processes used {candidate.other_cpu_pct:.0f}% of the machine "
                f"during the run (attempt {attempt + 1}); measuring again"
            )
        assert m is not None
        log(
            f"{scenario.name:<10} {target:<24} w={workers} c={connections}: {m.rps:,.0f} req/s, "
            f"p50 {m.p50_ms:.1f} ms, p99 {m.p99_ms:.1f} ms, {m.cpu_ms_per_request:.2f} CPU ms/req, errors {m.errors}, "
            f"other CPU {m.other_cpu_pct:.0f}%"
        )
        self.run.measurements.append(m)
        return m

    def _measure_once(
        self,
        server: Server,
        scenario: Scenario,
        *,
        target: str,
        sessions: int,
        workers: int,
        token: str,
        sql: float | None,
        connections: int,
    ) -> Measurement:
        peak_reset = all(procstat.reset_peak(pid) for pid in procstat.workers(server.pid))
        common = {"body": scenario.body(), "token": token, "connections": connections, "threads": self.args.threads}
        run_wrk(server.url, seconds=self.args.warmup, work_dir=self.work_dir, **common)
        procstat.settle(server.pid)  # requests the warm-up left in flight finish before the clock starts
        procstat.wait_for_quiet(timeout=self.args.quiet_wait)
        before = procstat.sample(server.pid)
        seconds = max(self.args.duration, scenario.min_seconds)
        result = run_wrk(server.url, seconds=seconds, work_dir=self.work_dir, **common)
        after = procstat.sample(server.pid)
        used = procstat.usage(before, after)
        requests = max(result.requests, 1)
        return Measurement(
            scenario=scenario.name,
            target=target,
            sessions=sessions,
            workers=workers,
            connections=connections,
            requests=result.requests,
            rps=result.rps,
            p50_ms=result.p50_ms,
            p99_ms=result.p99_ms,
            errors=result.errors,
            sql_per_request=sql,
            cpu_ms_per_request=used.server / requests,
            pg_cpu_ms_per_request=used.postgres / requests,
            peak_rss_mib=[procstat.vm_hwm_kib(pid) / 1024 for pid in procstat.workers(server.pid)],
            peak_reset=peak_reset,
            other_cpu_pct=100 * used.other / (result.seconds * 1000 * (os.cpu_count() or 1)),
        )

    def gateway(
        self,
        database_url: str,
        target: str,
        workers: int,
        chosen: list[Scenario],
        *,
        sessions: int,
        token: str,
        sql: dict[str, float],
    ) -> None:
        env = self.env(database_url, PATHS[target])
        label = f"gateway-{PATHS[target]}-{workers}w-{sessions}"
        command = gateway_command(port=GATEWAY_PORT, workers=workers)
        log_file = self.work_dir / f"{label}.log"
        with serving(command, env, port=GATEWAY_PORT, log=log_file, ready_path="/readyz") as server:
            for scenario in chosen:
                self.measure(
                    server,
                    scenario,
                    target=target,
                    sessions=sessions,
                    workers=workers,
                    token=token,
                    sql=sql.get(scenario.name),
                )

    def floor(
        self,
        database_url: str,
        chosen: list[Scenario],
        *,
        sessions: int,
        token: str,
        gateway_responses: dict[str, dict[str, Any]],
        extra_details: dict[str, str],
    ) -> None:
        env = {
            **os.environ,
            "FLOOR_DATABASE_URL": database_url,
            "FLOOR_JWT_SECRET": self.secret,
            "FLOOR_MEDIA_BASE_URL": MEDIA_BASE_URL,
        }
        log_file = self.work_dir / f"floor-{sessions}.log"
        with serving(
            floor_command(port=FLOOR_PORT), env, port=FLOOR_PORT, log=log_file, ready_path="/healthz"
        ) as server:
            asyncio.run(self.check_floor(server.url, token, chosen, gateway_responses, database_url, extra_details))
            for scenario in chosen:
                self.measure(server, scenario, target=FLOOR, sessions=sessions, workers=1, token=token, sql=1)

    async def check_floor(
        self,
        floor_url: str,
        token: str,
        chosen: list[Scenario],
        gateway_responses: dict[str, dict[str, Any]],
        database_url: str,
        extra_details: dict[str, str],
    ) -> None:
        """The floor's ``data`` equals the gateway's: for the benchmarked requests and detail of every shape."""
        checks: list[tuple[str, Scenario, dict[str, Any]]] = [(s.name, s, gateway_responses[s.name]) for s in chosen]
        async with inprocess.running(self.env(database_url, "false")) as (client, _sent):
            for shape, session_id in extra_details.items():
                scenario = Scenario(f"DETAIL ({shape})", "", "Detail", DETAIL_QUERY, {"id": session_id})
                checks.append((scenario.name, scenario, await inprocess.post(client, token, scenario.body())))
        failures = []
        for name, scenario, response in checks:
            difference = await inprocess.floor_matches(floor_url, token, scenario, response)
            if difference is not None:
                failures.append(f"{name}: {difference}")
        names = ", ".join(name for name, _, _ in checks)
        if failures:
            self.run.checks.append("**Floor check FAILED**: " + "; ".join(failures))
            log("floor check FAILED: " + "; ".join(failures))
        else:
            self.run.checks.append(
                f"Floor check passed: the floor's `data` equals the gateway's (durationSeconds of in-progress "
                f"sessions aside) for {names}."
            )
            log("floor check passed")


def filter_for(newest: datetime) -> dict[str, Any]:
    return {
        "status": "COMPLETED",
        "role": "TRAINEE",
        "startedAfter": (newest - timedelta(days=200)).isoformat(),
        "startedBefore": (newest - timedelta(days=20)).isoformat(),
    }


def prepare(bench: Bench, sessions: int) -> tuple[str, str, str, list[Scenario], dict[str, str]]:
    """Seed or reuse the database; its owner's and its reader's URLs, the token, scenarios and detail ids."""
    database = asyncio.run(seeding.ensure(bench.args.postgres_url, sessions))
    if database.seeded_now:
        log(f"seeded {database.url.rsplit('/', 1)[-1]} in {database.seconds:.0f} s")
        bench.run.notes.append(f"Seeded {sessions:,} sessions in this run ({database.seconds:.0f} s).")
    else:
        log(f"reusing {database.url.rsplit('/', 1)[-1]}")
    token = bench.token(database.url)
    props = asyncio.run(seeding.proportions(database.url))
    if sessions == bench.args.sessions:
        bench.run.data["lines"] = data_lines(props, sessions)
    deep_rows = min(DEEP_ROWS, (props["live"] - 2 * PAGE_SIZE) // 100 * 100)
    env = bench.env(database.reader_url, "false")
    cursor, walk_seconds = asyncio.run(inprocess.deep_cursor(env, token, deep_rows))
    log(f"deep cursor ({deep_rows:,} rows in) found in {walk_seconds:.1f} s")
    ids = asyncio.run(detail_ids(database.url, seeding.BIG_TENANT))
    chosen = scenarios(
        detail_id=ids["benchmarked"],
        deep_cursor=cursor,
        deep_rows=deep_rows,
        filter_=filter_for(props["newest"]),
        report_connections=bench.args.report_connections,
    )
    return database.url, database.reader_url, token, chosen, ids


def compare_paths(bench: Bench, answers: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Both paths answer every scenario with the same ``data`` (the clock-dependent values aside)."""
    differ = [
        name
        for name, response in answers[EXECUTOR].items()
        if inprocess.without_clock(response["data"]) != inprocess.without_clock(answers[COMPILED][name]["data"])
    ]
    if differ:
        bench.run.checks.append(f"**Paths disagree**: compiled plans and the executor answer differently: {differ}")
        log(f"paths disagree on {differ}")
    else:
        bench.run.checks.append(
            f"Both paths answer every scenario with the same `data` ({', '.join(answers[EXECUTOR])})."
        )


def run_size(bench: Bench, sessions: int, *, full: bool) -> None:
    # The gateway reads as the reader role (behind row-level security); the floor as the owner.
    owner_url, database_url, token, chosen, ids = prepare(bench, sessions)
    if not full:
        chosen = [s for s in chosen if s.name in GROWTH_SCENARIOS]
    sql: dict[str, dict[str, float]] = {}
    answers: dict[str, dict[str, dict[str, Any]]] = {}
    for target, compiled in PATHS.items():
        sql[target], answers[target] = asyncio.run(
            inprocess.statements_per_request(bench.env(database_url, compiled), token, chosen)
        )
        log(f"SQL statements per request, {target}: {sql[target]}")
    if full:
        compare_paths(bench, answers)
        bench.run.settings.setdefault("scenarios", "; ".join(f"{s.name}: {s.description}" for s in chosen))
        floor_scenarios = [s for s in chosen if s.floor]
        extra = {shape: i for shape, i in ids.items() if shape != "benchmarked"}
        bench.floor(
            owner_url,
            floor_scenarios,
            sessions=sessions,
            token=token,
            gateway_responses=answers[EXECUTOR],
            extra_details=extra,
        )
    for target in PATHS:
        bench.gateway(database_url, target, bench.args.workers, chosen, sessions=sessions, token=token, sql=sql[target])
    if full and bench.args.scaling:
        list_only = [s for s in chosen if s.name == "LIST"]
        other = 2 if bench.args.workers == 1 else 1
        for target in PATHS:
            bench.gateway(database_url, target, other, list_only, sessions=sessions, token=token, sql=sql[target])


def postgres_version(server_url: str) -> str:
    url = server_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    rows = asyncio.run(_scalar_rows(url, "SHOW server_version"))
    return str(rows[0][0])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=100_000, help="sessions of the benchmarked tenant")
    parser.add_argument("--workers", type=int, default=1, choices=(1, 2), help="gateway workers")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each scenario")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--report-connections", type=int, default=2, help="wrk connections for REPORT")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--scaling", action="store_true", help="also run LIST with the other worker count (1 or 2)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="seconds to wait, before each run, for other processes to leave the machine idle",
    )
    parser.add_argument(
        "--retries", type=int, default=2, help="measure a scenario again this often while other processes were busy"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s per scenario, 1 s warm-up")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="any database on the server; the benchmark creates gw_bench_<sessions> there",
    )
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 2.0, 1.0
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    require_wrk()
    started = time.perf_counter()
    run = Run(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine(postgres_version(args.postgres_url)),
        settings={
            "sessions": args.sessions,
            "workers": args.workers,
            "duration": f"{args.duration:g} s per scenario after {args.warmup:g} s of warm-up",
            "wrk": f"-t{args.threads} -c{args.connections} (REPORT: -c{args.report_connections}), loopback",
            "quick": args.quick,
            "database roles": f"the gateway reads as {seeding.READER_ROLE}, which owns nothing and may only SELECT "
            "(row-level security applies, one read-only transaction per request); the floor reads as the owner",
            "noise control": f"wait up to {args.quiet_wait:g} s for an idle machine before each run; "
            f"{args.retries} retries while other processes use >{NOISE_LIMIT_PCT:g}% of it",
        },
        data={},
    )
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        bench = Bench(args=args, secret=secrets.token_urlsafe(32), work_dir=Path(tmp), run=run)
        run_size(bench, args.sessions, full=True)
        if args.sessions > GROWTH_BASE_SESSIONS:
            run_size(bench, GROWTH_BASE_SESSIONS, full=False)
    run.notes.append(
        "wrk, the server and PostgreSQL share this machine's cores: throughput is that of the whole box, "
        "and a second worker competes with wrk and PostgreSQL for the same CPUs."
    )
    run.notes.append(f"Total benchmark time: {time.perf_counter() - started:.0f} s.")
    args.output.write_text(render(run))
    log(f"wrote {args.output}")


if __name__ == "__main__":
    main()
