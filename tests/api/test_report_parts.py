"""``sessionsReport``'s timeline, breakdowns by user and task source, and score deciles.

Whole answers against the oracle (``tests/oracle.py``), by-hand answers around the midnights where
clocks change, the errors, what each part costs in SQL, and the same bytes from compiled plans
and from the executor.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from graphql import parse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sessions_gateway.db.expressions import period_start
from sessions_gateway.resolvers.report import ABBREVIATION_NAMES, MAX_BREAKDOWN_SIZE, time_zone_names
from sessions_gateway.schema.cost import SCAN_COST
from sessions_gateway.schema.limits import Limits, refusals
from tests import factories as f
from tests import oracle
from tests.conftest import both_paths, load, postgres_server_url
from tests.dataset import ALPHA, BETA, DELTA, Dataset
from tests.helpers import WHOLE_REPORT, gql, gql_error, post

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import httpx

TIMELINE = """
query ($filter: SessionFilter, $bucket: TimelinePeriod!, $zone: String!) {
  sessionsReport(filter: $filter) { timeline(bucket: $bucket, timeZone: $zone) { start count completed averageScore } }
}
"""
BREAKDOWNS = """
query ($filter: SessionFilter, $first: Int!) {
  sessionsReport(filter: $filter) {
    byUser(first: $first) { user { id displayName } count completed averageScore }
    byTaskSource(first: $first) { source count completed averageScore }
  }
}
"""
DECILES = """
query ($filter: SessionFilter) { sessionsReport(filter: $filter) { scoreDeciles { from to count } } }
"""
ZONES = ["UTC", "Europe/Paris", "America/Santiago", "Atlantic/Azores", "Asia/Kathmandu", "Australia/Lord_Howe"]
FILTERS: list[tuple[str, dict[str, Any] | None]] = [
    (ALPHA, None),
    (ALPHA, {"status": "COMPLETED"}),
    (ALPHA, {"role": "TRAINER", "startedAfter": "2026-10-01T13:00:00+00:00"}),
    (ALPHA, {"search": "drill"}),
    (ALPHA, {"taskSource": "jobber"}),
    (ALPHA, {"userId": "a-zoe"}),
    (BETA, None),
    (DELTA, None),
    (DELTA, {"status": "FAILED"}),
    (DELTA, {"startedBefore": "2026-10-25T00:00:00+02:00"}),
    (DELTA, {"taskSource": "servicem8", "status": "COMPLETED"}),
]
NOTHING = [
    (ALPHA, {"startedAfter": "2030-01-01T00:00:00+00:00"}),
    (ALPHA, {"userId": "d-ann"}),  # delta's user: nothing of alpha's
    (DELTA, {"search": "no session is called this"}),
]


def ids(value: Any) -> str:
    return str(value)


# --------------------------------------------------------------------------------------------
# Against the oracle
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["DAY", "WEEK", "MONTH"])
@pytest.mark.parametrize("zone", ZONES)
async def test_delta_timeline_in_each_zone(client: httpx.AsyncClient, period: str, zone: str) -> None:
    data = await gql(client, TIMELINE, {"bucket": period, "zone": zone}, tenant=DELTA)
    assert data["sessionsReport"]["timeline"] == oracle.timeline(DELTA, None, period, zone)


@pytest.mark.parametrize(("tenant", "flt"), FILTERS, ids=ids)
@pytest.mark.parametrize(("period", "zone"), [("DAY", "Europe/Paris"), ("WEEK", "UTC"), ("MONTH", "Asia/Kathmandu")])
async def test_timeline_with_filters(
    client: httpx.AsyncClient, tenant: str, flt: dict[str, Any] | None, period: str, zone: str
) -> None:
    variables = {"filter": flt, "bucket": period, "zone": zone}
    data = await gql(client, TIMELINE, variables, tenant=tenant)
    assert data["sessionsReport"]["timeline"] == oracle.timeline(tenant, flt, period, zone)


async def test_the_timeline_zone_defaults_to_utc(client: httpx.AsyncClient) -> None:
    data = await gql(client, "{ sessionsReport { timeline(bucket: DAY) { start count } } }", tenant=DELTA)
    expected = [{"start": b["start"], "count": b["count"]} for b in oracle.timeline(DELTA, None, "DAY", "UTC")]
    assert data["sessionsReport"]["timeline"] == expected


@pytest.mark.parametrize(("tenant", "flt"), FILTERS, ids=ids)
@pytest.mark.parametrize("first", [100, 2, 1, 0])
async def test_breakdowns(client: httpx.AsyncClient, tenant: str, flt: dict[str, Any] | None, first: int) -> None:
    data = await gql(client, BREAKDOWNS, {"filter": flt, "first": first}, tenant=tenant)
    assert data["sessionsReport"] == {
        "byUser": oracle.by_user(tenant, flt, first),
        "byTaskSource": oracle.by_task_source(tenant, flt, first),
    }


@pytest.mark.parametrize(("tenant", "flt"), FILTERS, ids=ids)
async def test_score_deciles(client: httpx.AsyncClient, tenant: str, flt: dict[str, Any] | None) -> None:
    data = await gql(client, DECILES, {"filter": flt}, tenant=tenant)
    assert data["sessionsReport"]["scoreDeciles"] == oracle.score_deciles(tenant, flt)


@pytest.mark.parametrize(("tenant", "flt"), NOTHING, ids=ids)
async def test_a_report_matching_nothing(client: httpx.AsyncClient, tenant: str, flt: dict[str, Any]) -> None:
    data = await gql(client, WHOLE_REPORT, {"filter": flt}, tenant=tenant)
    report = data["sessionsReport"]
    assert report["timeline"] == []
    assert report["byUser"] == []
    assert report["byTaskSource"] == []
    assert report["scoreDeciles"] == [
        {"from": low, "to": low + 9 + (low == 90), "count": 0} for low in range(0, 100, 10)
    ]


async def test_every_part_at_once_agrees_with_its_own_query_and_the_totals(client: httpx.AsyncClient) -> None:
    data = await gql(client, WHOLE_REPORT, {"filter": None}, tenant=DELTA)
    report = data["sessionsReport"]
    assert report["timeline"] == oracle.timeline(DELTA, None, "WEEK", "Europe/Paris")
    assert report["byUser"] == oracle.by_user(DELTA, None)
    assert report["byTaskSource"] == oracle.by_task_source(DELTA, None)
    assert report["scoreDeciles"] == oracle.score_deciles(DELTA, None)
    for part in ("timeline", "byUser", "byTaskSource"):
        assert sum(entry["count"] for entry in report[part]) == report["totalCount"], part
        completed = next(s["count"] for s in report["byStatus"] if s["status"] == "COMPLETED")
        assert sum(entry["completed"] for entry in report[part]) == completed, part


# --------------------------------------------------------------------------------------------
# By hand: the midnights where clocks change
# --------------------------------------------------------------------------------------------


async def timeline(client: httpx.AsyncClient, period: str, zone: str, flt: dict[str, Any]) -> list[tuple[str, int]]:
    """(start, count) of each bucket of delta's timeline."""
    query = """query ($filter: SessionFilter, $bucket: TimelinePeriod!, $zone: String!) {
      sessionsReport(filter: $filter) { timeline(bucket: $bucket, timeZone: $zone) { start count } } }"""
    data = await gql(client, query, {"filter": flt, "bucket": period, "zone": zone}, tenant=DELTA)
    return [(b["start"], b["count"]) for b in data["sessionsReport"]["timeline"]]


