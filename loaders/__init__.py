"""Per-request aiodataloader loaders: one per relation, each batch one tenant-scoped statement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loaders.procedures import ProcedureCountBySessionIdLoader, ProceduresBySessionIdLoader
from loaders.recordings import RecordingBySessionIdLoader
from loaders.summaries import SummaryBySessionIdLoader
from loaders.tasks import TaskByIdLoader
from loaders.users import UserByIdLoader

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True, slots=True)
class Loaders:
    users: UserByIdLoader
    tasks: TaskByIdLoader
    procedures: ProceduresBySessionIdLoader
    procedure_counts: ProcedureCountBySessionIdLoader
    recordings: RecordingBySessionIdLoader
    summaries: SummaryBySessionIdLoader

    @classmethod
    def for_request(cls, db: AsyncEngine, tenant_id: str) -> Loaders:
        """Fresh loaders for one request of one tenant; call from inside the request's event loop."""
        return cls(
            users=UserByIdLoader(db, tenant_id),
            tasks=TaskByIdLoader(db, tenant_id),
            procedures=ProceduresBySessionIdLoader(db, tenant_id),
            procedure_counts=ProcedureCountBySessionIdLoader(db, tenant_id),
            recordings=RecordingBySessionIdLoader(db, tenant_id),
            summaries=SummaryBySessionIdLoader(db, tenant_id),
        )
