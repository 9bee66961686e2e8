from __future__ import annotations

from typing import TYPE_CHECKING

from sessions_gateway.db import queries
from sessions_gateway.loaders.base import RowByKeyLoader

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sessions_gateway.db.rows import UserRow


class UserByIdLoader(RowByKeyLoader["UserRow"]):
    key_column = "id"

    async def fetch(self, keys: Sequence[str]) -> Sequence[UserRow]:
        return await queries.users_by_ids(self.db, tenant_id=self.tenant_id, ids=keys)
