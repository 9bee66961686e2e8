"""CPU time and peak memory of a server process tree, from ``/proc`` (Linux only)."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def cpu_ms(pid: int) -> float:
    """Utime + stime of one process, in milliseconds (0 when it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After the name: state(0) ppid(1) ... utime(11) stime(12).
    return (int(fields[11]) + int(fields[12])) * 1000 / TICKS_PER_SECOND


def _ppid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[1])


def _all_pids() -> list[int]:
    return [int(p.name) for p in PROC.iterdir() if p.name.isdigit()]


def descendants(pid: int) -> list[int]:
    parents = {p: _ppid(p) for p in _all_pids()}
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def workers(pid: int) -> list[int]:
    """The processes that answer requests: the server itself with one worker, else its worker children."""
    children = [p for p in descendants(pid) if "resource_tracker" not in _cmdline(p)]
    return children or [pid]


def tree_cpu_ms(pid: int) -> float:
    """CPU of the server and every process under it (uvicorn's supervisor and its workers)."""
    return cpu_ms(pid) + sum(cpu_ms(p) for p in descendants(pid))


def comm(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def postgres_cpu_ms() -> dict[int, float]:
    """CPU of every PostgreSQL server process on this machine, by pid."""
    return {p: cpu_ms(p) for p in _all_pids() if comm(p) == "postgres"}


def postgres_cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def _status_kib(pid: int, field: str) -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (0 when the process is gone)."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size (``VmHWM``) in KiB."""
    return _status_kib(pid, "VmHWM")


def vm_rss_kib(pid: int) -> int:
    """Resident set size now (``VmRSS``) in KiB."""
    return _status_kib(pid, "VmRSS")


def reset_peak(pid: int) -> bool:
    """Reset ``VmHWM`` to the current RSS (``5`` > ``clear_refs``, Linux 4.0+); False where not allowed."""
    try:
        (PROC / str(pid) / "clear_refs").write_text("5")
    except OSError:
        return False
    return True


def machine_busy_ms() -> float:
    """CPU time every core of the machine spent running processes (``/proc/stat``), in milliseconds.

    Interrupt time is left out: loopback traffic is the benchmark's own and is charged to no process.
    """
    user, nice, system = (int(x) for x in (PROC / "stat").read_text().splitlines()[0].split()[1:4])
    return (user + nice + system) * 1000 / TICKS_PER_SECOND


def children_cpu_ms() -> float:
    """CPU of this process's finished children (wrk runs as one)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


@dataclass(frozen=True, slots=True)
class Sample:
    server_cpu_ms: float
    postgres_cpu_ms: dict[int, float]
    machine_busy_ms: float
    children_cpu_ms: float
    own_cpu_ms: float


def sample(pid: int) -> Sample:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return Sample(
        tree_cpu_ms(pid),
        postgres_cpu_ms(),
        machine_busy_ms(),
        children_cpu_ms(),
        (own.ru_utime + own.ru_stime) * 1000,
    )


@dataclass(frozen=True, slots=True)
class Usage:
    """CPU milliseconds spent between two samples, by whom."""

    server: float
    postgres: float
    load_generator: float  # wrk, and this script
    other: float  # everything else on the machine: noise


def usage(before: Sample, after: Sample) -> Usage:
    server = after.server_cpu_ms - before.server_cpu_ms
    postgres = postgres_cpu_delta(before.postgres_cpu_ms, after.postgres_cpu_ms)
    load = (after.children_cpu_ms - before.children_cpu_ms) + (after.own_cpu_ms - before.own_cpu_ms)
    other = (after.machine_busy_ms - before.machine_busy_ms) - server - postgres - load
    return Usage(server, postgres, load, max(0.0, other))


def settle(pid: int, *, idle_fraction: float = 0.05, window: float = 0.3, timeout: float = 30.0) -> None:
    """Wait until the server is idle (requests left over from a warm-up run have finished)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = tree_cpu_ms(pid) + postgres_cpu_delta({}, postgres_cpu_ms())
        time.sleep(window)
        after = tree_cpu_ms(pid) + postgres_cpu_delta({}, postgres_cpu_ms())
        if after - before < idle_fraction * window * 1000:
            return


def wait_for_quiet(*, busy_fraction: float = 0.10, window: float = 0.5, timeout: float = 30.0) -> float:
    """Wait (up to ``timeout``) for a moment when the machine is nearly idle; the seconds waited.

    Called when the server under test is idle, so whatever keeps the machine busy is someone else.
    """
    started = time.monotonic()
    capacity = window * 1000 * (os.cpu_count() or 1)
    while time.monotonic() - started < timeout:
        before = machine_busy_ms()
        time.sleep(window)
        if machine_busy_ms() - before < busy_fraction * capacity:
            break
    return time.monotonic() - started
