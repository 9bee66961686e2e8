"""The ``SessionFilter`` input, turned into the one ``SessionCriteria`` the ``db`` layer takes."""

from __future__ import annotations

from datetime import datetime

import strawberry

from sessions_gateway.db.filters import SessionCriteria
from sessions_gateway.resolvers.inputs import MAX_ID_LENGTH, check_id, check_search, check_text
from sessions_gateway.schema.enums import SessionRole, SessionStatus


@strawberry.input(description='Every field is optional; an absent or null field does not filter ("All").')
class SessionFilter:
    status: SessionStatus | None = None
    role: SessionRole | None = None
    started_after: datetime | None = strawberry.field(default=None, description="Inclusive.")
    started_before: datetime | None = strawberry.field(default=None, description="Exclusive.")
    user_id: strawberry.ID | None = strawberry.field(default=None, description="Who ran the session.")
    task_source: str | None = strawberry.field(
        default=None, description='Matches LinkedTask.source, e.g. "jobber" (case-insensitive).'
    )
    search: str | None = strawberry.field(
        default=None,
        description=(
            "Substring of the displayed name (Session.name), case-insensitive in every alphabet; "
            "%, _ and \\ are plain characters."
        ),
    )

    def to_filter(self) -> SessionCriteria:
        return SessionCriteria(
            status=None if self.status is None else self.status.value,
            role=None if self.role is None else self.role.value,
            started_after=self.started_after,
            started_before=self.started_before,
            user_id=None if self.user_id is None else check_id(str(self.user_id), "filter.userId"),
            task_source=None
            if self.task_source is None
            else check_text(self.task_source, "filter.taskSource", MAX_ID_LENGTH),
            search=None if self.search is None else check_search(self.search),
        )


def to_filter(value: SessionFilter | None) -> SessionCriteria:
    return SessionCriteria() if value is None else value.to_filter()
