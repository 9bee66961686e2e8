"""Aggregates over a tenant's sessions, for analysts."""

from __future__ import annotations

import strawberry

from db.queries import ReportPart, ReportTotals
from schema.enums import SessionRole, SessionStatus


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

    @strawberry.field(description="Sum of durationSeconds over sessions that have one.")
    def total_duration_seconds(self) -> int:
        self.totals.require(ReportPart.DURATION)
        return self.totals.total_duration_seconds

    @strawberry.field(description="Procedures extracted from the matching sessions.")
    def procedure_count(self) -> int:
        self.totals.require(ReportPart.PROCEDURE_COUNT)
        return self.totals.procedure_count
