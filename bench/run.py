"""The benchmark: the gateway (compiled plans on and off), PostGraphile 5 and the floor, driven by wrk on loopback.

    .venv/bin/python bench/run.py [--sessions 100000] [--workers 1] [--duration 10] [--connections 8,32]
                                  [--threads 2] [--scaling] [--quick] [--postgres-url URL]

Seeds (or reuses) ``gw_bench_<sessions>`` on the PostgreSQL server, measures every scenario as the
tables' owner and as the reader role (row-level security on), and writes ``bench/RESULTS.md``.
Needs ``wrk``, Linux ``/proc`` and, for PostGraphile 5, npm (``bench/postgraphile``, installed on first use).
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
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import inprocess
import pg5
import procstat
import seeding
from results import COMPILED, EXECUTOR, FLOOR, OWNER, PG5, READER, Measurement, Run, render
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
PG5_PORT = 8703
MEDIA_BASE_URL = "https://media.example.com"
DEEP_ROWS = 50_000
GROWTH_BASE_SESSIONS = 100_000
TOKEN_TTL_SECONDS = 12 * 3600
PATHS = {COMPILED: "true", EXECUTOR: "false"}
# The gateway's runs: compiled plans as either role; the executor (the slower path, there to show what
# compiled plans save) as the reader only, as in production.
GATEWAY_RUNS = ((OWNER, COMPILED), (READER, COMPILED), (READER, EXECUTOR))
DEFAULT_CONNECTIONS = (8, 32)
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


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """The seeded database and what every server is asked."""

    owner_url: str  # postgresql+asyncpg://... as the tables' owner
    reader_url: str  # the same database as the reader role (row-level security applies)
    token: str
    scenarios: list[Scenario]
    detail_ids: dict[str, str]  # a session of each shape (DETAIL_SHAPES), for the answer checks
    deep_rows: int
    filter_: dict[str, Any]

    def url(self, role: str) -> str:
        return self.owner_url if role == OWNER else self.reader_url


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

    def measure_all(
        self,
        server: Server,
        chosen: list[Scenario],
        *,
        target: str,
        role: str,
        sessions: int,
        workers: int,
        token: str,
        sql: dict[str, float],
        round_: int = 1,
        connection_counts: list[int] | None = None,
    ) -> None:
        """Every scenario at every connection count (REPORT once, at its own fewer connections)."""
        counts = connection_counts or self.args.connections
        for connections in counts:
            for scenario in chosen:
                capped = min(connections, scenario.max_connections or connections)
                if capped != connections and connections != counts[0]:
                    continue  # measured already, at the first connection count
                self.measure(
                    server,
                    scenario,
                    target=target,
                    role=role,
                    sessions=sessions,
                    workers=workers,
                    token=token,
                    sql=sql.get(scenario.name),
                    connections=capped,
                    round_=round_,
                )

    def measure(
        self,
        server: Server,
        scenario: Scenario,
        *,
        target: str,
        role: str,
        sessions: int,
        workers: int,
        token: str,
        sql: float | None,
        connections: int,
        round_: int = 1,
    ) -> Measurement:
        m = None
        for attempt in range(1 + self.args.retries):
            candidate = self._measure_once(
                server,
                scenario,
                target=target,
                role=role,
                sessions=sessions,
                workers=workers,
                token=token,
                sql=sql,
                connections=connections,
                round_=round_,
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
        where = f"{target}, {role}" + (f", round {round_}" if target == PG5 else "")
        log(
            f"{scenario.name:<10} {where:<34} w={workers} c={connections}: {m.rps:,.0f} req/s, "
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
        role: str,
        sessions: int,
        workers: int,
        token: str,
        sql: float | None,
        connections: int,
        round_: int,
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
            role=role,
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
            round=round_,
        )

    def gateway(
        self,
        database_url: str,
        target: str,
        role: str,
        workers: int,
        chosen: list[Scenario],
        *,
        sessions: int,
        token: str,
        sql: dict[str, float],
        connections: list[int] | None = None,
    ) -> None:
        env = self.env(database_url, PATHS[target])
        label = f"gateway-{PATHS[target]}-{role}-{workers}w-{sessions}"
        command = gateway_command(port=GATEWAY_PORT, workers=workers)
        log_file = self.work_dir / f"{label}.log"
        with serving(command, env, port=GATEWAY_PORT, log=log_file, ready_path="/readyz") as server:
            self.measure_all(
                server,
                chosen,
                target=target,
                role=role,
                sessions=sessions,
                workers=workers,
                token=token,
                sql=sql,
                connection_counts=connections,
            )

    def floor(
        self,
        prepared: Prepared,
        chosen: list[Scenario],
        *,
        sessions: int,
        gateway_responses: dict[str, dict[str, Any]],
    ) -> None:
        env = {
            **os.environ,
            "FLOOR_DATABASE_URL": prepared.owner_url,
            "FLOOR_JWT_SECRET": self.secret,
            "FLOOR_MEDIA_BASE_URL": MEDIA_BASE_URL,
        }
        log_file = self.work_dir / f"floor-{sessions}.log"
        with serving(
            floor_command(port=FLOOR_PORT), env, port=FLOOR_PORT, log=log_file, ready_path="/healthz"
        ) as server:
            asyncio.run(self.check_floor(server.url, prepared.token, chosen, gateway_responses))
            self.measure_all(
                server,
                chosen,
                target=FLOOR,
                role=OWNER,
                sessions=sessions,
                workers=1,
                token=prepared.token,
                sql=dict.fromkeys((s.name for s in chosen), 1.0),
            )

    async def check_floor(
        self,
        floor_url: str,
        token: str,
        chosen: list[Scenario],
        gateway_responses: dict[str, dict[str, Any]],
    ) -> None:
        """The floor's ``data`` equals the gateway's: for the benchmarked requests and detail of every shape."""
        checks = [(s.name, s) for s in chosen] + [
            (name, s) for name, s in shape_scenarios(gateway_responses).items() if name not in {c.name for c in chosen}
        ]
        failures = []
        for name, scenario in checks:
            difference = await inprocess.floor_matches(floor_url, token, scenario, gateway_responses[name])
            if difference is not None:
                failures.append(f"{name}: {difference}")
        names = ", ".join(name for name, _ in checks)
        if failures:
            self.run.checks.append("**Floor check FAILED**: " + "; ".join(failures))
            log("floor check FAILED: " + "; ".join(failures))
        else:
            self.run.checks.append(
                f"Floor check passed: the floor's `data` equals the gateway's (durationSeconds of in-progress "
                f"sessions aside) for {names}."
            )
            log("floor check passed")

    def postgraphile(
        self,
        prepared: Prepared,
        role: str,
        chosen: list[Scenario],
        *,
        sessions: int,
        gateway_responses: dict[str, dict[str, Any]],
    ) -> None:
        """PostGraphile 5 as ``role``: its answers checked against the gateway's, then measured in rounds."""
        node = pg5.node_binary()
        env = pg5.env(prepared.url(role), self.secret, tenant_setting=role == READER)
        log_file = self.work_dir / f"postgraphile-{role}-{sessions}.log"
        command = pg5.command(node, port=PG5_PORT)
        tenant = seeding.BIG_TENANT if role == OWNER else None  # the reader's tenant is its pgSettings'
        with serving(command, env, port=PG5_PORT, log=log_file, ready_path="/healthz") as server:
            walk = pg5.deep_cursor(server.url, prepared.token, prepared.deep_rows, tenant=tenant)
            cursor, seconds = asyncio.run(walk)
            log(f"PostGraphile 5 ({role}): its deep cursor ({prepared.deep_rows:,} rows in) found in {seconds:.1f} s")
            theirs = pg5.scenarios(chosen, tenant=tenant, deep_cursor=cursor, filter_=prepared.filter_)
            shapes = [
                replace(pg5_detail, name=name, variables={"id": s.variables["id"]})
                for name, s in shape_scenarios(gateway_responses).items()
                for pg5_detail in theirs
                if pg5_detail.name == "DETAIL" and name != "DETAIL"
            ]
            sql, answers = asyncio.run(pg5.statements_per_request(server.url, prepared.token, theirs + shapes))
            log(f"SQL statements per request, PostGraphile 5 ({role}): {sql}")
            self.check_postgraphile(role, theirs + shapes, answers, gateway_responses)
            warmup = self.args.pg5_warmup / max(1, len(theirs))
            log(f"PostGraphile 5 ({role}): warming up for {self.args.pg5_warmup:g} s")
            for scenario in theirs:
                run_wrk(
                    server.url,
                    body=scenario.body(),
                    token=prepared.token,
                    seconds=warmup,
                    connections=max(self.args.connections),
                    threads=self.args.threads,
                    work_dir=self.work_dir,
                )
            for round_ in range(1, self.args.pg5_rounds + 1):
                self.measure_all(
                    server,
                    theirs,
                    target=PG5,
                    role=role,
                    sessions=sessions,
                    workers=1,
                    token=prepared.token,
                    sql=sql,
                    round_=round_,
                )

    def check_postgraphile(
        self,
        role: str,
        theirs: list[Scenario],
        answers: dict[str, dict[str, Any]],
        gateway_responses: dict[str, dict[str, Any]],
    ) -> None:
        failures = []
        for scenario in theirs:
            difference = pg5.pg5_matches(
                scenario.operation, answers[scenario.name], gateway_responses[scenario.name], MEDIA_BASE_URL
            )
            if difference is not None:
                failures.append(f"{scenario.name}: {difference}")
        names = ", ".join(s.name for s in theirs)
        as_role = "as the owner" if role == OWNER else "as the reader, tenant in pgSettings"
        compared = f"The PostGraphile 5 check compares, between its answer and the gateway's: {pg5.COMPARED}."
        if compared not in self.run.checks:
            self.run.checks.append(compared)
        if failures:
            self.run.checks.append(f"**PostGraphile 5 check FAILED** ({as_role}): " + "; ".join(failures))
            log(f"PostGraphile 5 check FAILED ({role}): " + "; ".join(failures))
        else:
            self.run.checks.append(f"PostGraphile 5 check passed ({as_role}) for {names}.")
            log(f"PostGraphile 5 check passed ({role})")


