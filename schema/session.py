"""Session and the types hanging off it, each field declared once by its rule (``schema/rules.py``).

A rule that reads a relation names it: Strawberry's executor loads it through the request's
loaders, compiled plans fetch it for the whole page at once.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from sessions_gateway.db.relations import Relation
from sessions_gateway.db.rows import ProcedureRow, SessionRow, SummaryRow, TaskRow, UserRow
from sessions_gateway.resolvers.derived import display_name, duration_seconds
from sessions_gateway.resolvers.media import RecordingView, media_url, recording_view
from sessions_gateway.schema.enums import ROLE_OF_VALUE, STATUS_OF_VALUE, RecordingStatus, SessionRole, SessionStatus
from sessions_gateway.schema.rules import Related, Rules

user_rules = Rules[UserRow]()


@strawberry.type(description="Who ran a session. Email is personal data and is never exposed.")
class User:
    row: strawberry.Private[UserRow]
    id: strawberry.ID = user_rules.id_field(lambda u: u.id)
    display_name: str = user_rules.field(lambda u: u.display_name)


procedure_rules = Rules[ProcedureRow]()


@strawberry.type(description="A procedure the Core App extracted from a session.")
class Procedure:
    row: strawberry.Private[ProcedureRow]
    id: strawberry.ID = procedure_rules.id_field(lambda p: p.id)
    position: int = procedure_rules.field(lambda p: p.position, description="1-based order within the session.")
    name: str = procedure_rules.field(lambda p: p.name)
    description: str | None = procedure_rules.field(lambda p: p.description)
    video_url: str | None = procedure_rules.derived(
        lambda p, x: media_url(p.video_url, x.media, x.now),
        description="The procedure's own clip: a URL (a storage key resolved and signed as a recording's).",
    )


recording_rules = Rules[RecordingView]()


@strawberry.type(description="The session's recording and whether it can be played.")
class Recording:
    row: strawberry.Private[RecordingView]
    status: RecordingStatus = recording_rules.field(lambda v: RecordingStatus[v.status.name])
    url: str | None = recording_rules.field(lambda v: v.url)
    expires_at: datetime | None = recording_rules.field(
        lambda v: v.expires_at, description="When url stops working, where that is known."
    )


summary_rules = Rules[SummaryRow]()


@strawberry.type(description="The Core App's summary of a session.")
class Summary:
    row: strawberry.Private[SummaryRow]
    score: int | None = summary_rules.field(lambda s: s.score, description="0..100.")
    prose: str | None = summary_rules.field(lambda s: s.prose)
    trainer_notes: str | None = summary_rules.field(lambda s: s.trainer_notes)


task_rules = Rules[TaskRow]()


@strawberry.type(description="The field-service job (Jobber, ServiceM8, ...) a session was run against.")
class LinkedTask:
    row: strawberry.Private[TaskRow]
    id: strawberry.ID = task_rules.id_field(lambda t: t.id)
    title: str = task_rules.field(lambda t: t.title)
    source: str = task_rules.field(lambda t: t.source, description='"jobber", "servicem8", ...')
    external_ref: str = task_rules.field(lambda t: t.external_ref, description="The job's id in the source system.")
    status: str = task_rules.field(lambda t: t.status, description="The source's own status word.")
    url: str | None = task_rules.field(lambda t: t.url, description='Where "View Task" leads.')


def _name(s: SessionRow, x: Related) -> str:
    task = x.tasks.get(s.task_id) if not s.name and s.task_id is not None else None
    return display_name(s.name, None if task is None else task.title, s.started_at)


def _duration(s: SessionRow, x: Related) -> int | None:
    return duration_seconds(
        recorded=s.duration_seconds,
        status=s.status,
        started_at=s.started_at,
        completed_at=s.completed_at,
        now=x.now,
    )


def _user(s: SessionRow, x: Related) -> UserRow:
    found: UserRow | None = x.users.get(s.user_id)
    if found is None:  # the storage contract's foreign key makes this a broken database
        raise LookupError("session without its user")
    return found


def _summary(s: SessionRow, x: Related) -> SummaryRow | None:
    """The summary row, or ``None`` ("Summary not provided") when absent or empty."""
    found: SummaryRow | None = x.summaries.get(s.id)
    if found is None or (found.score is None and found.prose is None and found.trainer_notes is None):
        return None
    return found


# A session's related rows: its user and task by their ids, the rest by the session's id.
session_rules = Rules[SessionRow](
    keys={
        Relation.USER: lambda s: s.user_id,
        Relation.TASK: lambda s: s.task_id,
        Relation.PROCEDURE_COUNT: lambda s: s.id,
        Relation.PROCEDURES: lambda s: s.id,
        Relation.RECORDING: lambda s: s.id,
        Relation.SUMMARY: lambda s: s.id,
    }
)


@strawberry.type(description="A recorded first-person training session.")
class Session:
    row: strawberry.Private[SessionRow]
    id: strawberry.ID = session_rules.id_field(lambda s: s.id)
    name: str = session_rules.derived(
        _name,
        reads=[Relation.TASK],
        when=lambda s: not s.name,
        description=(
            "The session's name when not empty; else the linked task's title; "
            'else "Session " + startedAt in UTC as YYYY-MM-DD HH:MM.'
        ),
    )
    status: SessionStatus = session_rules.field(lambda s: STATUS_OF_VALUE[s.status])
    role: SessionRole = session_rules.field(lambda s: ROLE_OF_VALUE[s.role])
    thumbnail_url: str | None = session_rules.derived(
        lambda s, x: media_url(s.thumbnail_url, x.media, x.now),
        description=(
            "An auto-generated frame from the session video: a URL "
            "(a storage key resolved and signed as a recording's)."
        ),
    )
    duration_seconds: int | None = session_rules.derived(
        _duration,
        description=(
            "duration_seconds when recorded; else completedAt - startedAt in whole seconds; while in "
            "progress, seconds elapsed since startedAt at the time of the request; null otherwise."
        ),
    )
    started_at: datetime = session_rules.field(lambda s: s.started_at)
    completed_at: datetime | None = session_rules.field(lambda s: s.completed_at)
    seat_id: str | None = session_rules.field(lambda s: s.seat_id)
    user: User = session_rules.one(User, _user, reads=[Relation.USER], description="Who ran the session.")
    procedure_count: int = session_rules.derived(
        lambda s, x: x.counts[s.id],
        reads=[Relation.PROCEDURE_COUNT],
        description="How many procedures were extracted from the session.",
    )
    procedures: list[Procedure] = session_rules.many(
        Procedure, lambda s, x: x.procedures[s.id], reads=[Relation.PROCEDURES], description="Ordered by position."
    )
    recording: Recording = session_rules.one(
        Recording,
        lambda s, x: recording_view(x.recordings.get(s.id), x.media, x.now, s.status),
        reads=[Relation.RECORDING],
    )
    summary: Summary | None = session_rules.optional(
        Summary, _summary, reads=[Relation.SUMMARY], description='null: "Summary not provided by Training App."'
    )
    linked_task: LinkedTask | None = session_rules.optional(
        LinkedTask,
        lambda s, x: None if s.task_id is None else x.tasks.get(s.task_id),
        reads=[Relation.TASK],
        description="null when the session was not run against a task.",
    )
