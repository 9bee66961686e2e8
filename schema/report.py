"""Aggregates over a tenant's sessions, for analysts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import strawberry

from sessions_gateway.db.filters import SessionCriteria
from sessions_gateway.db.queries import DECILES, GroupTotals, ReportPart, ReportTotals
from sessions_gateway.gateway.context import Info
from sessions_gateway.gateway.errors import BadUserInput
from sessions_gateway.resolvers import report as report_reads
from sessions_gateway.schema.enums import SessionRole, SessionStatus, TimelinePeriod
from sessions_gateway.schema.session import User

GRAPHQL_INT_MAX = 2**31 - 1


def total_seconds_within_int(seconds: int) -> int:
    """``totalDurationSeconds`` is a GraphQL Int (32 bits): a larger sum is refused with a way out."""
    if seconds > GRAPHQL_INT_MAX:
        raise BadUserInput(
            f"totalDurationSeconds is {seconds}, more than a GraphQL Int holds ({GRAPHQL_INT_MAX}): "
            "select totalDurationHours instead, or narrow the filter."
        )
    return seconds


@strawberry.type
class StatusCount:
    status: SessionStatus
    count: int


@strawberry.type
class RoleCount:
    role: SessionRole
    count: int


AVERAGE_SCORE = "Over the sessions that have a score; null when none do."


@strawberry.type(description="Matching sessions that started in one bucket of a timeline.")
class TimelineBucket:
    start: datetime = strawberry.field(
        description=(
            "The bucket's first instant, in UTC: local midnight of its first day, or the end of the DST gap "
            "that skips it."
        )
    )
    count: int
    completed: int = strawberry.field(description="Of count, those with status COMPLETED.")
    average_score: float | None = strawberry.field(description=AVERAGE_SCORE)

    @classmethod
    def of(cls, group: GroupTotals) -> TimelineBucket:
        return cls(start=group.key, count=group.count, completed=group.completed, average_score=group.average_score)


async def _user_of(root: UserCount, info: Info) -> User:
    row = await info.context.loaders.users.load(root.user_id)
    if row is None:  # the storage contract's foreign key makes this a broken database
        raise LookupError("sessions without their user")
    return User.from_row(row)


@strawberry.type(description="Matching sessions run by one user.")
class UserCount:
    user_id: strawberry.Private[str]
    user: User = strawberry.field(resolver=_user_of)
    count: int
    completed: int = strawberry.field(description="Of count, those with status COMPLETED.")
    average_score: float | None = strawberry.field(description=AVERAGE_SCORE)

    @classmethod
    def of(cls, group: GroupTotals) -> UserCount:
        return cls(user_id=group.key, count=group.count, completed=group.completed, average_score=group.average_score)


@strawberry.type(description="Matching sessions run against tasks of one source, or against none.")
class TaskSourceCount:
    source: str | None = strawberry.field(
        description='LinkedTask.source, e.g. "jobber"; null for the sessions without a linked task.'
    )
    count: int
    completed: int = strawberry.field(description="Of count, those with status COMPLETED.")
    average_score: float | None = strawberry.field(description=AVERAGE_SCORE)

    @classmethod
    def of(cls, group: GroupTotals) -> TaskSourceCount:
        return cls(source=group.key, count=group.count, completed=group.completed, average_score=group.average_score)


@strawberry.type(description="Matching sessions whose score is within from..to, both inclusive.")
class ScoreDecile:
    low: int = strawberry.field(name="from")
    high: int = strawberry.field(name="to")
    count: int


def score_deciles(totals: ReportTotals) -> list[ScoreDecile]:
    totals.require(ReportPart.SCORE_DECILES)
    return [
        ScoreDecile(low=low, high=high, count=count)
        for (low, high), count in zip(DECILES, totals.score_deciles, strict=True)
    ]


TimeZoneArg = Annotated[
    str,
    strawberry.argument(
        description=(
            "An IANA time zone name, e.g. Europe/Paris (exact spelling): anything else is BAD_USER_INPUT, and so "
            "are CET, EET, EST, HST, MET, MST and WET, which PostgreSQL reads as fixed offsets: name a place."
        )
    ),
]
FirstArg = Annotated[
    int,
    strawberry.argument(
        description=f"How many entries at most, 0..{report_reads.MAX_BREAKDOWN_SIZE} (else BAD_USER_INPUT)."
    ),
]


# The GraphQL field each part of the report serves.
PART_OF_FIELD = {
    "totalCount": ReportPart.TOTAL_COUNT,
    "byStatus": ReportPart.BY_STATUS,
    "byRole": ReportPart.BY_ROLE,
    "totalDurationSeconds": ReportPart.DURATION,
    "totalDurationHours": ReportPart.DURATION,
    "averageScore": ReportPart.AVERAGE_SCORE,
    "procedureCount": ReportPart.PROCEDURE_COUNT,
    "scoreDeciles": ReportPart.SCORE_DECILES,
}


def report_parts(field_names: Iterable[str]) -> frozenset[ReportPart]:
    """The aggregates the selected fields of ``SessionsReport`` need."""
    return frozenset(PART_OF_FIELD[name] for name in field_names if name in PART_OF_FIELD)


@strawberry.type(
    description="Aggregates over the caller's sessions that match the filter, computed in SQL when asked for."
)
class SessionsReport:
    totals: strawberry.Private[ReportTotals]
    filter_: strawberry.Private[SessionCriteria]

    @strawberry.field
    def total_count(self) -> int:
        self.totals.require(ReportPart.TOTAL_COUNT)
        return self.totals.total_count

    @strawberry.field(description="One entry per SessionStatus, zeros included.")
    def by_status(self) -> list[StatusCount]:
        self.totals.require(ReportPart.BY_STATUS)
        return [StatusCount(status=s, count=self.totals.by_status[s.value]) for s in SessionStatus]

    @strawberry.field(description="One entry per SessionRole, zeros included.")
    def by_role(self) -> list[RoleCount]:
        self.totals.require(ReportPart.BY_ROLE)
        return [RoleCount(role=r, count=self.totals.by_role[r.value]) for r in SessionRole]

    @strawberry.field(description="Over sessions that have a score; null when none do.")
    def average_score(self) -> float | None:
        self.totals.require(ReportPart.AVERAGE_SCORE)
        return self.totals.average_score

    @strawberry.field(
        description=(
            "Sum of durationSeconds over sessions that have one. Beyond GraphQL's Int (about 68 years) "
            "it is a BAD_USER_INPUT error: select totalDurationHours, or narrow the filter."
        )
    )
    def total_duration_seconds(self) -> int:
        self.totals.require(ReportPart.DURATION)
        return total_seconds_within_int(self.totals.total_duration_seconds)

    @strawberry.field(description="totalDurationSeconds in hours; never too large to answer.")
    def total_duration_hours(self) -> float:
        self.totals.require(ReportPart.DURATION)
        return self.totals.total_duration_seconds / 3600

    @strawberry.field(description="Procedures extracted from the matching sessions.")
    def procedure_count(self) -> int:
        self.totals.require(ReportPart.PROCEDURE_COUNT)
        return self.totals.procedure_count

    @strawberry.field(
        description=(
            "Matching sessions per day, week or month of their startedAt in timeZone, oldest first. Only buckets "
            f"holding a session are listed; more than {report_reads.MAX_TIMELINE_BUCKETS} such buckets is a "
            "BAD_USER_INPUT error: choose a longer bucket, or narrow filter.startedAfter/startedBefore."
        )
    )
    async def timeline(
        self, info: Info, bucket: TimelinePeriod, time_zone: TimeZoneArg = "UTC"
    ) -> list[TimelineBucket]:
        groups = await report_reads.timeline(
            info.context, filter_=self.filter_, period=str(bucket.value), time_zone=time_zone
        )
        return [TimelineBucket.of(group) for group in groups]

    @strawberry.field(
        description="Matching sessions per user who ran them: the first users by count (descending), ties by user id."
    )
    async def by_user(self, info: Info, first: FirstArg = report_reads.DEFAULT_BREAKDOWN_SIZE) -> list[UserCount]:
        groups = await report_reads.by_user(info.context, filter_=self.filter_, first=first)
        return [UserCount.of(group) for group in groups]

    @strawberry.field(
        description=(
            "Matching sessions per source of their linked task, one entry (source null) for those without: the "
            "first sources by count (descending), ties by source, null last."
        )
    )
    async def by_task_source(
        self, info: Info, first: FirstArg = report_reads.DEFAULT_BREAKDOWN_SIZE
    ) -> list[TaskSourceCount]:
        groups = await report_reads.by_task_source(info.context, filter_=self.filter_, first=first)
        return [TaskSourceCount.of(group) for group in groups]

    @strawberry.field(
        description=(
            "How the matching sessions that have a score spread over 0..100: ten entries, 0-9, 10-19, ..., 80-89 "
            "and 90-100 (100 is in the last), zeros included."
        )
    )
    def score_deciles(self) -> list[ScoreDecile]:
        return score_deciles(self.totals)
