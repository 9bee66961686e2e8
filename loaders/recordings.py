from __future__ import annotations

from typing import TYPE_CHECKING

from sessions_gateway.db import queries
from sessions_gateway.loaders.base import RowByKeyLoader

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sessions_gateway.db.rows import RecordingRow


class RecordingBySessionIdLoader(RowByKeyLoader["RecordingRow"]):
    """The session's recording row; ``None`` where no recording was committed."""

    key_column = "session_id"

    async def fetch(self, keys: Sequence[str]) -> Sequence[RecordingRow]:
        return await queries.recordings_by_session_ids(self.db, tenant_id=self.tenant_id, session_ids=keys)