def around(start: str, end: str) -> dict[str, str]:
    return {"startedAfter": start, "startedBefore": end}


async def test_paris_falls_back_a_25_hour_day(client: httpx.AsyncClient) -> None:
    flt = around("2026-10-24T00:00:00+00:00", "2026-10-27T00:00:00+00:00")
    assert await timeline(client, "DAY", "Europe/Paris", flt) == [
        ("2026-10-23T22:00:00+00:00", 1),  # d-07 at 23:59:59 CEST
        # d-08 at 00:00 CEST, d-23 and d-24, d-09 at 02:30 CEST, d-25 and d-10 at 02:30 CET, d-11 at 23:59:59 CET
        ("2026-10-24T22:00:00+00:00", 7),
        ("2026-10-25T23:00:00+00:00", 1),  # d-12, Monday at 00:00 CET
    ]
    # the same sessions by UTC day
    assert await timeline(client, "DAY", "UTC", flt) == [
        ("2026-10-24T00:00:00+00:00", 3),
        ("2026-10-25T00:00:00+00:00", 6),
    ]
    # weeks from Monday: the week of 19 October began at 00:00 CEST, the next at 00:00 CET
    assert await timeline(client, "WEEK", "Europe/Paris", flt) == [
        ("2026-10-18T22:00:00+00:00", 8),
        ("2026-10-25T23:00:00+00:00", 1),
    ]


