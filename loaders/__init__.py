"""Per-request aiodataloader loaders: one per relation, each batch one tenant-scoped statement."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sessions_gateway.loaders.procedures import ProcedureCountBySessionIdLoader, ProceduresBySessionIdLoader
from sessions_gateway.loaders.recordings import RecordingBySessionIdLoader
from sessions_gateway.loaders.summaries import SummaryBySessionIdLoader
from sessions_gateway.loaders.tasks import TaskByIdLoader
from sessions_gateway.loaders.users import UserByIdLoader

if TYPE_CHECKING:
    from sessions_gateway.db.reader import TenantReader


class Loaders:
    """One request's loaders, each built on first use (a compiled plan needs only its batches).

    Built inside the request's event loop, as aiodataloader requires: the resolvers that first
    touch a loader run there.
    """

    def __init__(self, db: TenantReader, tenant_id: str) -> None:
        self._db = db
        self._tenant_id = tenant_id

    @classmethod
    def for_request(cls, db: TenantReader, tenant_id: str) -> Loaders:
        """Fresh loaders for one request of one tenant."""
        return cls(db, tenant_id)

    @cached_property
    def users(self) -> UserByIdLoader:
        return UserByIdLoader(self._db, self._tenant_id)

    @cached_property
    def tasks(self) -> TaskByIdLoader:
        return TaskByIdLoader(self._db, self._tenant_id)

    @cached_property
    def procedures(self) -> ProceduresBySessionIdLoader:
        return ProceduresBySessionIdLoader(self._db, self._tenant_id)

    @cached_property
    def procedure_counts(self) -> ProcedureCountBySessionIdLoader:
        return ProcedureCountBySessionIdLoader(self._db, self._tenant_id)

    @cached_property
    def recordings(self) -> RecordingBySessionIdLoader:
        return RecordingBySessionIdLoader(self._db, self._tenant_id)

    @cached_property
    def summaries(self) -> SummaryBySessionIdLoader:
        return SummaryBySessionIdLoader(self._db, self._tenant_id)
