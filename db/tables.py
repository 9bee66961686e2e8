"""Tables of the storage contract (``storage.sql``), mirrored exactly, plus the gateway's indexes.

The gateway never writes these tables in production; ``init-db`` creates them for development,
tests and the demo. On SQLite every ``timestamptz`` is TEXT in the one form
``datetime.isoformat()`` gives for an aware UTC datetime, so text order is time order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, TypeEngine


class Timestamp(TypeDecorator[datetime]):
    """``timestamptz`` on PostgreSQL; ISO-8601 TEXT in UTC on SQLite. Always aware UTC in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetimes are ambiguous: give a timezone"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.isoformat() if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # asyncpg already decodes timestamptz to an aware UTC datetime: nothing to do per value.
        if dialect.name == "postgresql" and dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if parsed.tzinfo is None:  # only a foreign writer could store one
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)


metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, ForeignKey("tenants.id"), nullable=False),
    Column("display_name", Text, nullable=False),
    Column("email", Text),  # personal data: never selected by the gateway
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, ForeignKey("tenants.id"), nullable=False),
    Column("source", Text, nullable=False),
    Column("external_ref", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("url", Text),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, ForeignKey("tenants.id"), nullable=False),
    Column("user_id", Text, ForeignKey("users.id"), nullable=False),
    Column("seat_id", Text),
    Column("role", Text, CheckConstraint("role IN ('trainer', 'trainee')"), nullable=False),
    Column(
        "status",
        Text,
        CheckConstraint("status IN ('completed', 'in_progress', 'failed')"),
        nullable=False,
    ),
    Column("name", Text),
    Column("task_id", Text, ForeignKey("tasks.id")),
    Column("started_at", Timestamp, nullable=False),
    Column("completed_at", Timestamp),
    Column("duration_seconds", Integer, CheckConstraint("duration_seconds >= 0")),
    Column("thumbnail_url", Text),
    Column("deleted_at", Timestamp),
)

recordings = Table(
    "recordings",
    metadata,
    Column("session_id", Text, ForeignKey("sessions.id"), primary_key=True),
    Column("tenant_id", Text, ForeignKey("tenants.id"), nullable=False),
    Column("state", Text, CheckConstraint("state IN ('uploading', 'ready')"), nullable=False),
    Column("storage_key", Text),
    Column("legacy_url", Text),
    Column("legacy_expires_at", Timestamp),
)

procedures = Table(
    "procedures",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, ForeignKey("tenants.id"), nullable=False),
    Column("session_id", Text, ForeignKey("sessions.id"), nullable=False),
    Column("position", Integer, CheckConstraint("position >= 1"), nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("video_url", Text),
    UniqueConstraint("session_id", "position"),
)

session_summaries = Table(
    "session_summaries",
    metadata,
    Column("session_id", Text, ForeignKey("sessions.id"), primary_key=True),
    Column("tenant_id", Text, ForeignKey("tenants.id"), nullable=False),
    Column("score", Integer, CheckConstraint("score BETWEEN 0 AND 100")),
    Column("prose", Text),
    Column("trainer_notes", Text),
)