async def test_paris_springs_forward_a_23_hour_day(client: httpx.AsyncClient) -> None:
    flt = around("2026-03-28T00:00:00+00:00", "2026-03-31T00:00:00+00:00")
    assert await timeline(client, "DAY", "Europe/Paris", flt) == [
        ("2026-03-27T23:00:00+00:00", 2),  # d-01, and d-32 a microsecond before midnight
        ("2026-03-28T23:00:00+00:00", 4),  # d-02 at 00:00 CET .. d-05 at 23:59:59 CEST
        ("2026-03-29T22:00:00+00:00", 1),  # d-06, Monday at 00:00 CEST
    ]


async def test_paris_months_begin_at_its_midnight(client: httpx.AsyncClient) -> None:
    flt = around("2026-10-31T00:00:00+00:00", "2026-11-01T00:00:00+00:00")
    assert await timeline(client, "MONTH", "Europe/Paris", flt) == [
        ("2026-09-30T22:00:00+00:00", 1),  # d-14 on 31 October, 23:59 CET
        ("2026-10-31T23:00:00+00:00", 1),  # d-15 on 1 November, 00:00 CET
    ]
    assert await timeline(client, "MONTH", "UTC", flt) == [("2026-10-01T00:00:00+00:00", 2)]


async def test_iso_weeks_span_the_new_year(client: httpx.AsyncClient) -> None:
    flt = around("2026-12-20T00:00:00+00:00", "2027-01-10T00:00:00+00:00")
    # d-17 started on Sunday 27 December in UTC, Monday 28 December in Paris; d-16 on Friday 1 January
    assert await timeline(client, "WEEK", "Europe/Paris", flt) == [("2026-12-27T23:00:00+00:00", 2)]
    assert await timeline(client, "WEEK", "UTC", flt) == [
        ("2026-12-21T00:00:00+00:00", 1),
        ("2026-12-28T00:00:00+00:00", 1),
    ]


async def test_a_day_whose_midnight_is_skipped_begins_when_the_gap_ends(client: httpx.AsyncClient) -> None:
    """Santiago: 2026-09-06 has no 00:00 (00:00 -04 is 01:00 -03), so it begins at 01:00 -03."""
    flt = around("2026-09-05T00:00:00+00:00", "2026-09-07T00:00:00+00:00")
    assert await timeline(client, "DAY", "America/Santiago", flt) == [
        ("2026-09-05T04:00:00+00:00", 1),  # d-18 at 23:59:59 -04
        ("2026-09-06T04:00:00+00:00", 1),  # d-19 at 01:00 -03
    ]


async def test_a_day_with_two_midnights_begins_at_the_first(client: httpx.AsyncClient) -> None:
    """The Azores: 2026-10-25 00:00 happens at 00:00 UTC (+00) and again at 01:00 UTC (-01)."""
    flt = around("2026-10-24T23:00:00+00:00", "2026-10-25T01:30:00+00:00")
    assert await timeline(client, "DAY", "Atlantic/Azores", flt) == [
        ("2026-10-24T00:00:00+00:00", 1),  # d-23 at 23:59:59 +00
        ("2026-10-25T00:00:00+00:00", 3),  # d-24 and d-25 at either midnight, d-09 at 00:30 +00 between them
    ]


async def test_santiago_repeats_an_hour_of_the_evening_before(client: httpx.AsyncClient) -> None:
    flt = around("2026-04-04T00:00:00+00:00", "2026-04-06T00:00:00+00:00")
    assert await timeline(client, "DAY", "America/Santiago", flt) == [
        ("2026-04-04T03:00:00+00:00", 2),  # d-20 at 23:30 -03, d-21 at 23:30 -04
        ("2026-04-05T04:00:00+00:00", 1),  # d-22 at 00:00 -04
    ]


