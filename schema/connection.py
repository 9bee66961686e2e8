"""The Relay connection of the sessions list: a page of ``resolvers/sessions.py``, as GraphQL types."""

from __future__ import annotations

import strawberry

from sessions_gateway.db.filters import SessionCriteria
from sessions_gateway.gateway.context import Info
from sessions_gateway.resolvers import sessions as session_reads
from sessions_gateway.resolvers.sessions import Page, PageEdge
from sessions_gateway.schema.session import Session


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def _cursor(root: SessionEdge) -> str:
    return root.edge.cursor_text()


@strawberry.type
class SessionEdge:
    """An edge: its cursor is encoded only when selected."""

    cursor: str = strawberry.field(resolver=_cursor, description="Opaque; a tampered cursor is a BAD_USER_INPUT error.")
    node: Session
    edge: strawberry.Private[PageEdge]


@strawberry.type
class SessionConnection:
    edges: list[SessionEdge]
    page_info: PageInfo
    filter_: strawberry.Private[SessionCriteria]

    @classmethod
    def of(cls, page: Page) -> SessionConnection:
        return cls(
            edges=[SessionEdge(node=Session.from_row(edge.row), edge=edge) for edge in page.edges],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.start_cursor,
                end_cursor=page.end_cursor,
            ),
            filter_=page.filter_,
        )

    @strawberry.field(description="All sessions matching the filter, not just this page. Counted only when asked for.")
    async def total_count(self, info: Info) -> int:
        return await session_reads.count_sessions(info.context, self.filter_)
