from __future__ import annotations

from typing import TYPE_CHECKING

from sessions_gateway.db import queries
from sessions_gateway.loaders.base import RowByKeyLoader

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sessions_gateway.db.rows import SummaryRow


class SummaryBySessionIdLoader(RowByKeyLoader["SummaryRow"]):
    """The session's summary row; ``None`` where the Core App wrote none."""

    key_column = "session_id"

    async def fetch(self, keys: Sequence[str]) -> Sequence[SummaryRow]:
        return await queries.summaries_by_session_ids(self.db, tenant_id=self.tenant_id, session_ids=keys)
