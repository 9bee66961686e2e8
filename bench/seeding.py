"""The benchmark database: one big tenant and two small ones, seeded once and reused.

``gw_bench_<N>`` holds tenant ``acme`` with N sessions plus ``northwind`` and ``globex`` with
``SMALL_TENANT_SESSIONS`` each. A database that already holds exactly that is reused as is;
anything else (a half-finished seed, other sizes) is dropped and seeded again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from db.engine import init_db, make_engine
from db.seed import seed

BIG_TENANT = "acme"
SMALL_TENANT_SESSIONS = 10_000
SMALL_TENANTS = ("northwind", "globex")


@dataclass(frozen=True, slots=True)
class BenchDatabase:
    url: str  # postgresql+asyncpg://...
    sessions: int
    seeded_now: bool
    seconds: float


def database_url(server_url: str, sessions: int) -> str:
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=f"gw_bench_{sessions}")
    return url.render_as_string(hide_password=False)


def _admin_url(server_url: str) -> str:
    return make_url(server_url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def _holds(url: str, sessions: int) -> bool:
    """True when the database holds the complete benchmark data set of this size."""
    expected = {BIG_TENANT: sessions, **dict.fromkeys(SMALL_TENANTS, SMALL_TENANT_SESSIONS)}
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT tenant_id, count(*) FROM sessions GROUP BY tenant_id"),
                )
            ).all()
    except Exception:  # noqa: BLE001  (no database, no tables: not seeded)
        return False
    finally:
        await engine.dispose()
    return {str(r[0]): int(r[1]) for r in rows} == expected


async def _recreate(server_url: str, name: str) -> None:
    admin = create_async_engine(_admin_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            # A UTF-8 collation: search lower-cases with Unicode rules (see the README).
            await conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    finally:
        await admin.dispose()


async def _seed(url: str, sessions: int) -> None:
    engine = make_engine(url, read_only=False)
    try:
        await init_db(engine)
        # The seeder names tenants by position (acme, northwind, globex, ...) and keeps existing ones.
        await seed(engine, tenants_count=1, sessions_per_tenant=sessions)
        await seed(engine, tenants_count=1 + len(SMALL_TENANTS), sessions_per_tenant=SMALL_TENANT_SESSIONS)
    finally:
        await engine.dispose()
    # Fresh statistics and visibility map: the planner and index-only scans see the real table.
    vacuum = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with vacuum.connect() as conn:
            await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await vacuum.dispose()


async def ensure(server_url: str, sessions: int) -> BenchDatabase:
    """The seeded benchmark database of this size, seeding it only when it is not already there."""
    url = database_url(server_url, sessions)
    started = time.perf_counter()
    if await _holds(url, sessions):
        return BenchDatabase(url, sessions, seeded_now=False, seconds=0.0)
    await _recreate(server_url, str(make_url(url).database))
    await _seed(url, sessions)
    return BenchDatabase(url, sessions, seeded_now=True, seconds=time.perf_counter() - started)


PROPORTIONS_SQL = """
WITH s AS (SELECT * FROM sessions WHERE tenant_id = :tenant AND deleted_at IS NULL)
SELECT
  (SELECT count(*) FROM s) AS live,
  (SELECT count(*) FROM sessions WHERE tenant_id = :tenant AND deleted_at IS NOT NULL) AS erased,
  (SELECT count(*) FROM procedures p JOIN s ON s.id = p.session_id) AS procedures,
  (SELECT count(*) FROM s WHERE NOT EXISTS (SELECT 1 FROM procedures p WHERE p.session_id = s.id)) AS no_procedures,
  (SELECT count(*) FROM session_summaries m JOIN s ON s.id = m.session_id) AS summary_rows,
  (SELECT count(*) FROM session_summaries m JOIN s ON s.id = m.session_id
     WHERE m.score IS NOT NULL OR m.prose IS NOT NULL OR m.trainer_notes IS NOT NULL) AS summaries,
  (SELECT count(*) FROM s WHERE task_id IS NOT NULL) AS linked,
  (SELECT count(*) FROM s WHERE status = 'completed') AS completed,
  (SELECT count(*) FROM s WHERE status = 'failed') AS failed,
  (SELECT count(*) FROM s WHERE status = 'in_progress') AS in_progress,
  (SELECT count(*) FROM s WHERE role = 'trainer') AS trainer,
  (SELECT count(*) FROM s WHERE NOT EXISTS (SELECT 1 FROM recordings r WHERE r.session_id = s.id)) AS rec_none,
  (SELECT count(*) FROM recordings r JOIN s ON s.id = r.session_id WHERE r.state = 'uploading') AS rec_uploading,
  (SELECT count(*) FROM recordings r JOIN s ON s.id = r.session_id
     WHERE r.state = 'ready' AND r.storage_key IS NOT NULL) AS rec_storage,
  (SELECT count(*) FROM recordings r JOIN s ON s.id = r.session_id
     WHERE r.state = 'ready' AND r.storage_key IS NULL AND r.legacy_url IS NOT NULL
       AND r.legacy_expires_at > now()) AS rec_legacy_live,
  (SELECT count(*) FROM recordings r JOIN s ON s.id = r.session_id
     WHERE r.state = 'ready' AND r.storage_key IS NULL AND r.legacy_url IS NOT NULL
       AND r.legacy_expires_at <= now()) AS rec_legacy_expired,
  (SELECT count(*) FROM s WHERE name IS NULL OR name = '') AS unnamed,
  (SELECT count(*) FROM users WHERE tenant_id = :tenant) AS users,
  (SELECT count(*) FROM tasks WHERE tenant_id = :tenant) AS tasks,
  (SELECT max(started_at) FROM s) AS newest
"""


async def proportions(url: str, tenant: str = BIG_TENANT) -> dict[str, Any]:
    """What the seeder produced for ``tenant``: counts of each shape of row (live sessions only)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(text(PROPORTIONS_SQL), {"tenant": tenant})).one()
    finally:
        await engine.dispose()
    return dict(row._mapping)


if __name__ == "__main__":
    import sys

    result = asyncio.run(ensure(sys.argv[1], int(sys.argv[2])))
    print(result)
