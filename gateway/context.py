"""The per-request GraphQL context, the media settings it carries, and the ``Info`` alias resolvers annotate with.

Shared by every layer that runs a request (schema, resolvers): it imports only the loaders and the
reader below it, never the wiring (``gateway/app.py``, ``config.py``, ...) that builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias

import strawberry

from sessions_gateway.db.reader import TenantReader
from sessions_gateway.loaders import Loaders

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True, slots=True)
class MediaSettings:
    """Where recordings live: ``base_url`` + storage key, optionally signed for ``ttl``."""

    base_url: str | None = None
    signing_key: bytes | None = field(default=None, repr=False)
    ttl: timedelta = timedelta(hours=1)


def clock() -> datetime:
    """The request clock (a module-level function, so tests can pin it)."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Context:
    """What one request's resolvers may use: its tenant, its reader, its loaders, its clock.

    ``db`` is the request's reader: one connection and one read-only transaction for the whole
    request, taken at its first statement, with the tenant set for row-level security. Whoever
    makes the context closes it. ``now`` is fixed per request, so derived values agree.
    """

    tenant_id: str
    db: TenantReader
    loaders: Loaders
    media: MediaSettings
    cursor_key: bytes
    now: datetime
    # Set when a compiled plan answered the operation (``schema/extensions.py``), not the executor.
    answered_by_plan: bool = False
    # Set when a compiled plan's writers read ``now``: the answer may change with time alone.
    clock_read: bool = False

    @classmethod
    def for_request(
        cls,
        *,
        tenant_id: str,
        db: AsyncEngine,
        media: MediaSettings,
        cursor_key: bytes,
        reader: TenantReader | None = None,
    ) -> Context:
        """A request's context; ``reader``: its own reader of ``tenant_id`` (else a ``TenantReader``)."""
        reader = reader if reader is not None else TenantReader(db, tenant_id)
        return cls(
            tenant_id=tenant_id,
            db=reader,
            loaders=Loaders.for_request(reader, tenant_id),
            media=media,
            cursor_key=cursor_key,
            now=clock(),
        )


Info: TypeAlias = strawberry.Info[Context, None]
