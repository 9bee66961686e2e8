"""Batches of lone statements across requests: live subscriptions' reads, one statement per shape per batch.

Each request of a round hands its one statement (a ``Template`` and the values it binds) to
``StatementBatches.rows``; the loader of that template gathers every request that does so in the
same tick, and reads up to ``BATCH_SIZE`` of them in one statement (``db/batch.py``). Where a
statement may read one tenant only (the policies of an earlier release), a loader per template
and tenant.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any

from aiodataloader import DataLoader

from sessions_gateway.db.batch import BATCH_SIZE, run_batch

if TYPE_CHECKING:
    from collections.abc import Hashable, Mapping

    from sqlalchemy.ext.asyncio import AsyncEngine

    from sessions_gateway.db.reader import Record, Template

Request = tuple[str, "Mapping[str, Any]"]  # a tenant, and the values its statement binds


class StatementBatches:
    """One round's batches: a loader per template (and tenant, unless ``across_tenants``)."""

    __slots__ = ("_loaders", "across_tenants", "engine", "limit")

    def __init__(self, engine: AsyncEngine, *, across_tenants: bool, limit: asyncio.Semaphore) -> None:
        self.engine = engine
        self.across_tenants = across_tenants
        self.limit = limit  # statements read at once, with those of the cohorts read alone
        self._loaders: dict[Hashable, DataLoader[Request, list[Record]]] = {}

    async def rows(self, tenant_id: str, template: Template, values: Mapping[str, Any]) -> list[Record]:
        """The rows of ``template`` for ``tenant_id`` and ``values``, read in the batch of this tick."""
        key: Hashable = template if self.across_tenants else (template, tenant_id)
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = DataLoader(
                partial(self._read, template), max_batch_size=BATCH_SIZE, cache=False
            )
        return await loader.load((tenant_id, values))

    async def _read(self, template: Template, requests: list[Request]) -> list[list[Record]]:
        async with self.limit:
            return await run_batch(self.engine, template, requests)
