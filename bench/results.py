"""``RESULTS.md``: the tables of one benchmark run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLOOR = "floor"
COMPILED = "gateway, compiled plans"
EXECUTOR = "gateway, executor only"
PG5 = "PostGraphile 5"
GATEWAY = (COMPILED, EXECUTOR)
TARGETS = (COMPILED, EXECUTOR, PG5, FLOOR)

# The database role a server reads as.
OWNER = "owner"  # the tables' owner: row-level security does not apply
READER = "reader"  # a role that owns nothing and may only SELECT: row-level security applies
ROLE_TITLES = {
    READER: "As the reader role (row-level security on)",
    OWNER: "As the tables' owner (row-level security off)",
}

LIST_SCENARIOS = ("LIST", "DETAIL", "DEEP PAGE", "FILTERED")


@dataclass(frozen=True, slots=True)
class Measurement:
    scenario: str
    target: str  # one of TARGETS
    role: str  # OWNER or READER
    sessions: int
    workers: int
    connections: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    sql_per_request: float | None
    cpu_ms_per_request: float
    pg_cpu_ms_per_request: float
    peak_rss_mib: list[float]
    peak_reset: bool  # VmHWM was reset before the run (else it is the process's lifetime peak)
    other_cpu_pct: float  # CPU used by processes other than the server, PostgreSQL and wrk, % of the machine
    round: int = 1  # PostGraphile is measured in several rounds (JIT warm-up); the others once


@dataclass
class Run:
    date: str
    machine: dict[str, str]
    settings: dict[str, Any]
    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a table: a measurement, and for PostGraphile the spread of its rounds."""

    m: Measurement
    label: str
    rounds: list[float] = field(default_factory=list)  # req/s of every round, when there were several


