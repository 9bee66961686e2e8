"""Under Citus, every statement the gateway sends routes to the one shard of the request's tenant.

``tests/routing.py`` holds the check (the router planner's rule, on PostgreSQL's parse tree); the
first tests here hold it to hand-written SQL, the last ones to every statement the gateway sends on
PostgreSQL for lists (each order, each filter, pages forwards and backwards), details and every part
of the report, on both execution paths.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, func, select

from sessions_gateway import db
from sessions_gateway.db.expressions import AutoName
from sessions_gateway.db.tables import sessions, tasks
from tests.conftest import POSTGRES_URL, audited, http_client, needs_init_db
from tests.dataset import ALPHA, BETA, DELTA
from tests.helpers import SESSION_NODE, gql
from tests.routing import DISTRIBUTED, NotRoutable, routed_tenant, shape

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx
    from sqlalchemy.sql.expression import ColumnElement
    from starlette.applications import Starlette

    from sessions_gateway.gateway.config import Settings

needs_postgresql = pytest.mark.skipif(
    POSTGRES_URL is None, reason="the statements Citus would route: set GATEWAY_TEST_POSTGRES_URL"
)
on_postgresql = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

# --------------------------------------------------------------------------------------------
# The check, on hand-written statements
# --------------------------------------------------------------------------------------------

ROUTED = [
    # a join, a subquery in WHERE, a correlated scalar subquery: each table pinned in its own scope
    """SELECT s.id, (SELECT t.title FROM tasks t WHERE t.tenant_id = $1 AND t.id = s.task_id)
       FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = $2::VARCHAR
       WHERE s.tenant_id = $1 AND s.user_id IN (SELECT id FROM users WHERE tenant_id = $3)""",
    # the nullable side of an outer join, pinned in its ON
    (
        "SELECT count(*) FROM sessions LEFT OUTER JOIN tasks AS lt ON lt.id = sessions.task_id "
        "AND lt.tenant_id = $1 WHERE sessions.tenant_id = $2"
    ),
    # a derived table whose own query is pinned
    "SELECT m.k, count(*) FROM (SELECT s.user_id AS k FROM sessions s WHERE s.tenant_id = $1) AS m GROUP BY m.k",
    # pinned through a co-located join on tenant_id
    (
        "SELECT r.state FROM sessions s JOIN recordings r ON r.tenant_id = s.tenant_id AND r.session_id = s.id "
        "WHERE s.tenant_id = $1"
    ),
]

NOT_ROUTED = [
    pytest.param(
        "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.tenant_id = $1",
        "users AS u (at 33) is not restricted",
        id="a join missing one side's tenant",
    ),
    pytest.param(
        "SELECT s.id FROM sessions s WHERE s.tenant_id = $1 AND s.task_id IN (SELECT id FROM tasks WHERE source = $1)",
        "tasks (at 84) is not restricted",
        id="a subquery missing its tenant",
    ),
    pytest.param(
        "SELECT s.id, (SELECT t.title FROM tasks t WHERE t.id = s.task_id AND s.tenant_id = $1) FROM sessions s "
        "WHERE s.tenant_id = $1",
        "tasks AS t (at 34) is not restricted",
        id="a subquery pinned only through the outer query's table",
    ),
    pytest.param(
        "SELECT s.id FROM sessions s WHERE s.tenant_id = $1 OR s.tenant_id = $1",
        "sessions AS s (at 17) is not restricted",
        id="an OR-ed tenant",
    ),
    pytest.param(
        "SELECT s.id FROM sessions s WHERE NOT (s.tenant_id <> $1)",
        "sessions AS s (at 17) is not restricted",
        id="a tenant under NOT",
    ),
    pytest.param(
        "SELECT s.id FROM sessions s LEFT JOIN tasks t ON t.id = s.task_id AND s.tenant_id = $1 WHERE t.tenant_id = $1",
        "sessions AS s (at 17) is not restricted",
        id="the preserved side of an outer join pinned only in its ON",
    ),
    pytest.param(
        "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = $2 WHERE s.tenant_id = $1",
        "tenant_id is pinned to several values: [\"'alpha'\", \"'beta'\"]",
        id="two different tenant values",
    ),
    pytest.param(
        "SELECT s.id FROM sessions s WHERE s.tenant_id = $3",
        "$3 pins tenant_id but no value is bound to it",
        id="an unbound parameter",
    ),
    pytest.param(
        "SELECT s.id FROM sessions s WHERE s.tenant_id = $1::integer",
        "sessions AS s (at 17) is not restricted",
        id="a parameter cast to another type",
    ),
    pytest.param(
        "SELECT e.id FROM events e WHERE e.tenant_id = $1",
        "events AS e (at 17) is neither distributed nor a reference table",
        id="a table outside the contract",
    ),
    pytest.param(
        "WITH sessions AS (SELECT * FROM users WHERE tenant_id = $1) SELECT id FROM sessions",
        "a CTE named sessions hides the table",
        id="a CTE named like a table",
    ),
    pytest.param(
        "DELETE FROM sessions WHERE tenant_id = $1",
        "not one SELECT statement",
        id="not a SELECT",
    ),
]


@pytest.mark.parametrize("sql", ROUTED)
def test_a_statement_pinned_to_one_tenant_everywhere_routes_to_that_tenant(sql: str) -> None:
    assert routed_tenant(sql, [ALPHA, ALPHA, ALPHA]) == ALPHA


@pytest.mark.parametrize(("sql", "why"), NOT_ROUTED)
def test_a_statement_that_may_read_another_shard_is_refused_with_the_table_named(sql: str, why: str) -> None:
    with pytest.raises(NotRoutable) as refused:
        routed_tenant(sql, [ALPHA, BETA])
    assert why in str(refused.value)


def test_a_statement_that_reads_no_table_routes_nowhere() -> None:
    assert routed_tenant("SELECT gw_canary_tenant()", [ALPHA]) is None


# --------------------------------------------------------------------------------------------
# Every statement the gateway sends
# --------------------------------------------------------------------------------------------

ORDERS = ["STARTED_AT_DESC", "STARTED_AT_ASC", "COMPLETED_AT_DESC", "DURATION_DESC"]
AFTER, BEFORE = "2026-10-01T13:00:00+00:00", "2026-11-21T00:00:00+00:00"
# Every field of SessionFilter, alone; then all of them at once (matching a-g12, a-g24 and a-g36).
FIELDS: list[dict[str, Any]] = [
    {"status": "COMPLETED"},
    {"role": "TRAINER"},
    {"startedAfter": AFTER},
    {"startedBefore": BEFORE},
    {"userId": "a-bob"},
    {"taskSource": "JOBBER"},
    {"search": "boiler"},
]
EVERY_FIELD: dict[str, Any] = {
    "status": "COMPLETED",
    "role": "TRAINEE",
    "startedAfter": AFTER,
    "startedBefore": BEFORE,
    "userId": "a-ann",
    "taskSource": "JOBBER",
    "search": "drill",
}
FILTERS: list[dict[str, Any] | None] = [None, *FIELDS, EVERY_FIELD]


def per_order(page: str, *, counted: bool = False) -> str:
    """``sessions`` in each order (aliased by its name) on one ``$filter``; ``$cursor`` in ``page`` is the order's own.

    ``counted`` adds ``totalCount``: a statement of its own, the same in every order and on every page.
    """
    selection = "pageInfo { startCursor endCursor } edges { cursor node { id } }"
    if counted:
        selection = "totalCount " + selection
    fields = [
        f"{o}: sessions(filter: $filter, orderBy: {o}, {page.replace('$cursor', f'${o}')}) {{ {selection} }}"
        for o in ORDERS
    ]
    cursors = [f"${o}: String" for o in ORDERS] if "$cursor" in page else []
    return f"query Pages({', '.join(['$filter: SessionFilter', *cursors])}) {{ {' '.join(fields)} }}"


def aliased(fields: list[str]) -> str:
    return "{ " + " ".join(f"f{n}: {f}" for n, f in enumerate(fields)) + " }"


# every relation of the rows, and procedureCount alone (a count per session, no procedures read)
LIST = "query List($filter: SessionFilter) {{ sessions(filter: $filter, first: 50) {{ edges {{ node {{ {} }} }} }} }}"
ROWS = LIST.format("...Node") + SESSION_NODE
COUNTS = LIST.format("procedureCount")
DETAIL = "query Detail($id: ID!) { session(id: $id) { ...Node } }" + SESSION_NODE
REPORT_PARTS = [
    "totalCount",
    "byStatus { status count }",
    "byRole { role count }",
    "averageScore",
    "totalDurationSeconds",
    "totalDurationHours",
    "procedureCount",
    "days: timeline(bucket: DAY) { start count completed averageScore }",
    'weeks: timeline(bucket: WEEK, timeZone: "Europe/Paris") { start count completed averageScore }',
    'months: timeline(bucket: MONTH, timeZone: "America/Santiago") { start count }',
    "byUser(first: 5) { user { id displayName } count completed averageScore }",
    "byTaskSource(first: 5) { source count completed averageScore }",
    "scoreDeciles { from to count }",
]
REPORT = f"query Report($filter: SessionFilter) {{ sessionsReport(filter: $filter) {{ {' '.join(REPORT_PARTS)} }} }}"
# each part alone: the report's statements change with the parts asked for (in two requests: all
# fifteen scans of the tenant's sessions in one are over the cost limit)
REPORT_PART_BY_PART = [
    aliased([f"sessionsReport {{ {part} }}" for part in parts]) for parts in (REPORT_PARTS[:7], REPORT_PARTS[7:])
]


@dataclass(frozen=True, slots=True)
class Sent:
    tenant: str  # the request's
    sql: str
    parameters: tuple[Any, ...]


@dataclass
class Recorder:
    """Every statement an app sends through SQLAlchemy: its text, its parameters and the request's tenant."""

    tenant: str = ALPHA
    sent: list[Sent] = field(default_factory=list)

    def __call__(self, _conn: Any, _cursor: Any, sql: str, parameters: Any, *_args: Any) -> None:
        self.sent.append(Sent(self.tenant, sql, tuple(parameters or ())))

    @classmethod
    @contextlib.contextmanager
    def on(cls, app: Starlette) -> Iterator[Recorder]:
        recorder = cls()
        engine = app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", recorder)
        try:
            yield recorder
        finally:
            event.remove(engine, "before_cursor_execute", recorder)

    async def ask(self, client: httpx.AsyncClient, query: str, tenant: str = ALPHA, **variables: Any) -> Any:
        self.tenant = tenant
        return await gql(client, query, variables, tenant=tenant)


