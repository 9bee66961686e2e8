"""``sessionsReport(filter:)``: whole answers against plain Python over the dataset, and its SQL budget."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from sessions_gateway.db.queries import ReportPart, ReportTotals
from tests import factories as f
from tests import oracle
from tests.conftest import ANSWER_EXTENSIONS, both_paths, load, recording
from tests.dataset import DATA, Dataset
from tests.helpers import Between, gql, post

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import httpx

REPORT = """
query ($filter: SessionFilter) {
  sessionsReport(filter: $filter) {
    totalCount
    byStatus { status count }
    byRole { role count }
    averageScore
    totalDurationSeconds
    procedureCount
  }
}
"""
STATUSES = ("COMPLETED", "IN_PROGRESS", "FAILED")
ROLES = ("TRAINER", "TRAINEE")


def duration_at(s: dict[str, Any], now: datetime) -> int | None:
    """``Session.durationSeconds`` per the contract, for a request made at ``now``."""
    if s["duration_seconds"] is not None:
        return int(s["duration_seconds"])
    if s["completed_at"] is not None:
        return int((s["completed_at"] - s["started_at"]) // timedelta(seconds=1))
    if s["status"] == "in_progress":
        return max(0, int((now - s["started_at"]) // timedelta(seconds=1)))
    return None


def expected_report(tenant_id: str, flt: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    rows = [s for s in DATA.live_sessions(tenant_id) if oracle.matches(s, flt or {})]
    ids = {s["id"] for s in rows}
    scores = [x["score"] for x in DATA.session_summaries if x["session_id"] in ids and x["score"] is not None]
    durations = [d for s in rows if (d := duration_at(s, now)) is not None]
    return {
        "totalCount": len(rows),
        "byStatus": [{"status": st, "count": sum(s["status"] == st.lower() for s in rows)} for st in STATUSES],
        "byRole": [{"role": r, "count": sum(s["role"] == r.lower() for s in rows)} for r in ROLES],
        "averageScore": pytest.approx(sum(scores) / len(scores), rel=1e-12) if scores else None,
        "totalDurationSeconds": sum(durations),
        "procedureCount": sum(p["session_id"] in ids for p in DATA.procedures),
    }


async def report(
    client: httpx.AsyncClient, flt: dict[str, Any] | None, tenant: str = "alpha"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report, and what it should be: totalDurationSeconds bounded by the clock around the request."""
    before = datetime.now(UTC)
    data = await gql(client, REPORT, {"filter": flt}, tenant=tenant)
    after = datetime.now(UTC)
    low = expected_report(tenant, flt, before)
    high = expected_report(tenant, flt, after)
    low_total, high_total = low.pop("totalDurationSeconds"), high.pop("totalDurationSeconds")
    assert low == high  # only elapsed time may differ between the two clocks
    return data["sessionsReport"], low | {"totalDurationSeconds": Between(low_total, high_total)}


def has_in_progress(tenant_id: str, flt: dict[str, Any] | None) -> bool:
    """Whether a matching session is running without a recorded duration (its elapsed time counts)."""
    return any(
        s["status"] == "in_progress" and s["duration_seconds"] is None
        for s in DATA.live_sessions(tenant_id)
        if oracle.matches(s, flt or {})
    )


@pytest.mark.parametrize(
    ("tenant", "flt"),
    [
        ("alpha", None),
        ("alpha", {}),
        ("alpha", {"status": "IN_PROGRESS"}),
        ("alpha", {"userId": "a-zoe"}),
        ("alpha", {"search": "DRILL 1"}),
        ("beta", None),
        ("beta", {"role": "TRAINEE"}),
    ],
)
async def test_report_with_in_progress_sessions(
    client: httpx.AsyncClient, tenant: str, flt: dict[str, Any] | None
) -> None:
    assert has_in_progress(tenant, flt)  # the elapsed time of running sessions is part of the total
    actual, expected = await report(client, flt, tenant)
    assert actual == expected


