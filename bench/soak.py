"""The soak run: mixed dashboard and analyst traffic from several tenants for a bounded time; any error fails it.

    .venv/bin/python bench/soak.py [--duration 60] [--connections 32] [--tenants 3] [--sessions 20000]
                                   [--mix 60/30/10] [--warmup 5] [--postgres-url URL] [--output FILE]
                                   [--inject bad-signature|malformed-id]

Seeds (or reuses) ``gw_soak_<tenants>x<sessions>`` on the PostgreSQL server (tenants acme, northwind,
globex, ... of ``--sessions`` each), starts ``sessions-gateway serve`` (one worker, compiled plans) and
drives it with wrk (``soak.lua``) through a shuffled schedule of requests, each with its own tenant's
token: the dashboard's sessions list (with and without status/role filters; first pages, and the next
page through the cursor of the real first page), session detail (ids of sessions those first pages
show) and ``sessionsReport``. Samples the worker's RSS every second, writes ``bench/SOAK.md``, and
exits 1 when any request failed (a socket error or timeout, a status other than 200, or a body holding
``errors``) or the gateway stopped being ready. Needs ``wrk`` and Linux ``/proc``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import inprocess
import procstat
import run as bench_run
import seeding
from results import Run
from scenarios import DETAIL_QUERY, ROW_FIELDS
from servers import gateway_command, require_wrk, serving, wrk_json

from sessions_gateway.db.seed import tenant_identity
from sessions_gateway.gateway.auth import issue_token
from sessions_gateway.gateway.config import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from servers import Server

BENCH = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH / "soak.lua"
GATEWAY_PORT = 8703
PAGE_SIZE = 20
SCHEDULE_LENGTH = 1_000  # requests in the schedule wrk cycles through
RNG_SEED = 7
RSS_INTERVAL_SECONDS = 1.0
RSS_SERIES_EVERY = 10  # SOAK.md lists every 10th sample
WRK_THREADS = 1

LIST, DETAIL, REPORT = "list", "detail", "report"
# The dashboard's list: filters it offers (cursors are bound to their filter: each has its own next page).
LIST_FILTERS: dict[str, dict[str, str] | None] = {
    "no filter": None,
    "status": {"status": "COMPLETED"},
    "role": {"role": "TRAINER"},
    "status and role": {"status": "FAILED", "role": "TRAINEE"},
}
ERROR_CAUSES = {
    "connect_errors": "socket connect",
    "read_errors": "socket read",
    "write_errors": "socket write",
    "timeouts": "timeouts",
    "non_200": "status not 200",
    "graphql_errors": '200 with "errors"',
}
MALFORMED_ID = "not an id"  # white space: BAD_USER_INPUT

LIST_QUERY = f"""query SessionsList($first: Int!, $after: String, $filter: SessionFilter) {{
  sessions(first: $first, after: $after, filter: $filter) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{
      node {{{ROW_FIELDS}
      }}
    }}
  }}
}}"""

REPORT_QUERY = """query Report($filter: SessionFilter) {
  sessionsReport(filter: $filter) {
    totalCount
    byStatus { status count }
    byRole { role count }
    averageScore totalDurationHours procedureCount
  }
}"""

DESCRIPTIONS = {
    LIST: (
        f"`sessions(first: {PAGE_SIZE})` with `totalCount`, `pageInfo`, every row field, `user`, `linkedTask`; "
        f"filters: {', '.join(LIST_FILTERS)}; first pages and, through the first page's `endCursor`, second pages"
    ),
    DETAIL: "`session(id)`, every field (DETAIL of `bench/run.py`), ids of sessions the tenant's first pages show",
    REPORT: "`sessionsReport` (counts by status and role, average score, hours, procedures): whole tenant, "
    "last 90 days, last 90 days of jobber tasks",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    kind: str  # LIST, DETAIL or REPORT
    tenant: str
    body: dict[str, Any]


def list_body(filter_: dict[str, str] | None, after: str | None = None) -> dict[str, Any]:
    variables = {"first": PAGE_SIZE, "filter": filter_, "after": after}
    return {"query": LIST_QUERY, "variables": variables, "operationName": "SessionsList"}


def detail_body(session_id: str) -> dict[str, Any]:
    return {"query": DETAIL_QUERY, "variables": {"id": session_id}, "operationName": "Detail"}


def report_bodies(now: datetime) -> list[dict[str, Any]]:
    recent = (now - timedelta(days=90)).isoformat()
    filters = [None, {"startedAfter": recent}, {"startedAfter": recent, "taskSource": "jobber"}]
    return [{"query": REPORT_QUERY, "variables": {"filter": f}, "operationName": "Report"} for f in filters]


async def requests_of(env: Mapping[str, str], tokens: Mapping[str, str]) -> list[Request]:
    """Every request the schedule draws from: each tenant's first pages are read to take cursors and ids."""
    out: list[Request] = []
    now = datetime.now(UTC).replace(microsecond=0)
    async with inprocess.running(env) as (client, _sent):
        for tenant, token in tokens.items():
            ids: list[str] = []
            for filter_ in LIST_FILTERS.values():
                first = list_body(filter_)
                page = (await inprocess.post(client, token, first))["data"]["sessions"]
                out.append(Request(LIST, tenant, first))
                if page["pageInfo"]["hasNextPage"]:
                    out.append(Request(LIST, tenant, list_body(filter_, after=page["pageInfo"]["endCursor"])))
                ids += [edge["node"]["id"] for edge in page["edges"]]
            if not ids:
                raise SystemExit(f"tenant {tenant} shows no sessions: nothing to ask the detail of")
            out += [Request(DETAIL, tenant, detail_body(i)) for i in dict.fromkeys(ids)]
            out += [Request(REPORT, tenant, body) for body in report_bodies(now)]
    return out


