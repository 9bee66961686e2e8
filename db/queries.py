"""Every SELECT the gateway runs. Each takes the request's reader and a required ``tenant_id``.

Every statement filters on ``tenant_id`` itself; on PostgreSQL, row-level security is the
second wall behind it (``db/reader.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from functools import cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    Dialect,
    Integer,
    Text,
    and_,
    any_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.types import TypeDecorator

from sessions_gateway.db.expressions import CodePointOrder, PeriodStart
from sessions_gateway.db.filters import (
    ListOrder,
    SessionCriteria,
    criteria_values,
    displayed_duration,
    keyset_order,
    seek,
    seek_values,
    session_where,
)
from sessions_gateway.db.reader import Record, Template, record_type
from sessions_gateway.db.relations import Relation
from sessions_gateway.db.tables import procedures, recordings, session_summaries, sessions, tasks, users

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Sequence
    from datetime import datetime

    from sqlalchemy import Column, FromClause, Select, Table
    from sqlalchemy.sql.expression import ColumnElement

    from sessions_gateway.db.reader import TenantReader
    from sessions_gateway.db.rows import (
        PageRow,
        ProcedureCountRow,
        ProcedureRow,
        RecordingRow,
        SessionRow,
        SummaryRow,
        TaskRow,
        UserRow,
    )

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
    filter_: SessionCriteria,
    order: ListOrder,
    after: Position | None,
    before: Position | None,
    limit: int | None,
    from_end: bool,
) -> Select[Any]:
    """The statement ``page_sessions`` runs (rows in reverse ``order`` when ``from_end``).

    ``limit`` ``None``: bound as the value ``page_limit`` (the form a batch of many page sizes reads, ``db/batch.py``).
    """
    where = session_where(tenant_id, filter_)
    if after is not None:
        where.append(seek(order, after.key, after.id, after=True))
    if before is not None:
        where.append(seek(order, before.key, before.id, after=False))
    return (
        select(*SESSION_COLUMNS, order.key.label("sort_key"))
        .where(*where)
        .order_by(*keyset_order(order, reverse=from_end))
        # A literal, not a parameter: with it in the text PostgreSQL plans the prepared statement
        # once (a generic plan that knows the LIMIT) instead of planning each execution again.
        .limit(
            literal_column(str(int(limit)), Integer())
            if limit is not None
            else bindparam("page_limit", type_=Integer())
        )
    )


def page_values(
    *, tenant_id: str, filter_: SessionCriteria, after: Position | None, before: Position | None
) -> dict[str, Any]:
    """Every value ``page_statement`` binds, by name: which are present (and the limit, written in it) fix its text."""
    values = criteria_values(tenant_id, filter_)
    if after is not None:
        values.update(seek_values(after.key, after.id, after=True))
    if before is not None:
        values.update(seek_values(before.key, before.id, after=False))
    return values


@dataclass(frozen=True, slots=True)
class Window:
    """Which sessions a page reads: up to ``limit`` strictly between ``after`` and ``before``, in ``order``.

    ``from_end`` takes them from the end of that range (for ``last``); rows come back in ``order``
    either way.
    """

    tenant_id: str
    filter_: SessionCriteria
    order: ListOrder
    after: Position | None
    before: Position | None
    limit: int
    from_end: bool

    def statement(self, *, bound_limit: bool = False) -> Select[Any]:
        """The page's statement; ``bound_limit``: its limit bound as the value ``page_limit``, not in the text."""
        return page_statement(
            tenant_id=self.tenant_id,
            filter_=self.filter_,
            order=self.order,
            after=self.after,
            before=self.before,
            limit=None if bound_limit else self.limit,
            from_end=self.from_end,
        )


async def page_sessions(db: TenantReader, window: Window) -> list[PageRow]:
    """The sessions of ``window``, in its order; each row carries its ``sort_key`` for the cursor."""
    rows = await db.rows(window.statement())
    return list(reversed(rows)) if window.from_end else rows


