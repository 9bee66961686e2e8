"""Each field is stated once, by its rule beside its type, and both execution paths answer from that rule.

The rules (``schema/rules.py``) are what Strawberry's resolvers are bound to and what the compiled
plans' writers and getters call: a field with a second copy of its value, or without a rule, fails
here; so does an answer of the two paths that differs on a row with an edge case of a rule.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from graphql import GraphQLObjectType, build_schema
from starlette.datastructures import Secret
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.private import is_private
from strawberry.utils.str_converters import to_camel_case

from sessions_gateway.db.queries import ReportTotals
from sessions_gateway.db.relations import Relation
from sessions_gateway.gateway.config import Settings
from sessions_gateway.gateway.context import MediaSettings
from sessions_gateway.schema import writers
from sessions_gateway.schema.build import schema as strawberry_schema
from sessions_gateway.schema.report import PART_OF_FIELD
from sessions_gateway.schema.rules import Related, SourceRule, declared
from tests import factories as f
from tests.conftest import audited, create_postgres_database, drop_postgres_database, http_client, load
from tests.dataset import Dataset
from tests.helpers import SECRET, SESSION_NODE, WHOLE_REPORT, gql, post
from tests.readme import DOCS, ROOT, page_blocks

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

SCHEMA = build_schema((Path(__file__).parents[2] / "schema.graphql").read_text(encoding="utf-8"))
# The object types written per row on the compiled path.
WRITTEN = [
    "SessionEdge",
    "Session",
    "User",
    "LinkedTask",
    "Procedure",
    "Summary",
    "Recording",
    "TimelineBucket",
    "UserCount",
    "TaskSourceCount",
    "ScoreDecile",
]
# Written once per request: the page info, the report's status and role counts, the report itself.
ONCE = ["PageInfo", "StatusCount", "RoleCount", "SessionsReport"]
# The report's fields with arguments: each its own statement, resolved by a function rather than a rule.
WITH_ARGUMENTS = {"timeline", "byUser", "byTaskSource"}


def strawberry_type(name: str) -> type[Any]:
    definition = strawberry_schema.get_type_by_name(name)
    assert isinstance(definition, StrawberryObjectDefinition), name
    return definition.origin


def graphql_fields(name: str) -> list[str]:
    graphql_type = SCHEMA.type_map[name]
    assert isinstance(graphql_type, GraphQLObjectType)
    return list(graphql_type.fields)


def test_the_types_written_per_row_are_the_eleven() -> None:
    assert list(writers.WRITTEN) == WRITTEN


@pytest.mark.parametrize("name", WRITTEN + ONCE)
def test_each_field_has_one_rule_which_strawberry_resolves_by_and_the_writers_call(name: str) -> None:
    type_ = strawberry_type(name)
    rules = declared(type_)
    # every field of the contract, in its order, has a rule (but the report's fields with arguments)
    assert list(rules) == [
        field for field in graphql_fields(name) if name != "SessionsReport" or field not in WITH_ARGUMENTS
    ]
    written = writers.WRITTEN.get(name) or writers.ONCE[name]
    assert {key: field.rule for key, field in written.items()} == rules
    for each in type_.__strawberry_definition__.fields:
        if is_private(each.type):  # the source the type is written from
            continue
        # no field is a plain attribute: each is resolved by a function
        assert each.base_resolver is not None, each.python_name
        rule = getattr(each.base_resolver.wrapped_func, "__self__", None)
        if rule is None:
            assert name == "SessionsReport"
            assert (each.graphql_name or to_camel_case(each.python_name)) in WITH_ARGUMENTS
            continue
        # the executor's resolver is the rule's own method, and the writers call that very rule
        assert each.base_resolver.wrapped_func.__func__.__name__ in {"resolve", "resolve_loaded"}
        assert [key for key, field in written.items() if field.rule is rule] == [
            each.graphql_name or to_camel_case(each.python_name)
        ]


def test_the_compiled_getters_of_the_objects_written_once_are_their_rules() -> None:
    page = SimpleNamespace(has_next_page=True, has_previous_page=False, start_cursor="a", end_cursor=None)
    assert {key: get(page) for key, get in writers.getters("PageInfo").items()} == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": "a",
        "endCursor": None,
    }
    assert {key: get(("IN_PROGRESS", 3)) for key, get in writers.getters("StatusCount").items()} == {
        "status": "IN_PROGRESS",
        "count": 3,
    }
    assert {key: get(("TRAINER", 0)) for key, get in writers.getters("RoleCount").items()} == {
        "role": "TRAINER",
        "count": 0,
    }
    report_leaves = {n for n, r in declared(strawberry_type("SessionsReport")).items() if isinstance(r, SourceRule)}
    assert set(writers.getters("SessionsReport")) == report_leaves


def test_every_part_of_the_report_is_guarded_alike_on_both_paths() -> None:
    rules = declared(strawberry_type("SessionsReport"))
    # each field with a rule reads one part of the report, named in its rule and nowhere else
    assert set(PART_OF_FIELD) == set(rules)
    nothing = ReportTotals(computed=frozenset())
    related = Related(clock=datetime(2026, 11, 24, tzinfo=UTC), media=MediaSettings())
    getters = writers.getters("SessionsReport")
    for name, rule in rules.items():
        message = f"report part {PART_OF_FIELD[name].value} was not computed"
        with pytest.raises(LookupError, match=message):  # what the executor calls
            rule.get(nothing) if isinstance(rule, SourceRule) else rule.derive(nothing, related)
        if name in getters:
            with pytest.raises(LookupError, match=message):  # what a compiled plan calls
                getters[name](nothing)


ALL_SESSION_FIELDS = set(graphql_fields("Session"))


@pytest.mark.parametrize(
    ("fields", "relations"),
    [
        ({"id", "status", "role", "startedAt", "completedAt", "seatId", "durationSeconds", "thumbnailUrl"}, set()),
        ({"name"}, {Relation.TASK}),
        ({"linkedTask", "name"}, {Relation.TASK}),
        ({"user"}, {Relation.USER}),
        ({"procedureCount"}, {Relation.PROCEDURE_COUNT}),
        ({"procedures"}, {Relation.PROCEDURES}),
        ({"recording"}, {Relation.RECORDING}),
        ({"summary", "__typename"}, {Relation.SUMMARY}),
        (ALL_SESSION_FIELDS, set(Relation)),
    ],
)
def test_the_relations_of_session_fields_are_read_off_their_rules(fields: set[str], relations: set[Relation]) -> None:
    assert writers.relations_for("Session", fields) == relations


def test_a_rule_reads_its_relation_only_for_the_rows_that_need_it() -> None:
    rows = [
        SimpleNamespace(id="s1", user_id="u1", name="", task_id="t1"),
        SimpleNamespace(id="s2", user_id="u2", name="Named", task_id="t2"),
        SimpleNamespace(id="s3", user_id="u1", name=None, task_id=None),
        SimpleNamespace(id="s4", user_id="u2", name=None, task_id="t1"),
    ]
    # a session's name reads its task's title only when the name is empty
    assert writers.relation_keys("Session", {"name"}, rows) == {Relation.TASK: ["t1"]}
    # its linked task reads it whenever there is one: unique keys, in row order
    assert writers.relation_keys("Session", ["name", "linkedTask", "user"], rows) == {
        Relation.TASK: ["t1", "t2"],
        Relation.USER: ["u1", "u2"],
    }
    assert writers.relation_keys("Session", {"procedures"}, rows) == {Relation.PROCEDURES: ["s1", "s2", "s3", "s4"]}
    assert writers.relation_keys("Session", {"id", "status"}, rows) == {}


def test_the_design_pages_session_fields_are_as_declared() -> None:
    """docs/design.md's worked example shows Session's fields as schema/session.py declares them."""
    [example] = [block for block in page_blocks(DOCS / "design.md") if block.language == "python"]
    ast.parse(example.code)
    source = (ROOT / "schema" / "session.py").read_text(encoding="utf-8").splitlines()
    lines = iter(source)
    for line in example.code.splitlines():
        if line.strip() not in {"...", "...,"}:  # what it leaves out
            assert line in lines, f"not in schema/session.py, in this order: {line!r}"


# --- Rows with every edge case of the rules, answered on both paths, both backends ---------------

NOW = datetime(2026, 11, 24, 9, 41, 7, 250_000, tzinfo=UTC)
T = "rules"
START = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
SIGNING = MediaSettings(base_url="https://cdn.example.com/media/", signing_key=b"rules-key", ttl=timedelta(minutes=5))


def edge_cases() -> Dataset:
    at = [START + timedelta(hours=h) for h in range(8)]
    return Dataset(
        tenants=[f.tenant(T)],
        users=[f.user("r-ann", T, "Ann"), f.user("r-bob", T, "Bob")],
        tasks=[
            f.task("r-task", T, source="jobber", title="Fix the boiler"),
            f.task("r-blank", T, source="servicem8", title="", url=None),
        ],
        sessions=[
            # named, with a task, a recorded duration; its media are storage keys (signed)
            f.session(
                "r-named",
                T,
                "r-ann",
                role="trainer",
                name="Named",
                task_id="r-task",
                seat_id="seat-9",
                started_at=at[0],
                completed_at=at[1],
                duration_seconds=3500,
                thumbnail_url="thumbs/r named.jpg",
            ),
            # empty name: the task's title; no recorded duration: end - start
            f.session("r-untitled", T, "r-bob", name="", task_id="r-task", started_at=at[1], completed_at=at[2]),
            # empty name, the task's title empty too: the automatic name
            f.session("r-blank-title", T, "r-bob", name="", task_id="r-blank", started_at=at[2], completed_at=at[3]),
            # no name, no task: the automatic name; failed without an end: no duration; no recording row
            f.session("r-no-task", T, "r-ann", status="failed", name=None, started_at=at[3], thumbnail_url=None),
            # in progress: duration up to the request's clock; no recording yet
            f.session("r-running", T, "r-bob", status="in_progress", started_at=at[4]),
            # a legacy recording URL whose time has passed
            f.session("r-expired", T, "r-ann", started_at=at[5], completed_at=at[6]),
        ],
        recordings=[
            f.recording("r-named", T, storage_key="rec/r named.mp4"),
            f.recording("r-untitled", T, legacy_url="https://legacy.example.com/r"),  # a legacy URL, no expiry
            f.recording("r-expired", T, legacy_url="https://legacy.example.com/x", legacy_expires_at=at[7]),
        ],
        procedures=[
            f.procedure("r-p2", T, "r-named", 2, video_url="https://clips.example.org/2.mp4"),
            f.procedure("r-p1", T, "r-named", 1, description="First", video_url="clips/step 1.mp4"),
        ],
        session_summaries=[
            f.summary("r-named", T, score=87, prose="Tidy.", trainer_notes="Ready."),
            f.summary("r-untitled", T),  # every field null: no summary
            f.summary("r-running", T, score=40),
        ],
    )


@pytest.fixture(scope="module")
async def edge_case_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('rules') / 'rules.db'}"
        await load(url, edge_cases())
        yield url
        return
    url = await create_postgres_database()
    try:
        await load(url, edge_cases())
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture(scope="module")
async def both(edge_case_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients of the signed-media app over the edge cases: compiled plans on, then the executor alone."""
    settings = Settings(database_url=edge_case_url, jwt_secret=Secret(SECRET), media=SIGNING)
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for compiled in (True, False):
            application = await stack.enter_async_context(
                audited(dataclasses.replace(settings, compiled_plans=compiled))
            )
            clients.append(await stack.enter_async_context(http_client(application)))
        yield clients[0], clients[1]


