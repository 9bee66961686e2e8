"""Loaders batch every key of a tick into one tenant-scoped statement and answer in key order."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event

from sessions_gateway.db.engine import make_engine
from sessions_gateway.db.reader import TenantReader
from sessions_gateway.loaders import Loaders
from sessions_gateway.loaders.procedures import ProcedureCountBySessionIdLoader, ProceduresBySessionIdLoader
from sessions_gateway.loaders.recordings import RecordingBySessionIdLoader
from sessions_gateway.loaders.summaries import SummaryBySessionIdLoader
from sessions_gateway.loaders.tasks import TaskByIdLoader
from sessions_gateway.loaders.users import UserByIdLoader

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from sqlalchemy.ext.asyncio import AsyncEngine

    from sessions_gateway.loaders.base import TenantLoader


@pytest.fixture(scope="module")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    db = make_engine(database_url)
    yield db
    await db.dispose()


_OPEN: list[TenantReader] = []


@pytest.fixture(autouse=True)
async def _close_readers() -> AsyncIterator[None]:
    """Each test's readers end their transactions (and give their connections back) after it."""
    yield
    while _OPEN:
        await _OPEN.pop().close()


def reader(engine: AsyncEngine, tenant_id: str) -> TenantReader:
    opened = TenantReader(engine, tenant_id)
    _OPEN.append(opened)
    return opened


@pytest.fixture
def sql(engine: AsyncEngine) -> Iterator[list[str]]:
    """The loaders' statements (the reader's tenant setting goes to the driver straight: not one of them)."""
    seen: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine.sync_engine, "before_cursor_execute", record)


def recorded(cls: type[TenantLoader[Any]], engine: AsyncEngine, tenant_id: str) -> tuple[Any, list[list[str]]]:
    """An instance of ``cls`` that notes the keys of every batch it runs."""
    calls: list[list[str]] = []

    class Recording(cls):  # type: ignore[valid-type, misc]
        async def batch_load_fn(self, keys: list[str]) -> Any:
            calls.append(list(keys))
            return await super().batch_load_fn(keys)

    return Recording(reader(engine, tenant_id), tenant_id), calls


async def test_users_come_back_in_key_order_with_none_for_missing_and_foreign(
    engine: AsyncEngine, sql: list[str]
) -> None:
    # given
    loader, calls = recorded(UserByIdLoader, engine, "alpha")
    # when
    rows = await asyncio.gather(*(loader.load(k) for k in ["a-bob", "a-ann", "nobody", "b-ann", "a-bob"]))
    # then
    assert calls == [["a-bob", "a-ann", "nobody", "b-ann"]]  # one batch, duplicate key loaded once
    assert [None if r is None else r.display_name for r in rows] == ["Bob Baker", "Ann Archer", None, None, "Bob Baker"]
    assert len(sql) == 1
    assert "tenant_id" in sql[0]
    assert "email" not in sql[0]


async def test_tasks_are_scoped_to_the_tenant(engine: AsyncEngine) -> None:
    loader, calls = recorded(TaskByIdLoader, engine, "beta")
    rows = await asyncio.gather(loader.load("a-task-jobber"), loader.load("b-task-jobber"))
    assert calls == [["a-task-jobber", "b-task-jobber"]]
    assert rows[0] is None
    assert rows[1] is not None
    assert rows[1].external_ref == "J-1001"


async def test_procedures_are_grouped_by_session_and_ordered_by_position(engine: AsyncEngine, sql: list[str]) -> None:
    loader, calls = recorded(ProceduresBySessionIdLoader, engine, "alpha")
    lists = await asyncio.gather(*(loader.load(k) for k in ["a-07", "a-05", "a-01", "b-01"]))
    assert calls == [["a-07", "a-05", "a-01", "b-01"]]
    assert [[(p.position, p.name) for p in procs] for procs in lists] == [
        [(1, "Inspect the flue"), (2, "Run a combustion analysis")],
        [],
        [(1, "Isolate the power supply"), (2, "Drain the system"), (3, "Refill and pressurise")],
        [],  # beta's session, asked for by alpha
    ]
    assert len(sql) == 1


async def test_procedure_counts_are_counted_in_sql_with_zero_for_none(engine: AsyncEngine, sql: list[str]) -> None:
    loader, calls = recorded(ProcedureCountBySessionIdLoader, engine, "alpha")
    counts = await asyncio.gather(*(loader.load(k) for k in ["a-01", "a-05", "a-07", "b-01"]))
    assert calls == [["a-01", "a-05", "a-07", "b-01"]]
    assert counts == [3, 0, 2, 0]
    assert len(sql) == 1
    assert "count(" in sql[0].lower()


async def test_recordings_and_summaries_are_none_where_no_row_exists(engine: AsyncEngine) -> None:
    recordings, recording_calls = recorded(RecordingBySessionIdLoader, engine, "alpha")
    summaries, summary_calls = recorded(SummaryBySessionIdLoader, engine, "alpha")
    recs, sums = await asyncio.gather(
        asyncio.gather(*(recordings.load(k) for k in ["a-04", "a-05", "b-01"])),
        asyncio.gather(*(summaries.load(k) for k in ["a-01", "a-04", "b-01"])),
    )
    assert recording_calls == [["a-04", "a-05", "b-01"]]
    assert summary_calls == [["a-01", "a-04", "b-01"]]
    assert [None if r is None else r.state for r in recs] == ["uploading", None, None]
    assert [None if s is None else s.score for s in sums] == [87, None, None]


async def test_each_request_gets_fresh_loaders(engine: AsyncEngine) -> None:
    first = Loaders.for_request(reader(engine, "alpha"), "alpha")
    second = Loaders.for_request(reader(engine, "alpha"), "alpha")
    assert first.users is not second.users
    row = await first.users.load("a-ann")
    assert row is not None
    # A cache entry of one request is not visible to another.
    assert "a-ann" not in second.users._cache
