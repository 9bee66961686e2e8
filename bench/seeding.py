"""The benchmark database: one big tenant and two small ones, seeded once and reused.

``gw_bench_<N>`` holds tenant ``acme`` with N sessions plus ``northwind`` and ``globex`` with
``SMALL_TENANT_SESSIONS`` each. A database that already holds exactly that is reused as is;
anything else (a half-finished seed, other sizes) is dropped and seeded again. ``ensure_database``
does the same for any other set of tenants (the soak run's).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sessions_gateway.db.engine import grant_reader, init_db, make_engine
from sessions_gateway.db.seed import seed, tenant_identity

if TYPE_CHECKING:
    from collections.abc import Mapping

BIG_TENANT = "acme"
# The role the gateway under test connects as: it owns nothing and may only SELECT, so every read
# goes through row-level security, as in production (docs/operations.md, "Row-level security and the gateway's role").
READER_ROLE = "gw_bench_reader"
SMALL_TENANT_SESSIONS = 10_000
SMALL_TENANTS = ("northwind", "globex")


@dataclass(frozen=True, slots=True)
class BenchDatabase:
    url: str  # postgresql+asyncpg://..., as the tables' owner
    reader_url: str  # the same database as READER_ROLE: what the gateway reads with, as in production
    tenants: Mapping[str, int]  # sessions by tenant
    seeded_now: bool
    seconds: float


def database_url(server_url: str, name: str) -> str:
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


def bench_tenants(sessions: int) -> dict[str, int]:
    """Sessions by tenant in ``gw_bench_<sessions>``, in the seeder's order of tenants."""
    return {BIG_TENANT: sessions, **dict.fromkeys(SMALL_TENANTS, SMALL_TENANT_SESSIONS)}


def _admin_url(server_url: str) -> str:
    return make_url(server_url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def _holds(url: str, expected: Mapping[str, int]) -> bool:
    """True when the database holds exactly these tenants with these numbers of sessions."""
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
    return {str(r[0]): int(r[1]) for r in rows} == dict(expected)


async def _recreate(server_url: str, name: str) -> None:
    admin = create_async_engine(_admin_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            # A UTF-8 collation: search lower-cases with Unicode rules (see docs/clients.md).
            await conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    finally:
        await admin.dispose()


async def _seed(url: str, tenants: Mapping[str, int]) -> None:
    engine = make_engine(url, read_only=False)
    try:
        await init_db(engine)
        # The seeder names tenants by position (acme, northwind, globex, ...) and keeps existing ones:
        # each call adds the next tenant, with its own number of sessions.
        for count, sessions in enumerate(tenants.values(), start=1):
            await seed(engine, tenants_count=count, sessions_per_tenant=sessions)
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
    return await ensure_database(server_url, f"gw_bench_{sessions}", bench_tenants(sessions))


async def ensure_database(server_url: str, name: str, tenants: Mapping[str, int]) -> BenchDatabase:
    """Database ``name`` holding these tenants (in the seeder's order) of these sizes, seeded only when it does not."""
    if list(tenants) != [tenant_identity(i)[0] for i in range(len(tenants))]:
        raise ValueError(f"the seeder names tenants by position (acme, northwind, ...), not {list(tenants)}")
    url = database_url(server_url, name)
    started = time.perf_counter()
    seeded_now = not await _holds(url, tenants)
    if seeded_now:
        await _recreate(server_url, name)
        await _seed(url, tenants)
    else:
        await _up_to_date(url)
    reader_url = await _reader(server_url, url)
    return BenchDatabase(url, reader_url, tenants, seeded_now=seeded_now, seconds=time.perf_counter() - started)


async def _up_to_date(url: str) -> None:
    """What ``init-db`` adds (indexes, functions, row-level security) on a database seeded earlier."""
    engine = make_engine(url, read_only=False)
    try:
        await init_db(engine)
    finally:
        await engine.dispose()


async def _reader(server_url: str, url: str) -> str:
    """``url`` as ``READER_ROLE``, created where missing and granted what ``init-db --grant-select-to`` grants."""
    admin = create_async_engine(_admin_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            if not await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": READER_ROLE}):
                await conn.execute(text(f"CREATE ROLE {READER_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
    finally:
        await admin.dispose()
    owner = make_engine(url, read_only=False)
    try:
        await grant_reader(owner, READER_ROLE)
    finally:
        await owner.dispose()
    return make_url(url).set(username=READER_ROLE, password=None).render_as_string(hide_password=False)


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
