"""The sessions list (keyset pages), one session by id, and the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from db import queries
from db.filters import SessionOrder
from resolvers.inputs import check_id
from resolvers.pagination import CursorCodec, page_request
from resolvers.selection import selected_subfields
from schema.connection import PageInfo, SessionConnection, SessionEdge
from schema.report import PART_OF_FIELD, SessionsReport
from schema.session import Session

if TYPE_CHECKING:
    from db.filters import SessionFilter
    from gateway.context import Info


async def list_sessions(
    info: Info,
    *,
    filter_: SessionFilter,
    order: SessionOrder,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> SessionConnection:
    ctx = info.context
    codec = CursorCodec(key=ctx.cursor_key, tenant_id=ctx.tenant_id, order=order, filter_=filter_)
    page = page_request(codec, first=first, after=after, last=last, before=before)
    # One row more than asked tells whether there is more in the paging direction.
    rows = await queries.page_sessions(
        ctx.db,
        tenant_id=ctx.tenant_id,
        filter_=filter_,
        order=order,
        after=page.after,
        before=page.before,
        limit=page.size + 1,
        from_end=page.from_end,
    )
    more = len(rows) > page.size
    if more:
        rows = rows[1:] if page.from_end else rows[:-1]
    edges = [
        SessionEdge(cursor=codec.encode(queries.Position(row.sort_key, row.id)), node=Session.from_row(row))
        for row in rows
    ]
    # Relay: the side opposite the paging direction is known to have rows when a cursor bounds it.
    page_info = PageInfo(
        has_next_page=more if not page.from_end else page.before is not None,
        has_previous_page=more if page.from_end else page.after is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return SessionConnection(edges=edges, page_info=page_info, filter_=filter_)


async def get_session(info: Info, session_id: str) -> Session | None:
    """One session of the caller's tenant; ``None`` for missing, erased and foreign alike."""
    ctx = info.context
    row = await queries.session_by_id(ctx.db, tenant_id=ctx.tenant_id, session_id=check_id(session_id, "id"))
    return None if row is None else Session.from_row(row)


async def sessions_report(info: Info, *, filter_: SessionFilter) -> SessionsReport:
    """One statement, computing only the aggregates the client selected."""
    ctx = info.context
    parts = frozenset(PART_OF_FIELD[name] for name in selected_subfields(info) if name in PART_OF_FIELD)
    totals = await queries.report(ctx.db, tenant_id=ctx.tenant_id, filter_=filter_, now=ctx.now, parts=parts)
    return SessionsReport(totals=totals)
