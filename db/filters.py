"""The one place a session filter becomes SQL: shared by the list, its count and the report."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, and_, bindparam, case, func, literal, select, tuple_
from sqlalchemy.sql.elements import Grouping

from sessions_gateway.db.expressions import AutoName, ContainsFolded, DurationKey, MinTimestamp, WholeSeconds
from sessions_gateway.db.tables import Timestamp, sessions, tasks

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.sql.expression import BindParameter, ColumnElement


@dataclass(frozen=True, slots=True)
class SessionCriteria:
    """What the caller asked to see; ``None`` fields do not filter. Values are storage values."""

    status: str | None = None
    role: str | None = None
    started_after: datetime | None = None  # inclusive
    started_before: datetime | None = None  # exclusive
    user_id: str | None = None
    task_source: str | None = None  # compared lower-cased: sources are stored lower case
    search: str | None = None

    def canonical(self) -> dict[str, Any]:
        """A stable, JSON-ready form (cursors are bound to it)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return out


class ListOrder(Enum):
    """Orders of the sessions list; every one breaks ties by id in the same direction."""

    STARTED_AT_DESC = "started_at_desc"
    STARTED_AT_ASC = "started_at_asc"
    COMPLETED_AT_DESC = "completed_at_desc"
    DURATION_DESC = "duration_desc"

    @property
    def descending(self) -> bool:
        return self is not ListOrder.STARTED_AT_ASC

    @property
    def key(self) -> ColumnElement[Any]:
        """The sort key, never NULL: sessions without one sort last."""
        return ORDER_KEYS[self]


def displayed_duration(now: datetime) -> ColumnElement[int]:
    """``Session.durationSeconds`` in SQL: the recorded duration, else time elapsed while in progress."""
    now_ = literal(now, Timestamp())
    elapsed = case(
        (sessions.c.started_at > now_, 0),
        else_=WholeSeconds(now_, sessions.c.started_at),
    )
    return func.coalesce(
        sessions.c.duration_seconds,
        WholeSeconds(sessions.c.completed_at, sessions.c.started_at),
        case((sessions.c.status == "in_progress", elapsed)),
        type_=Integer,
    )


ORDER_KEYS: dict[ListOrder, ColumnElement[Any]] = {
    ListOrder.STARTED_AT_DESC: sessions.c.started_at,
    ListOrder.STARTED_AT_ASC: sessions.c.started_at,
    # CASE, not COALESCE: PostgreSQL deems COALESCE leaky, and under row-level security a keyset
    # condition that is not leakproof cannot seek the index (see DurationKey).
    # Parenthesized: an index expression that is not a function call must be.
    ListOrder.COMPLETED_AT_DESC: Grouping(
        case((sessions.c.completed_at.is_(None), MinTimestamp()), else_=sessions.c.completed_at)
    ),
    ListOrder.DURATION_DESC: DurationKey(sessions.c.duration_seconds, sessions.c.started_at, sessions.c.completed_at),
}


def bound(name: str, values: Mapping[str, Any], column: ColumnElement[Any]) -> BindParameter[Any]:
    """The parameter ``name``, holding ``values[name]``, typed as ``column``.

    Every value a list statement binds has a fixed name (``criteria_values``, ``seek_values``):
    the statement's text is then fixed by which values are present, so one compiled text serves
    every request of that shape, with the values bound by name (``db/queries.py``).
    """
    return bindparam(name, values[name], type_=column.type)


def displayed_name(tenant_id: str | BindParameter[Any]) -> ColumnElement[str]:
    """``Session.name`` in SQL: the name, else the linked task's title, else 'Session <start>'."""
    title = (
        select(func.nullif(tasks.c.title, ""))
        .where(tasks.c.tenant_id == tenant_id, tasks.c.id == sessions.c.task_id)
        .scalar_subquery()
    )
    return func.coalesce(func.nullif(sessions.c.name, ""), title, AutoName(sessions.c.started_at))


def criteria_values(tenant_id: str, f: SessionCriteria) -> dict[str, Any]:
    """The values ``session_where`` binds, by name; a filter not given binds nothing."""
    values: dict[str, Any] = {"tenant_id": tenant_id}
    for name in ("status", "role", "started_after", "started_before", "user_id"):
        value = getattr(f, name)
        if value is not None:
            values[name] = value
    if f.task_source is not None:
        values["task_source"] = f.task_source.lower()
    if f.search:
        values["search"] = f.search.lower()
    return values


def session_where(tenant_id: str, f: SessionCriteria) -> list[ColumnElement[bool]]:
    """WHERE clauses for the sessions of one tenant matching ``f``; erased sessions never match."""
    v = criteria_values(tenant_id, f)
    tenant = bound("tenant_id", v, sessions.c.tenant_id)
    clauses: list[ColumnElement[bool]] = [sessions.c.tenant_id == tenant, sessions.c.deleted_at.is_(None)]
    if "status" in v:
        clauses.append(sessions.c.status == bound("status", v, sessions.c.status))
    if "role" in v:
        clauses.append(sessions.c.role == bound("role", v, sessions.c.role))
    if "started_after" in v:
        clauses.append(sessions.c.started_at >= bound("started_after", v, sessions.c.started_at))
    if "started_before" in v:
        clauses.append(sessions.c.started_at < bound("started_before", v, sessions.c.started_at))
    if "user_id" in v:
        clauses.append(sessions.c.user_id == bound("user_id", v, sessions.c.user_id))
    if "task_source" in v:
        source = bound("task_source", v, tasks.c.source)
        source_tasks = select(tasks.c.id).where(tasks.c.tenant_id == tenant, tasks.c.source == source)
        clauses.append(sessions.c.task_id.in_(source_tasks))
    if "search" in v:
        clauses.append(ContainsFolded(displayed_name(tenant), bound("search", v, sessions.c.name)))
    return clauses


def seek_values(key: Any, session_id: str, *, after: bool) -> dict[str, Any]:
    """The values ``seek`` binds, by name."""
    side = "after" if after else "before"
    return {f"{side}_key": key, f"{side}_id": session_id}


def seek(order: ListOrder, key: Any, session_id: str, *, after: bool) -> ColumnElement[bool]:
    """Rows strictly after (or before) the position ``(key, id)`` in ``order``: the keyset condition.

    The row comparison is exact; the redundant bound on the key alone lets SQLite seek an index on
    an expression, which it does not do for a row value.
    """
    v = seek_values(key, session_id, after=after)
    side = "after" if after else "before"
    row = tuple_(order.key, sessions.c.id)
    key_ = bound(f"{side}_key", v, order.key)
    position = tuple_(key_, bound(f"{side}_id", v, sessions.c.id))
    if after == order.descending:
        return and_(order.key <= key_, row < position)
    return and_(order.key >= key_, row > position)


def keyset_order(order: ListOrder, *, reverse: bool) -> list[ColumnElement[Any]]:
    descending = order.descending != reverse
    return [c.desc() if descending else c.asc() for c in (order.key, sessions.c.id)]
