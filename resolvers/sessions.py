"""The sessions list (keyset pages), one session by id, and the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from db import queries
from db.filters import SessionOrder
from resolvers.inputs import check_id
from resolvers.pagination import CursorCodec, page_request
from schema.connection import PageInfo, SessionConnection, SessionEdge
from schema.report import PART_OF_FIELD, SessionsReport
from schema.session import Session

if TYPE_CHECKING:
    from collections.abc import Iterable

    from db.filters import SessionFilter
    from db.queries import ReportPart
    from gateway.context import Context


async def list_sessions(
    ctx: Context,
    *,
    filter_: SessionFilter,
    order: SessionOrder,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> SessionConnection:
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
        SessionEdge(position=queries.Position(row.sort_key, row.id), codec=codec, node=Session(row=row)) for row in rows
    ]
    # Relay: the side opposite the paging direction is known to have rows when a cursor bounds it.
    page_info = PageInfo(
        has_next_page=more if not page.from_end else page.before is not None,
        has_previous_page=more if page.from_end else page.after is not None,
        start_cursor=edges[0].cursor_text() if edges else None,
        end_cursor=edges[-1].cursor_text() if edges else None,
    )
    return SessionConnection(edges=edges, page_info=page_info, filter_=filter_)


async def get_session(ctx: Context, session_id: str) -> Session | None:
    """One session of the caller's tenant; ``None`` for missing, erased and foreign alike."""
    row = await queries.session_by_id(ctx.db, tenant_id=ctx.tenant_id, session_id=check_id(session_id, "id"))
    return None if row is None else Session.from_row(row)


def report_parts(field_names: Iterable[str]) -> frozenset[ReportPart]:
    """The aggregates the selected fields of ``SessionsReport`` need."""
    return frozenset(PART_OF_FIELD[name] for name in field_names if name in PART_OF_FIELD)


async def sessions_report(ctx: Context, *, filter_: SessionFilter, parts: frozenset[ReportPart]) -> SessionsReport:
    """The aggregates in ``parts``: one statement (one more for the score deciles), or none without parts.

    The report's fields with arguments read when resolved (``resolvers/report.py``).
    """
    totals = await queries.report(ctx.db, tenant_id=ctx.tenant_id, filter_=filter_, now=ctx.now, parts=parts)
    return SessionsReport(totals=totals, filter_=filter_)