async def test_offsets_of_quarter_and_half_hours_and_seconds(client: httpx.AsyncClient) -> None:
    kathmandu = around("2026-10-01T00:00:00+00:00", "2026-10-02T00:00:00+00:00")
    assert await timeline(client, "DAY", "Asia/Kathmandu", kathmandu) == [
        ("2026-09-30T18:15:00+00:00", 1),  # d-26 at 23:59:59 +05:45
        ("2026-10-01T18:15:00+00:00", 1),  # d-27 at 00:00 +05:45
    ]
    lord_howe = around("2026-10-03T00:00:00+00:00", "2026-10-04T00:00:00+00:00")
    assert await timeline(client, "DAY", "Australia/Lord_Howe", lord_howe) == [
        ("2026-10-02T13:30:00+00:00", 1),  # d-30 at 23:59:59 +10:30
        ("2026-10-03T13:30:00+00:00", 1),  # d-31 at 00:00 +10:30
    ]
    paris_mean_time = around("1900-01-01T00:00:00+00:00", "1901-01-01T00:00:00+00:00")
    assert await timeline(client, "DAY", "Europe/Paris", paris_mean_time) == [
        ("1900-05-31T23:50:39+00:00", 1),  # d-29 at 23:59:59 PMT
        ("1900-06-01T23:50:39+00:00", 1),  # d-28 at 00:04:21 PMT
    ]


async def test_buckets_by_hand_with_completions_and_scores(client: httpx.AsyncClient) -> None:
    query = """{ sessionsReport(filter: {startedAfter: "2026-03-28T00:00:00+00:00",
                                         startedBefore: "2026-03-31T00:00:00+00:00"}) {
      timeline(bucket: DAY, timeZone: "Europe/Paris") { start count completed averageScore } } }"""
    data = await gql(client, query, tenant=DELTA)
    assert data["sessionsReport"]["timeline"] == [
        # d-01 (completed, 0) and d-32 (completed, no summary)
        {"start": "2026-03-27T23:00:00+00:00", "count": 2, "completed": 2, "averageScore": 0.0},
        # d-02 (completed, 9), d-03 (failed, 10), d-04 (completed, a summary without a score), d-05 (completed)
        {"start": "2026-03-28T23:00:00+00:00", "count": 4, "completed": 3, "averageScore": 9.5},
        # d-06 (failed, 100)
        {"start": "2026-03-29T22:00:00+00:00", "count": 1, "completed": 0, "averageScore": 100.0},
    ]


async def test_breakdowns_and_deciles_by_hand(client: httpx.AsyncClient) -> None:
    flt = {"startedAfter": "2026-10-24T00:00:00+00:00", "startedBefore": "2026-10-26T00:00:00+00:00"}
    query = """query ($filter: SessionFilter) { sessionsReport(filter: $filter) {
      byUser { user { id } count completed averageScore }
      byTaskSource { source count completed averageScore }
      scoreDeciles { from to count } } }"""
    data = await gql(client, query, {"filter": flt}, tenant=DELTA)
    # d-07 cy j 55, d-08 ann - 89, d-09 Bob z 90 failed, d-10 ann j 99, d-11 cy s 100, d-23 cy j 65,
    # d-24 ann -, d-25 Bob -, d-12 Bob - 45 (in progress); d-13 (ann, 100) is erased
    assert data["sessionsReport"] == {
        "byUser": [
            {"user": {"id": "d-Bob"}, "count": 3, "completed": 1, "averageScore": 67.5},  # ties by id: "B" < "a"
            {"user": {"id": "d-ann"}, "count": 3, "completed": 3, "averageScore": 94.0},
            {"user": {"id": "d-cy"}, "count": 3, "completed": 3, "averageScore": 220 / 3},
        ],
        "byTaskSource": [
            {"source": None, "count": 4, "completed": 3, "averageScore": 67.0},
            {"source": "jobber", "count": 3, "completed": 3, "averageScore": 73.0},
            {"source": "servicem8", "count": 1, "completed": 1, "averageScore": 100.0},
            {"source": "zoho", "count": 1, "completed": 0, "averageScore": 90.0},
        ],
        "scoreDeciles": [
            *({"from": low, "to": low + 9, "count": 0} for low in (0, 10, 20, 30)),
            {"from": 40, "to": 49, "count": 1},
            {"from": 50, "to": 59, "count": 1},
            {"from": 60, "to": 69, "count": 1},
            {"from": 70, "to": 79, "count": 0},
            {"from": 80, "to": 89, "count": 1},
            {"from": 90, "to": 100, "count": 3},  # 90, 99 and 100
        ],
    }


async def test_users_without_sessions_and_a_source_without_tasks_are_not_listed(client: httpx.AsyncClient) -> None:
    data = await gql(client, "{ sessionsReport { byUser { user { id } } } }", tenant=DELTA)
    assert "d-dee" not in {entry["user"]["id"] for entry in data["sessionsReport"]["byUser"]}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