# --- one statement per request: a page (or one session) and every relation its fields read ------


def _relation_columns(relation: Relation) -> tuple[ColumnElement[Any], ...]:
    """The columns of ``relation`` a joined statement selects: those of its loader batch."""
    return _BATCHES[_BATCH_OF[relation]][1]


def joined_statement(
    base: Select[Any],
    *,
    tenant_id: str,
    relations: frozenset[Relation],
    order: Sequence[tuple[str, bool]] = (),
    total_of: Sequence[ColumnElement[bool]] | None = None,
) -> Select[Any]:
    """``base`` (sessions, at most a page of them) with each of ``relations`` joined to every row, one statement.

    To-one relations (user, task, recording, summary) are LEFT JOINs returning their columns
    labelled ``<relation>__<column>``; the procedure count a scalar subquery per row; the
    procedures a LEFT JOIN after ``base``'s LIMIT, one row per procedure (``split_joined`` folds
    them back). Rows come in ``order`` (``base``'s column labels, descending or not), then by
    procedure position. Every table read binds ``tenant_id``. With ``total_of`` (the WHERE of the
    list without its cursor), the count of all matching sessions is one more column, ``total``:
    the statement is then one row with a NULL page when the page is empty, so the count and the
    page always come from one statement's snapshot.
    """
    page = base.subquery("page")
    tenant = bindparam("tenant_id", tenant_id, type_=sessions.c.tenant_id.type)
    columns: list[ColumnElement[Any]] = list(page.c)
    joined: FromClause = page
    to_one = {
        Relation.USER: (users, users.c.id == page.c.user_id),
        Relation.TASK: (tasks, tasks.c.id == page.c.task_id),
        Relation.RECORDING: (recordings, recordings.c.session_id == page.c.id),
        Relation.SUMMARY: (session_summaries, session_summaries.c.session_id == page.c.id),
        Relation.PROCEDURES: (procedures, procedures.c.session_id == page.c.id),
    }
    for relation, (table, on) in to_one.items():
        if relation in relations:
            joined = joined.outerjoin(table, and_(table.c.tenant_id == tenant, on))
            columns.extend(c.label(f"{relation.value}__{c.key}") for c in _relation_columns(relation))
    if Relation.PROCEDURE_COUNT in relations and Relation.PROCEDURES not in relations:
        count = (
            select(func.count())
            .where(procedures.c.tenant_id == tenant, procedures.c.session_id == page.c.id)
            .scalar_subquery()
        )
        columns.append(count.label(f"{Relation.PROCEDURE_COUNT.value}__n"))
    stmt = select(*columns).select_from(joined)
    if total_of is None:
        ordering = [page.c[name].desc() if descending else page.c[name].asc() for name, descending in order]
        if Relation.PROCEDURES in relations:
            ordering.append(procedures.c.position.asc())
        return stmt.order_by(*ordering)
    rows = stmt.subquery("rows")
    total = select(func.count().label("total")).select_from(sessions).where(*total_of).subquery("total")
    ordering = [rows.c[name].desc() if descending else rows.c[name].asc() for name, descending in order]
    if Relation.PROCEDURES in relations:
        ordering.append(rows.c[f"{Relation.PROCEDURES.value}__position"].asc())
    return select(total.c.total, *rows.c).select_from(total.outerjoin(rows, true())).order_by(*ordering)


def joined_order(order: Sequence[tuple[str, bool]], relations: frozenset[Relation]) -> tuple[tuple[str, bool], ...]:
    """``joined_statement``'s ORDER BY as (column label, descending), for the ``Template`` of it."""
    procedures_ = ((f"{Relation.PROCEDURES.value}__position", False),) if Relation.PROCEDURES in relations else ()
    return (*order, *procedures_)


_BATCH_OF = {
    Relation.USER: "users",
    Relation.TASK: "tasks",
    Relation.PROCEDURES: "procedures",
    Relation.RECORDING: "recordings",
    Relation.SUMMARY: "summaries",
}


