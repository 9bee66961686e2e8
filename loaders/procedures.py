from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sessions_gateway.db import queries
from sessions_gateway.loaders.base import TenantLoader

if TYPE_CHECKING:
    from sessions_gateway.db.rows import ProcedureRow


class ProceduresBySessionIdLoader(TenantLoader["list[ProcedureRow]"]):
    """A session's procedures ordered by position; ``[]`` for a session with none."""

    async def batch_load_fn(self, keys: list[str]) -> list[list[ProcedureRow]]:
        rows = await queries.procedures_by_session_ids(self.db, tenant_id=self.tenant_id, session_ids=keys)
        by_session: defaultdict[str, list[ProcedureRow]] = defaultdict(list)
        for row in rows:  # already ordered by (session_id, position)
            by_session[row.session_id].append(row)
        return [by_session.get(key, []) for key in keys]


class ProcedureCountBySessionIdLoader(TenantLoader[int]):
    """How many procedures each session has, counted in SQL; 0 for a session with none."""

    async def batch_load_fn(self, keys: list[str]) -> list[int]:
        rows = await queries.procedure_counts_by_session_ids(self.db, tenant_id=self.tenant_id, session_ids=keys)
        counts = {row.session_id: int(row.n) for row in rows}
        return [counts.get(key, 0) for key in keys]
