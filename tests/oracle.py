"""What the contract says the answers are, computed from the dataset in plain Python.

Written independently of the gateway's code (no imports from it), so a bug there cannot hide here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tests.dataset import DATA, Dataset

if TYPE_CHECKING:
    from collections.abc import Callable

NULL_DATE = datetime(1, 1, 2, tzinfo=UTC)


def name(s: dict[str, Any], d: Dataset = DATA) -> str:
    if s["name"]:
        return str(s["name"])
    task = d.task(s["task_id"])
    if task is not None and task["title"]:
        return str(task["title"])
    started: datetime = s["started_at"]
    return "Session " + started.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def recorded_duration(s: dict[str, Any]) -> int | None:
    if s["duration_seconds"] is not None:
        return int(s["duration_seconds"])
    if s["completed_at"] is not None:
        return int((s["completed_at"] - s["started_at"]).total_seconds())
    return None


def matches(s: dict[str, Any], flt: dict[str, Any], d: Dataset = DATA) -> bool:
    """``flt`` uses the GraphQL input's names and values."""
    checks: dict[str, Callable[[Any], bool]] = {
        "status": lambda v: s["status"] == v.lower(),
        "role": lambda v: s["role"] == v.lower(),
        "startedAfter": lambda v: s["started_at"] >= datetime.fromisoformat(v),
        "startedBefore": lambda v: s["started_at"] < datetime.fromisoformat(v),
        "userId": lambda v: s["user_id"] == v,
        "taskSource": lambda v: (t := d.task(s["task_id"])) is not None and t["source"] == v.lower(),
        "search": lambda v: v.lower() in name(s, d).lower(),
    }
    return all(checks[k](v) for k, v in flt.items() if v is not None)


def ordered_ids(tenant_id: str, flt: dict[str, Any] | None = None, order: str = "STARTED_AT_DESC") -> list[str]:
    rows = [s for s in DATA.live_sessions(tenant_id) if matches(s, flt or {})]

    def key(s: dict[str, Any]) -> tuple[Any, str]:
        if order.startswith("STARTED_AT"):
            return s["started_at"], s["id"]
        if order == "COMPLETED_AT_DESC":
            return s["completed_at"] or NULL_DATE, s["id"]
        duration = recorded_duration(s)
        return -1 if duration is None else duration, s["id"]

    return [s["id"] for s in sorted(rows, key=key, reverse=order != "STARTED_AT_ASC")]
