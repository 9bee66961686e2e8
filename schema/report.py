"""Aggregates over a tenant's sessions, for analysts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeVar

import strawberry

from sessions_gateway.db.filters import SessionCriteria
from sessions_gateway.db.queries import DECILES, GroupTotals, ReportPart, ReportTotals
from sessions_gateway.db.relations import Relation
from sessions_gateway.db.rows import UserRow
from sessions_gateway.gateway.context import Info
from sessions_gateway.gateway.errors import BadUserInput
from sessions_gateway.resolvers import report as report_reads
from sessions_gateway.schema.enums import ROLE_NAMES, STATUS_NAMES, SessionRole, SessionStatus, TimelinePeriod
from sessions_gateway.schema.rules import Related, Rule, Rules, SourceRule, declared
from sessions_gateway.schema.session import User

V = TypeVar("V")

GRAPHQL_INT_MAX = 2**31 - 1


def total_seconds_within_int(seconds: int) -> int:
    """``totalDurationSeconds`` is a GraphQL Int (32 bits): a larger sum is refused with a way out."""
    if seconds > GRAPHQL_INT_MAX:
        raise BadUserInput(
            f"totalDurationSeconds is {seconds}, more than a GraphQL Int holds ({GRAPHQL_INT_MAX}): "
            "select totalDurationHours instead, or narrow the filter."
        )
    return seconds


class FromPart(Generic[V]):
    """A value of the report read from one of its parts: refused when that part was not computed.

    The rule of a report field: of the totals alone, or of the totals and the request's ``Related``
    (an object field's rule), which it does not read. ``PART_OF_FIELD`` is read off these.
    """

    __slots__ = ("get", "part")

    def __init__(self, part: ReportPart, get: Callable[[ReportTotals], V]) -> None:
        self.part = part
        self.get = get

    def __call__(self, totals: ReportTotals, _related: Related | None = None) -> V:
        totals.require(self.part)
        return self.get(totals)


# A status's or a role's GraphQL name, and how many sessions have it.
Tally = tuple[str, int]
status_count_rules = Rules[Tally]()


@strawberry.type
class StatusCount:
    row: strawberry.Private[Tally]
    status: SessionStatus = status_count_rules.field(lambda t: SessionStatus[t[0]])
    count: int = status_count_rules.field(lambda t: t[1])


role_count_rules = Rules[Tally]()


@strawberry.type
class RoleCount:
    row: strawberry.Private[Tally]
    role: SessionRole = role_count_rules.field(lambda t: SessionRole[t[0]])
    count: int = role_count_rules.field(lambda t: t[1])


AVERAGE_SCORE = "Over the sessions that have a score; null when none do."
COMPLETED = "Of count, those with status COMPLETED."


# The three kinds of group (a timeline's bucket, a user's, a task source's) share what they count.
def _count(group: GroupTotals) -> int:
    return group.count


def _completed(group: GroupTotals) -> int:
    return group.completed


def _average_score(group: GroupTotals) -> float | None:
    return group.average_score


bucket_rules = Rules[GroupTotals]()


@strawberry.type(description="Matching sessions that started in one bucket of a timeline.")
class TimelineBucket:
    row: strawberry.Private[GroupTotals]
    start: datetime = bucket_rules.field(
        lambda g: g.key,
        description=(
            "The bucket's first instant, in UTC: local midnight of its first day, or the end of the DST gap "
            "that skips it."
        ),
    )
    count: int = bucket_rules.field(_count)
    completed: int = bucket_rules.field(_completed, description=COMPLETED)
    average_score: float | None = bucket_rules.field(_average_score, description=AVERAGE_SCORE)


def _group_user(group: GroupTotals, x: Related) -> UserRow:
    """The user of a ``byUser`` entry (its key is the user's id)."""
    found: UserRow | None = x.users.get(group.key)
    if found is None:  # the storage contract's foreign key makes this a broken database
        raise LookupError("sessions without their user")
    return found


user_count_rules = Rules[GroupTotals](keys={Relation.USER: lambda g: g.key})


@strawberry.type(description="Matching sessions run by one user.")
class UserCount:
    row: strawberry.Private[GroupTotals]
    user: User = user_count_rules.one(User, _group_user, reads=[Relation.USER])
    count: int = user_count_rules.field(_count)
    completed: int = user_count_rules.field(_completed, description=COMPLETED)
    average_score: float | None = user_count_rules.field(_average_score, description=AVERAGE_SCORE)


source_count_rules = Rules[GroupTotals]()


@strawberry.type(description="Matching sessions run against tasks of one source, or against none.")
class TaskSourceCount:
    row: strawberry.Private[GroupTotals]
    source: str | None = source_count_rules.field(
        lambda g: g.key, description='LinkedTask.source, e.g. "jobber"; null for the sessions without a linked task.'
    )
    count: int = source_count_rules.field(_count)
    completed: int = source_count_rules.field(_completed, description=COMPLETED)
    average_score: float | None = source_count_rules.field(_average_score, description=AVERAGE_SCORE)


@dataclass(frozen=True, slots=True)
class Decile:
    """One tenth of 0..100, ``low``..``high`` inclusive, and how many sessions scored within it."""

    low: int
    high: int
    count: int


decile_rules = Rules[Decile]()


@strawberry.type(description="Matching sessions whose score is within from..to, both inclusive.")
class ScoreDecile:
    row: strawberry.Private[Decile]
    low: int = decile_rules.field(lambda d: d.low, name="from")
    high: int = decile_rules.field(lambda d: d.high, name="to")
    count: int = decile_rules.field(lambda d: d.count)


def _deciles(totals: ReportTotals) -> list[Decile]:
    return [Decile(low, high, count) for (low, high), count in zip(DECILES, totals.score_deciles, strict=True)]


# scoreDeciles' entries (the rule of the field below, which compiled plans call too).
score_deciles = FromPart(ReportPart.SCORE_DECILES, _deciles)


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


# The report's fields with arguments: each reads with a statement of its own when resolved.
async def _timeline(
    root: SessionsReport, info: Info, bucket: TimelinePeriod, time_zone: TimeZoneArg = "UTC"
) -> list[TimelineBucket]:
    groups = await report_reads.timeline(
        info.context, filter_=root.filter_, period=str(bucket.value), time_zone=time_zone
    )
    return [TimelineBucket(row=group) for group in groups]


async def _by_user(
    root: SessionsReport, info: Info, first: FirstArg = report_reads.DEFAULT_BREAKDOWN_SIZE
) -> list[UserCount]:
    groups = await report_reads.by_user(info.context, filter_=root.filter_, first=first)
    return [UserCount(row=group) for group in groups]


async def _by_task_source(
    root: SessionsReport, info: Info, first: FirstArg = report_reads.DEFAULT_BREAKDOWN_SIZE
) -> list[TaskSourceCount]:
    groups = await report_reads.by_task_source(info.context, filter_=root.filter_, first=first)
    return [TaskSourceCount(row=group) for group in groups]


report_rules = Rules[ReportTotals]()


@strawberry.type(
    description="Aggregates over the caller's sessions that match the filter, computed in SQL when asked for."
)
class SessionsReport:
    row: strawberry.Private[ReportTotals]
    filter_: strawberry.Private[SessionCriteria]
    total_count: int = report_rules.field(FromPart(ReportPart.TOTAL_COUNT, lambda t: t.total_count))
    by_status: list[StatusCount] = report_rules.many(
        StatusCount,
        FromPart(ReportPart.BY_STATUS, lambda t: [(name, t.by_status[raw]) for raw, name in STATUS_NAMES.items()]),
        description="One entry per SessionStatus, zeros included.",
    )
    by_role: list[RoleCount] = report_rules.many(
        RoleCount,
        FromPart(ReportPart.BY_ROLE, lambda t: [(name, t.by_role[raw]) for raw, name in ROLE_NAMES.items()]),
        description="One entry per SessionRole, zeros included.",
    )
    average_score: float | None = report_rules.field(
        FromPart(ReportPart.AVERAGE_SCORE, lambda t: t.average_score),
        description="Over sessions that have a score; null when none do.",
    )
    total_duration_seconds: int = report_rules.field(
        FromPart(ReportPart.DURATION, lambda t: total_seconds_within_int(t.total_duration_seconds)),
        description=(
            "Sum of durationSeconds over sessions that have one. Beyond GraphQL's Int (about 68 years) "
            "it is a BAD_USER_INPUT error: select totalDurationHours, or narrow the filter."
        ),
    )
    total_duration_hours: float = report_rules.field(
        FromPart(ReportPart.DURATION, lambda t: t.total_duration_seconds / 3600),
        description="totalDurationSeconds in hours; never too large to answer.",
    )
    procedure_count: int = report_rules.field(
        FromPart(ReportPart.PROCEDURE_COUNT, lambda t: t.procedure_count),
        description="Procedures extracted from the matching sessions.",
    )

    timeline: list[TimelineBucket] = strawberry.field(
        resolver=_timeline,
        description=(
            "Matching sessions per day, week or month of their startedAt in timeZone, oldest first. Only buckets "
            f"holding a session are listed; more than {report_reads.MAX_TIMELINE_BUCKETS} such buckets is a "
            "BAD_USER_INPUT error: choose a longer bucket, or narrow filter.startedAfter/startedBefore."
        ),
    )
    by_user: list[UserCount] = strawberry.field(
        resolver=_by_user,
        description="Matching sessions per user who ran them: the first users by count (descending), ties by user id.",
    )
    by_task_source: list[TaskSourceCount] = strawberry.field(
        resolver=_by_task_source,
        description=(
            "Matching sessions per source of their linked task, one entry (source null) for those without: the "
            "first sources by count (descending), ties by source, null last."
        ),
    )
    score_deciles: list[ScoreDecile] = report_rules.many(
        ScoreDecile,
        score_deciles,
        description=(
            "How the matching sessions that have a score spread over 0..100: ten entries, 0-9, 10-19, ..., 80-89 "
            "and 90-100 (100 is in the last), zeros included."
        ),
    )


def _part_of(rule: Rule) -> ReportPart | None:
    value = rule.get if isinstance(rule, SourceRule) else rule.derive
    return value.part if isinstance(value, FromPart) else None


# The part of the report each GraphQL field reads, from the declarations above.
PART_OF_FIELD = {name: part for name, rule in declared(SessionsReport).items() if (part := _part_of(rule)) is not None}


def report_parts(field_names: Iterable[str]) -> frozenset[ReportPart]:
    """The aggregates the selected fields of ``SessionsReport`` need."""
    return frozenset(PART_OF_FIELD[name] for name in field_names if name in PART_OF_FIELD)
