"""The gateway's own indexes, one per query shape; the storage contract lets it add these.

Every index leads with ``tenant_id`` (each read is one tenant's) and is partial on
``deleted_at IS NULL`` (erased sessions are never read). The list's keyset pagination seeks on
``(tenant_id, order key, id)``, so page 1,000 costs what page 1 costs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index

from sessions_gateway.db.filters import ORDER_KEYS, ListOrder
from sessions_gateway.db.tables import procedures, recordings, session_summaries, sessions, tasks

_LIVE = sessions.c.deleted_at.is_(None)


def _live(name: str, *columns: Any) -> Index:
    return Index(name, *columns, postgresql_where=_LIVE, sqlite_where=_LIVE)


GATEWAY_INDEXES: tuple[Index, ...] = (
    _live("gw_sessions_started", sessions.c.tenant_id, sessions.c.started_at, sessions.c.id),
    _live(
        "gw_sessions_completed_key",
        sessions.c.tenant_id,
        ORDER_KEYS[ListOrder.COMPLETED_AT_DESC],
        sessions.c.id,
    ),
    _live(
        "gw_sessions_duration_key",
        sessions.c.tenant_id,
        ORDER_KEYS[ListOrder.DURATION_DESC],
        sessions.c.id,
    ),
    # The dashboard's two filters, each with the default order.
    _live(
        "gw_sessions_status_started",
        sessions.c.tenant_id,
        sessions.c.status,
        sessions.c.started_at,
        sessions.c.id,
    ),
    _live(
        "gw_sessions_role_started",
        sessions.c.tenant_id,
        sessions.c.role,
        sessions.c.started_at,
        sessions.c.id,
    ),
    _live(
        "gw_sessions_user_started",
        sessions.c.tenant_id,
        sessions.c.user_id,
        sessions.c.started_at,
        sessions.c.id,
    ),
    _live("gw_sessions_task", sessions.c.tenant_id, sessions.c.task_id),
    Index("gw_tasks_source", tasks.c.tenant_id, tasks.c.source),
    # Loaders: WHERE tenant_id = :t AND session_id IN (...).
    Index("gw_procedures_session", procedures.c.tenant_id, procedures.c.session_id, procedures.c.position),
    Index("gw_recordings_tenant", recordings.c.tenant_id, recordings.c.session_id),
    Index("gw_summaries_tenant", session_summaries.c.tenant_id, session_summaries.c.session_id),
)