def shape_scenarios(responses: dict[str, dict[str, Any]]) -> dict[str, Scenario]:
    """The DETAIL requests whose gateway answers ``responses`` holds, by name (``DETAIL`` and ``DETAIL (<shape>)``)."""
    out = {}
    for name, response in responses.items():
        if name.startswith("DETAIL"):
            session = response["data"]["session"]
            out[name] = Scenario(name, "", "Detail", DETAIL_QUERY, {"id": session["id"]})
    return out


def filter_for(newest: datetime) -> dict[str, Any]:
    return {
        "status": "COMPLETED",
        "role": "TRAINEE",
        "startedAfter": (newest - timedelta(days=200)).isoformat(),
        "startedBefore": (newest - timedelta(days=20)).isoformat(),
    }


def prepare(bench: Bench, sessions: int) -> Prepared:
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
    filter_ = filter_for(props["newest"])
    chosen = scenarios(
        detail_id=ids["benchmarked"],
        deep_cursor=cursor,
        deep_rows=deep_rows,
        filter_=filter_,
        report_connections=bench.args.report_connections,
    )
    return Prepared(database.url, database.reader_url, token, chosen, ids, deep_rows, filter_)


def compare_answers(bench: Bench, answers: dict[tuple[str, str], dict[str, dict[str, Any]]]) -> None:
    """Both paths and both roles answer every scenario with the same ``data`` (the clock-dependent values aside)."""
    reference = answers[READER, COMPILED]
    for key, other in answers.items():
        if key == (READER, COMPILED):
            continue
        differ = [
            name
            for name, response in other.items()
            if inprocess.without_clock(response["data"]) != inprocess.without_clock(reference[name]["data"])
        ]
        role, target = key
        if differ:
            bench.run.checks.append(
                f"**Answers differ**: {target} as the {role} and {COMPILED} as the reader: {differ}"
            )
            log(f"{target} as the {role} answers differently on {differ}")
        else:
            bench.run.checks.append(
                f"{target} as the {role} answers every scenario with the same `data` as {COMPILED} as the reader "
                f"({', '.join(other)})."
            )


