"""Derived values of a session, as pure rules written once: its displayed name and its duration.

``db/filters.py`` and ``db/expressions.py`` hold their SQL twins (the list's search and sort keys);
tests hold the two to the same answers.
"""

from __future__ import annotations

from datetime import UTC, datetime

_MICROS = 1_000_000


def whole_seconds(end: datetime, start: datetime) -> int:
    """``end - start`` in whole seconds, truncated toward zero."""
    delta = end - start
    if delta.days >= 0:  # days, seconds and microseconds are never negative but days: floor is truncation
        return delta.days * 86_400 + delta.seconds
    micros = (delta.days * 86_400 + delta.seconds) * _MICROS + delta.microseconds
    return -(-micros // _MICROS)


def display_name(name: str | None, task_title: str | None, started_at: datetime) -> str:
    """The session's name; else its linked task's title; else 'Session YYYY-MM-DD HH:MM' (UTC)."""
    if name:
        return name
    if task_title:
        return task_title
    return f"Session {started_at.astimezone(UTC):%Y-%m-%d %H:%M}"


def duration_seconds(
    *,
    recorded: int | None,
    status: str,
    started_at: datetime,
    completed_at: datetime | None,
    now: datetime,
) -> int | None:
    """Recorded duration; else end - start; else, while in progress, time elapsed until ``now``."""
    if recorded is not None:
        return recorded
    if completed_at is not None:
        return whole_seconds(completed_at, started_at)
    if status == "in_progress":
        return max(0, whole_seconds(now, started_at))
    return None
