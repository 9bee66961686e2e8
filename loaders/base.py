"""The bases of every loader: one tenant, one request, read through the request's reader."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, TypeVar

from aiodataloader import DataLoader

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sessions_gateway.db.reader import TenantReader

T = TypeVar("T")
R = TypeVar("R")

# Bounds the IN (...) list of one statement; a page holds at most 100 sessions.
MAX_BATCH = 500


class TenantLoader(DataLoader[str, T]):
    """Batches keys of one tenant into one statement per batch; results come back in key order.

    Built per request, inside the request's event loop (aiodataloader binds the loop when
    constructed), so its cache never outlives the request or crosses tenants.
    """

    max_batch_size = MAX_BATCH

    def __init__(self, db: TenantReader, tenant_id: str) -> None:
        super().__init__()
        self.db = db
        self.tenant_id = tenant_id


class RowByKeyLoader(TenantLoader[R | None]):
    """One row per key, found by the row's ``key_column``; ``None`` where there is none."""

    key_column: ClassVar[str]

    async def fetch(self, keys: Sequence[str]) -> Sequence[R]:
        raise NotImplementedError

    async def batch_load_fn(self, keys: list[str]) -> list[R | None]:
        rows = await self.fetch(keys)
        by_key = {getattr(row, self.key_column): row for row in rows}
        return [by_key.get(key) for key in keys]
