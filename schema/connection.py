"""The Relay connection of the sessions list: a page of ``resolvers/sessions.py``, as GraphQL types."""

from __future__ import annotations

import strawberry

from sessions_gateway.db.filters import SessionCriteria
from sessions_gateway.gateway.context import Info
from sessions_gateway.resolvers import sessions as session_reads
from sessions_gateway.resolvers.sessions import Page, PageEdge
from sessions_gateway.schema.rules import Rules
from sessions_gateway.schema.session import Session

page_info_rules = Rules[Page]()


@strawberry.type
class PageInfo:
    row: strawberry.Private[Page]
    has_next_page: bool = page_info_rules.field(lambda p: p.has_next_page)
    has_previous_page: bool = page_info_rules.field(lambda p: p.has_previous_page)
    start_cursor: str | None = page_info_rules.field(lambda p: p.start_cursor)
    end_cursor: str | None = page_info_rules.field(lambda p: p.end_cursor)


edge_rules = Rules[PageEdge]()


@strawberry.type
class SessionEdge:
    """An edge: its cursor is encoded only when selected."""

    row: strawberry.Private[PageEdge]
    cursor: str = edge_rules.field(
        lambda e: e.cursor_text(), description="Opaque; a tampered cursor is a BAD_USER_INPUT error."
    )
    node: Session = edge_rules.one(Session, lambda e, _x: e.row)


@strawberry.type
class SessionConnection:
    edges: list[SessionEdge]
    page_info: PageInfo
    filter_: strawberry.Private[SessionCriteria]

    @classmethod
    def of(cls, page: Page) -> SessionConnection:
        return cls(
            edges=[SessionEdge(row=edge) for edge in page.edges],
            page_info=PageInfo(row=page),
            filter_=page.filter_,
        )

    @strawberry.field(description="All sessions matching the filter, not just this page. Counted only when asked for.")
    async def total_count(self, info: Info) -> int:
        return await session_reads.count_sessions(info.context, self.filter_)