async def exercise(client: httpx.AsyncClient, recorder: Recorder) -> None:
    """Lists, details and reports of three tenants: every statement shape the gateway has."""
    ask = recorder.ask
    for flt in FILTERS:
        # in each order: the first page, the next one, back to the one before it, and the last page
        first = await ask(client, per_order("first: 2", counted=True), filter=flt)
        cursors = {o: first[o]["pageInfo"]["endCursor"] for o in ORDERS}
        assert all(cursors.values()), flt
        after = await ask(client, per_order("first: 2, after: $cursor"), filter=flt, **cursors)
        cursors = {o: after[o]["pageInfo"]["startCursor"] for o in ORDERS}
        await ask(client, per_order("last: 2, before: $cursor"), filter=flt, **cursors)
        await ask(client, per_order("last: 2"), filter=flt)
        await ask(client, REPORT, filter=flt)
    for flt in (None, EVERY_FIELD):
        await ask(client, ROWS, filter=flt)
        await ask(client, COUNTS, filter=flt)
    await ask(client, DETAIL, id="a-01")
    # found, in progress, without a recording, erased, another tenant's, unknown: all in one request
    ids = ("a-03", "a-04", "a-05", "a-06", "b-01", "x")
    await ask(client, aliased([f'session(id: "{i}") {{ ...Node }}' for i in ids]) + SESSION_NODE)
    for part_by_part in REPORT_PART_BY_PART:
        await ask(client, part_by_part, DELTA)
    for tenant in (BETA, DELTA):
        await ask(client, ROWS, tenant, filter=None)
        await ask(client, DETAIL, tenant, id="b-01")
        await ask(client, REPORT, tenant, filter={"taskSource": "jobber"})


