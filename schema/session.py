"""Session and the types hanging off it. Relations resolve through the request's loaders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import strawberry

from sessions_gateway.db.rows import SessionRow
from sessions_gateway.gateway.context import Info
from sessions_gateway.resolvers.derived import display_name, duration_seconds
from sessions_gateway.resolvers.media import media_url, recording_view
from sessions_gateway.schema.enums import RecordingStatus, SessionRole, SessionStatus

if TYPE_CHECKING:
    from sessions_gateway.db.rows import ProcedureRow, TaskRow, UserRow


@strawberry.type(description="Who ran a session. Email is personal data and is never exposed.")
class User:
    id: strawberry.ID
    display_name: str

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(id=strawberry.ID(row.id), display_name=row.display_name)


@strawberry.type(description="A procedure the Core App extracted from a session.")
class Procedure:
    id: strawberry.ID
    position: int = strawberry.field(description="1-based order within the session.")
    name: str
    description: str | None
    video_url: str | None = strawberry.field(
        description="The procedure's own clip: a URL (a storage key resolved and signed as a recording's)."
    )

    @classmethod
    def from_row(cls, row: ProcedureRow, info: Info) -> Procedure:
        return cls(
            id=strawberry.ID(row.id),
            position=row.position,
            name=row.name,
            description=row.description,
            video_url=media_url(row.video_url, info.context.media, info.context.now),
        )


@strawberry.type(description="The session's recording and whether it can be played.")
class Recording:
    status: RecordingStatus
    url: str | None
    expires_at: datetime | None = strawberry.field(description="When url stops working, where that is known.")


@strawberry.type(description="The Core App's summary of a session.")
class Summary:
    score: int | None = strawberry.field(description="0..100.")
    prose: str | None
    trainer_notes: str | None


@strawberry.type(description="The field-service job (Jobber, ServiceM8, ...) a session was run against.")
class LinkedTask:
    id: strawberry.ID
    title: str
    source: str = strawberry.field(description='"jobber", "servicem8", ...')
    external_ref: str = strawberry.field(description="The job's id in the source system.")
    status: str = strawberry.field(description="The source's own status word.")
    url: str | None = strawberry.field(description='Where "View Task" leads.')

    @classmethod
    def from_row(cls, row: TaskRow) -> LinkedTask:
        return cls(
            id=strawberry.ID(row.id),
            title=row.title,
            source=row.source,
            external_ref=row.external_ref,
            status=row.status,
            url=row.url,
        )


@strawberry.type(description="A recorded first-person training session.")
class Session:
    row: strawberry.Private[SessionRow]

    @classmethod
    def from_row(cls, row: SessionRow) -> Session:
        return cls(row=row)

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.row.id)

    @strawberry.field(
        description=(
            "The session's name when not empty; else the linked task's title; "
            'else "Session " + startedAt in UTC as YYYY-MM-DD HH:MM.'
        )
    )
    async def name(self, info: Info) -> str:
        title = None
        if not self.row.name and self.row.task_id is not None:
            task = await info.context.loaders.tasks.load(self.row.task_id)
            title = None if task is None else task.title
        return display_name(self.row.name, title, self.row.started_at)

    @strawberry.field
    def status(self) -> SessionStatus:
        return SessionStatus(self.row.status)

    @strawberry.field
    def role(self) -> SessionRole:
        return SessionRole(self.row.role)

    @strawberry.field(
        description=(
            "An auto-generated frame from the session video: a URL "
            "(a storage key resolved and signed as a recording's)."
        )
    )
    def thumbnail_url(self, info: Info) -> str | None:
        return media_url(self.row.thumbnail_url, info.context.media, info.context.now)

    @strawberry.field(
        description=(
            "duration_seconds when recorded; else completedAt - startedAt in whole seconds; while in "
            "progress, seconds elapsed since startedAt at the time of the request; null otherwise."
        )
    )
    def duration_seconds(self, info: Info) -> int | None:
        return duration_seconds(
            recorded=self.row.duration_seconds,
            status=self.row.status,
            started_at=self.row.started_at,
            completed_at=self.row.completed_at,
            now=info.context.now,
        )

    @strawberry.field
    def started_at(self) -> datetime:
        return self.row.started_at

    @strawberry.field
    def completed_at(self) -> datetime | None:
        return self.row.completed_at

    @strawberry.field
    def seat_id(self) -> str | None:
        return self.row.seat_id

    @strawberry.field(description="Who ran the session.")
    async def user(self, info: Info) -> User:
        row = await info.context.loaders.users.load(self.row.user_id)
        if row is None:  # the storage contract's foreign key makes this a broken database
            raise LookupError("session without its user")
        return User.from_row(row)

    @strawberry.field(description="How many procedures were extracted from the session.")
    async def procedure_count(self, info: Info) -> int:
        return await info.context.loaders.procedure_counts.load(self.row.id)

    @strawberry.field(description="Ordered by position.")
    async def procedures(self, info: Info) -> list[Procedure]:
        rows = await info.context.loaders.procedures.load(self.row.id)
        return [Procedure.from_row(row, info) for row in rows]

    @strawberry.field
    async def recording(self, info: Info) -> Recording:
        row = await info.context.loaders.recordings.load(self.row.id)
        view = recording_view(row, info.context.media, info.context.now, self.row.status)
        return Recording(status=RecordingStatus[view.status.name], url=view.url, expires_at=view.expires_at)

    @strawberry.field(description='null: "Summary not provided by Training App."')
    async def summary(self, info: Info) -> Summary | None:
        row = await info.context.loaders.summaries.load(self.row.id)
        if row is None or (row.score is None and row.prose is None and row.trainer_notes is None):
            return None
        return Summary(score=row.score, prose=row.prose, trainer_notes=row.trainer_notes)

    @strawberry.field(description="null when the session was not run against a task.")
    async def linked_task(self, info: Info) -> LinkedTask | None:
        if self.row.task_id is None:
            return None
        row = await info.context.loaders.tasks.load(self.row.task_id)
        return None if row is None else LinkedTask.from_row(row)
