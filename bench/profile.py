"""Where a worker's time goes under load: py-spy on the gateway while wrk drives one scenario.

    .venv/bin/python bench/profile.py [--scenario LIST] [--compiled true|false] [--seconds 10]

Reuses (or seeds) the benchmark database of ``bench/run.py``, starts ``sessions-gateway serve``
with one worker, drives the scenario with wrk, samples the worker with ``py-spy record``
(``pip install py-spy``; root or ptrace rights), and prints the share of samples by area (which
library the innermost frame of the gateway's stack is in) and the top functions, inclusive and
self. ``--out`` also writes the summary to a Markdown file.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import run as bench_run
from results import Run
from servers import gateway_command, run_wrk, serving

# Areas by the file a frame is in: the first pattern that matches names it. The gateway's folders install
# as sessions_gateway/<folder>.
AREAS = [
    ("gateway: compiled plans", r"\(((sessions_gateway/)?schema/(compiled|writers)\.py|<writer of)"),
    ("gateway: resolvers, loaders, db", r"\((sessions_gateway/)?(resolvers|loaders|db)/"),
    ("gateway: schema, view, auth", r"\((sessions_gateway/)?(schema|gateway)/"),
    ("SQLAlchemy", r"\(sqlalchemy/"),
    ("asyncpg (protocol, decoding, TLS)", r"\(asyncpg/"),
    ("Strawberry", r"\(strawberry/"),
    ("graphql-core", r"\(graphql/"),
    ("aiodataloader", r"\(aiodataloader/"),
    ("Starlette", r"\(starlette/"),
    ("uvicorn, httptools", r"\((uvicorn|httptools)/"),
    ("asyncio, uvloop (event loop, sockets)", r"\((asyncio|uvloop)/"),
]
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")


def area(frame: str) -> str:
    for name, pattern in AREAS:
        if re.search(pattern, frame):
            return name
    return "other (stdlib, C)"


def summarize(raw: str, top: int) -> str:
    """Samples by area of the innermost frame, and the top functions inclusive and self."""
    by_area: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [f for f in stack.split(";") if f]
        by_area[area(frames[-1])] += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return "no samples\n"
    lines = [f"{total} samples\n", "| area (innermost frame) | share |", "|---|--:|"]
    lines += [f"| {name} | {n / total:.1%} |" for name, n in by_area.most_common()]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines += ["", f"| top functions, {title} | share |", "|---|--:|"]
        lines += [f"| `{_short(frame)}` | {n / total:.1%} |" for frame, n in counter.most_common(top)]
    return "\n".join(lines) + "\n"


def _short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    path = re.sub(r".*site-packages/", "", match["file"])
    path = re.sub(r".*/(resolvers|loaders|db|schema|gateway)/", r"\1/", path)
    return f"{match['function']} ({path}:{match['line']})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="LIST")
    parser.add_argument("--compiled", default="true", choices=["true", "false"])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--postgres-url", default=bench_run.DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")

    work_dir = Path(tempfile.mkdtemp(prefix="gw-profile-"))
    bench = bench_run.Bench(
        args=argparse.Namespace(postgres_url=args.postgres_url, sessions=args.sessions, report_connections=2),
        secret=secrets.token_urlsafe(32),
        work_dir=work_dir,
        run=Run(date="", machine={}, settings={}, data={}),
    )
    prepared = bench_run.prepare(bench, args.sessions)
    url, token = prepared.reader_url, prepared.token  # the gateway reads as the reader, as in bench/run.py
    scenario = next(s for s in prepared.scenarios if s.name == args.scenario)
    port = bench_run.GATEWAY_PORT
    env = bench.env(url, args.compiled)
    with serving(
        gateway_command(port=port, workers=1), env, port=port, log=work_dir / "gateway.log", ready_path="/healthz"
    ) as server:
        run_wrk(
            server.url,
            body=scenario.body(),
            token=token,
            seconds=2,
            connections=args.connections,
            threads=1,
            work_dir=work_dir,
        )
        raw_file = work_dir / "profile.txt"
        load = threading.Thread(
            target=run_wrk,
            kwargs={
                "url": server.url,
                "body": scenario.body(),
                "token": token,
                "seconds": args.seconds + 2,
                "connections": args.connections,
                "threads": 1,
                "work_dir": work_dir,
            },
        )
        load.start()
        subprocess.run(  # noqa: S603
            [py_spy, "record", "--pid", str(server.pid), "--duration", str(args.seconds), "--rate", "250",
             "--format", "raw", "--output", str(raw_file), "--nonblocking"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        load.join()
    summary = (
        f"## {args.scenario}, compiled plans {args.compiled}, {args.sessions:,} sessions, one worker\n\n"
        + summarize(raw_file.read_text(), args.top)
    )
    print(summary)
    if args.out is not None:
        args.out.write_text(summary)


if __name__ == "__main__":
    main()
