"""What the contract says the answers are, computed from the dataset in plain Python.

Written independently of the gateway's code (no imports from it), so a bug there cannot hide here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

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


# --- sessionsReport's timeline, breakdowns and score deciles -------------------------------------


def report_rows(tenant_id: str, flt: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The sessions a report with filter ``flt`` covers, each with its ``score`` (None without one)."""
    scores = {x["session_id"]: x["score"] for x in DATA.session_summaries}
    return [s | {"score": scores.get(s["id"])} for s in DATA.live_sessions(tenant_id) if matches(s, flt or {})]


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    scores = [s["score"] for s in rows if s["score"] is not None]
    return {
        "count": len(rows),
        "completed": sum(s["status"] == "completed" for s in rows),
        "averageScore": sum(scores) / len(scores) if scores else None,
    }


def first_local_day(started: datetime, period: str, zone: ZoneInfo) -> date:
    day = started.astimezone(zone).date()
    if period == "WEEK":
        return day - timedelta(days=day.isoweekday() - 1)
    return day.replace(day=1) if period == "MONTH" else day


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The earliest instant of ``day`` in ``zone``: its midnight, the first of two, or the end of a gap."""
    candidates = [datetime(day.year, day.month, day.day, fold=fold, tzinfo=zone).astimezone(UTC) for fold in (0, 1)]
    start = min(c for c in candidates if c.astimezone(zone).date() == day)
    assert (start - timedelta(seconds=1)).astimezone(zone).date() < day, (day, zone)
    return start


def timeline(tenant_id: str, flt: dict[str, Any] | None, period: str, zone_name: str) -> list[dict[str, Any]]:
    zone = ZoneInfo(zone_name)
    buckets: dict[date, list[dict[str, Any]]] = {}
    for s in report_rows(tenant_id, flt):
        buckets.setdefault(first_local_day(s["started_at"], period, zone), []).append(s)
    return [{"start": day_start(day, zone).isoformat(), **totals(rows)} for day, rows in sorted(buckets.items())]


def ranked(groups: dict[Any, list[dict[str, Any]]], first: int) -> list[tuple[Any, dict[str, Any]]]:
    """Most sessions first; ties by key in code-point order, None last."""
    order = sorted(groups, key=lambda k: (-len(groups[k]), k is None, k or ""))
    return [(key, totals(groups[key])) for key in order[:first]]


def by_user(tenant_id: str, flt: dict[str, Any] | None, first: int = 100) -> list[dict[str, Any]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for s in report_rows(tenant_id, flt):
        groups.setdefault(s["user_id"], []).append(s)
    names = {u["id"]: u["display_name"] for u in DATA.users}
    return [{"user": {"id": key, "displayName": names[key]}, **t} for key, t in ranked(groups, first)]


def by_task_source(tenant_id: str, flt: dict[str, Any] | None, first: int = 100) -> list[dict[str, Any]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for s in report_rows(tenant_id, flt):
        task = DATA.task(s["task_id"])
        groups.setdefault(None if task is None else task["source"], []).append(s)
    return [{"source": key, **t} for key, t in ranked(groups, first)]


def score_deciles(tenant_id: str, flt: dict[str, Any] | None) -> list[dict[str, int]]:
    scores = [s["score"] for s in report_rows(tenant_id, flt) if s["score"] is not None]
    edges = [(low, low + 9) for low in range(0, 90, 10)] + [(90, 100)]
    return [{"from": low, "to": high, "count": sum(low <= x <= high for x in scores)} for low, high in edges]
