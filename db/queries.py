"""Every SELECT the gateway runs. Each takes the request's reader and a required ``tenant_id``.

Every statement filters on ``tenant_id`` itself; on PostgreSQL, row-level security is the
second wall behind it (``db/reader.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ARRAY, Dialect, Text, any_, bindparam, case, func, literal, select
from sqlalchemy.types import TypeDecorator

from db.filters import SessionFilter, SessionOrder, displayed_duration, keyset_order, seek, session_where
from db.reader import Record
from db.tables import procedures, recordings, session_summaries, sessions, tasks, users

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import Column, Select, Table
    from sqlalchemy.sql.expression import ColumnElement

    from db.reader import TenantReader

SESSION_COLUMNS = (
    sessions.c.id,
    sessions.c.user_id,
    sessions.c.seat_id,
    sessions.c.role,
    sessions.c.status,
    sessions.c.name,
    sessions.c.task_id,
    sessions.c.started_at,
    sessions.c.completed_at,
    sessions.c.duration_seconds,
    sessions.c.thumbnail_url,
)
STATUSES = ("completed", "in_progress", "failed")
ROLES = ("trainer", "trainee")


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a sessions ordering: the row's sort key and its id."""

    key: Any
    id: str


def page_statement(
    *,
    tenant_id: str,
    filter_: SessionFilter,
    order: SessionOrder,
    after: Position | None,
    before: Position | None,
    limit: int,
    from_end: bool,
) -> Select[Any]:
    """The statement ``page_sessions`` runs (rows in reverse ``order`` when ``from_end``)."""
    where = session_where(tenant_id, filter_)
    if after is not None:
        where.append(seek(order, after.key, after.id, after=True))
    if before is not None:
        where.append(seek(order, before.key, before.id, after=False))
    return (
        select(*SESSION_COLUMNS, order.key.label("sort_key"))
        .where(*where)
        .order_by(*keyset_order(order, reverse=from_end))
        .limit(limit)
    )


async def page_sessions(
    db: TenantReader,
    *,
    tenant_id: str,
    filter_: SessionFilter,
    order: SessionOrder,
    after: Position | None,
    before: Position | None,
    limit: int,
    from_end: bool,
) -> list[Record]:
    """Up to ``limit`` sessions strictly between ``after`` and ``before``, in ``order``.

    ``from_end`` takes them from the end of that range (for ``last``); rows come back in
    ``order`` either way. Each row carries its ``sort_key`` for the cursor.
    """
    stmt = page_statement(
        tenant_id=tenant_id, filter_=filter_, order=order, after=after, before=before, limit=limit, from_end=from_end
    )
    rows = await db.rows(stmt)
    return list(reversed(rows)) if from_end else rows


async def count_sessions(db: TenantReader, *, tenant_id: str, filter_: SessionFilter) -> int:
    stmt = select(func.count()).select_from(sessions).where(*session_where(tenant_id, filter_))
    rows = await db.rows(stmt)
    return int(rows[0][0])


async def session_by_id(db: TenantReader, *, tenant_id: str, session_id: str) -> Record | None:
    stmt = select(*SESSION_COLUMNS).where(
        sessions.c.tenant_id == tenant_id,
        sessions.c.id == session_id,
        sessions.c.deleted_at.is_(None),
    )
    rows = await db.rows(stmt)
    return rows[0] if rows else None


class _TextArray(TypeDecorator[list[str]]):
    """``text[]`` bound as the list it is (SQLAlchemy's ARRAY copies it item by item)."""

    impl = ARRAY(Text())
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


def _keys_match(key: Column[str], dialect: str) -> ColumnElement[bool]:
    """``key`` is one of the bound ``:keys``.

    On PostgreSQL one array parameter: one statement text whatever the batch size, so the
    connection's prepared statement is reused. Elsewhere an expanding ``IN``.
    """
    if dialect == "postgresql":
        return key == any_(bindparam("keys", type_=_TextArray()))
    return key.in_(bindparam("keys", expanding=True))


@cache
def _keyed(name: str, dialect: str) -> Select[Any]:
    """One loader batch: ``SELECT ... FROM <table> WHERE tenant_id = :tenant_id AND <key> IN :keys``.

    Built once per dialect: each execution only binds ``tenant_id`` and ``keys``.
    """
    key, columns = _BATCHES[name]
    stmt = select(*columns).where(key.table.c.tenant_id == bindparam("tenant_id"), _keys_match(key, dialect))
    if name == "procedures":
        stmt = stmt.order_by(procedures.c.session_id, procedures.c.position)
    elif name == "procedure_counts":
        stmt = stmt.group_by(procedures.c.session_id)
    return stmt


_p, _t, _r, _s = procedures.c, tasks.c, recordings.c, session_summaries.c
# Each batch: the key column and the columns selected.
_BATCHES: dict[str, tuple[Column[str], tuple[ColumnElement[Any], ...]]] = {
    "users": (users.c.id, (users.c.id, users.c.display_name)),  # email is personal data: never selected
    "tasks": (_t.id, (_t.id, _t.source, _t.external_ref, _t.title, _t.status, _t.url)),
    "procedures": (_p.session_id, (_p.id, _p.session_id, _p.position, _p.name, _p.description, _p.video_url)),
    "procedure_counts": (_p.session_id, (_p.session_id, func.count().label("n"))),
    "recordings": (_r.session_id, (_r.session_id, _r.state, _r.storage_key, _r.legacy_url, _r.legacy_expires_at)),
    "summaries": (_s.session_id, (_s.session_id, _s.score, _s.prose, _s.trainer_notes)),
}


