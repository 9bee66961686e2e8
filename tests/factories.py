"""Plain functions that build storage rows with sensible defaults; tests override what matters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def tenant(id: str, name: str | None = None) -> dict[str, Any]:
    return {"id": id, "name": name or id.title()}


def user(id: str, tenant_id: str, display_name: str, email: str | None = None) -> dict[str, Any]:
    return {"id": id, "tenant_id": tenant_id, "display_name": display_name, "email": email or f"{id}@example.com"}


def task(id: str, tenant_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": id,
        "tenant_id": tenant_id,
        "source": "jobber",
        "external_ref": f"J-{id}",
        "title": f"Job {id}",
        "status": "scheduled",
        "url": f"https://jobber.example.com/jobs/{id}",
    }
    return row | overrides


def session(id: str, tenant_id: str, user_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": id,
        "tenant_id": tenant_id,
        "user_id": user_id,
        "seat_id": None,
        "role": "trainee",
        "status": "completed",
        "name": f"Session named {id}",
        "task_id": None,
        "started_at": T0,
        "completed_at": None,
        "duration_seconds": None,
        "thumbnail_url": f"https://media.example.com/thumbs/{id}.jpg",
        "deleted_at": None,
    }
    return row | overrides


def recording(session_id: str, tenant_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "session_id": session_id,
        "tenant_id": tenant_id,
        "state": "ready",
        "storage_key": None,
        "legacy_url": None,
        "legacy_expires_at": None,
    }
    return row | overrides


def procedure(id: str, tenant_id: str, session_id: str, position: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": id,
        "tenant_id": tenant_id,
        "session_id": session_id,
        "position": position,
        "name": f"Step {position}",
        "description": None,
        "video_url": None,
    }
    return row | overrides


def summary(session_id: str, tenant_id: str, **overrides: Any) -> dict[str, Any]:
    row = {"session_id": session_id, "tenant_id": tenant_id, "score": None, "prose": None, "trainer_notes": None}
    return row | overrides