def median_round(rounds: list[Measurement]) -> Measurement:
    """The round of median throughput (of an even number of rounds, the upper of the two middle ones)."""
    ordered = sorted(rounds, key=lambda m: m.rps)
    return ordered[len(ordered) // 2]


class Table:
    """The measurements of one run, looked up by what they measured."""

    def __init__(self, run: Run) -> None:
        self.run = run
        s = run.settings
        self.sessions = s["sessions"]
        self.workers = s["workers"]

    def find(self, scenario: str, target: str, role: str, connections: int) -> Row | None:
        # The floor reads as the owner only; it stands beside the gateway in the reader's tables too.
        found = [
            m
            for m in self.run.measurements
            if (m.scenario, m.target, m.connections, m.sessions) == (scenario, target, connections, self.sessions)
            and (m.role == role or target == FLOOR)
            and (m.workers == self.workers or target in (FLOOR, PG5))
        ]
        if not found:
            return None
        label = target if target != FLOOR or role == OWNER else f"{FLOOR} (as the owner)"
        if target == PG5 and len(found) > 1:
            chosen = median_round(found)
            return Row(chosen, f"{PG5}, median of {len(found)} rounds", sorted(m.rps for m in found))
        return Row(found[-1], label)

    def connections(self, role: str) -> list[int]:
        return sorted(
            {
                m.connections
                for m in self.run.measurements
                if m.role == role and m.scenario in LIST_SCENARIOS and m.sessions == self.sessions
            }
        )

    def ratio(self, m: Measurement, target: str, role: str) -> str:
        """``m``'s throughput / ``target``'s for the same scenario (or its LIST) at the same connections."""
        if m.target == target:
            return "-"
        suffix = ""
        other = self.find(m.scenario, target, role, m.connections)
        if other is None and target == FLOOR:
            other, suffix = self.find("LIST", target, role, m.connections), " (of LIST)"
        if other is None or not other.m.rps:
            return "-"
        ratio = m.rps / other.m.rps
        return f"{ratio:.2f}{suffix}" if ratio >= 0.1 else f"{ratio:.2g}{suffix}"  # noqa: PLR2004

    def line(self, row: Row, role: str) -> str:
        m = row.m
        rss = "/".join(f"{x:.0f}" for x in m.peak_rss_mib) + ("" if m.peak_reset else " (lifetime)")
        sql = "-" if m.sql_per_request is None else f"{m.sql_per_request:g}"
        cpu, pg_cpu = (f"{m.cpu_ms_per_request:.2f}", f"{m.pg_cpu_ms_per_request:.2f}") if m.requests else ("-", "-")
        label = row.label
        if row.rounds:
            label += f" ({row.rounds[0]:,.0f}-{row.rounds[-1]:,.0f} req/s)"
        return (
            f"| {m.scenario} | {label} | {m.rps:,.0f} | {m.p50_ms:.1f} | {m.p99_ms:.1f} | {m.errors} | {sql} | "
            f"{cpu} | {pg_cpu} | {rss} | {self.ratio(m, PG5, role)} | {self.ratio(m, FLOOR, role)} | "
            f"{m.other_cpu_pct:.0f}% |"
        )


HEADER = (
    "| scenario | server | req/s | p50 ms | p99 ms | errors | SQL/req | CPU ms/req | PG CPU ms/req | "
    "peak RSS MiB/worker | ÷ PostGraphile 5 | ÷ floor | other CPU |\n"
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
)


def _growth_cell(m: Measurement) -> str:
    return f"{m.rps:,.0f}, {m.p50_ms:.1f}, {m.p99_ms:.1f}, {m.cpu_ms_per_request:.2f}"


def _summary(table: Table) -> list[str]:
    """Gateway (compiled plans) ÷ PostGraphile 5 and ÷ floor, every scenario, role and connection count."""
    columns = [(role, c) for role in (READER, OWNER) for c in table.connections(role)]
    if not columns:
        return []
    names = {READER: "reader", OWNER: "owner"}
    lines = [
        "## Summary: gateway (compiled plans) req/s ÷ PostGraphile 5's, and ÷ the floor's",
        "",
        "| scenario | " + " | ".join(f"{names[r]}, -c{c}" for r, c in columns) + " |",
        "|---|" + "--:|" * len(columns),
    ]
    for scenario in LIST_SCENARIOS:
        cells = []
        for role, c in columns:
            row = table.find(scenario, COMPILED, role, c)
            cells.append(
                "-"
                if row is None
                else f"{table.ratio(row.m, PG5, role)} ÷ PG5, {table.ratio(row.m, FLOOR, role)} ÷ floor"
            )
        lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _role_tables(table: Table, role: str) -> list[str]:
    lines: list[str] = []
    for c in table.connections(role):
        rows = [
            row
            for scenario in LIST_SCENARIOS
            for target in TARGETS
            if (row := table.find(scenario, target, role, c)) is not None
        ]
        if rows:
            lines += [f"### {ROLE_TITLES[role]}, wrk -c{c}", "", HEADER, *(table.line(r, role) for r in rows), ""]
    report = [
        m
        for m in table.run.measurements
        if m.scenario == "REPORT" and m.role == role and m.sessions == table.sessions and m.workers == table.workers
    ]
    if report:
        lines += [
            f"### {ROLE_TITLES[role]}, REPORT (the gateway only)",
            "",
            HEADER,
            *(table.line(Row(m, m.target), role) for m in report),
            "",
        ]
    return lines


def _scaling(table: Table, top: int) -> list[str]:
    run, s = table.run, table.run.settings
    scaling = [
        m
        for m in run.measurements
        if m.scenario == "LIST" and m.sessions == s["sessions"] and m.role == READER and m.target in GATEWAY
        and m.connections == top
    ]  # fmt: skip
    if len({m.workers for m in scaling}) < 2:  # noqa: PLR2004
        return []
    lines = [f"## Worker scaling (LIST, as the reader, wrk -c{top})", "", HEADER]
    lines += [
        table.line(Row(m, f"{m.target}, {m.workers} worker{'s' if m.workers > 1 else ''}"), READER)
        for m in sorted(scaling, key=lambda m: (m.target, m.workers))
    ]
    lines += [""]
    for target in GATEWAY:
        by_workers = {m.workers: m.rps for m in scaling if m.target == target}
        if 1 in by_workers and 2 in by_workers and by_workers[1]:  # noqa: PLR2004
            lines.append(f"- {target}: 2 workers / 1 worker = **{by_workers[2] / by_workers[1]:.2f}x**")
    return [*lines, ""]


def _growth(table: Table, top: int) -> list[str]:
    run, s = table.run, table.run.settings
    sizes = sorted({m.sessions for m in run.measurements})
    if len(sizes) < 2:  # noqa: PLR2004
        return []
    lines = [
        f"## Growth with tenant size (the gateway, as the reader, wrk -c{top})",
        "",
        "| scenario | server | "
        + " | ".join(f"{n:,} sessions: req/s, p50 ms, p99 ms, CPU ms/req" for n in sizes)
        + " |",
        "|---|---|" + "--:|" * len(sizes),
    ]
    for scenario in ("LIST", "DEEP PAGE", "FILTERED"):
        for target in GATEWAY:
            cells = []
            for n in sizes:
                found = [
                    m
                    for m in run.measurements
                    if (m.scenario, m.target, m.sessions, m.workers, m.role, m.connections)
                    == (scenario, target, n, s["workers"], READER, top)
                ]
                cells.append(_growth_cell(found[0]) if found else "-")
            lines.append(f"| {scenario} | {target} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def render(run: Run) -> str:
    s = run.settings
    table = Table(run)
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `bench/run.py` on {run.date}. Regenerate with `make bench` (see `bench/README.md`).",
        "",
        "## Machine",
        "",
        *(f"- **{k}**: {v}" for k, v in run.machine.items()),
        "",
        "## Settings",
        "",
        *(f"- **{k}**: {v}" for k, v in s.items()),
        "",
        "## Data (the benchmarked tenant, as `db/seed.py` generated it)",
        "",
        *(f"- {line}" for line in run.data.get("lines", [])),
        "",
        *_summary(table),
        "## Scenarios",
        "",
    ]
    for role in (READER, OWNER):
        lines += _role_tables(table, role)
    top = max(table.connections(READER) or [0])
    lines += _scaling(table, top)
    lines += _growth(table, top)
    lines += _live(LIVE_RESULTS)
    if run.checks:
        lines += ["## Checks", "", *(f"- {c}" for c in run.checks), ""]
    lines += ["## Columns", "", *COLUMNS, ""]
    if run.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in run.notes), ""]
    return "\n".join(lines)


