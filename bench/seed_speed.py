"""How fast the seeder fills a fresh database: ``python bench/seed_speed.py [--sessions N] [--url URL]``.

Prints sessions per second; the default is 100,000 sessions into a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sessions_gateway.db.engine import init_db, make_engine
from sessions_gateway.db.seed import seed


async def run(url: str, sessions: int) -> float:
    engine = make_engine(url, read_only=False)
    try:
        await init_db(engine)
        started = time.perf_counter()
        await seed(engine, tenants_count=1, sessions_per_tenant=sessions, progress=False)
        return time.perf_counter() - started
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--url", help="an empty database (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'seed.db'}"
        seconds = asyncio.run(run(url, args.sessions))
    print(f"{args.sessions} sessions in {seconds:.1f} s ({args.sessions / seconds:,.0f} sessions/s)")


if __name__ == "__main__":
    main()