def run_size(bench: Bench, sessions: int, *, full: bool) -> None:
    prepared = prepare(bench, sessions)
    chosen = prepared.scenarios
    shapes: dict[str, dict[str, Any]] = {}
    runs = GATEWAY_RUNS if full else tuple((READER, target) for target in PATHS)
    if not full:
        chosen = [s for s in chosen if s.name in GROWTH_SCENARIOS]
    sql: dict[tuple[str, str], dict[str, float]] = {}
    answers: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for role, target in runs:
        env = bench.env(prepared.url(role), PATHS[target])
        sql[role, target], answers[role, target] = asyncio.run(
            inprocess.statements_per_request(env, prepared.token, chosen)
        )
        log(f"SQL statements per request, {target} as the {role}: {sql[role, target]}")
    if full:
        compare_answers(bench, answers)
        bench.run.settings.setdefault("scenarios", "; ".join(f"{s.name}: {s.description}" for s in chosen))
        shapes = asyncio.run(detail_shapes(bench, prepared))
        floor_scenarios = [s for s in chosen if s.floor]
        owner_answers = {**answers[OWNER, COMPILED], **shapes}
        bench.floor(prepared, floor_scenarios, sessions=sessions, gateway_responses=owner_answers)
    for role, target in runs:
        if full and target == COMPILED and not bench.args.skip_postgraphile:
            bench.postgraphile(
                prepared, role, chosen, sessions=sessions, gateway_responses={**answers[role, target], **shapes}
            )
        bench.gateway(
            prepared.url(role), target, role, bench.args.workers, chosen, sessions=sessions, token=prepared.token,
            sql=sql[role, target],
        )  # fmt: skip
    if full and bench.args.scaling:
        list_only = [s for s in chosen if s.name == "LIST"]
        other = 2 if bench.args.workers == 1 else 1
        for target in PATHS:
            bench.gateway(
                prepared.reader_url, target, READER, other, list_only, sessions=sessions, token=prepared.token,
                sql=sql[READER, target], connections=[max(bench.args.connections)],
            )  # fmt: skip