async def _batch(db: TenantReader, name: str, *, tenant_id: str, keys: Sequence[str]) -> list[Record]:
    return await db.rows(_keyed(name, db.dialect), {"tenant_id": tenant_id, "keys": list(keys)})


async def users_by_ids(db: TenantReader, *, tenant_id: str, ids: Sequence[str]) -> list[Record]:
    return await _batch(db, "users", tenant_id=tenant_id, keys=ids)


async def tasks_by_ids(db: TenantReader, *, tenant_id: str, ids: Sequence[str]) -> list[Record]:
    return await _batch(db, "tasks", tenant_id=tenant_id, keys=ids)


async def procedures_by_session_ids(db: TenantReader, *, tenant_id: str, session_ids: Sequence[str]) -> list[Record]:
    """Ordered by (session_id, position)."""
    return await _batch(db, "procedures", tenant_id=tenant_id, keys=session_ids)


async def procedure_counts_by_session_ids(
    db: TenantReader, *, tenant_id: str, session_ids: Sequence[str]
) -> list[Record]:
    """``(session_id, n)`` for each session that has procedures."""
    return await _batch(db, "procedure_counts", tenant_id=tenant_id, keys=session_ids)


async def recordings_by_session_ids(db: TenantReader, *, tenant_id: str, session_ids: Sequence[str]) -> list[Record]:
    return await _batch(db, "recordings", tenant_id=tenant_id, keys=session_ids)


async def summaries_by_session_ids(db: TenantReader, *, tenant_id: str, session_ids: Sequence[str]) -> list[Record]:
    return await _batch(db, "summaries", tenant_id=tenant_id, keys=session_ids)


class ReportPart(Enum):
    """Aggregates ``report`` computes only when asked for: each costs work over every matching row."""

    BY_STATUS = "by_status"
    BY_ROLE = "by_role"
    DURATION = "duration"
    AVERAGE_SCORE = "average_score"
    PROCEDURE_COUNT = "procedure_count"


@dataclass(frozen=True, slots=True)
class ReportTotals:
    computed: frozenset[ReportPart]
    total_count: int
    by_status: dict[str, int] = field(default_factory=dict)
    by_role: dict[str, int] = field(default_factory=dict)
    average_score: float | None = None
    total_duration_seconds: int = 0
    procedure_count: int = 0

    def require(self, part: ReportPart) -> None:
        """Refuse to answer from a part that was not computed (rather than answer a default)."""
        if part not in self.computed:
            raise LookupError(f"report part {part.value} was not computed")


async def report(
    db: TenantReader,
    *,
    tenant_id: str,
    filter_: SessionFilter,
    now: datetime,
    parts: frozenset[ReportPart] = frozenset(ReportPart),
) -> ReportTotals:
    """``sessionsReport``'s aggregates over the matching sessions, in one statement.

    The count is always computed; each of ``parts`` adds its aggregate (and nothing else does).
    """
    where = session_where(tenant_id, filter_)

    def count_where(column: Any, value: str) -> Any:
        return func.coalesce(func.sum(case((column == value, 1), else_=0)), 0).label(f"{column.name}_{value}")

    def over_matched(table: Table, aggregate: ColumnElement[Any], label: str) -> Any:
        """``aggregate`` over ``table``'s rows of the matching sessions.

        A join, not ``IN``: the planner hashes both sides (in parallel where it can) instead of
        probing an index once per matching session.
        """
        joined = table.join(sessions, sessions.c.id == table.c.session_id)
        stmt = select(aggregate).select_from(joined).where(table.c.tenant_id == tenant_id, *where)
        return stmt.correlate(None).scalar_subquery().label(label)

    columns: list[Any] = [func.count().label("total")]
    if ReportPart.BY_STATUS in parts:
        columns += [count_where(sessions.c.status, s) for s in STATUSES]
    if ReportPart.BY_ROLE in parts:
        columns += [count_where(sessions.c.role, r) for r in ROLES]
    if ReportPart.DURATION in parts:
        columns.append(func.coalesce(func.sum(displayed_duration(now)), literal(0)).label("duration"))
    if ReportPart.AVERAGE_SCORE in parts:
        columns.append(over_matched(session_summaries, func.avg(session_summaries.c.score), "average_score"))
    if ReportPart.PROCEDURE_COUNT in parts:
        columns.append(over_matched(procedures, func.count(), "procedure_count"))
    stmt = select(*columns).select_from(sessions).where(*where)
    m = (await db.rows(stmt))[0]._asdict()
    avg = m.get("average_score")
    return ReportTotals(
        computed=parts,
        total_count=int(m["total"]),
        by_status={s: int(m[f"status_{s}"]) for s in STATUSES} if ReportPart.BY_STATUS in parts else {},
        by_role={r: int(m[f"role_{r}"]) for r in ROLES} if ReportPart.BY_ROLE in parts else {},
        average_score=None if avg is None else float(avg),
        total_duration_seconds=int(m.get("duration", 0)),
        procedure_count=int(m.get("procedure_count", 0)),
    )
