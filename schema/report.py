"""Aggregates over a tenant's sessions, for analysts."""

from __future__ import annotations

import strawberry

from db.queries import ReportTotals
from schema.enums import SessionRole, SessionStatus


@strawberry.type
class StatusCount:
    status: SessionStatus
    count: int


@strawberry.type
class RoleCount:
    role: SessionRole
    count: int


@strawberry.type(description="Aggregates over the caller's sessions that match the filter, computed in SQL.")
class SessionsReport:
    totals: strawberry.Private[ReportTotals]

    @strawberry.field
    def total_count(self) -> int:
        return self.totals.total_count

    @strawberry.field(description="One entry per SessionStatus, zeros included.")
    def by_status(self) -> list[StatusCount]:
        return [StatusCount(status=s, count=self.totals.by_status[s.value]) for s in SessionStatus]

    @strawberry.field(description="One entry per SessionRole, zeros included.")
    def by_role(self) -> list[RoleCount]:
        return [RoleCount(role=r, count=self.totals.by_role[r.value]) for r in SessionRole]

    @strawberry.field(description="Over sessions that have a score; null when none do.")
    def average_score(self) -> float | None:
        return self.totals.average_score

    @strawberry.field(description="Sum of durationSeconds over sessions that have one.")
    def total_duration_seconds(self) -> int:
        return self.totals.total_duration_seconds

    @strawberry.field(description="Procedures extracted from the matching sessions.")
    def procedure_count(self) -> int:
        return self.totals.procedure_count
