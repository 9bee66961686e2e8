"""Enums of the public contract; each value's Python value is its storage value."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="Where a session ended up.")
class SessionStatus(Enum):
    COMPLETED = "completed"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"


@strawberry.enum(description="The role of the person who ran the session.")
class SessionRole(Enum):
    TRAINER = "trainer"
    TRAINEE = "trainee"


@strawberry.enum(description="Orders of the sessions list. Ties are broken by id, in the same direction.")
class SessionOrder(Enum):
    STARTED_AT_DESC = strawberry.enum_value("started_at_desc", description="Newest started first (the default).")
    STARTED_AT_ASC = strawberry.enum_value("started_at_asc", description="Oldest started first.")
    COMPLETED_AT_DESC = strawberry.enum_value(
        "completed_at_desc", description="Latest completed first; sessions without completedAt last."
    )
    DURATION_DESC = strawberry.enum_value(
        "duration_desc",
        description=(
            "Longest recorded duration first (duration_seconds, else completedAt - startedAt); "
            "sessions with neither, such as those in progress, last."
        ),
    )


@strawberry.enum(description="Whether a session's recording can be played.")
class RecordingStatus(Enum):
    AVAILABLE = strawberry.enum_value("available", description="url is set.")
    UPLOADING = strawberry.enum_value(
        "uploading",
        description="Still uploading, or the session is in progress and none is committed yet; url is null.",
    )
    EXPIRED = strawberry.enum_value(
        "expired", description="A legacy refresh URL whose time has passed; url is null, expiresAt says when."
    )
    NOT_CAPTURED = strawberry.enum_value(
        "not_captured", description="A completed or failed session with no committed recording; url is null."
    )


@strawberry.enum(description="The length of a timeline's buckets, in the timeline's time zone.")
class TimelinePeriod(Enum):
    DAY = strawberry.enum_value("day", description="From local midnight to the next.")
    WEEK = strawberry.enum_value("week", description="ISO weeks: from Monday's local midnight.")
    MONTH = strawberry.enum_value("month", description="From the first day's local midnight.")


# Storage value -> member (a lookup: quicker than calling the enum, once per row), and storage value ->
# GraphQL enum name, in the enums' order (the order byStatus and byRole list them).
STATUS_OF_VALUE = {member.value: member for member in SessionStatus}
ROLE_OF_VALUE = {member.value: member for member in SessionRole}
STATUS_NAMES = {member.value: member.name for member in SessionStatus}
ROLE_NAMES = {member.value: member.name for member in SessionRole}