TIME_ZONE_ERROR = "timeZone: not an IANA time zone name, e.g. Europe/Paris or UTC (exact spelling)."


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("Mars/Olympus", TIME_ZONE_ERROR),
        ("europe/paris", TIME_ZONE_ERROR),
        ("", TIME_ZONE_ERROR),
        ("UTC+3", TIME_ZONE_ERROR),  # a POSIX rule PostgreSQL would read backwards
        ("+02:00", TIME_ZONE_ERROR),
        ("localtime", TIME_ZONE_ERROR),  # the server's own zone
        ("../../etc/passwd", TIME_ZONE_ERROR),
        ("Europe/Paris\x00", TIME_ZONE_ERROR),
        ("x" * 10_000, TIME_ZONE_ERROR),
        ("CET", "timeZone: CET is ambiguous; name a place instead, e.g. Europe/Paris."),
        ("EST", "timeZone: EST is ambiguous; name a place instead, e.g. Europe/Paris."),
    ],
)
async def test_a_time_zone_that_is_not_an_iana_name_is_bad_user_input(
    client: httpx.AsyncClient, executor_client: httpx.AsyncClient, statements: list[str], zone: str, message: str
) -> None:
    for http in (client, executor_client):
        code, body = await gql_error(http, TIMELINE, {"bucket": "DAY", "zone": zone})
        assert code == "BAD_USER_INPUT"
        assert body["errors"][0]["message"] == message
        assert body["errors"][0]["path"] == ["sessionsReport", "timeline"]
        assert body["data"] is None
    assert not [s for s in statements if "period_start" in s or "AT TIME ZONE" in s], statements


@pytest.mark.parametrize("first", [-1, MAX_BREAKDOWN_SIZE + 1, 2**31 - 1])
@pytest.mark.parametrize("field", ["byUser", "byTaskSource"])
async def test_a_breakdown_size_out_of_range_is_bad_user_input(
    client: httpx.AsyncClient, executor_client: httpx.AsyncClient, field: str, first: int
) -> None:
    query = f"query ($first: Int!) {{ sessionsReport {{ {field}(first: $first) {{ count }} }} }}"
    for http in (client, executor_client):
        code, body = await gql_error(http, query, {"first": first})
        assert code == "BAD_USER_INPUT"
        assert body["errors"][0]["message"] == f"{field}: first must be between 0 and 500, got {first}."


async def test_a_timeline_of_more_buckets_than_allowed_is_refused(
    client: httpx.AsyncClient, executor_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = len(oracle.timeline(DELTA, None, "DAY", "UTC"))
    weeks = len(oracle.timeline(DELTA, None, "WEEK", "UTC"))
    assert weeks < days
    monkeypatch.setattr("sessions_gateway.resolvers.report.MAX_TIMELINE_BUCKETS", weeks)
    query = "{ sessionsReport { totalCount timeline(bucket: %s) { count } } }"
    for http in (client, executor_client):
        # when: a bucket more than allowed
        code, body = await gql_error(http, query % "DAY", tenant=DELTA)
        # then
        assert code == "BAD_USER_INPUT"
        assert body["data"] is None
        assert body["errors"][0]["message"] == (
            f"timeline: the sessions fall in more than {weeks} buckets of a day: choose a longer bucket, "
            "or narrow filter.startedAfter/startedBefore."
        )
        # and as many as allowed answer
        data = await gql(http, query % "WEEK", tenant=DELTA)
        assert len(data["sessionsReport"]["timeline"]) == weeks


def test_accepted_time_zones_leave_out_abbreviations_and_the_machines_own() -> None:
    names = time_zone_names()
    assert {"UTC", "Europe/Paris", "America/Santiago", "Etc/GMT+3", "GMT", "EST5EDT"} <= names
    assert not (ABBREVIATION_NAMES | {"localtime", "posixrules", "Factory"}) & names


@pytest.mark.parametrize(
    ("instant", "zone", "period", "expected"),
    [
        ("2026-10-24T22:00:00+00:00", "Europe/Paris", "day", "2026-10-25"),
        ("2026-10-24T21:59:59.999999+00:00", "Europe/Paris", "day", "2026-10-24"),
        ("2027-01-01T10:00:00+00:00", "UTC", "week", "2026-12-28"),
        ("2026-10-31T23:00:00+00:00", "Europe/Paris", "month", "2026-11-01"),
        (None, "UTC", "day", None),
    ],
)
def test_sqlite_period_start(instant: str | None, zone: str, period: str, expected: str | None) -> None:
    assert period_start(instant, zone, period) == expected


# --------------------------------------------------------------------------------------------
# Both backends read every accepted zone alike
# --------------------------------------------------------------------------------------------


async def test_postgresql_and_python_agree_on_every_accepted_zone(backend: str) -> None:
    """Every name ``timeZone`` accepts gives PostgreSQL's local date of an instant, as Python's does.

    The names refused as abbreviations are why: PostgreSQL reads them as fixed offsets.
    """
    if backend != "postgresql":
        pytest.skip("PostgreSQL's reading of time zone names")
    instants = [
        datetime(year, month, 1, hour, tzinfo=UTC)
        for year in (1900, 1975, 2026, 2045)
        for month in range(1, 13)
        for hour in (0, 11, 23)
    ]
    names = sorted(time_zone_names() | ABBREVIATION_NAMES)
    engine = create_async_engine(postgres_server_url())
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT z, i, to_char(i AT TIME ZONE z, 'YYYY-MM-DD HH24:MI:SS') "
                    "FROM unnest(CAST(:zones AS text[])) AS z, unnest(CAST(:instants AS timestamptz[])) AS i"
                ),
                {"zones": names, "instants": instants},
            )
            theirs = {(zone, instant): local for zone, instant, local in rows}
    finally:
        await engine.dispose()
    ours = {
        (zone, instant): instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
        for zone in names
        for instant in instants
    }
    disagree = {zone for (zone, instant), local in ours.items() if theirs[zone, instant] != local}
    # Those with summer time differ in any release of the tz database; EST, HST and MST only where
    # it makes them places with a local mean time (2024b on).
    assert {"CET", "EET", "MET", "WET"} <= disagree <= ABBREVIATION_NAMES


