from __future__ import annotations

from typing import TYPE_CHECKING, Any

from db import queries
from loaders.base import TenantLoader

if TYPE_CHECKING:
    from sqlalchemy import Row


class SummaryBySessionIdLoader(TenantLoader["Row[Any] | None"]):
    """The session's summary row; ``None`` where the Core App wrote none."""

    async def batch_load_fn(self, keys: list[str]) -> list[Row[Any] | None]:
        rows = await queries.summaries_by_session_ids(self.db, tenant_id=self.tenant_id, session_ids=keys)
        by_session = {row.session_id: row for row in rows}
        return [by_session.get(key) for key in keys]