@pytest.mark.parametrize(
    ("tenant", "flt"),
    [
        ("alpha", {"status": "COMPLETED"}),
        ("alpha", {"status": "FAILED"}),
        ("alpha", {"role": "TRAINER"}),
        ("alpha", {"status": "COMPLETED", "role": "TRAINEE"}),
        ("alpha", {"startedBefore": "2026-10-01T14:00:00+00:00", "status": "FAILED"}),
        # In-progress sessions with a recorded duration (a-g06: 300, a-g18: 0, a-g30: 300) count that.
        ("alpha", {"taskSource": "jobber"}),
        ("alpha", {"search": "boiler"}),
        ("beta", {"status": "COMPLETED"}),
    ],
)
async def test_report_exact_without_running_sessions(
    client: httpx.AsyncClient, tenant: str, flt: dict[str, Any]
) -> None:
    assert not has_in_progress(tenant, flt)
    data = await gql(client, REPORT, {"filter": flt}, tenant=tenant)
    assert data["sessionsReport"] == expected_report(tenant, flt, datetime.now(UTC))


@pytest.mark.parametrize(
    "flt",
    [
        {"startedAfter": "2030-01-01T00:00:00+00:00"},
        {"search": "no session is called this"},
        {"userId": "b-ann"},  # beta's user: nothing of alpha's
        {"taskSource": "servicem8", "status": "FAILED"},
    ],
)
async def test_report_matching_nothing(client: httpx.AsyncClient, flt: dict[str, Any]) -> None:
    data = await gql(client, REPORT, {"filter": flt})
    assert data["sessionsReport"] == {
        "totalCount": 0,
        "byStatus": [
            {"status": "COMPLETED", "count": 0},
            {"status": "IN_PROGRESS", "count": 0},
            {"status": "FAILED", "count": 0},
        ],
        "byRole": [{"role": "TRAINER", "count": 0}, {"role": "TRAINEE", "count": 0}],
        "averageScore": None,
        "totalDurationSeconds": 0,
        "procedureCount": 0,
    }


async def test_report_by_hand_completed(client: httpx.AsyncClient) -> None:
    """The hand-made completed sessions: a-01, a-02, a-05, a-08, a-09, a-10 (a-06 is erased)."""
    flt = {"status": "COMPLETED", "startedAfter": "2026-11-01T00:00:00+00:00"}
    data = await gql(client, REPORT, {"filter": flt})
    assert data["sessionsReport"] == {
        "totalCount": 6,
        "byStatus": [
            {"status": "COMPLETED", "count": 6},
            {"status": "IN_PROGRESS", "count": 0},
            {"status": "FAILED", "count": 0},
        ],
        "byRole": [{"role": "TRAINER", "count": 2}, {"role": "TRAINEE", "count": 4}],
        # a-01's 87 only: a-02's summary row has no score, a-06 (100) is erased.
        "averageScore": 87.0,
        # 3500 (recorded, not 3600) + 1800 (1800.9 truncated) + 0 + 841 + 1200 + 2700
        "totalDurationSeconds": 10041,
        # a-01: 3, a-02: 1; a-06's is erased
        "procedureCount": 4,
    }


async def test_report_by_hand_failed(client: httpx.AsyncClient) -> None:
    """a-03 (no end: no duration; score 40) and a-07 (600 s; a summary without a score; 2 procedures)."""
    flt = {"status": "FAILED", "startedAfter": "2026-11-01T00:00:00+00:00"}
    data = await gql(client, REPORT, {"filter": flt})
    assert data["sessionsReport"] == {
        "totalCount": 2,
        "byStatus": [
            {"status": "COMPLETED", "count": 0},
            {"status": "IN_PROGRESS", "count": 0},
            {"status": "FAILED", "count": 2},
        ],
        "byRole": [{"role": "TRAINER", "count": 0}, {"role": "TRAINEE", "count": 2}],
        "averageScore": 40.0,
        "totalDurationSeconds": 600,
        "procedureCount": 2,
    }


async def test_report_by_hand_beta_trainers(client: httpx.AsyncClient) -> None:
    """Beta's trainers: b-01 and the odd generated ones; alpha's look-alike a-01 is not counted."""
    flt = {"role": "TRAINER", "startedAfter": "2026-11-01T00:00:00+00:00"}
    data = await gql(client, REPORT, {"filter": flt}, tenant="beta")
    assert data["sessionsReport"] == {
        "totalCount": 1,
        "byStatus": [
            {"status": "COMPLETED", "count": 1},
            {"status": "IN_PROGRESS", "count": 0},
            {"status": "FAILED", "count": 0},
        ],
        "byRole": [{"role": "TRAINER", "count": 1}, {"role": "TRAINEE", "count": 0}],
        "averageScore": 10.0,
        "totalDurationSeconds": 3500,
        "procedureCount": 1,
    }