@dataclass(slots=True)
class Joined:
    """A joined statement's rows folded back: the sessions in order, each relation's rows by key, the total.

    ``related`` is keyed by ``Relation.value``: users and tasks by their id, the rest by session
    id. Every session has its count and its (possibly empty) list of procedures when those were
    joined; a missing user, task, recording or summary is simply absent, as a loader reports it.
    """

    rows: list[Any]
    related: dict[str, dict[str, Any]]
    total: int | None = None


_COUNTS, _PROCEDURES = Relation.PROCEDURE_COUNT.value, Relation.PROCEDURES.value
# A to-one relation's key in its session row (the rest are keyed by the session's id).
_KEY_OF = {Relation.USER.value: "user_id", Relation.TASK.value: "task_id"}


@dataclass(frozen=True, slots=True)
class _Layout:
    """How a joined row splits, per statement: the session's columns and each relation's."""

    session: Callable[[Sequence[Any]], Any]  # the session record of a row
    first: int  # the index of the session's id
    total: int | None  # the index of the total, if the statement counts
    # For each to-one relation: its name, the index of its first column, its record of a row, and
    # the index of its key in the session record (None: the session's id).
    to_one: tuple[tuple[str, int, Callable[[Sequence[Any]], Any], int | None], ...]
    count: int | None  # the index of the procedure count, if counted by the statement
    procedure: tuple[int, Callable[[Sequence[Any]], Any]] | None


def _record_of(kind: Any, idx: Sequence[int]) -> Callable[[Sequence[Any]], Any]:
    """A function making a ``kind`` record of the columns ``idx`` of a row (two C calls)."""
    pick = itemgetter(*idx) if len(idx) > 1 else (lambda row, i=idx[0]: (row[i],))
    return lambda row: tuple.__new__(kind, pick(row))


@cache
def _layout(columns: tuple[str, ...]) -> _Layout:
    own = [i for i, name in enumerate(columns) if "__" not in name and name != "total"]
    session_type = record_type(tuple(columns[i] for i in own))
    parts: dict[str, list[int]] = {}
    for i, name in enumerate(columns):
        if "__" in name:
            parts.setdefault(name.split("__", 1)[0], []).append(i)
    to_one, count, procedure = [], None, None
    for part, idx in parts.items():
        kind = record_type(tuple(columns[i].split("__", 1)[1] for i in idx))
        if part == _COUNTS:
            count = idx[0]
        elif part == _PROCEDURES:
            procedure = (idx[0], _record_of(kind, idx))
        else:
            key = session_type._fields.index(_KEY_OF[part]) if part in _KEY_OF else None
            to_one.append((part, idx[0], _record_of(kind, idx), key))
    return _Layout(
        session=_record_of(session_type, own),
        first=columns.index("id"),
        total=columns.index("total") if "total" in columns else None,
        to_one=tuple(to_one),
        count=count,
        procedure=procedure,
    )


def split_joined(  # noqa: C901  (one pass over the rows, its steps inline: it runs per row of every page)
    columns: tuple[str, ...], rows: Sequence[Sequence[Any]], relations: frozenset[Relation]
) -> Joined:
    """Fold the rows of ``joined_statement`` back into sessions and their relations' rows."""
    layout = _layout(columns)
    related: dict[str, dict[str, Any]] = {relation.value: {} for relation in relations}
    out = Joined([], related)
    if layout.total is not None:
        out.total = int(rows[0][layout.total]) if rows else 0
    to_one = [(related[part], at, make, key) for part, at, make, key in layout.to_one]
    counts = related.get(_COUNTS)
    procedures_ = related.get(_PROCEDURES)
    procedure = layout.procedure
    first, make_session, count_at = layout.first, layout.session, layout.count
    sessions_ = out.rows
    last_id = None
    found: list[Any] = []
    for row in rows:
        session_id = row[first]
        if session_id is None:  # the page is empty: the one row holds the total alone
            continue
        if session_id != last_id:
            last_id = session_id
            session = make_session(row)
            sessions_.append(session)
            for target, at, make, key in to_one:
                if row[at] is not None:
                    target[session_id if key is None else session[key]] = make(row)
            if count_at is not None and counts is not None:
                counts[session_id] = int(row[count_at])
            if procedures_ is not None:
                found = procedures_[session_id] = []
        if procedure is not None and row[procedure[0]] is not None:
            found.append(procedure[1](row))
    if procedures_ is not None and counts is not None:
        for owner, listed in procedures_.items():
            counts[owner] = len(listed)
    return out