def misrouted(sent: list[Sent]) -> list[str]:
    """Why each statement of ``sent`` would not route to its request's tenant alone."""
    problems = []
    for statement in sent:
        try:
            tenant = routed_tenant(statement.sql, statement.parameters)
        except NotRoutable as exc:
            problems.append(str(exc))
            continue
        if tenant != statement.tenant:
            problems.append(f"routes to {tenant!r}, not to the request's {statement.tenant!r}:\n{statement.sql}")
    return problems


@pytest.mark.parametrize("path", ["compiled", "executor"])
@needs_postgresql
@on_postgresql
async def test_every_statement_the_gateway_sends_routes_to_the_requests_tenant_alone(
    app: Starlette, executor_app: Starlette, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    served = app if path == "compiled" else executor_app
    caplog.set_level(logging.DEBUG, logger="gateway.plans")
    # when
    async with http_client(served) as client:
        with Recorder.on(served) as recorder:
            await exercise(client, recorder)
    # then
    sent = recorder.sent
    problems = misrouted(sent)
    assert not problems, "\n\n".join(problems[:3])
    # and every operation ran on that path; the statements read every distributed table, for each tenant
    assert {r.__dict__.get("execution_path") for r in caplog.records if r.name == "gateway.plans"} == {path}
    assert set().union(*(shape(s.sql).tables for s in sent)) == DISTRIBUTED
    assert {s.tenant for s in sent} == {ALPHA, BETA, DELTA}
    assert len({s.sql for s in sent}) > 100, len({s.sql for s in sent})


@needs_postgresql
@on_postgresql
@needs_init_db
async def test_a_subquery_that_forgets_its_tenant_is_caught_though_row_security_hides_the_slip(
    settings: Settings, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a gateway whose displayed name (searched by filter.search) reads the task's title without its tenant
    def forgetful_name(tenant_id: str) -> ColumnElement[str]:
        title = select(func.nullif(tasks.c.title, "")).where(tasks.c.id == sessions.c.task_id).scalar_subquery()
        return func.coalesce(func.nullif(sessions.c.name, ""), title, AutoName(sessions.c.started_at))

    monkeypatch.setattr(db.filters, "displayed_name", forgetful_name)
    monkeypatch.setattr(db.queries, "_TEMPLATES", {})  # statements built before the slip are not reused
    query, search = per_order("first: 25", counted=True), {"search": "boiler"}
    # when (the suite's audit, tenant_id somewhere in each statement, lets the slip through)
    async with audited(settings) as application, http_client(application) as forgetful:
        with Recorder.on(application) as recorder:
            data = await recorder.ask(forgetful, query, filter=search)
    # then: the answer is still right (row-level security lets the reader see alpha's tasks only) ...
    assert data == await gql(client, query, {"filter": search})
    # ... but no statement (a page and its count) would route to one shard, and the check names
    # the table at both places
    problems = misrouted(recorder.sent)
    assert len(problems) == len(ORDERS), problems
    assert all(p.count("tasks (at ") == 2 for p in problems), problems
    assert all(p.startswith("tasks (at ") and "is not restricted to one tenant_id" in p for p in problems), problems