def build_schedule(requests: list[Request], mix: Mapping[str, int], rng: random.Random) -> list[Request]:
    """``SCHEDULE_LENGTH`` requests in ``mix`` proportions, tenants in turn within each kind, shuffled."""
    tenants = list(dict.fromkeys(r.tenant for r in requests))
    total = sum(mix.values())
    schedule: list[Request] = []
    for kind, weight in mix.items():
        by_tenant = {t: [r for r in requests if r.kind == kind and r.tenant == t] for t in tenants}
        count = round(SCHEDULE_LENGTH * weight / total)
        schedule += [rng.choice(by_tenant[tenants[i % len(tenants)]]) for i in range(count)]
    rng.shuffle(schedule)
    return schedule


def write_schedule(path: Path, schedule: list[Request], tokens: Mapping[str, str]) -> None:
    # json.dumps escapes control characters (tabs, newlines): one request a line, three tab-separated fields.
    path.write_text("".join(f"{r.kind}\t{tokens[r.tenant]}\t{json.dumps(r.body)}\n" for r in schedule))


@dataclasses.dataclass(frozen=True, slots=True)
class Load:
    """One wrk run over the schedule."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]  # by cause (ERROR_CAUSES)
    sent: dict[str, int]  # requests sent by kind (those in flight at the end included)
    first_error: str | None  # status and body start of the first failed response

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Load:
        return cls(
            requests=raw["requests"],
            seconds=raw["duration_us"] / 1e6,
            p50_ms=raw["p50_us"] / 1000,
            p90_ms=raw["p90_us"] / 1000,
            p99_ms=raw["p99_us"] / 1000,
            max_ms=raw["max_us"] / 1000,
            errors={cause: raw[cause] for cause in ERROR_CAUSES},
            sent=dict(raw["sent"]),
            first_error=raw["first_error"],
        )

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def drive(url: str, schedule_file: Path, *, seconds: float, connections: int) -> Load:
    raw = wrk_json(
        url,
        script=LUA_SCRIPT,
        env={"SOAK_SCHEDULE_FILE": str(schedule_file)},
        seconds=seconds,
        connections=connections,
        threads=WRK_THREADS,
    )
    return Load.from_raw(raw)


@contextlib.contextmanager
def sampling_rss(pid: int) -> Iterator[list[tuple[float, int]]]:
    """(seconds since the start, ``VmRSS`` KiB) of ``pid`` every ``RSS_INTERVAL_SECONDS`` while the block runs."""
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        while True:
            samples.append((time.monotonic() - started, procstat.vm_rss_kib(pid)))
            if stop.wait(RSS_INTERVAL_SECONDS):
                return

    thread = threading.Thread(target=sample, name="rss", daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


@dataclasses.dataclass(frozen=True, slots=True)
class Soak:
    warmup: Load
    load: Load
    rss_idle_kib: int  # before the warm-up
    rss_start_kib: int  # after the warm-up
    rss_peak_kib: int
    rss_end_kib: int
    rss_samples: list[tuple[float, int]]
    server_cpu_ms_per_request: float
    postgres_cpu_ms_per_request: float
    other_cpu_pct: float
    ready_after: bool  # /readyz answered 200 after the run

    @property
    def error_count(self) -> int:
        return self.warmup.error_count + self.load.error_count

    @property
    def passed(self) -> bool:
        return self.error_count == 0 and self.ready_after


def soak(server: Server, schedule_file: Path, args: argparse.Namespace) -> Soak:
    (worker,) = procstat.workers(server.pid)
    rss_idle = procstat.vm_rss_kib(worker)
    procstat.wait_for_quiet(timeout=args.quiet_wait)
    bench_run.log(f"warm-up: {args.warmup:g} s at {args.connections} connections")
    warmup = drive(server.url, schedule_file, seconds=args.warmup, connections=args.connections)
    procstat.settle(server.pid)
    rss_start = procstat.vm_rss_kib(worker)
    peak_reset = procstat.reset_peak(worker)
    before = procstat.sample(server.pid)
    bench_run.log(f"soak: {args.duration:g} s at {args.connections} connections")
    with sampling_rss(worker) as samples:
        load = drive(server.url, schedule_file, seconds=args.duration, connections=args.connections)
    rss_end = procstat.vm_rss_kib(worker)
    after = procstat.sample(server.pid)
    used = procstat.usage(before, after)
    peaks = [rss_start, rss_end, *(kib for _, kib in samples)]
    if peak_reset:  # VmHWM since the warm-up ended: the peak between samples too
        peaks.append(procstat.vm_hwm_kib(worker))
    try:
        ready = server.process.poll() is None and httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200  # noqa: PLR2004
    except httpx.HTTPError:
        ready = False
    other_cpu_pct = 100 * used.other / (load.seconds * 1000 * (os.cpu_count() or 1))
    if other_cpu_pct > bench_run.NOISE_LIMIT_PCT:
        bench_run.log(f"other processes used {other_cpu_pct:.0f}% of the machine during the run: noisy figures")
    return Soak(
        warmup=warmup,
        load=load,
        rss_idle_kib=rss_idle,
        rss_start_kib=rss_start,
        rss_peak_kib=max(peaks),
        rss_end_kib=rss_end,
        rss_samples=samples,
        server_cpu_ms_per_request=used.server / max(load.requests, 1),
        postgres_cpu_ms_per_request=used.postgres / max(load.requests, 1),
        other_cpu_pct=other_cpu_pct,
        ready_after=ready,
    )


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def render(
    result: Soak, *, date: str, machine: Mapping[str, str], parameters: Mapping[str, str], seconds: float
) -> str:
    load = result.load
    total = result.warmup.requests + load.requests
    if result.passed:
        verdict = f"**PASSED**: no errors in {total:,} requests (warm-up included)."
    else:
        verdict = f"**FAILED**: {result.error_count:,} errors in {total:,} requests (warm-up included)"
        verdict += "." if result.ready_after else "; the gateway was not ready after the run."
    sent = sum(load.sent.values()) or 1
    mix = ", ".join(
        f"{kind} {load.sent.get(kind, 0):,} ({100 * load.sent.get(kind, 0) / sent:.1f}%)" for kind in DESCRIPTIONS
    )
    causes = ", ".join(
        f"{label} {load.errors[cause] + result.warmup.errors[cause]:,}" for cause, label in ERROR_CAUSES.items()
    )
    series = ", ".join(mib(kib) for _, kib in result.rss_samples[::RSS_SERIES_EVERY])
    growth = (result.rss_end_kib - result.rss_start_kib) / 1024
    row = (
        f"| {load.rps:,.0f} | {load.p50_ms:.1f} | {load.p99_ms:.1f} | {load.requests:,} | {result.error_count:,} | "
        f"{mib(result.rss_start_kib)} | {mib(result.rss_peak_kib)} | {mib(result.rss_end_kib)} | {growth:+.1f} |"
    )
    latency = f"p50 {load.p50_ms:.1f}, p90 {load.p90_ms:.1f}, p99 {load.p99_ms:.1f}, max {load.max_ms:.1f}"
    lines = [
        "# Soak run",
        "",
        f"Generated by `bench/soak.py` on {date}. Regenerate with `make soak` (see `bench/README.md`).",
        "",
        verdict,
        "",
        "| req/s | p50 ms | p99 ms | requests | errors | RSS start MiB | RSS peak MiB | RSS end MiB | RSS growth MiB |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        row,
        "",
        *(f"- **{k}**: {v}" for k, v in parameters.items()),
        f"- **mix sent** (measured run): {mix}",
        *(f"- **{kind}**: {text}" for kind, text in DESCRIPTIONS.items()),
        f"- **errors by cause** (warm-up included): {causes}",
        f"- **latency** (ms, every kind together): {latency}",
        (
            f"- **worker RSS** (`VmRSS`; MiB): {mib(result.rss_idle_kib)} idle before the warm-up; "
            f"start = after the warm-up, peak = the highest sample or `VmHWM` since, end = when the load stopped; "
            f"every {RSS_SERIES_EVERY * RSS_INTERVAL_SECONDS:g} s: {series}"
        ),
        (
            f"- **CPU**: gateway {result.server_cpu_ms_per_request:.2f} ms/request, PostgreSQL "
            f"{result.postgres_cpu_ms_per_request:.2f} ms/request; other processes {result.other_cpu_pct:.0f}% "
            "of the machine during the run (noise)"
        ),
        "- **machine**: " + "; ".join(f"{k} {v}" for k, v in machine.items()),
        f"- **total time** of the command (seeding, when it seeded, included): {seconds:.0f} s",
    ]
    if load.first_error or result.warmup.first_error:
        lines.append(f"- **first failed response**: `{load.first_error or result.warmup.first_error}`")
    return "\n".join(lines) + "\n"


def parse_mix(text: str) -> dict[str, int]:
    try:
        weights = [int(part) for part in text.split("/")]
    except ValueError:
        weights = []
    if len(weights) != 3 or min(weights, default=-1) < 0 or not sum(weights):  # noqa: PLR2004
        raise argparse.ArgumentTypeError(f"expected LIST/DETAIL/REPORT percentages such as 60/30/10, not {text!r}")
    return dict(zip((LIST, DETAIL, REPORT), weights, strict=True))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of the same load before the measured run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--tenants", type=int, default=3, help="tenants, each with its own token")
    parser.add_argument("--sessions", type=int, default=20_000, help="sessions per tenant")
    parser.add_argument("--mix", type=parse_mix, default="60/30/10", help="LIST/DETAIL/REPORT shares of requests")
    parser.add_argument(
        "--quiet-wait", type=float, default=30.0, help="seconds to wait at most for an idle machine before the run"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", bench_run.DEFAULT_POSTGRES_URL),
        help="any database on the server; the run creates gw_soak_<tenants>x<sessions> there",
    )
    parser.add_argument("--output", type=Path, help="where to write the figures (default bench/SOAK.md)")
    parser.add_argument(
        "--inject",
        choices=("bad-signature", "malformed-id"),
        help="check the error counting: the last tenant's token is signed with another key, or its detail "
        "requests ask for a malformed id; the run must fail. Writes no SOAK.md unless --output is given",
    )
    args = parser.parse_args(argv)
    if args.tenants < 1 or args.sessions < 1 or args.connections < 1:
        parser.error("--tenants, --sessions and --connections must be at least 1")
    if args.output is None and args.inject is None:
        args.output = BENCH / "SOAK.md"
    return args


def inject(args: argparse.Namespace, env: Mapping[str, str], tokens: dict[str, str], requests: list[Request]) -> str:
    """Break the last tenant's requests as ``--inject`` says; what was done."""
    victim = list(tokens)[-1]
    if args.inject == "bad-signature":
        forged = Settings.from_env({**env, "GATEWAY_JWT_SECRET": secrets.token_urlsafe(32)})
        tokens[victim] = issue_token(forged, tenant_id=victim, subject="soak", ttl_seconds=bench_run.TOKEN_TTL_SECONDS)
        return f"tenant {victim}'s token is signed with a wrong key"
    for index, r in enumerate(requests):
        if r.kind == DETAIL and r.tenant == victim:
            requests[index] = dataclasses.replace(r, body=detail_body(MALFORMED_ID))
    return f"tenant {victim}'s detail requests ask for the malformed id {MALFORMED_ID!r}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_wrk()
    started = time.perf_counter()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    tenants = {tenant_identity(i)[0]: args.sessions for i in range(args.tenants)}
    name = f"gw_soak_{args.tenants}x{args.sessions}"
    database = asyncio.run(seeding.ensure_database(args.postgres_url, name, tenants))
    seeded = f"seeded in {database.seconds:.0f} s" if database.seeded_now else "reused"
    bench_run.log(f"{name}: {seeded}")
    with tempfile.TemporaryDirectory(prefix="gw-soak-") as tmp:
        work_dir = Path(tmp)
        bench = bench_run.Bench(
            args=args, secret=secrets.token_urlsafe(32), work_dir=work_dir, run=Run(date, {}, {}, {})
        )
        env = bench.env(database.reader_url, "true")
        settings = Settings.from_env(env)
        tokens = {
            t: issue_token(settings, tenant_id=t, subject="soak", ttl_seconds=bench_run.TOKEN_TTL_SECONDS)
            for t in tenants
        }
        requests = asyncio.run(requests_of(env, tokens))
        injected = inject(args, env, tokens, requests) if args.inject else None
        if injected:
            bench_run.log(f"injected errors: {injected}")
        schedule_file = work_dir / "schedule.tsv"
        rng = random.Random(RNG_SEED)  # noqa: S311  (a reproducible schedule, not secrets)
        write_schedule(schedule_file, build_schedule(requests, args.mix, rng), tokens)
        log_file = work_dir / "gateway.log"
        command = gateway_command(port=GATEWAY_PORT, workers=1)
        with serving(command, env, port=GATEWAY_PORT, log=log_file, ready_path="/readyz") as server:
            result = soak(server, schedule_file, args)
        tail = log_file.read_text(errors="replace").splitlines()[-30:]
        if tail and not result.passed:
            print("gateway log, last lines:\n" + "\n".join(tail), file=sys.stderr)
    parameters = {
        "load": (
            f"{args.duration:g} s at {args.connections} connections (wrk -t{WRK_THREADS} -c{args.connections}, "
            f"loopback) after {args.warmup:g} s of warm-up; one gateway worker, compiled plans"
        ),
        "data": f"tenants {', '.join(tenants)} of {args.sessions:,} sessions each (`{name}`, {seeded})",
        "database role": f"the gateway reads as `{seeding.READER_ROLE}`, which owns nothing and may only SELECT "
        "(row-level security applies; one read-only transaction per request)",
        "mix": " / ".join(f"{w}% {kind}" for kind, w in args.mix.items())
        + f": a shuffled schedule of {SCHEDULE_LENGTH:,} requests ({len(requests)} distinct), tenants in turn, "
        "each request with its tenant's token",
    }
    if injected:
        parameters["injected errors"] = injected
    machine = bench_run.machine(bench_run.postgres_version(args.postgres_url))
    seconds = time.perf_counter() - started
    report = render(result, date=date, machine=machine, parameters=parameters, seconds=seconds)
    print(report)
    if args.output is not None:
        args.output.write_text(report)
        bench_run.log(f"wrote {args.output}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
