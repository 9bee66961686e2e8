"""The sessions list (keyset pages), one session by id, their count, and the report's totals.

Plain data up: rows and page info (``Page``), a row, totals; ``schema/`` wraps them in its types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sessions_gateway.db import queries
from sessions_gateway.resolvers.inputs import check_id
from sessions_gateway.resolvers.pagination import CursorCodec, page_request

if TYPE_CHECKING:
    from sessions_gateway.db.filters import ListOrder, SessionCriteria
    from sessions_gateway.db.queries import ReportPart, ReportTotals
    from sessions_gateway.db.relations import Relation
    from sessions_gateway.db.rows import PageRow, SessionRow
    from sessions_gateway.gateway.context import Context


@dataclass(frozen=True, slots=True)
class PageEdge:
    """One row of a page, and what its cursor encodes (encoded only when asked for)."""

    row: PageRow
    codec: CursorCodec

    @property
    def position(self) -> queries.Position:
        return queries.Position(self.row.sort_key, self.row.id)

    def cursor_text(self) -> str:
        return self.codec.encode(self.position)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the sessions list: its rows in order, Relay's page info, and the filter it matched."""

    edges: list[PageEdge]
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
    filter_: SessionCriteria
    # Read with the page when asked for (``list_sessions``'s ``relations`` and ``total``): the rows
    # of each relation by key (``db.queries.Joined``), and the count of all matching sessions.
    related: dict[str, dict[str, Any]] = field(default_factory=dict)
    total: int | None = None

    @property
    def rows(self) -> list[PageRow]:
        return [edge.row for edge in self.edges]


async def list_sessions(
    ctx: Context,
    *,
    filter_: SessionCriteria,
    order: ListOrder,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    relations: frozenset[Relation] | None = None,
    total: bool = False,
) -> Page:
    """A page of sessions.

    With ``relations`` (even none), read in one statement with those relations and, if ``total``,
    the count of every match (``Page.related``, ``Page.total``).
    """
    codec = CursorCodec(key=ctx.cursor_key, tenant_id=ctx.tenant_id, order=order, filter_=filter_)
    page = page_request(codec, first=first, after=after, last=last, before=before)
    # One row more than asked tells whether there is more in the paging direction.
    window = queries.Window(
        tenant_id=ctx.tenant_id,
        filter_=filter_,
        order=order,
        after=page.after,
        before=page.before,
        limit=page.size + 1,
        from_end=page.from_end,
    )
    joined = None
    if relations is None:
        rows = await queries.page_sessions(ctx.db, window)
    else:
        joined = await queries.page_joined(ctx.db, window, relations=relations, total=total)
        rows = joined.rows
    more = len(rows) > page.size
    if more:
        rows = rows[1:] if page.from_end else rows[:-1]
    edges = [PageEdge(row, codec) for row in rows]
    # Relay: the side opposite the paging direction is known to have rows when a cursor bounds it.
    return Page(
        edges=edges,
        has_next_page=more if not page.from_end else page.before is not None,
        has_previous_page=more if page.from_end else page.after is not None,
        start_cursor=edges[0].cursor_text() if edges else None,
        end_cursor=edges[-1].cursor_text() if edges else None,
        filter_=filter_,
        related={} if joined is None else joined.related,
        total=None if joined is None else joined.total,
    )


async def count_sessions(ctx: Context, filter_: SessionCriteria) -> int:
    """All the caller's sessions matching ``filter_``, not just one page."""
    return await queries.count_sessions(ctx.db, tenant_id=ctx.tenant_id, filter_=filter_)


async def get_session(ctx: Context, session_id: str) -> SessionRow | None:
    """One session of the caller's tenant; ``None`` for missing, erased and foreign alike."""
    return await queries.session_by_id(ctx.db, tenant_id=ctx.tenant_id, session_id=check_id(session_id, "id"))


async def get_session_joined(ctx: Context, session_id: str, relations: frozenset[Relation]) -> queries.Joined:
    """``get_session``'s row (in ``rows``, if found) with ``relations``: one statement."""
    return await queries.session_joined(
        ctx.db, tenant_id=ctx.tenant_id, session_id=check_id(session_id, "id"), relations=relations
    )


async def sessions_report(ctx: Context, *, filter_: SessionCriteria, parts: frozenset[ReportPart]) -> ReportTotals:
    """The aggregates in ``parts``: one statement (one more for the score deciles), or none without parts.

    The report's fields with arguments read when resolved (``resolvers/report.py``).
    """
    return await queries.report(ctx.db, tenant_id=ctx.tenant_id, filter_=filter_, now=ctx.now, parts=parts)