LIST = (
    """
{
  sessions(first: 20, orderBy: STARTED_AT_ASC) {
    __typename totalCount
    edges { __typename cursor node { __typename ...Node } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
    + SESSION_NODE
)
DETAIL = "query ($id: ID!) { session(id: $id) { ...Node } }" + SESSION_NODE
REPORT = WHOLE_REPORT.replace("totalCount", "totalCount totalDurationSeconds __typename")


async def same(both: tuple[httpx.AsyncClient, httpx.AsyncClient], query: str, **variables: Any) -> dict[str, Any]:
    compiled, executor = both
    answers = [await post(http, query, variables, tenant=T) for http in (compiled, executor)]
    assert answers[0].status_code == answers[1].status_code == 200
    assert answers[0].content == answers[1].content, (answers[0].json(), answers[1].json())
    return await gql(compiled, query, variables, tenant=T)


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sessions_gateway.gateway.context.clock", lambda: NOW)


async def test_the_list_of_every_edge_case_is_the_same_on_both_paths(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    data = await same(both, LIST)
    nodes = {edge["node"]["id"]: edge["node"] for edge in data["sessions"]["edges"]}
    # the edge cases are there: each rule's every branch is answered alike
    assert nodes["r-named"]["name"] == "Named"
    assert nodes["r-untitled"]["name"] == "Fix the boiler"
    assert nodes["r-blank-title"]["name"] == "Session 2026-11-20 11:30"
    assert nodes["r-no-task"]["name"] == "Session 2026-11-20 12:30"
    assert nodes["r-named"]["durationSeconds"] == 3500
    assert nodes["r-untitled"]["durationSeconds"] == 3600
    assert nodes["r-no-task"]["durationSeconds"] is None
    assert nodes["r-running"]["durationSeconds"] == int((NOW - START - timedelta(hours=4)).total_seconds())
    assert nodes["r-untitled"]["summary"] is None
    assert nodes["r-running"]["summary"] == {"score": 40, "prose": None, "trainerNotes": None}
    assert [n["recording"]["status"] for n in nodes.values()] == [
        "AVAILABLE",
        "AVAILABLE",
        "NOT_CAPTURED",
        "NOT_CAPTURED",
        "UPLOADING",
        "EXPIRED",
    ]
    signed = [nodes["r-named"]["thumbnailUrl"], nodes["r-named"]["recording"]["url"]]
    signed.append(nodes["r-named"]["procedures"][0]["videoUrl"])
    assert all(url.startswith(SIGNING.base_url) and "&signature=" in url for url in signed), signed
    assert nodes["r-named"]["procedures"][1]["videoUrl"] == "https://clips.example.org/2.mp4"
    assert nodes["r-no-task"]["thumbnailUrl"] is None
    assert nodes["r-no-task"]["linkedTask"] is None
    assert nodes["r-blank-title"]["linkedTask"]["url"] is None


@pytest.mark.parametrize(
    "session_id", ["r-named", "r-untitled", "r-blank-title", "r-no-task", "r-running", "r-expired"]
)
async def test_the_detail_of_each_edge_case_is_the_same_on_both_paths(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient], session_id: str
) -> None:
    data = await same(both, DETAIL, id=session_id)
    assert data["session"]["id"] == session_id


async def test_the_report_of_the_edge_cases_is_the_same_on_both_paths(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    data = await same(both, REPORT)
    report = data["sessionsReport"]
    assert report["totalCount"] == 6
    assert report["averageScore"] == 63.5
    assert {entry["source"] for entry in report["byTaskSource"]} == {"jobber", "servicem8", None}
