"""The Subscription root: live versions of the sessions list and the session detail.

Each field takes the Query field's arguments (the list: its first page only) and answers what
that query would answer: the whole result, at subscribe and then each time it changes
(``schema/live.py``; the gateway finds the changes, ``gateway/live.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import strawberry

from sessions_gateway.schema.connection import SessionConnection
from sessions_gateway.schema.enums import SessionOrder
from sessions_gateway.schema.live import LiveConnection, live_request
from sessions_gateway.schema.query import FilterArg
from sessions_gateway.schema.session import Session

LiveInfo: TypeAlias = strawberry.Info[LiveConnection, None]

_EACH_CHANGE = (
    " Sent once at subscribe, then each time the result changes (checked every "
    "GATEWAY_LIVE_INTERVAL_MS, or as soon as the database notifies a write where it does); "
    "nothing while it stays the same; a slow client gets the newest."
)


def _watch(info: LiveInfo) -> AsyncIterator[Any]:
    """The results of the running subscription, from its connection's feed (limits checked there)."""
    request = live_request.get()
    connection = info.context
    if request is None or connection.tenant_id is None:
        raise RuntimeError("a live subscription runs on an accepted WebSocket connection only")
    return connection.feed.watch(connection, request)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "The first page of Query.sessions with the same arguments, live: the whole connection "
            "as that query answers it." + _EACH_CHANGE
        )
    )
    async def sessions(
        self,
        info: LiveInfo,
        filter_: FilterArg = None,
        order_by: SessionOrder = SessionOrder.STARTED_AT_DESC,
        first: int | None = None,
    ) -> AsyncIterator[SessionConnection]:
        return _watch(info)

    @strawberry.subscription(
        description=(
            "Query.session live: the session as that query answers it (null when missing, "
            "erased or another tenant's)." + _EACH_CHANGE
        )
    )
    async def session(self, info: LiveInfo, id: strawberry.ID) -> AsyncIterator[Session | None]:
        return _watch(info)