async def page_joined(db: TenantReader, window: Window, *, relations: frozenset[Relation], total: bool) -> Joined:
    """``page_sessions``'s rows with ``relations`` (and the count of all matches when ``total``): one statement.

    The statement is built once per shape (which values are bound, the order, the relations) and
    kept: each request binds its values by name (``page_values``).
    """
    tenant_id, filter_, order, from_end = window.tenant_id, window.filter_, window.order, window.from_end
    values = page_values(tenant_id=tenant_id, filter_=filter_, after=window.after, before=window.before)
    key = ("page", order, from_end, tuple(values), window.limit, relations, total)
    template = _TEMPLATES.get(key)
    if template is None:
        descending = order.descending != from_end
        order_ = (("sort_key", descending), ("id", descending))

        def built(*, bound_limit: bool) -> Select[Any]:
            return joined_statement(
                window.statement(bound_limit=bound_limit),
                tenant_id=tenant_id,
                relations=relations,
                order=order_,
                total_of=session_where(tenant_id, filter_) if total else None,
            )

        # Every page size's statement batches as one statement, its limit a value of each page's.
        family = (*key[:4], None, *key[5:])
        batch = _TEMPLATES.get(family) or _keep(family, built(bound_limit=True), joined_order(order_, relations))
        template = _keep(key, built(bound_limit=False), joined_order(order_, relations))
        template.batch = (batch, {"page_limit": window.limit})
    rows = await db.rows(template, values, named=False)
    joined = split_joined(template.columns, rows, relations)
    if from_end:
        joined.rows.reverse()
    return joined


# Built statements by shape: at most 4 orders x 2 directions x 2^11 sets of values x 2^6 sets of
# relations x 2 in theory, a few dozen in practice; bounded all the same.
MAX_TEMPLATES = 1024
_TEMPLATES: dict[Hashable, Template] = {}


def _keep(key: Hashable, statement: Select[Any], order: tuple[tuple[str, bool], ...] = ()) -> Template:
    if len(_TEMPLATES) >= MAX_TEMPLATES:
        _TEMPLATES.pop(next(iter(_TEMPLATES)))  # the oldest
    template = _TEMPLATES[key] = Template(statement, order)
    return template


async def session_joined(
    db: TenantReader, *, tenant_id: str, session_id: str, relations: frozenset[Relation]
) -> Joined:
    """``session_by_id``'s row (none, or one) with ``relations``: one statement."""
    key = ("session", relations)
    template = _TEMPLATES.get(key)
    if template is None:
        base = select(*SESSION_COLUMNS).where(
            sessions.c.tenant_id == bindparam("tenant_id", tenant_id, type_=sessions.c.tenant_id.type),
            sessions.c.id == bindparam("session_id", session_id, type_=sessions.c.id.type),
            sessions.c.deleted_at.is_(None),
        )
        template = _keep(
            key, joined_statement(base, tenant_id=tenant_id, relations=relations), joined_order((), relations)
        )
    rows = await db.rows(template, {"tenant_id": tenant_id, "session_id": session_id}, named=False)
    return split_joined(template.columns, rows, relations)


async def count_sessions(db: TenantReader, *, tenant_id: str, filter_: SessionCriteria) -> int:
    stmt = select(func.count()).select_from(sessions).where(*session_where(tenant_id, filter_))
    rows = await db.rows(stmt)
    return int(rows[0][0])


async def session_by_id(db: TenantReader, *, tenant_id: str, session_id: str) -> SessionRow | None:
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


