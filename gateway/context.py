"""The per-request GraphQL context, and the ``Info`` alias resolvers annotate with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeAlias

import strawberry

from loaders import Loaders

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from resolvers.naming import MediaSettings


def clock() -> datetime:
    """The request clock (a module-level function, so tests can pin it)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Context:
    """What one request's resolvers may use: its tenant, the engine, its loaders, its clock.

    ``db`` is the engine, not a connection: each root resolver and loader batch takes a
    connection of its own. ``now`` is fixed per request, so derived values agree.
    """

    tenant_id: str
    db: AsyncEngine
    loaders: Loaders
    media: MediaSettings
    cursor_key: bytes
    now: datetime

    @classmethod
    def for_request(cls, *, tenant_id: str, db: AsyncEngine, media: MediaSettings, cursor_key: bytes) -> Context:
        return cls(
            tenant_id=tenant_id,
            db=db,
            loaders=Loaders.for_request(db, tenant_id),
            media=media,
            cursor_key=cursor_key,
            now=clock(),
        )


Info: TypeAlias = strawberry.Info[Context, None]
