"""The data every test reads: two tenants with look-alike rows, covering each rule of the contract.

Tenant ``alpha`` holds hand-made sessions ``a-01`` .. ``a-10`` (one per rule, described inline) and
40 generated ones ``a-g00`` .. ``a-g39`` with ties in every order key; tenant ``beta`` mirrors part of
it with its own ids, so that a leak across tenants would show. Tenant ``delta`` holds sessions for the
report's timeline: either side of midnights where clocks change (``_delta``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests import factories as f

ALPHA = "alpha"
BETA = "beta"
DELTA = "delta"
T0 = f.T0  # 2026-11-20T09:30:00+00:00


@dataclass
class Dataset:
    tenants: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    recordings: list[dict[str, Any]] = field(default_factory=list)
    procedures: list[dict[str, Any]] = field(default_factory=list)
    session_summaries: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """In foreign-key order."""
        return [
            ("tenants", self.tenants),
            ("users", self.users),
            ("tasks", self.tasks),
            ("sessions", self.sessions),
            ("recordings", self.recordings),
            ("procedures", self.procedures),
            ("session_summaries", self.session_summaries),
        ]

    def live_sessions(self, tenant_id: str) -> list[dict[str, Any]]:
        return [s for s in self.sessions if s["tenant_id"] == tenant_id and s["deleted_at"] is None]

    def session(self, session_id: str) -> dict[str, Any]:
        return next(s for s in self.sessions if s["id"] == session_id)

    def task(self, task_id: str | None) -> dict[str, Any] | None:
        return next((t for t in self.tasks if t["id"] == task_id), None)


def _hand_made(d: Dataset) -> None:
    t = ALPHA
    d.users += [
        f.user("a-ann", t, "Ann Archer", "ann@alpha.example.com"),
        f.user("a-bob", t, "Bob Baker"),
        f.user("a-zoe", t, "Зоя Петрова"),
    ]
    d.tasks += [
        f.task("a-task-jobber", t, source="jobber", external_ref="J-1001", title="Boiler service at 12 Elm St"),
        f.task(
            "a-task-sm8",
            t,
            source="servicem8",
            external_ref="SM8-77",
            title="Проверка котла",
            status="completed",
            url=None,
        ),
        f.task("a-task-blank", t, source="jobber", external_ref="J-1002", title=""),
    ]
    d.sessions += [
        # Everything set; recorded duration (3500) differs from the timestamps (3600): it wins.
        f.session(
            "a-01",
            t,
            "a-ann",
            role="trainer",
            name="Boiler annual service",
            task_id="a-task-jobber",
            seat_id="seat-01",
            completed_at=T0 + timedelta(hours=1),
            duration_seconds=3500,
        ),
        # Empty name: the linked task's title. Same started_at as a-01 (ties break by id).
        # No recorded duration: completed - started, truncated (1800.9 s -> 1800).
        f.session(
            "a-02",
            t,
            "a-bob",
            name="",
            task_id="a-task-sm8",
            completed_at=T0 + timedelta(seconds=1800, microseconds=900_000),
        ),
        # No name, no task: "Session <start in UTC>"; failed without an end: no duration.
        f.session(
            "a-03",
            t,
            "a-bob",
            status="failed",
            name=None,
            started_at=datetime(2026, 11, 19, 14, 5, 30, 250_000, tzinfo=UTC),
            thumbnail_url=None,
        ),
        # In progress: duration is the time elapsed at the request.
        f.session(
            "a-04",
            t,
            "a-zoe",
            status="in_progress",
            name="Проверка вентиляции",
            started_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        ),
        # %, _ and \ are plain characters in search; a recorded duration of zero is a duration.
        f.session(
            "a-05",
            t,
            "a-ann",
            role="trainer",
            name="50% off_sale \\ test",
            started_at=T0 - timedelta(days=1),
            completed_at=T0 - timedelta(days=1),
            duration_seconds=0,
        ),
        # Erased: never shown, never counted, even though it is the newest.
        f.session(
            "a-06",
            t,
            "a-ann",
            name="Erased session",
            started_at=T0 + timedelta(days=1),
            completed_at=T0 + timedelta(days=1, minutes=5),
            deleted_at=T0 + timedelta(days=2),
        ),
        # Failed with an end: completed - started.
        f.session(
            "a-07",
            t,
            "a-bob",
            status="failed",
            name="Gas safety check",
            started_at=T0 - timedelta(days=2),
            completed_at=T0 - timedelta(days=2, minutes=-10),
        ),
        # Empty name and a task whose title is empty: the automatic name.
        f.session(
            "a-08",
            t,
            "a-bob",
            name="",
            task_id="a-task-blank",
            started_at=datetime(2026, 11, 18, 7, 45, 59, tzinfo=UTC),
            completed_at=datetime(2026, 11, 18, 8, 0, tzinfo=UTC),
        ),
        # A ready recording row with nothing to play.
        f.session(
            "a-09",
            t,
            "a-zoe",
            name="Nothing to play",
            started_at=T0 - timedelta(days=3),
            completed_at=T0 - timedelta(days=3, minutes=-20),
            duration_seconds=1200,
        ),
        # Shares a-01's task.
        f.session(
            "a-10",
            t,
            "a-bob",
            name="Boiler service follow-up",
            task_id="a-task-jobber",
            started_at=T0 - timedelta(days=4),
            completed_at=T0 - timedelta(days=4, minutes=-45),
        ),
    ]
    d.recordings += [
        f.recording("a-01", t, storage_key="rec/a-01.mp4"),
        f.recording(
            "a-02",
            t,
            legacy_url="https://legacy.example.com/r/a-02?sig=abc",
            legacy_expires_at=datetime(2099, 1, 1, tzinfo=UTC),
        ),
        f.recording(
            "a-03",
            t,
            legacy_url="https://legacy.example.com/r/a-03?sig=old",
            legacy_expires_at=datetime(2026, 1, 1, tzinfo=UTC),
        ),
        f.recording("a-04", t, state="uploading"),
        # a-05: no row at all (no recording was captured).
        f.recording("a-07", t, storage_key="rec/a-07 take 2.mp4", legacy_url="https://legacy.example.com/r/a-07"),
        f.recording("a-09", t),
        f.recording("a-10", t, legacy_url="https://legacy.example.com/r/a-10"),  # legacy with no expiry
    ]
    d.procedures += [
        # Written out of order: the gateway orders by position.
        f.procedure(
            "a-01-p3", t, "a-01", 3, name="Refill and pressurise", video_url="https://media.example.com/c/3.mp4"
        ),
        f.procedure(
            "a-01-p1",
            t,
            "a-01",
            1,
            name="Isolate the power supply",
            description="Lock off the breaker.",
            video_url="https://media.example.com/c/1.mp4",
        ),
        f.procedure("a-01-p2", t, "a-01", 2, name="Drain the system", description="Vent from the top floor down."),
        f.procedure("a-02-p1", t, "a-02", 1, name="Check gas pressure"),
        f.procedure("a-06-p1", t, "a-06", 1, name="Erased step"),  # of an erased session: never counted
        f.procedure("a-07-p1", t, "a-07", 1, name="Inspect the flue"),
        f.procedure("a-07-p2", t, "a-07", 2, name="Run a combustion analysis"),
    ]
    d.session_summaries += [
        f.summary("a-01", t, score=87, prose="Clean isolation and a tidy finish.", trainer_notes="Ready to solo."),
        f.summary("a-02", t),  # every field null: "not provided"
        f.summary("a-03", t, score=40),
        f.summary("a-06", t, score=100),  # erased: never in the average
        f.summary("a-07", t, prose="Stopped at the flue check."),
    ]


def _generated(d: Dataset, tenant_id: str, prefix: str, count: int, user_ids: list[str], task_id: str) -> None:
    """Sessions with ties in every order key: started_at in threes, durations and ends in fours."""
    base = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    for i in range(count):
        sid = f"{prefix}{i:02d}"
        started = base + timedelta(hours=i // 3)
        status = ("completed", "failed", "in_progress", "completed")[i % 4]
        completed = started + timedelta(minutes=10 * (i // 4 % 3)) if status != "in_progress" and i % 5 else None
        duration = 300 * (i // 4 % 2) if i % 6 == 0 else None
        d.sessions.append(
            f.session(
                sid,
                tenant_id,
                user_ids[i % len(user_ids)],
                role=("trainee", "trainer")[i % 2],
                status=status,
                name=f"Drill {i:02d}" if i % 7 else "",
                task_id=task_id if i % 3 == 0 else None,
                started_at=started,
                completed_at=completed,
                duration_seconds=duration,
                deleted_at=base if i == 13 else None,
            )
        )
        for position in range(1, i % 4 + 1):
            d.procedures.append(f.procedure(f"{sid}-p{position}", tenant_id, sid, position))
        if i % 2 == 0:
            d.session_summaries.append(f.summary(sid, tenant_id, score=50 + i))


def _beta(d: Dataset) -> None:
    t = BETA
    d.users += [f.user("b-ann", t, "Ann Archer"), f.user("b-bob", t, "Bob Baker")]
    d.tasks += [f.task("b-task-jobber", t, source="jobber", external_ref="J-1001", title="Boiler service at 12 Elm St")]
    d.sessions += [
        f.session(
            "b-01",
            t,
            "b-ann",
            role="trainer",
            name="Boiler annual service",
            task_id="b-task-jobber",
            completed_at=T0 + timedelta(hours=1),
            duration_seconds=3500,
        ),
        f.session("b-02", t, "b-bob", name="", task_id="b-task-jobber", completed_at=T0 + timedelta(minutes=30)),
    ]
    d.recordings += [f.recording("b-01", t, storage_key="rec/b-01.mp4")]
    d.procedures += [f.procedure("b-01-p1", t, "b-01", 1, name="Isolate the power supply")]
    d.session_summaries += [f.summary("b-01", t, score=10)]


def _delta(d: Dataset) -> None:
    """Sessions that start on either side of a zone's midnight where its clocks change, for the report's timeline.

    Scores sit on the deciles' edges; tasks of three sources, and sessions without one.
    """
    t = DELTA
    d.users += [
        f.user("d-ann", t, "Ann Delta"),
        f.user("d-Bob", t, "Bob Delta"),  # before "d-ann" in code-point order, after it in most locales
        f.user("d-cy", t, "Cy Delta"),
        f.user("d-dee", t, "Dee Delta"),  # no session
    ]
    d.tasks += [
        f.task("d-task-j", t, source="jobber"),
        f.task("d-task-s", t, source="servicem8"),
        f.task("d-task-z", t, source="zoho"),
    ]
    j, s, z = "d-task-j", "d-task-s", "d-task-z"

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text)

    # (id, user, started_at, status, task, score: None for a summary without one, "-" for no summary)
    rows: list[tuple[str, str, str, str, str | None, int | str | None]] = [
        # Europe/Paris springs forward on 2026-03-29 at 01:00 UTC (02:00 CET -> 03:00 CEST).
        ("d-01", "d-ann", "2026-03-28T22:59:59+00:00", "completed", j, 0),
        ("d-32", "d-Bob", "2026-03-28T22:59:59.999999+00:00", "completed", None, "-"),
        ("d-02", "d-Bob", "2026-03-28T23:00:00+00:00", "completed", None, 9),  # Paris's 29 March begins
        ("d-03", "d-ann", "2026-03-29T00:59:59+00:00", "failed", s, 10),
        ("d-04", "d-cy", "2026-03-29T01:00:00+00:00", "completed", j, None),
        ("d-05", "d-Bob", "2026-03-29T21:59:59+00:00", "completed", None, "-"),
        ("d-06", "d-ann", "2026-03-29T22:00:00+00:00", "failed", s, 100),  # Monday 30 March in Paris
        # ... and falls back on 2026-10-25 at 01:00 UTC (03:00 CEST -> 02:00 CET): a 25-hour day.
        ("d-07", "d-cy", "2026-10-24T21:59:59+00:00", "completed", j, 55),
        ("d-08", "d-ann", "2026-10-24T22:00:00+00:00", "completed", None, 89),
        ("d-09", "d-Bob", "2026-10-25T00:30:00+00:00", "failed", z, 90),  # 02:30 CEST
        ("d-10", "d-ann", "2026-10-25T01:30:00+00:00", "completed", j, 99),  # 02:30 CET, the second time
        ("d-11", "d-cy", "2026-10-25T22:59:59+00:00", "completed", s, 100),
        ("d-12", "d-Bob", "2026-10-25T23:00:00+00:00", "in_progress", None, 45),  # Monday 26 October in Paris
        # October ends at 23:00 UTC in Paris.
        ("d-14", "d-cy", "2026-10-31T22:59:00+00:00", "completed", j, 70),
        ("d-15", "d-ann", "2026-10-31T23:00:00+00:00", "completed", s, 71),
        # ISO weeks across the new year: Monday 2026-12-28 begins at 23:00 UTC the day before in Paris.
        ("d-17", "d-cy", "2026-12-27T23:30:00+00:00", "completed", None, 31),
        ("d-16", "d-Bob", "2027-01-01T10:00:00+00:00", "completed", j, 30),
        # America/Santiago skips its midnight on 2026-09-06 (04:00 UTC: 00:00 -04 -> 01:00 -03) ...
        ("d-18", "d-ann", "2026-09-06T03:59:59+00:00", "completed", None, 20),
        ("d-19", "d-Bob", "2026-09-06T04:00:00+00:00", "completed", z, 21),
        # ... and has 23:00-00:00 of 4 April twice (03:00 UTC: 00:00 -03 -> 23:00 -04).
        ("d-20", "d-cy", "2026-04-05T02:30:00+00:00", "failed", None, "-"),
        ("d-21", "d-ann", "2026-04-05T03:30:00+00:00", "completed", None, "-"),
        ("d-22", "d-Bob", "2026-04-05T04:00:00+00:00", "completed", s, 60),
        # Atlantic/Azores has midnight twice on 2026-10-25 (01:00 UTC: 01:00 +00 -> 00:00 -01).
        ("d-23", "d-cy", "2026-10-24T23:59:59+00:00", "completed", j, 65),
        ("d-24", "d-ann", "2026-10-25T00:00:00+00:00", "completed", None, "-"),
        ("d-25", "d-Bob", "2026-10-25T01:00:00+00:00", "completed", None, "-"),
        # Asia/Kathmandu is 5:45 ahead.
        ("d-26", "d-ann", "2026-10-01T18:14:59+00:00", "completed", None, 80),
        ("d-27", "d-cy", "2026-10-01T18:15:00+00:00", "completed", z, 81),
        # Australia/Lord_Howe (10:30 ahead) moves half an hour on 2026-10-04 at 15:30 UTC.
        ("d-30", "d-cy", "2026-10-03T13:29:59+00:00", "completed", j, "-"),
        ("d-31", "d-ann", "2026-10-03T13:30:00+00:00", "completed", j, "-"),
        # Paris mean time, 9 min 21 s ahead of UTC: 2 June 1900 began at 23:50:39 UTC.
        ("d-29", "d-ann", "1900-06-01T23:50:38+00:00", "completed", None, "-"),
        ("d-28", "d-Bob", "1900-06-01T23:55:00+00:00", "completed", None, 50),
        ("d-33", "d-cy", "2026-06-15T12:00:00+00:00", "completed", None, "-"),
    ]
    for sid, user_id, started, status, task_id, score in rows:
        d.sessions.append(
            f.session(sid, t, user_id, status=status, task_id=task_id, started_at=at(started), name=f"Delta {sid}")
        )
        if score != "-":
            d.session_summaries.append(f.summary(sid, t, score=score))
    # Erased: counted nowhere, though it starts on the 25-hour day.
    d.sessions.append(f.session("d-13", t, "d-ann", started_at=at("2026-10-25T12:00:00+00:00"), deleted_at=T0))
    d.session_summaries.append(f.summary("d-13", t, score=100))


def build() -> Dataset:
    d = Dataset(
        tenants=[f.tenant(ALPHA, "Alpha Heating"), f.tenant(BETA, "Beta Electrical"), f.tenant(DELTA, "Delta Gas")]
    )
    _hand_made(d)
    _beta(d)
    _delta(d)
    _generated(d, ALPHA, "a-g", 40, ["a-ann", "a-bob", "a-zoe"], "a-task-jobber")
    _generated(d, BETA, "b-g", 15, ["b-ann", "b-bob"], "b-task-jobber")
    return d


DATA = build()