async def users_by_ids(db: TenantReader, *, tenant_id: str, ids: Sequence[str]) -> list[UserRow]:
    return await _batch(db, "users", tenant_id=tenant_id, keys=ids)


async def tasks_by_ids(db: TenantReader, *, tenant_id: str, ids: Sequence[str]) -> list[TaskRow]:
    return await _batch(db, "tasks", tenant_id=tenant_id, keys=ids)


async def procedures_by_session_ids(
    db: TenantReader, *, tenant_id: str, session_ids: Sequence[str]
) -> list[ProcedureRow]:
    """Ordered by (session_id, position)."""
    return await _batch(db, "procedures", tenant_id=tenant_id, keys=session_ids)


async def procedure_counts_by_session_ids(
    db: TenantReader, *, tenant_id: str, session_ids: Sequence[str]
) -> list[ProcedureCountRow]:
    """``(session_id, n)`` for each session that has procedures."""
    return await _batch(db, "procedure_counts", tenant_id=tenant_id, keys=session_ids)


async def recordings_by_session_ids(
    db: TenantReader, *, tenant_id: str, session_ids: Sequence[str]
) -> list[RecordingRow]:
    return await _batch(db, "recordings", tenant_id=tenant_id, keys=session_ids)


async def summaries_by_session_ids(db: TenantReader, *, tenant_id: str, session_ids: Sequence[str]) -> list[SummaryRow]:
    return await _batch(db, "summaries", tenant_id=tenant_id, keys=session_ids)


class ReportPart(Enum):
    """Aggregates ``report`` computes only when asked for: each costs work over every matching row."""

    TOTAL_COUNT = "total_count"
    BY_STATUS = "by_status"
    BY_ROLE = "by_role"
    DURATION = "duration"
    AVERAGE_SCORE = "average_score"
    PROCEDURE_COUNT = "procedure_count"
    SCORE_DECILES = "score_deciles"


# The score deciles' inclusive bounds: a tenth of 0..100 each, 100 in the last.
DECILES = ((0, 9), (10, 19), (20, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 79), (80, 89), (90, 100))


@dataclass(frozen=True, slots=True)
class ReportTotals:
    computed: frozenset[ReportPart]
    total_count: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_role: dict[str, int] = field(default_factory=dict)
    average_score: float | None = None
    total_duration_seconds: int = 0
    procedure_count: int = 0
    score_deciles: tuple[int, ...] = ()  # sessions with a score, per DECILES entry

    def require(self, part: ReportPart) -> None:
        """Refuse to answer from a part that was not computed (rather than answer a default)."""
        if part not in self.computed:
            raise LookupError(f"report part {part.value} was not computed")


async def report(
    db: TenantReader,
    *,
    tenant_id: str,
    filter_: SessionCriteria,
    now: datetime,
    parts: frozenset[ReportPart] = frozenset(ReportPart),
) -> ReportTotals:
    """``sessionsReport``'s aggregates over the matching sessions: only ``parts``, in one statement.

    The score deciles are a statement of their own (joining summaries to sessions would slow
    every other aggregate); without ``parts`` there is no statement at all.
    """
    m = await _report_row(db, tenant_id, filter_, now, parts - {ReportPart.SCORE_DECILES})
    avg = m.get("average_score")
    return ReportTotals(
        computed=parts,
        total_count=int(m.get("total", 0)),
        by_status={s: int(m[f"status_{s}"]) for s in STATUSES} if ReportPart.BY_STATUS in parts else {},
        by_role={r: int(m[f"role_{r}"]) for r in ROLES} if ReportPart.BY_ROLE in parts else {},
        average_score=None if avg is None else float(avg),
        total_duration_seconds=int(m.get("duration", 0)),
        procedure_count=int(m.get("procedure_count", 0)),
        score_deciles=await _score_deciles(db, tenant_id, filter_) if ReportPart.SCORE_DECILES in parts else (),
    )