# --------------------------------------------------------------------------------------------
# SQL: one statement per part, whatever the data
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "flt"),
    [
        (DELTA, None),
        (ALPHA, None),
        (ALPHA, {"userId": "a-zoe", "status": "IN_PROGRESS"}),
        (ALPHA, {"search": "no session is called this"}),
    ],
    ids=ids,
)
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "executor"])
async def test_every_part_costs_one_statement_whatever_matches(
    client: httpx.AsyncClient,
    executor_client: httpx.AsyncClient,
    statements: list[str],
    executor_statements: list[str],
    compiled: bool,  # noqa: FBT001
    tenant: str,
    flt: dict[str, Any] | None,
) -> None:
    http, sent = (client, statements) if compiled else (executor_client, executor_statements)
    # when
    data = await gql(http, WHOLE_REPORT, {"filter": flt}, tenant=tenant)
    # then: the aggregates, the deciles, the timeline, byUser, its users (none when no session matches) and
    # byTaskSource
    users = 1 if data["sessionsReport"]["byUser"] else 0
    assert len(sent) == 5 + users, sent
    assert all("tenant_id" in s for s in sent), sent


async def test_the_statements_do_not_grow_with_the_users_or_buckets_listed(
    client: httpx.AsyncClient, statements: list[str]
) -> None:
    counts = []
    for first in (1, 2, 100):
        statements.clear()
        query = f"""{{ sessionsReport {{ byUser(first: {first}) {{ user {{ displayName }} }}
                   timeline(bucket: DAY, timeZone: "Europe/Paris") {{ start }} }} }}"""
        await gql(client, query, tenant=DELTA)
        counts.append(len(statements))
    assert counts == [3, 3, 3]  # byUser, its users, the timeline: no aggregate the selection does not need


@pytest.mark.parametrize(
    ("selection", "present", "absent"),
    [
        ("timeline(bucket: DAY) { count }", ["group by"], ["avg(", "decile", "procedures", "tasks"]),
        ("byUser { count }", ["group by", "user_id"], ["avg(", "decile", "procedures", "users"]),
        ("byTaskSource { source }", ["group by", "linked_task"], ["avg(", "decile", "procedures"]),
        ("scoreDeciles { count }", ["group by", "session_summaries"], ["avg(", "procedures", "tasks"]),
        ("totalCount", ["count("], ["group by", "session_summaries", "procedures"]),
    ],
)
async def test_each_part_is_computed_only_when_selected(
    client: httpx.AsyncClient, statements: list[str], selection: str, present: list[str], absent: list[str]
) -> None:
    await gql(client, f"{{ sessionsReport {{ {selection} }} }}")
    assert len(statements) == 1, statements
    sql = statements[0].lower()
    assert all(word in sql for word in present), sql
    assert not [word for word in absent if word in sql], sql