async def test_report_by_hand_with_offset_bounds(client: httpx.AsyncClient) -> None:
    """Bounds in +02:00: from 09:30 UTC inclusive (a-01, a-02) to a-04's start at 08:00 UTC exclusive."""
    flt = {"startedAfter": "2026-11-20T11:30:00+02:00", "startedBefore": "2026-11-24T10:00:00+02:00"}
    data = await gql(client, REPORT, {"filter": flt})
    assert data["sessionsReport"] == {
        "totalCount": 2,
        "byStatus": [
            {"status": "COMPLETED", "count": 2},
            {"status": "IN_PROGRESS", "count": 0},
            {"status": "FAILED", "count": 0},
        ],
        "byRole": [{"role": "TRAINER", "count": 1}, {"role": "TRAINEE", "count": 1}],
        "averageScore": 87.0,
        "totalDurationSeconds": 5300,
        "procedureCount": 4,
    }
    assert data["sessionsReport"] == expected_report("alpha", flt, datetime.now(UTC))


async def test_report_in_progress_by_hand(client: httpx.AsyncClient) -> None:
    """a-04 alone: its elapsed time since 2026-11-24T08:00:00+00:00, at the time of the request."""
    flt = {"status": "IN_PROGRESS", "startedAfter": "2026-11-01T00:00:00+00:00"}
    started = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    before = datetime.now(UTC)
    data = await gql(client, REPORT, {"filter": flt})
    after = datetime.now(UTC)
    low = (before - started) // timedelta(seconds=1)
    high = (after - started) // timedelta(seconds=1)
    assert data["sessionsReport"] == {
        "totalCount": 1,
        "byStatus": [
            {"status": "COMPLETED", "count": 0},
            {"status": "IN_PROGRESS", "count": 1},
            {"status": "FAILED", "count": 0},
        ],
        "byRole": [{"role": "TRAINER", "count": 0}, {"role": "TRAINEE", "count": 1}],
        "averageScore": None,
        "totalDurationSeconds": Between(low, high),
        "procedureCount": 0,
    }
    assert low > 86_400


async def test_report_agrees_with_the_sessions_list(client: httpx.AsyncClient) -> None:
    """The report's total and duration sum equal those of the listed sessions, in one request."""
    query = """query ($filter: SessionFilter) {
      sessions(filter: $filter, first: 100) { totalCount edges { node { durationSeconds procedureCount } } }
      sessionsReport(filter: $filter) { totalCount totalDurationSeconds procedureCount }
    }"""
    data = await gql(client, query, {"filter": {"role": "TRAINEE"}})
    nodes = [e["node"] for e in data["sessions"]["edges"]]
    assert data["sessions"]["totalCount"] == len(nodes)  # fits in one page
    assert data["sessionsReport"] == {
        "totalCount": len(nodes),
        # The same request: one clock for the elapsed time of running sessions.
        "totalDurationSeconds": sum(n["durationSeconds"] for n in nodes if n["durationSeconds"] is not None),
        "procedureCount": sum(n["procedureCount"] for n in nodes),
    }


@pytest.mark.parametrize(
    "flt",
    [
        None,
        {"status": "FAILED", "role": "TRAINEE"},
        {"search": "boiler", "taskSource": "jobber", "userId": "a-bob", "startedAfter": "2026-01-01T00:00:00+00:00"},
    ],
)
async def test_report_is_at_most_two_tenant_scoped_statements(
    client: httpx.AsyncClient, statements: list[str], flt: dict[str, Any] | None
) -> None:
    data = await gql(client, REPORT, {"filter": flt})
    assert data["sessionsReport"]["byRole"][0]["role"] == "TRAINER"
    assert 1 <= len(statements) <= 2, statements
    for statement in statements:
        assert "tenant_id" in statement, statement


