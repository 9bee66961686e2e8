"""The Query root: the gateway's three entry points. There is no Mutation: it only reads."""

from __future__ import annotations

from typing import Annotated

import strawberry

from sessions_gateway.db.filters import ListOrder
from sessions_gateway.gateway.context import Info
from sessions_gateway.resolvers import sessions as session_reads
from sessions_gateway.resolvers.selection import selected_subfields
from sessions_gateway.schema.connection import SessionConnection
from sessions_gateway.schema.enums import SessionOrder
from sessions_gateway.schema.inputs import SessionFilter, to_filter
from sessions_gateway.schema.report import SessionsReport, report_parts
from sessions_gateway.schema.session import Session

FilterArg = Annotated[SessionFilter | None, strawberry.argument(name="filter")]


@strawberry.type
class Query:
    @strawberry.field(
        description=(
            "Sessions of the caller's tenant, newest started first by default. first/after and "
            "last/before follow the Relay cursor connections spec; first and last default to 25 "
            "and may not exceed 100."
        )
    )
    async def sessions(
        self,
        info: Info,
        filter_: FilterArg = None,
        order_by: SessionOrder = SessionOrder.STARTED_AT_DESC,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> SessionConnection:
        page = await session_reads.list_sessions(
            info.context,
            filter_=to_filter(filter_),
            order=ListOrder[order_by.name],
            first=first,
            after=after,
            last=last,
            before=before,
        )
        return SessionConnection.of(page)

    @strawberry.field(
        description=(
            "One session of the caller's tenant; null when it does not exist, is erased, or "
            "belongs to another tenant (the three are indistinguishable)."
        )
    )
    async def session(self, info: Info, id: strawberry.ID) -> Session | None:
        row = await session_reads.get_session(info.context, str(id))
        return None if row is None else Session(row=row)

    @strawberry.field(description="Aggregates over the caller's sessions that match the filter.")
    async def sessions_report(self, info: Info, filter_: FilterArg = None) -> SessionsReport:
        parts = report_parts(selected_subfields(info))
        criteria = to_filter(filter_)
        totals = await session_reads.sessions_report(info.context, filter_=criteria, parts=parts)
        return SessionsReport(row=totals, filter_=criteria)