async def _report_row(
    db: TenantReader, tenant_id: str, filter_: SessionCriteria, now: datetime, parts: frozenset[ReportPart]
) -> dict[str, Any]:
    """The one row of the report statement, by column label; empty without ``parts``."""
    if not parts:
        return {}
    where = session_where(tenant_id, filter_)
    stmt = select(*_report_columns(tenant_id, where, now, parts)).select_from(sessions).where(*where)
    row: dict[str, Any] = (await db.rows(stmt))[0]._asdict()
    return row


def _report_columns(
    tenant_id: str, where: list[ColumnElement[bool]], now: datetime, parts: frozenset[ReportPart]
) -> list[Any]:
    """The report statement's columns for ``parts``, over the matching sessions (``where``)."""

    def count_where(column: Any, value: str) -> Any:
        return func.coalesce(func.sum(case((column == value, 1), else_=0)), 0).label(f"{column.name}_{value}")

    # The count, whatever the parts: it makes the statement an aggregate, one row even over no session.
    columns: list[Any] = [func.count().label("total")]
    if ReportPart.BY_STATUS in parts:
        columns += [count_where(sessions.c.status, s) for s in STATUSES]
    if ReportPart.BY_ROLE in parts:
        columns += [count_where(sessions.c.role, r) for r in ROLES]
    if ReportPart.DURATION in parts:
        columns.append(func.coalesce(func.sum(displayed_duration(now)), literal(0)).label("duration"))
    if ReportPart.AVERAGE_SCORE in parts:
        average = func.avg(session_summaries.c.score)
        columns.append(_over_matched(tenant_id, where, session_summaries, average).label("average_score"))
    if ReportPart.PROCEDURE_COUNT in parts:
        columns.append(_over_matched(tenant_id, where, procedures, func.count()).label("procedure_count"))
    return columns


def _matched_rows_of(table: Table, tenant_id: str, where: list[ColumnElement[bool]], *columns: Any) -> Select[Any]:
    """``columns`` of ``table``'s rows (keyed by ``session_id``) of the matching sessions (``where``).

    A join, not ``IN``: the planner hashes both sides (in parallel where it can) instead of
    probing an index once per matching session.
    """
    joined = table.join(sessions, sessions.c.id == table.c.session_id)
    return select(*columns).select_from(joined).where(table.c.tenant_id == tenant_id, *where)


def _over_matched(
    tenant_id: str, where: list[ColumnElement[bool]], table: Table, aggregate: ColumnElement[Any]
) -> ColumnElement[Any]:
    """``aggregate`` over ``table``'s rows of the matching sessions, as a column of the report statement."""
    return _matched_rows_of(table, tenant_id, where, aggregate).correlate(None).scalar_subquery()