async def detail_shapes(bench: Bench, prepared: Prepared) -> dict[str, dict[str, Any]]:
    """The gateway's DETAIL answer (as the reader) for a session of every shape but the benchmarked one."""
    out = {}
    async with inprocess.running(bench.env(prepared.reader_url, "false")) as (client, _sent):
        for shape, session_id in prepared.detail_ids.items():
            if shape != "benchmarked":
                body = Scenario(shape, "", "Detail", DETAIL_QUERY, {"id": session_id}).body()
                out[f"DETAIL ({shape})"] = await inprocess.post(client, prepared.token, body)
    return out


def postgres_version(server_url: str) -> str:
    url = server_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    rows = asyncio.run(_scalar_rows(url, "SHOW server_version"))
    return str(rows[0][0])


def _counts(value: str) -> list[int]:
    counts = sorted({int(part) for part in value.split(",") if part.strip()})
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError("give connection counts like 8,32")
    return counts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=100_000, help="sessions of the benchmarked tenant")
    parser.add_argument("--workers", type=int, default=1, choices=(1, 2), help="gateway workers")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each scenario")
    parser.add_argument(
        "--connections",
        type=_counts,
        default=list(DEFAULT_CONNECTIONS),
        help="wrk connection counts, comma-separated (every scenario is measured at each)",
    )
    parser.add_argument("--report-connections", type=int, default=2, help="wrk connections for REPORT")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
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
    parser.add_argument(
        "--pg5-rounds", type=int, default=None, help="rounds of PostGraphile 5 measurements (3; --quick: 1)"
    )
    parser.add_argument(
        "--pg5-warmup",
        type=float,
        default=None,
        help="seconds of load on PostGraphile 5 before its first round, for its JIT (30; --quick: 5)",
    )
    parser.add_argument("--skip-postgraphile", action="store_true", help="measure the gateway and the floor only")
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
    if args.pg5_rounds is None:
        args.pg5_rounds = 1 if args.quick else 3
    if args.pg5_warmup is None:
        args.pg5_warmup = 5.0 if args.quick else 30.0
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    require_wrk()
    node = None
    if not args.skip_postgraphile:
        if not pg5.STAMP.exists():
            log("installing PostGraphile 5 (npm ci in bench/postgraphile)")
        pg5.ensure_installed()
        node = pg5.node_binary()
    started = time.perf_counter()
    conns = ", ".join(f"-c{c}" for c in args.connections)
    settings: dict[str, Any] = {
        "sessions": args.sessions,
        "workers": args.workers,
        "duration": f"{args.duration:g} s per scenario after {args.warmup:g} s of warm-up",
        "wrk": f"-t{args.threads}, {conns} (REPORT: -c{args.report_connections}), loopback",
        "quick": args.quick,
        "database roles": f"each server is measured as the tables' owner (row-level security does not apply) and "
        f"as {seeding.READER_ROLE}, which owns nothing and may only SELECT (row-level security applies); the "
        f"gateway sets the tenant in one read-only transaction per request either way; its executor-only path "
        f"is measured as the reader only; the floor reads as the owner",
        "noise control": f"wait up to {args.quiet_wait:g} s for an idle machine before each run; "
        f"{args.retries} retries while other processes use >{NOISE_LIMIT_PCT:g}% of it",
    }
    if node is not None:
        settings["PostGraphile 5"] = (
            f"postgraphile 5.1.5 (bench/postgraphile/package-lock.json) on Node {pg5.node_version(node)}, amber "
            f"preset, NODE_ENV=production, grafserv on node:http, one process, a pool of 10 connections, no GraphiQL, "
            f"no watch; as the owner its queries carry condition tenantId and no pgSettings (no transaction), as the "
            f"reader the token's tenant goes in pgSettings (sessions_gateway.tenant_id: a transaction per request) "
            f"and row-level security scopes the rows; {args.pg5_warmup:g} s of load before its first round, then "
            f"{args.pg5_rounds} round(s) of every scenario, the median round reported; its queries: `bench/pg5.py`"
        )
    run = Run(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine(postgres_version(args.postgres_url)),
        settings=settings,
        data={},
    )
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        bench = Bench(args=args, secret=secrets.token_urlsafe(32), work_dir=Path(tmp), run=run)
        run_size(bench, args.sessions, full=True)
        if args.sessions > GROWTH_BASE_SESSIONS:
            run_size(bench, GROWTH_BASE_SESSIONS, full=False)
    run.notes.append(
        "wrk, the servers and PostgreSQL share this machine's cores: throughput is that of the whole box, "
        "and a second worker competes with wrk and PostgreSQL for the same CPUs."
    )
    run.notes.append(f"Total benchmark time: {time.perf_counter() - started:.0f} s.")
    args.output.write_text(render(run))
    log(f"wrote {args.output}")


if __name__ == "__main__":
    main()