LIVE_RESULTS = Path(__file__).resolve().parent / "LIVE.md"


def _live(path: Path) -> list[str]:
    """The last live subscriptions run (``bench/live.py``, ``bench/LIVE.md``): its table, as it wrote it."""
    if not path.is_file():
        return []
    written = path.read_text(encoding="utf-8").splitlines()
    body = written[1:]  # its title aside
    return [
        "## Live subscriptions (`bench/live.py`, copied from `bench/LIVE.md`)",
        "",
        "Targets (one worker): every change within 2 intervals, 0 errors, worker CPU <= 70% of a core while",
        "changing and <= 5% with nothing changing, statements per interval <= document shapes x ceil(cohorts / 100)",
        "(here 1 x 5), peak RSS <= 300 MiB.",
        *body,
        "",
    ]


COLUMNS = [
    (
        "- **req/s**: completed requests / wrk's measured duration, after a warm-up run that is not counted, "
        "once the server has finished the warm-up's requests and the machine is otherwise idle (`--quiet-wait`). "
        "PostGraphile 5's row is the round of median req/s among its rounds (the range of all rounds beside it)."
    ),
    "- **p50 / p99 ms**: wrk's latency percentiles over the run (client side, on loopback).",
    "- **errors**: socket errors, timeouts, non-2xx responses and 200 responses carrying GraphQL `errors`.",
    (
        "- **SQL/req**: SQL statements one request sends, transaction control (BEGIN/COMMIT/ROLLBACK) and the "
        "statement setting the tenant at its start aside, after "
        "warm-up requests: the gateway's counted in-process (`before_cursor_execute` on the app's engine), "
        "PostGraphile's by `server.mjs` on its pool's clients; the floor sends one statement by construction."
    ),
    (
        "- **CPU ms/req**: utime+stime of the server process and its worker children (`/proc/<pid>/stat`; "
        "PostGraphile's Node process with all its threads), after minus before the run, divided by the "
        "requests of the run."
    ),
    "- **PG CPU ms/req**: the same for every `postgres` process on the machine (the floor moves work there).",
    (
        "- **peak RSS MiB/worker**: `VmHWM` of each worker (`/proc/<pid>/status`), reset before the scenario's "
        "warm-up through `/proc/<pid>/clear_refs`; '(lifetime)' where the reset was refused."
    ),
    (
        "- **÷ PostGraphile 5, ÷ floor**: this throughput divided by PostGraphile 5's (its median round) or the "
        "floor's, for the same scenario at the same connections in the same run; '(of LIST)' where the floor does "
        "not serve the scenario and its LIST throughput is used. In the reader's tables the floor still reads "
        "as the owner."
    ),
    (
        "- **other CPU**: CPU used during the run by everything but the server, PostgreSQL and wrk "
        "(`/proc/stat` busy time minus theirs), as a share of the machine: noise. A run above "
        "10% is measured again (`--retries` times) and the quietest attempt is kept."
    ),
]
