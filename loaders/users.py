from __future__ import annotations

from typing import TYPE_CHECKING, Any

from db import queries
from loaders.base import TenantLoader

if TYPE_CHECKING:
    from sqlalchemy import Row


class UserByIdLoader(TenantLoader["Row[Any] | None"]):
    async def batch_load_fn(self, keys: list[str]) -> list[Row[Any] | None]:
        rows = await queries.users_by_ids(self.db, tenant_id=self.tenant_id, ids=keys)
        by_id = {row.id: row for row in rows}
        return [by_id.get(key) for key in keys]