async def test_a_breakdown_of_no_entries_reads_nothing(client: httpx.AsyncClient, statements: list[str]) -> None:
    data = await gql(client, "{ sessionsReport { byUser(first: 0) { count } byTaskSource(first: 0) { count } } }")
    assert data == {"sessionsReport": {"byUser": [], "byTaskSource": []}}
    assert statements == []


# --------------------------------------------------------------------------------------------
# The cost limit counts each part at its most entries, and each of its statements as a scan
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ("{ sessionsReport { timeline(bucket: DAY) { count } } }", 1 + 1000 + SCAN_COST),
        ("{ sessionsReport { scoreDeciles { count } } }", 1 + 10 + SCAN_COST),
        ("{ sessionsReport { byUser { user { id } count } } }", 1 + 100 * 2 + SCAN_COST),
        (
            "{ sessionsReport { byUser(first: 7) { count } byTaskSource(first: 3) { count } } }",
            1 + 7 + 3 + 2 * SCAN_COST,
        ),
        ("query ($n: Int!) { sessionsReport { byTaskSource(first: $n) { count } } }", 1 + 500 + SCAN_COST),
    ],
)
def test_the_cost_estimate(query: str, cost: int) -> None:
    def errors(max_cost: int) -> list[str]:
        return [e.message for e in refusals(parse(query), Limits(max_cost=max_cost))]

    assert errors(cost) == []
    assert errors(cost - 1) == [f"Query cost {cost} exceeds the maximum of {cost - 1}: ask for fewer rows or fields."]


# --------------------------------------------------------------------------------------------
# Compiled plans and the executor: the same bytes, errors too
# --------------------------------------------------------------------------------------------


async def same_answer(compiled: httpx.AsyncClient, executor: httpx.AsyncClient, query: str, **kw: Any) -> Any:
    expected = await post(executor, query, **kw)
    actual = await post(compiled, query, **kw)
    assert (actual.status_code, actual.content) == (expected.status_code, expected.content)
    return actual.json()


async def test_the_too_many_buckets_error_is_the_executors_on_the_compiled_path(
    client: httpx.AsyncClient, executor_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sessions_gateway.resolvers.report.MAX_TIMELINE_BUCKETS", 2)
    query = """{ sessionsReport { totalCount byUser { count }
                 days: timeline(bucket: DAY) { count } months: timeline(bucket: MONTH) { count } } }"""
    body = await same_answer(client, executor_client, query, tenant=DELTA)
    assert body["errors"][0]["path"] == ["sessionsReport", "days"]


@pytest.fixture
async def decades_of_training(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients (compiled plans on, then off) over a tenant whose sessions add up to more than an Int."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'long.db'}"
    longest = 2**31 - 1
    started = datetime(2026, 3, 29, tzinfo=UTC)
    await load(
        url,
        Dataset(
            tenants=[f.tenant("alpha")],
            users=[f.user("u-1", "alpha", "Una")],
            sessions=[
                f.session(f"s-{i}", "alpha", "u-1", started_at=started + timedelta(days=i), duration_seconds=longest)
                for i in (1, 2)
            ],
        ),
    )
    async with both_paths(url) as clients:
        yield clients


@pytest.mark.parametrize(
    "query",
    [
        # the report's own error, before or after a part that reads
        '{ sessionsReport { timeline(bucket: DAY, timeZone: "Nowhere") { count } totalDurationSeconds } }',
        "{ sessionsReport { totalDurationSeconds byUser(first: -1) { count } } }",
        # two parts in error (after the count is read)
        '{ sessionsReport { totalCount timeline(bucket: DAY, timeZone: "") { count } byUser(first: 501) { count } } }',
        # no error: every part, in hours
        "{ sessionsReport { totalDurationHours timeline(bucket: DAY) { start } byUser { user { displayName } } } }",
    ],
)
async def test_errors_of_several_fields_are_the_executors_on_the_compiled_path(
    decades_of_training: tuple[httpx.AsyncClient, httpx.AsyncClient], query: str
) -> None:
    compiled, executor = decades_of_training
    await same_answer(compiled, executor, query)
