"""The Relay connection of the sessions list."""

from __future__ import annotations

import strawberry

from db import queries
from db.filters import SessionFilter
from db.queries import Position
from gateway.context import Info
from resolvers.pagination import CursorCodec
from schema.session import Session


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def _cursor(root: SessionEdge) -> str:
    return root.cursor_text()


@strawberry.type
class SessionEdge:
    """An edge: its cursor is encoded only when selected."""

    cursor: str = strawberry.field(resolver=_cursor, description="Opaque; a tampered cursor is a BAD_USER_INPUT error.")
    node: Session
    position: strawberry.Private[Position]
    codec: strawberry.Private[CursorCodec]

    def cursor_text(self) -> str:
        return self.codec.encode(self.position)


@strawberry.type
class SessionConnection:
    edges: list[SessionEdge]
    page_info: PageInfo
    filter_: strawberry.Private[SessionFilter]

    @strawberry.field(description="All sessions matching the filter, not just this page. Counted only when asked for.")
    async def total_count(self, info: Info) -> int:
        return await queries.count_sessions(info.context.db, tenant_id=info.context.tenant_id, filter_=self.filter_)
