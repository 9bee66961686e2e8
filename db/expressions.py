"""SQL expressions that differ by dialect, compiled for SQLite and PostgreSQL.

Most are the SQL twin of a rule in ``resolvers/derived.py``; tests hold the two to the same answers.
The report's timeline and orderings add ``PeriodStart`` and ``CodePointOrder``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Integer, Text, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from sessions_gateway.db.tables import Timestamp

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.sql.compiler import SQLCompiler

# Registered on every SQLite connection (see db/engine.py): Python's str.lower, which folds
# every alphabet, where SQLite's own lower() folds ASCII only.
SQLITE_LOWER_FUNCTION = "gw_lower"


class WholeSeconds(FunctionElement[int]):
    """``end - start`` in whole seconds, truncated toward zero (Python's ``int()`` of the difference)."""

    type = Integer()
    inherit_cache = True
    name = "whole_seconds"


@compiles(WholeSeconds, "sqlite")
def _whole_seconds_sqlite(element: WholeSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses)

    def micros(x: str) -> str:
        # 'YYYY-MM-DDTHH:MM:SS.ffffff+00:00': the fraction, when present, starts at character 21.
        return f"(CASE WHEN substr({x}, 20, 1) = '.' THEN CAST(substr({x}, 21, 6) AS INTEGER) ELSE 0 END)"

    seconds = f"(CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER))"
    # SQLite's integer division truncates toward zero, as Python's int() does.
    return f"(({seconds} * 1000000 + {micros(end)} - {micros(start)}) / 1000000)"


@compiles(WholeSeconds, "postgresql")
def _whole_seconds_pg(element: WholeSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    # CAST(numeric AS integer) rounds, so truncate first.
    return f"CAST(trunc(EXTRACT(EPOCH FROM ({end} - {start}))) AS INTEGER)"


class MinTimestamp(ColumnElement[Any]):
    """A constant earlier than any real timestamp: sorts rows without a time last in DESC order.

    Rendered as a literal (not a bound parameter) so that an index on an expression using it
    matches the queries that use it. Not 0001-01-01 00:00 itself: that is ``datetime.min``, which
    asyncpg binds as ``-infinity``, so a cursor holding it would no longer equal the sentinel.
    """

    type = Timestamp()
    inherit_cache = True


@compiles(MinTimestamp, "sqlite")
def _min_ts_sqlite(element: MinTimestamp, compiler: SQLCompiler, **kw: Any) -> str:
    return "'0001-01-02T00:00:00+00:00'"


@compiles(MinTimestamp, "postgresql")
def _min_ts_pg(element: MinTimestamp, compiler: SQLCompiler, **kw: Any) -> str:
    return "CAST('0001-01-02 00:00:00+00' AS TIMESTAMP WITH TIME ZONE)"


class AutoName(FunctionElement[str]):
    """``'Session ' || started_at`` in UTC as ``YYYY-MM-DD HH:MM``."""

    type = Text()
    inherit_cache = True
    name = "auto_name"


@compiles(AutoName, "sqlite")
def _auto_name_sqlite(element: AutoName, compiler: SQLCompiler, **kw: Any) -> str:
    (started,) = (compiler.process(c, **kw) for c in element.clauses)
    # Stored text is always UTC 'YYYY-MM-DDTHH:MM...'.
    return f"('Session ' || substr({started}, 1, 10) || ' ' || substr({started}, 12, 5))"


@compiles(AutoName, "postgresql")
def _auto_name_pg(element: AutoName, compiler: SQLCompiler, **kw: Any) -> str:
    (started,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"('Session ' || to_char({started} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'))"


class ContainsFolded(FunctionElement[bool]):
    """True when ``needle`` (already lower-cased by the caller) occurs in ``lower(haystack)``.

    A plain substring test: %, _ and backslash have no special meaning, unlike LIKE.
    """

    type = Boolean()
    inherit_cache = True
    name = "contains_folded"


@compiles(ContainsFolded, "sqlite")
def _contains_sqlite(element: ContainsFolded, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(instr({SQLITE_LOWER_FUNCTION}({haystack}), {needle}) > 0)"


@compiles(ContainsFolded, "postgresql")
def _contains_pg(element: ContainsFolded, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(strpos(lower({haystack}), {needle}) > 0)"


# Sort key of sessions without a recorded duration: below every real one.
NO_DURATION = literal_column("-1", Integer)


# The PostgreSQL function ``init-db`` creates (``db/functions.sql``) and its signature.
DURATION_KEY_FUNCTION = "gw_duration_key"
DURATION_KEY_SIGNATURE = f"{DURATION_KEY_FUNCTION}(integer, timestamp with time zone, timestamp with time zone)"
# The attribute of an engine's dialect that says whether its database has that function.
_DURATION_FUNCTION_FLAG = "sessions_gateway_duration_key_function"


def use_duration_key_function(dialect: Dialect, present: bool) -> None:  # noqa: FBT001
    """Say whether ``dialect``'s database has ``gw_duration_key``: ``DurationKey`` compiles to a call of it if so.

    Set once per engine, before its first statement is compiled (``db/engine.py``): SQLAlchemy
    caches compiled statements per engine, and a cached statement keeps the form it was compiled in.
    """
    setattr(dialect, _DURATION_FUNCTION_FLAG, present)


def uses_duration_key_function(dialect: Dialect) -> bool:
    """Whether ``DurationKey`` calls ``gw_duration_key`` on ``dialect``.

    Unless told otherwise it does, as ``init-db`` leaves a database: every engine of
    ``make_engine`` is told, by its database, before its first statement.
    """
    return bool(getattr(dialect, _DURATION_FUNCTION_FLAG, True))


class DurationKey(FunctionElement[int]):
    """The DURATION_DESC sort key: ``duration_seconds``, else whole seconds from start to completion, else -1.

    On PostgreSQL it is the function ``gw_duration_key`` (``db/functions.sql``) where the database
    has it, declared LEAKPROOF: under row-level security, a keyset condition on a key computed
    with functions that are not (subtraction, EXTRACT, casts) may not seek the index, and a page
    deep in the list would be found by reading every row before it. On a database without it
    (the storage contract's tables alone), the function's own body, inline: the same values, so
    the same order and cursors. Elsewhere it is the expression itself.
    Arguments: ``duration_seconds``, ``started_at``, ``completed_at``.
    """

    type = Integer()
    inherit_cache = True
    name = DURATION_KEY_FUNCTION


@compiles(DurationKey)
def _duration_key(element: DurationKey, compiler: SQLCompiler, **kw: Any) -> str:
    duration, started, completed = element.clauses
    key = func.coalesce(duration, WholeSeconds(completed, started), NO_DURATION, type_=Integer)
    return compiler.process(key, **kw)


@compiles(DurationKey, "postgresql")
def _duration_key_pg(element: DurationKey, compiler: SQLCompiler, **kw: Any) -> str:
    if uses_duration_key_function(compiler.dialect):
        return f"{DURATION_KEY_FUNCTION}({compiler.process(element.clause_expr, **kw)[1:-1]})"
    duration, started, completed = (compiler.process(c, **kw) for c in element.clauses)
    # gw_duration_key's body (db/functions.sql), word for word: infinite timestamps have no
    # duration, and the seconds are clamped to an integer.
    seconds = f"trunc(EXTRACT(EPOCH FROM ({completed} - {started})))"
    return (
        f"COALESCE({duration}, CASE WHEN isfinite({started}) AND isfinite({completed}) THEN "
        f"CAST(LEAST(GREATEST({seconds}, -2147483648), 2147483647) AS integer) END, -1)"
    )


# Registered on every SQLite connection (see db/engine.py): ``period_start`` below.
SQLITE_PERIOD_FUNCTION = "gw_period_start"
PERIODS = ("day", "week", "month")


def period_start(instant: str | None, zone: str | None, period: str | None) -> str | None:
    """The first local day, ``YYYY-MM-DD``, of the ``period`` holding ``instant`` (stored text) in ``zone``.

    A ``period`` is a ``day``, a ``week`` (ISO: from Monday) or a ``month``. SQLite has no time
    zone database: this is its ``PeriodStart``, run per row, with Python's. Exact for every
    offset a zone ever had (half and quarter hours, local mean time, DST both ways).
    """
    if instant is None or zone is None or period is None:
        return None
    day = datetime.fromisoformat(instant).astimezone(ZoneInfo(zone)).date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    elif period != "day":
        raise ValueError(f"unknown period {period!r}")
    return day.isoformat()


class PeriodStart(FunctionElement[str]):
    """``YYYY-MM-DD``: the first local day of the period holding an instant, in a time zone.

    Arguments: the instant (a ``Timestamp``), the IANA zone name and the period (one of
    ``PERIODS``), the last two bound as parameters: one statement text for every zone and period.
    """

    type = Text()
    inherit_cache = True
    name = "period_start"


@compiles(PeriodStart, "sqlite")
def _period_start_sqlite(element: PeriodStart, compiler: SQLCompiler, **kw: Any) -> str:
    instant, zone, period = (compiler.process(c, **kw) for c in element.clauses)
    return f"{SQLITE_PERIOD_FUNCTION}({instant}, {zone}, {period})"


@compiles(PeriodStart, "postgresql")
def _period_start_pg(element: PeriodStart, compiler: SQLCompiler, **kw: Any) -> str:
    instant, zone, period = (compiler.process(c, **kw) for c in element.clauses)
    # date_trunc's weeks start on Monday (ISO), as Python's weekday() counts them.
    return f"to_char(date_trunc({period}, {instant} AT TIME ZONE {zone}), 'YYYY-MM-DD')"


class CodePointOrder(FunctionElement[str]):
    """Text ordered by code point, as Python orders ``str``: the same on every backend.

    SQLite's default collation (BINARY) already does; PostgreSQL's follows the database's locale
    unless told ``COLLATE "C"`` (byte order of UTF-8, which is code-point order).
    """

    type = Text()
    inherit_cache = True
    name = "code_point_order"


@compiles(CodePointOrder)
def _code_point_order(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = element.clauses
    return compiler.process(value, **kw)


@compiles(CodePointOrder, "postgresql")
def _code_point_order_pg(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = element.clauses
    return f'({compiler.process(value, **kw)} COLLATE "C")'