async def _score_deciles(db: TenantReader, tenant_id: str, filter_: SessionCriteria) -> tuple[int, ...]:
    """How many matching sessions have a score in each of ``DECILES``."""
    score = session_summaries.c.score
    decile = case((score >= DECILES[-1][0], len(DECILES) - 1), else_=score // 10)
    where = session_where(tenant_id, filter_)
    scored = _matched_rows_of(session_summaries, tenant_id, where, decile.label("decile")).where(score.is_not(None))
    matched = scored.subquery("scored")
    rows = await db.rows(select(matched.c.decile, func.count().label("n")).group_by(matched.c.decile))
    counts = {int(row.decile): int(row.n) for row in rows}
    return tuple(counts.get(i, 0) for i in range(len(DECILES)))


def _with_summaries(tenant_id: str, source: FromClause) -> FromClause:
    """``source`` (sessions, maybe joined) with each session's summary where it has one.

    ``session_summaries`` is keyed by session: the join adds no row, so counts stay counts.
    """
    summaries = session_summaries.c
    return source.outerjoin(
        session_summaries, and_(summaries.session_id == sessions.c.id, summaries.tenant_id == tenant_id)
    )


@dataclass(frozen=True, slots=True)
class GroupTotals:
    """Aggregates over one group of the matching sessions; ``key`` says which group."""

    key: Any
    count: int
    completed: int
    score_sum: int  # over the group's sessions that have a score
    scored: int  # how many have one

    @property
    def average_score(self) -> float | None:
        """Divided here rather than by ``avg()``: the same float on every backend."""
        return self.score_sum / self.scored if self.scored else None


def _grouped(
    tenant_id: str, filter_: SessionCriteria, key: ColumnElement[Any], *, source: FromClause = sessions
) -> tuple[Select[Any], ColumnElement[Any], ColumnElement[Any]]:
    """One row per value of ``key`` over the matching sessions, with a ``GroupTotals``' columns.

    Grouped over a subquery, so that ``key`` is written once even when it binds parameters.
    Also returns the grouped key and count, to order by.
    """
    matched = (
        select(key.label("key"), sessions.c.status, session_summaries.c.score)
        .select_from(_with_summaries(tenant_id, source))
        .where(*session_where(tenant_id, filter_))
        .subquery("matched")
    )
    count = func.count()
    stmt = select(
        matched.c.key,
        count.label("total"),
        func.count(case((matched.c.status == "completed", 1))).label("completed"),
        func.coalesce(func.sum(matched.c.score), 0).label("score_sum"),
        func.count(matched.c.score).label("scored"),
    ).group_by(matched.c.key)
    return stmt, matched.c.key, count


def _group_totals(row: Record, key: Any) -> GroupTotals:
    return GroupTotals(
        key=key,
        count=int(row.total),
        completed=int(row.completed),
        score_sum=int(row.score_sum),
        scored=int(row.scored),
    )


async def timeline(
    db: TenantReader, *, tenant_id: str, filter_: SessionCriteria, period: str, zone: str, limit: int
) -> list[GroupTotals]:
    """The matching sessions per ``period`` (one of ``PERIODS``) of their start in ``zone``, oldest first.

    Keys are each period's first local day (a ``date``); only periods holding a session have a
    row, and at most ``limit`` of them are read (in no particular order before the sort here).
    """
    key = PeriodStart(sessions.c.started_at, literal(zone, Text()), literal(period, Text()))
    stmt, _, _ = _grouped(tenant_id, filter_, key)
    rows = await db.rows(stmt.limit(limit))
    return sorted((_group_totals(row, date.fromisoformat(row.key)) for row in rows), key=lambda g: g.key)


async def _ranked(
    db: TenantReader,
    *,
    tenant_id: str,
    filter_: SessionCriteria,
    key: ColumnElement[Any],
    source: FromClause,
    limit: int,
) -> list[GroupTotals]:
    """The ``limit`` largest groups: most sessions first, ties by key in code-point order, a null key last."""
    if limit <= 0:
        return []
    stmt, grouped_key, count = _grouped(tenant_id, filter_, key, source=source)
    stmt = stmt.order_by(count.desc(), grouped_key.is_(None), CodePointOrder(grouped_key)).limit(limit)
    return [_group_totals(row, row.key) for row in await db.rows(stmt)]


async def totals_by_user(
    db: TenantReader, *, tenant_id: str, filter_: SessionCriteria, limit: int
) -> list[GroupTotals]:
    """The matching sessions per user who ran them (keys: user ids), most sessions first."""
    return await _ranked(db, tenant_id=tenant_id, filter_=filter_, key=sessions.c.user_id, source=sessions, limit=limit)


async def totals_by_task_source(
    db: TenantReader, *, tenant_id: str, filter_: SessionCriteria, limit: int
) -> list[GroupTotals]:
    """The matching sessions per linked task's source (keys; ``None`` without a task), most sessions first."""
    # An alias: the filter's own subqueries on tasks (search, taskSource) must not correlate with it.
    task = tasks.alias("linked_task")
    linked = sessions.outerjoin(task, and_(task.c.id == sessions.c.task_id, task.c.tenant_id == tenant_id))
    return await _ranked(db, tenant_id=tenant_id, filter_=filter_, key=task.c.source, source=linked, limit=limit)