async def test_only_the_selected_aggregates_are_computed(client: httpx.AsyncClient, statements: list[str]) -> None:
    # when: only the count is asked for
    data = await gql(client, "{ sessionsReport { totalCount } }")
    # then: one statement, without the per-row work of the other aggregates
    assert data == {"sessionsReport": {"totalCount": len(oracle.ordered_ids("alpha"))}}
    assert len(statements) == 1
    sql = statements[0].lower()
    assert "avg(" not in sql
    assert "procedures" not in sql
    assert "sum(" not in sql


async def test_aggregates_selected_through_fragments_are_computed(
    client: httpx.AsyncClient, statements: list[str]
) -> None:
    query = """
    query { sessionsReport(filter: {status: FAILED}) { ...Scores ... on SessionsReport { procedureCount } } }
    fragment Scores on SessionsReport { averageScore }
    """
    data = await gql(client, query)
    failed = [s for s in DATA.live_sessions("alpha") if s["status"] == "failed"]
    failed_ids = {s["id"] for s in failed}
    scores = [x["score"] for x in DATA.session_summaries if x["session_id"] in failed_ids and x["score"] is not None]
    assert data == {
        "sessionsReport": {
            "averageScore": sum(scores) / len(scores),
            "procedureCount": sum(1 for p in DATA.procedures if p["session_id"] in failed_ids),
        }
    }
    assert len(statements) == 1
    assert "avg(" in statements[0].lower()


def test_a_part_that_was_not_computed_is_never_answered_with_a_default() -> None:
    totals = ReportTotals(computed=frozenset({ReportPart.BY_ROLE}), total_count=3, by_role={"trainer": 1, "trainee": 2})
    totals.require(ReportPart.BY_ROLE)
    with pytest.raises(LookupError, match="average_score"):
        totals.require(ReportPart.AVERAGE_SCORE)


@pytest.fixture
async def decades_of_training(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients (compiled plans on, then off) over a tenant whose sessions add up to more than an Int."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'long.db'}"
    longest = 2**31 - 1  # the largest duration_seconds the storage contract's integer holds
    await load(
        url,
        Dataset(
            tenants=[f.tenant("alpha")],
            users=[f.user("u-1", "alpha", "Una")],
            sessions=[f.session(f"s-{i}", "alpha", "u-1", duration_seconds=longest) for i in (1, 2)],
        ),
    )
    async with both_paths(url) as clients:
        yield clients


async def test_a_total_duration_beyond_an_int_is_refused_clearly_and_answered_in_hours(
    decades_of_training: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    total = 2 * (2**31 - 1)
    for client in decades_of_training:
        # when: the Int field is asked for
        response = await post(client, "{ sessionsReport { totalCount totalDurationSeconds } }")
        # then: a clear BAD_USER_INPUT that says what to do instead, the same on both paths
        assert response.status_code == 200
        assert response.json() == {
            **ANSWER_EXTENSIONS,
            "data": None,
            "errors": [
                {
                    "message": (
                        f"totalDurationSeconds is {total}, more than a GraphQL Int holds (2147483647): "
                        "select totalDurationHours instead, or narrow the filter."
                    ),
                    "locations": [{"line": 1, "column": 31}],
                    "path": ["sessionsReport", "totalDurationSeconds"],
                    "extensions": {"code": "BAD_USER_INPUT"},
                }
            ],
        }
        # and the hours are there for the asking
        hours = await gql(client, "{ sessionsReport { totalDurationHours } }")
        assert hours == {"sessionsReport": {"totalDurationHours": total / 3600}}


async def test_the_compiled_plan_reports_the_overflow_itself_without_computing_the_report_twice(
    decades_of_training: tuple[httpx.AsyncClient, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    compiled, executor = decades_of_training
    app = compiled._transport.app  # type: ignore[attr-defined]
    with caplog.at_level(logging.DEBUG, logger="gateway.plans"), recording(app) as sent:
        response = await post(compiled, "{ sessionsReport { totalDurationSeconds } }")
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert [r.execution_path for r in caplog.records if hasattr(r, "execution_path")] == ["compiled"]
    assert len(sent) == 1, sent
    # and the executor answers the same
    assert (await post(executor, "{ sessionsReport { totalDurationSeconds } }")).json() == response.json()
