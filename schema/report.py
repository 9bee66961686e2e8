"""Aggregates over a tenant's sessions, for analysts."""

from __future__ import annotations

import strawberry

from db.queries import ReportPart, ReportTotals
from gateway.errors import BadUserInput
from schema.enums import SessionRole, SessionStatus

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


# The GraphQL field each part of the report serves.
PART_OF_FIELD = {
    "byStatus": ReportPart.BY_STATUS,
    "byRole": ReportPart.BY_ROLE,
    "totalDurationSeconds": ReportPart.DURATION,
    "totalDurationHours": ReportPart.DURATION,
    "averageScore": ReportPart.AVERAGE_SCORE,
    "procedureCount": ReportPart.PROCEDURE_COUNT,
}


@strawberry.type(
    description="Aggregates over the caller's sessions that match the filter, computed in SQL when asked for."
)
class SessionsReport:
    totals: strawberry.Private[ReportTotals]

    @strawberry.field
    def total_count(self) -> int:
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
