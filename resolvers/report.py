"""The report's parts that take arguments: a timeline, and breakdowns by user and by task source.

Each is one statement, run only when its field is selected (the executor resolves the field; a
compiled plan calls the same functions). Arguments are checked before anything is read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, available_timezones

from sessions_gateway.db import queries
from sessions_gateway.db.queries import GroupTotals
from sessions_gateway.gateway.errors import BadUserInput

if TYPE_CHECKING:
    from sessions_gateway.db.filters import SessionCriteria
    from sessions_gateway.gateway.context import Context

MAX_TIMELINE_BUCKETS = 1000
DEFAULT_BREAKDOWN_SIZE = 100
# One batch of the users loader (loaders.base.MAX_BATCH): byUser's users cost one statement.
MAX_BREAKDOWN_SIZE = 500

# Names of the tz database that PostgreSQL reads as fixed-offset abbreviations of its own
# (``pg_timezone_abbrevs``) where the database gives them rules (CET has summer time; EST is
# America/Panama from release 2024b): the backends would disagree. "UTC", "GMT", "UCT" and "Zulu"
# are such abbreviations too, with the same meaning as the zones.
ABBREVIATION_NAMES = frozenset({"CET", "EET", "EST", "HST", "MET", "MST", "WET"})
# Files of the tz database that are not zones a client may name: one depends on the machine.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def time_zone_names() -> frozenset[str]:
    """The IANA names ``timeZone`` accepts: the tz database's, less the two sets above."""
    return frozenset(available_timezones() - _NOT_ZONES - ABBREVIATION_NAMES)


def check_time_zone(name: str) -> ZoneInfo:
    if name not in time_zone_names():
        if name in ABBREVIATION_NAMES:
            raise BadUserInput(f"timeZone: {name} is ambiguous; name a place instead, e.g. Europe/Paris.")
        raise BadUserInput("timeZone: not an IANA time zone name, e.g. Europe/Paris or UTC (exact spelling).")
    return ZoneInfo(name)


def check_breakdown_size(first: int, argument: str) -> int:
    if not 0 <= first <= MAX_BREAKDOWN_SIZE:
        raise BadUserInput(f"{argument}: first must be between 0 and {MAX_BREAKDOWN_SIZE}, got {first}.")
    return first


def local_day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC.

    Local midnight, where it exists: a day whose midnight falls in a DST gap starts when the gap
    ends, and one whose midnight happens twice starts at the first (``fold=0`` gives both).
    """
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


async def timeline(ctx: Context, *, filter_: SessionCriteria, period: str, time_zone: str) -> list[GroupTotals]:
    """The matching sessions per ``period`` of their start in ``time_zone``; keys are each period's first instant.

    Only periods holding a session are listed, oldest first; more than ``MAX_TIMELINE_BUCKETS`` is
    the client's error (the statement reads one more, to know).
    """
    zone = check_time_zone(time_zone)
    groups = await queries.timeline(
        ctx.db,
        tenant_id=ctx.tenant_id,
        filter_=filter_,
        period=period,
        zone=zone.key,
        limit=MAX_TIMELINE_BUCKETS + 1,
    )
    if len(groups) > MAX_TIMELINE_BUCKETS:
        raise BadUserInput(
            f"timeline: the sessions fall in more than {MAX_TIMELINE_BUCKETS} buckets of a {period}: "
            "choose a longer bucket, or narrow filter.startedAfter/startedBefore."
        )
    return [replace(group, key=local_day_start(group.key, zone)) for group in groups]


async def by_user(ctx: Context, *, filter_: SessionCriteria, first: int) -> list[GroupTotals]:
    """The ``first`` users with the most matching sessions (keys: user ids); ties by id."""
    limit = check_breakdown_size(first, "byUser")
    return await queries.totals_by_user(ctx.db, tenant_id=ctx.tenant_id, filter_=filter_, limit=limit)


async def by_task_source(ctx: Context, *, filter_: SessionCriteria, first: int) -> list[GroupTotals]:
    """The ``first`` task sources with the most matching sessions (keys; ``None``: no task); ties by source."""
    limit = check_breakdown_size(first, "byTaskSource")
    return await queries.totals_by_task_source(ctx.db, tenant_id=ctx.tenant_id, filter_=filter_, limit=limit)
