"""Deterministic, realistic generated data for the demo, the benchmarks and manual testing.

Rows are built in Python from a seeded RNG and written in large ``executemany`` batches, one
transaction per batch, with a progress bar. 100,000 sessions take seconds on SQLite.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from tqdm import tqdm

from sessions_gateway.db.tables import procedures, recordings, session_summaries, sessions, tasks, tenants, users

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncEngine

BATCH_ROWS = 5_000
TENANT_NAMES = [
    ("acme", "Acme Heating & Cooling"),
    ("northwind", "Northwind Electrical"),
    ("globex", "Globex Plumbing"),
    ("initech", "Initech Facilities"),
    ("umbrella", "Umbrella Fire & Safety"),
]
FIRST = [
    "Ava",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farah",
    "George",
    "Hana",
    "Ivan",
    "Jade",
    "Kofi",
    "Lena",
    "Marco",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Yusuf",
    "Zoë",
    "Ольга",
    "Дмитрий",
    "José",
    "Søren",
    "Aoife",
]
LAST = [
    "Adams",
    "Brown",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "García",
    "Hughes",
    "Ivanova",
    "Jones",
    "Khan",
    "López",
    "Müller",
    "Nguyen",
    "O'Brien",
    "Patel",
    "Quinn",
    "Rossi",
    "Smith",
    "Tanaka",
    "Ueda",
    "Volkov",
    "Walsh",
    "Xu",
    "Young",
    "Zhang",
]
JOBS = [
    "Boiler annual service",
    "Replace consumer unit",
    "Fit thermostatic radiator valves",
    "Heat pump commissioning",
    "Fire alarm quarterly test",
    "Emergency lighting inspection",
    "Unblock kitchen drain",
    "Install EV charger",
    "Gas safety check",
    "Air handling unit filter swap",
    "Rewire garage circuit",
    "Water heater descale",
    "Split AC install",
    "Backflow valve test",
    "PAT testing",
    "Sprinkler head replacement",
]
STEPS = [
    ("Isolate the power supply", "Switch off at the consumer unit and lock off the breaker."),
    ("Prove dead with a voltage tester", "Test the tester on a known live source before and after."),
    ("Check gas pressure", "Read standing and working pressure at the meter."),
    ("Inspect the flue", "Look for corrosion, blockage and correct termination clearances."),
    ("Drain the system", "Open the drain cock and vent radiators from the top floor down."),
    ("Replace the filter", "Note the airflow arrow and date the new filter."),
    ("Torque the terminals", "Use the manufacturer's torque values."),
    ("Bleed the radiators", "Start with the radiator furthest from the boiler."),
    ("Run a combustion analysis", "Record CO, CO2 and the CO/CO2 ratio."),
    ("Label the circuit", "Update the circuit chart on the board door."),
    ("Test the RCD", "Press the test button and record the trip time."),
    ("Refill and pressurise", "Bring the system to 1.2 bar cold."),
    ("Clean up the work area", None),
    ("Walk the customer through the work", None),
]
SOURCES = [("jobber", 0.55), ("servicem8", 0.35), ("simpro", 0.10)]
TASK_STATUSES = ["scheduled", "in_progress", "completed", "invoiced"]
MEDIA = "https://media.example.com"


@dataclass(frozen=True, slots=True)
class SeedReport:
    tenant_ids: list[str]
    sessions: int
    skipped_tenants: list[str]


def tenant_identity(index: int) -> tuple[str, str]:
    if index < len(TENANT_NAMES):
        return TENANT_NAMES[index]
    return f"tenant-{index + 1}", f"Tenant {index + 1}"


_EPOCH_MS = 1_735_689_600_000  # 2025-01-01


def _uuid(rng: random.Random, sequence: int) -> str:
    """A UUIDv7-shaped id whose time bits count up, as the pipeline's ids do: inserts append."""
    value = (_EPOCH_MS + sequence) << 80 | 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def _weighted(rng: random.Random, choices: list[tuple[str, float]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


class _TenantData:
    """Rows for one tenant, generated lazily in chunks so memory stays flat."""

    def __init__(self, tenant_id: str, sessions_count: int, rng: random.Random, now: datetime) -> None:
        self.tenant_id = tenant_id
        self.count = sessions_count
        self.rng = rng
        self.now = now
        self.sequence = 0
        n_users = max(4, min(200, sessions_count // 50))
        self.users = [
            {
                "id": self.new_id(),
                "tenant_id": tenant_id,
                "display_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "email": f"user{i}@{tenant_id}.example.com",
            }
            for i in range(n_users)
        ]
        self.trainers = self.users[: max(1, n_users // 5)]
        self.trainees = self.users[max(1, n_users // 5) :]
        self.tasks: list[dict[str, Any]] = []

    def new_id(self) -> str:
        self.sequence += 1
        return _uuid(self.rng, self.sequence)

    def _task(self) -> dict[str, Any]:
        rng = self.rng
        # Trainer and trainee often run sessions against the same job.
        if self.tasks and rng.random() < 0.4:
            return rng.choice(self.tasks[-50:])
        source = _weighted(rng, SOURCES)
        ref = f"{rng.randint(10_000, 99_999)}"
        task = {
            "id": self.new_id(),
            "tenant_id": self.tenant_id,
            "source": source,
            "external_ref": ref,
            "title": f"{rng.choice(JOBS)} - {rng.choice(LAST)} residence",
            "status": rng.choice(TASK_STATUSES),
            "url": None if rng.random() < 0.1 else f"https://app.{source}.example.com/jobs/{ref}",
        }
        self.tasks.append(task)
        return task

    def chunks(self, size: int) -> Iterator[dict[str, list[dict[str, Any]]]]:
        done = 0
        while done < self.count:
            n = min(size, self.count - done)
            out: dict[str, list[dict[str, Any]]] = {
                "tasks": [],
                "sessions": [],
                "recordings": [],
                "procedures": [],
                "session_summaries": [],
            }
            first_new_task = len(self.tasks)
            for _ in range(n):
                self._session(out)
            out["tasks"] = self.tasks[first_new_task:]
            done += n
            yield out

    def _session(self, out: dict[str, list[dict[str, Any]]]) -> None:
        rng, now = self.rng, self.now
        sid = self.new_id()
        role = "trainer" if rng.random() < 0.3 else "trainee"
        user = rng.choice(self.trainers if role == "trainer" else self.trainees)
        roll = rng.random()
        status = "completed" if roll < 0.72 else ("failed" if roll < 0.88 else "in_progress")
        if status == "in_progress":
            started = now - timedelta(seconds=rng.randint(60, 3 * 3600))
        else:
            started = now - timedelta(seconds=rng.randint(3 * 3600, 365 * 86400))
        # Whole seconds mostly; some pipelines write microseconds.
        if rng.random() < 0.2:
            started = started.replace(microsecond=rng.randint(0, 999_999))
        else:
            started = started.replace(microsecond=0)
        length = rng.randint(4 * 60, 95 * 60)
        completed = None
        duration = None
        if status == "completed" or (status == "failed" and rng.random() < 0.6):
            completed = started + timedelta(seconds=length if status == "completed" else length // 3)
            if rng.random() < 0.6:
                duration = (completed - started) // timedelta(seconds=1)
        elif status == "failed" and rng.random() < 0.5:
            duration = rng.randint(30, 600)
        task = self._task() if rng.random() < 0.6 else None
        name_roll = rng.random()
        if name_roll < 0.7:
            name: str | None = rng.choice(JOBS)
        else:
            name = "" if name_roll < 0.85 else None
        deleted = now - timedelta(days=rng.randint(1, 30)) if rng.random() < 0.01 else None
        out["sessions"].append(
            {
                "id": sid,
                "tenant_id": self.tenant_id,
                "user_id": user["id"],
                "seat_id": None if rng.random() < 0.3 else f"seat-{rng.randint(1, 24):02d}",
                "role": role,
                "status": status,
                "name": name,
                "task_id": None if task is None else task["id"],
                "started_at": started,
                "completed_at": completed,
                "duration_seconds": duration,
                "thumbnail_url": None if rng.random() < 0.08 else f"{MEDIA}/thumbnails/{sid}.jpg",
                "deleted_at": deleted,
            }
        )
        self._recording(out, sid, status, started)
        n_steps = (
            0
            if status == "in_progress" and rng.random() < 0.5
            else rng.choices(range(9), weights=[4, 4, 6, 10, 14, 18, 16, 12, 8])[0]
        )
        for position, (step, description) in enumerate(rng.sample(STEPS, n_steps), start=1):
            pid = self.new_id()
            out["procedures"].append(
                {
                    "id": pid,
                    "tenant_id": self.tenant_id,
                    "session_id": sid,
                    "position": position,
                    "name": step,
                    "description": description if rng.random() < 0.85 else None,
                    "video_url": None if rng.random() < 0.1 else f"{MEDIA}/clips/{sid}/{position}.mp4",
                }
            )
        if status != "in_progress" and rng.random() < 0.75:
            blank = rng.random() < 0.03  # a row whose fields are all null: "not provided"
            score = None if blank or rng.random() < 0.05 else rng.randint(35, 100)
            out["session_summaries"].append(
                {
                    "session_id": sid,
                    "tenant_id": self.tenant_id,
                    "score": score,
                    "prose": None if blank else f"{user['display_name']} completed {n_steps} procedures.",
                    "trainer_notes": None
                    if blank or rng.random() < 0.4
                    else "Good isolation discipline; slow on paperwork.",
                }
            )

    def _recording(self, out: dict[str, list[dict[str, Any]]], sid: str, status: str, started: datetime) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.1:
            return  # no recording was captured
        row: dict[str, Any] = {
            "session_id": sid,
            "tenant_id": self.tenant_id,
            "state": "ready",
            "storage_key": None,
            "legacy_url": None,
            "legacy_expires_at": None,
        }
        if status == "in_progress" or roll < 0.18:
            row["state"] = "uploading"
        elif roll < 0.33:
            row["legacy_url"] = f"https://legacy-media.example.com/refresh/{sid}?token={rng.getrandbits(64):x}"
            # Half of the legacy links have already stopped working.
            row["legacy_expires_at"] = started + timedelta(days=rng.choice([7, 3650]))
        else:
            row["storage_key"] = f"recordings/{self.tenant_id}/{sid}.mp4"
        out["recordings"].append(row)


TABLE_ORDER: list[tuple[str, Table]] = [
    ("tasks", tasks),
    ("sessions", sessions),
    ("recordings", recordings),
    ("procedures", procedures),
    ("session_summaries", session_summaries),
]


async def seed(
    engine: AsyncEngine,
    *,
    tenants_count: int = 2,
    sessions_per_tenant: int = 3_000,
    seed_value: int = 7,
    now: datetime | None = None,
    progress: bool = True,
) -> SeedReport:
    """Fill the database with ``tenants_count`` tenants of ``sessions_per_tenant`` sessions each.

    Tenants that already exist are left as they are, so seeding twice adds nothing.
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    async with engine.connect() as conn:
        existing = set((await conn.execute(select(tenants.c.id))).scalars())
    created: list[str] = []
    skipped: list[str] = []
    bar = tqdm(total=0, unit=" sessions", disable=not progress, desc="seeding")
    for index in range(tenants_count):
        tenant_id, tenant_name = tenant_identity(index)
        if tenant_id in existing:
            skipped.append(tenant_id)
            continue
        rng = random.Random(f"{seed_value}:{tenant_id}")  # noqa: S311  (demo data, not secrets)
        data = _TenantData(tenant_id, sessions_per_tenant, rng, now)
        bar.total += sessions_per_tenant
        bar.refresh()
        async with engine.begin() as conn:
            await conn.execute(tenants.insert(), [{"id": tenant_id, "name": tenant_name}])
            await conn.execute(users.insert(), data.users)
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # Bulk-load settings for this connection only; each batch still commits.
                await conn.exec_driver_sql("PRAGMA cache_size = -262144")
                await conn.exec_driver_sql("PRAGMA synchronous = NORMAL")
            for chunk in data.chunks(BATCH_ROWS):
                for key, table in TABLE_ORDER:
                    if chunk[key]:
                        await conn.execute(table.insert(), chunk[key])
                await conn.commit()
                bar.update(len(chunk["sessions"]))
        created.append(tenant_id)
    bar.close()
    return SeedReport(tenant_ids=created, sessions=len(created) * sessions_per_tenant, skipped_tenants=skipped)
