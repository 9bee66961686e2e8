"""Compiled plans answer exactly what Strawberry's executor answers, on the path the log names.

``client`` answers through compiled plans and ``executor_client`` through the executor alone, over
the same database. Each case sends one request to both and compares the HTTP status and the whole
body, byte for byte (key order included). The request clock is pinned for the module, so the
durations of in-progress sessions agree between the two requests.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from graphql import GraphQLObjectType, build_schema, get_named_type
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import ANSWER_EXTENSIONS
from tests.corpus import (
    ANY,
    COMPILED,
    CORPUS,
    CURSOR_PAGE,
    DETAIL,
    DISABLED,
    EITHER,
    HAND_MADE_IDS,
    LISTINGS,
    NOTHING,
    ORDERS,
    REPORT,
    Case,
    Issued,
    Name,
    Path_,
    resolved,
)
from tests.helpers import token_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

NOW = datetime(2026, 11, 24, 9, 41, 7, 250_000, tzinfo=UTC)  # a-04 has been in progress since 08:00
PLANS_LOGGER = "gateway.plans"


# The contract, as served (``test_schema_sdl.py`` checks the file is the schema's own SDL).
SCHEMA = build_schema((Path(__file__).parents[2] / "schema.graphql").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", autouse=True)
def pinned_clock() -> Iterator[datetime]:
    """One clock reading for every request of the module, on both apps."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sessions_gateway.gateway.context.clock", lambda: NOW)
        yield NOW


# --------------------------------------------------------------------------------------------
# Asking both apps
# --------------------------------------------------------------------------------------------


class PlanLog(logging.Handler):
    """The (execution_path, fallback_reason) of each operation logged on ``gateway.plans``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.paths: list[Path_] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "execution_path" in record.__dict__:  # not the plan's own failures, logged for operators
            self.paths.append((record.__dict__["execution_path"], record.__dict__["fallback_reason"]))

    @classmethod
    @contextlib.contextmanager
    def recording(cls) -> Iterator[PlanLog]:
        logger = logging.getLogger(PLANS_LOGGER)
        handler = cls()
        level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        try:
            yield handler
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    content: bytes
    paths: list[Path_]


async def ask(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    *,
    tenant: str = "alpha",
) -> Answer:
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    if operation_name is not None:
        payload["operationName"] = operation_name
    headers = {"Authorization": f"Bearer {token_for(tenant)}"}
    with PlanLog.recording() as log:
        response = await client.post("/graphql", json=payload, headers=headers)
    return Answer(response.status_code, response.json(), response.content, log.paths)


def differences(actual: Any, expected: Any, path: str = "") -> Iterator[str]:
    """Where two JSON values differ, and how: readable lines for a failing comparison."""
    where = path or "/"
    if isinstance(actual, dict) and isinstance(expected, dict):
        if list(actual) != list(expected):
            yield f"at {where}: keys {list(actual)} (compiled) != {list(expected)} (executor)"
        else:
            for key in actual:
                yield from differences(actual[key], expected[key], f"{path}/{key}")
    elif isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        for index, (left, right) in enumerate(zip(actual, expected, strict=True)):
            yield from differences(left, right, f"{path}/{index}")
    elif actual != expected or type(actual) is not type(expected):
        yield f"at {where}: {actual!r} (compiled) != {expected!r} (executor)"


async def ask_both(
    client: httpx.AsyncClient,
    executor_client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    *,
    tenant: str = "alpha",
) -> Answer:
    """The compiled answer, after checking it is the executor's, status and bytes alike."""
    expected = await ask(executor_client, query, variables, operation_name, tenant=tenant)
    actual = await ask(client, query, variables, operation_name, tenant=tenant)
    context = f"query: {query}\nvariables: {variables}\noperationName: {operation_name}\ntenant: {tenant}"
    difference = next(differences(actual.body, expected.body), "")
    assert (actual.status, actual.body) == (expected.status, expected.body), f"{difference}\n{context}"
    assert actual.content == expected.content, f"same JSON, other bytes (key order?)\n{context}"
    # The executor app never compiles; both apps run the operation, or neither does.
    assert expected.paths in ([DISABLED], []), expected.paths
    assert len(actual.paths) == len(expected.paths), (actual.paths, expected.paths)
    return actual


async def test_the_clock_is_pinned_for_both_apps(client: httpx.AsyncClient, executor_client: httpx.AsyncClient) -> None:
    """What every comparison here rests on: an in-progress duration is measured against ``NOW``."""
    elapsed = int((NOW - datetime(2026, 11, 24, 8, 0, tzinfo=UTC)).total_seconds())  # a-04 started at 08:00
    for http in (client, executor_client):
        answer = await ask(http, '{ session(id: "a-04") { status durationSeconds } }')
        assert answer.body == {
            "data": {"session": {"status": "IN_PROGRESS", "durationSeconds": elapsed}},
            **ANSWER_EXTENSIONS,
        }


# --------------------------------------------------------------------------------------------
# Cursors issued by the gateway, for paging cases (the listings are in ``tests/corpus.py``)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def cursors(executor_client: httpx.AsyncClient) -> Issued:
    """Every cursor of each listing, as the gateway returns them (tenant alpha)."""
    issued = Issued()
    for name, listing in LISTINGS.items():
        answer = await ask(executor_client, CURSOR_PAGE, {"filter": listing.filter, "orderBy": listing.order})
        assert answer.status == 200, answer.body
        issued[name] = [edge["cursor"] for edge in answer.body["data"]["sessions"]["edges"]]
        assert len(issued[name]) >= 10, (name, issued[name])
    return issued


# --------------------------------------------------------------------------------------------
# 1. The corpus (``tests/corpus.py``): every part of the schema, every way of selecting it, the request errors
# --------------------------------------------------------------------------------------------


def assert_path(paths: list[Path_], expect: Path_ | str) -> None:
    if expect == NOTHING:
        assert paths == [], paths
    elif expect == EITHER:
        assert paths in ([COMPILED], [("executor", "error")]), paths
    elif expect == ANY:
        assert len(paths) == 1, paths
    else:
        assert paths == [expect], paths


def test_the_corpus_covers_the_schema() -> None:
    """Every field of every type appears in some corpus query (a field added later must be added here)."""
    text = " ".join(case.query for case in CORPUS)
    words = set(text.replace("{", " ").replace("}", " ").replace("(", " ").split())
    for type_ in SCHEMA.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            missing = set(type_.fields) - words
            assert not missing, (type_.name, missing)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.id)
async def test_compiled_answer_is_the_executors(
    client: httpx.AsyncClient, executor_client: httpx.AsyncClient, cursors: Issued, case: Case
) -> None:
    # given
    variables = None if case.variables is None else resolved(case.variables, cursors)
    # when
    answer = await ask_both(client, executor_client, case.query, variables, case.operation_name, tenant=case.tenant)
    # then
    assert_path(answer.paths, case.expect)
    if case.expect == COMPILED:
        assert "errors" not in answer.body, answer.body
    elif case.expect != ANY:
        assert answer.body["errors"], answer.body


# --------------------------------------------------------------------------------------------
# 2. Random queries over the whole schema, with random arguments, inline or as variables
# --------------------------------------------------------------------------------------------


STATUS = [Name("COMPLETED"), Name("IN_PROGRESS"), Name("FAILED")]
ROLE = [Name("TRAINER"), Name("TRAINEE")]
INSTANTS = [
    "2026-10-01T16:00:00+00:00",
    "2026-11-19T16:05:30.25+02:00",  # a-03's start, to the millisecond, in another offset
    "2026-11-20T09:30:00Z",
    "2026-11-01T00:00:00",  # no offset
    "yesterday",
]
FILTER_VALUES: dict[str, list[Any]] = {
    "status": [*STATUS, None],
    "role": [*ROLE, None],
    "startedAfter": [*INSTANTS, None],
    "startedBefore": [*INSTANTS, None],
    "userId": ["a-ann", "a-bob", "a-zoe", "b-ann", "a ann", None],
    "taskSource": ["jobber", "JOBBER", "ServiceM8", "none", None],
    "search": ["boiler", "проверка", "ПРОВЕРКА", "Drill 1", "%", "_", "\\", "session 2026-10-01", "", "x" * 201, None],
}
SESSION_IDS = [*HAND_MADE_IDS, "a-g00", "a-g02", "a-g13", "b-01", "no-such-session", "", "a 01", "x" * 256]
PAGE_SIZES = [None, 0, 1, 2, 5, 25, 100, 101, -1]
GARBAGE_CURSORS = ["", "not-a-cursor", "WyJ4Il0", "a" * 600]
VARIABLE_TYPES = {
    "filter": "SessionFilter",
    "orderBy": "SessionOrder!",
    "first": "Int",
    "last": "Int",
    "after": "String",
    "before": "String",
    "id": "ID!",
    # SessionFilter's fields
    "status": "SessionStatus",
    "role": "SessionRole",
    "startedAfter": "DateTime",
    "startedBefore": "DateTime",
    "userId": "ID",
    "taskSource": "String",
    "search": "String",
    # the report's parts
    "bucket": "TimelinePeriod!",
    "timeZone": "String",
}
TIME_ZONES = ["UTC", "Europe/Paris", "America/Santiago", "Asia/Kathmandu", "Atlantic/Azores", "CET", "Mars/Olympus", ""]
BREAKDOWN_SIZES = [0, 1, 2, 100, 500, 501, -1]
MAX_RANDOM_ALIASES = 20  # the gateway allows 30
WEIGHTS = {"sessions": 3, "edges": 3, "node": 3}  # the paths with the most to get wrong, drawn more often


def literal(value: Any) -> str:
    """``value`` as a GraphQL literal."""
    if isinstance(value, Name):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {literal(item)}" for key, item in value.items()) + "}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    # JSON's string and number syntax is a subset of GraphQL's.
    return json.dumps(value, ensure_ascii=False)


@dataclass
class Drawn:
    """One random request."""

    query: str
    variables: dict[str, Any]
    tenant: str


@dataclass
class Document:
    """A query document being drawn: its variable definitions, values, fragments and name counters."""

    draw: st.DrawFn
    cursors: Issued
    definitions: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    fragments: list[str] = field(default_factory=list)
    unaliased_roots: set[str] = field(default_factory=set)
    aliases: int = 0
    names: int = 0

    def fresh(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    def flag(self) -> bool:
        return self.draw(st.booleans())

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) < percent

    # --- values

    def value(self, argument: str, value: Any) -> str:
        """An argument's value: inline, or as a variable (sometimes one left to its default)."""
        if isinstance(value, dict) and self.chance(30):  # inline, with variables inside
            return "{" + ", ".join(f"{key}: {self.value(key, item)}" for key, item in value.items()) + "}"
        if self.flag():
            return literal(value)
        name = self.fresh("v")
        type_ = VARIABLE_TYPES[argument]
        if argument in {"first", "last", "search"} and self.chance(25):
            self.definitions.append(f"${name}: {type_} = {literal(value)}")
        else:
            self.definitions.append(f"${name}: {type_}")
            self.variables[name] = value
        return f"${name}"

    def condition(self) -> str:
        """A directive's ``if``: a literal, a variable, or a variable left to its default."""
        value = self.flag()
        if self.flag():
            return literal(value)
        name = self.fresh("b")
        if self.chance(25):
            self.definitions.append(f"${name}: Boolean = {literal(value)}")
        else:
            self.definitions.append(f"${name}: Boolean!")
            self.variables[name] = value
        return f"${name}"

    def directives(self) -> str:
        if not self.chance(15):
            return ""
        return f" @{self.draw(st.sampled_from(['skip', 'include']))}(if: {self.condition()})"

    def filter(self) -> dict[str, Any] | None:
        if self.chance(40):
            return None
        keys = self.draw(st.lists(st.sampled_from(sorted(FILTER_VALUES)), max_size=3, unique=True))
        return {key: self.draw(st.sampled_from(FILTER_VALUES[key])) for key in keys}

    # --- arguments

    def arguments(self, field_name: str) -> dict[str, Any]:
        if field_name == "session":
            return {"id": self.draw(st.sampled_from(SESSION_IDS))}
        if field_name == "timeline":
            args: dict[str, Any] = {"bucket": self.draw(st.sampled_from([Name("DAY"), Name("WEEK"), Name("MONTH")]))}
            if self.chance(70):
                args["timeZone"] = self.draw(st.sampled_from(TIME_ZONES))
            return args
        if field_name in {"byUser", "byTaskSource"}:
            return {} if self.chance(30) else {"first": self.draw(st.sampled_from(BREAKDOWN_SIZES))}
        if field_name == "sessionsReport":
            flt = self.filter()
            return {} if flt is None else {"filter": flt}
        return self.page_arguments()

    def page_arguments(self) -> dict[str, Any]:
        """A page: mostly of a listing the cursors were issued for, so that the cursors are valid."""
        listing_name = self.draw(st.sampled_from([*LISTINGS, "random"]))
        listing = LISTINGS.get(listing_name)
        if listing is None:
            order, flt = self.draw(st.sampled_from(ORDERS)), self.filter()
            pool = self.cursors[self.draw(st.sampled_from(sorted(LISTINGS)))]
        else:
            order, flt = listing.order, listing.filter
            pool = self.cursors[listing_name]
        args: dict[str, Any] = {}
        if flt is not None:
            args["filter"] = flt
        if order != "STARTED_AT_DESC" or self.flag():
            args["orderBy"] = Name(order)
        for size_argument, cursor_argument in (("first", "after"), ("last", "before")):
            if self.chance(45):
                args[size_argument] = self.draw(st.sampled_from(PAGE_SIZES))
            if self.chance(30):
                args[cursor_argument] = self.draw(st.sampled_from(pool) | st.sampled_from(GARBAGE_CURSORS))
        return args

    # --- selections

    def selection_set(self, parent: GraphQLObjectType, depth: int) -> str:
        choices = [name for name in [*sorted(parent.fields), "__typename"] for _ in range(WEIGHTS.get(name, 1))]
        names = self.draw(st.lists(st.sampled_from(choices), min_size=1, max_size=4))
        if self.chance(25):  # the same field again: merged, or under another alias
            names.append(self.draw(st.sampled_from(names)))
        items = [self.wrapped(parent, self.selection(parent, name, depth)) for name in names]
        if self.chance(10):
            items = [self.wrapped(parent, " ".join(items), always=True)]
        return " ".join(items)

    def selection(self, parent: GraphQLObjectType, name: str, depth: int) -> str:
        arguments = ""
        alias = ""
        if name != "__typename" and parent.fields[name].args:
            args = self.arguments(name)
            if args:
                arguments = "(" + ", ".join(f"{key}: {self.value(key, value)}" for key, value in args.items()) + ")"
            if name in self.unaliased_roots:
                alias = self.fresh("r")
            else:
                self.unaliased_roots.add(name)
        if not alias and self.aliases < MAX_RANDOM_ALIASES and self.chance(20):
            alias = self.fresh("k")
        self.aliases += bool(alias)
        subselection = ""
        if name != "__typename":
            named = get_named_type(parent.fields[name].type)
            if isinstance(named, GraphQLObjectType):
                subselection = f" {{ {self.selection_set(named, depth + 1)} }}"
        prefix = f"{alias}: " if alias else ""
        return f"{prefix}{name}{arguments}{self.directives()}{subselection}"

    def wrapped(self, parent: GraphQLObjectType, selection: str, *, always: bool = False) -> str:
        """``selection`` as is, or in an inline fragment (typed or not) or a named fragment, maybe twice."""
        for _ in range(2):
            if not always and not self.chance(25):
                return selection
            always = False
            kind = self.draw(st.sampled_from(["typed", "untyped", "named"]))
            if kind == "named":
                fragment = self.fresh("F")
                self.fragments.append(f"fragment {fragment} on {parent.name} {{ {selection} }}")
                selection = f"...{fragment}{self.directives()}"
            else:
                condition = f" on {parent.name}" if kind == "typed" else ""
                selection = f"...{condition}{self.directives()} {{ {selection} }}"
        return selection


@st.composite
def requests(draw: st.DrawFn, cursors: Issued) -> Drawn:
    document = Document(draw, cursors)
    query_type = SCHEMA.query_type
    assert query_type is not None
    body = document.selection_set(query_type, 0)
    definitions = f"({', '.join(document.definitions)})" if document.definitions else ""
    query = "\n".join([f"query Random{definitions} {{ {body} }}", *document.fragments])
    return Drawn(query, document.variables, draw(st.sampled_from(["alpha", "alpha", "alpha", "beta", "delta"])))


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    # No shrinking: each example is two HTTP requests, and the failure message holds the whole request.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
async def test_random_queries_answer_as_the_executor_does(
    client: httpx.AsyncClient, executor_client: httpx.AsyncClient, cursors: Issued, data: st.DataObject
) -> None:
    # given
    drawn = data.draw(requests(cursors))
    # when
    answer = await ask_both(client, executor_client, drawn.query, drawn.variables, tenant=drawn.tenant)
    # then: a request that errs nowhere is answered on the compiled path
    if "errors" not in answer.body:
        assert answer.paths == [COMPILED], answer.paths
    else:
        assert answer.paths in ([], [COMPILED], [("executor", "error")], [("executor", "variables")]), answer.paths


# --------------------------------------------------------------------------------------------
# 3. Which path ran, and why: each fallback still answers right
# --------------------------------------------------------------------------------------------


def logged(caplog: pytest.LogCaptureFixture) -> list[Path_]:
    """(execution_path, fallback_reason) of each operation ``gateway.plans`` logged, in order."""
    return [
        (record.__dict__["execution_path"], record.__dict__["fallback_reason"])
        for record in caplog.records
        if record.name == PLANS_LOGGER and "execution_path" in record.__dict__
    ]


LIST = """
query List($first: Int!) {
  sessions(first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        id name status role thumbnailUrl durationSeconds startedAt completedAt seatId procedureCount
        user { id displayName }
        linkedTask { id title source externalRef status url }
      }
    }
  }
}
"""


@pytest.mark.parametrize(
    ("query", "variables"),
    [(LIST, {"first": 10}), (DETAIL, {"id": "a-01"}), (REPORT, None)],
    ids=["list", "detail", "report"],
)
async def test_ordinary_queries_run_on_the_compiled_path(
    client: httpx.AsyncClient,
    executor_client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    query: str,
    variables: dict[str, Any] | None,
) -> None:
    caplog.set_level(logging.DEBUG, logger=PLANS_LOGGER)
    # when
    answer = await ask_both(client, executor_client, query, variables)
    # then
    assert logged(caplog) == [DISABLED, COMPILED]
    assert "errors" not in answer.body
    assert all(answer.body["data"].values()), answer.body


async def test_with_compiled_plans_off_every_query_runs_on_the_executor(
    executor_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=PLANS_LOGGER)
    # when
    answer = await ask(executor_client, LIST, {"first": 3})
    # then
    assert logged(caplog) == [DISABLED]
    assert [edge["node"]["id"] for edge in answer.body["data"]["sessions"]["edges"]] == ["a-04", "a-02", "a-01"]


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { queryType { name } types { name kind } } }",
        '{ __type(name: "Session") { name fields { name type { name kind ofType { name } } } } }',
        '{ __typename sessions(first: 2) { totalCount } __type(name: "SessionOrder") { enumValues { name } } }',
        'query { session(id: "a-01") { id } ...Schema } fragment Schema on Query { __schema { directives { name } } }',
    ],
    ids=["schema", "type", "next-to-data", "in-a-fragment"],
)
async def test_introspection_runs_on_the_executor(
    client: httpx.AsyncClient, executor_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, query: str
) -> None:
    caplog.set_level(logging.DEBUG, logger=PLANS_LOGGER)
    # when
    answer = await ask_both(client, executor_client, query)
    # then
    assert logged(caplog) == [DISABLED, ("executor", "introspection")]
    assert "errors" not in answer.body, answer.body


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        (LIST, {"first": "ten"}, "Variable '$first' has invalid value: Int cannot represent non-integer value: 'ten'"),
        (LIST, {}, "Variable '$first' has invalid value: Expected a value of non-null type 'Int!' to be provided."),
        (
            LIST,
            {"first": None},
            "Variable '$first' has invalid value: Expected value of non-null type 'Int!' not to be None.",
        ),
        (DETAIL, {"id": ["a-01"]}, "Variable '$id' has invalid value: ID cannot represent value: ['a-01']"),
    ],
    ids=["wrong-type", "missing", "null", "list-for-id"],
)
async def test_variables_that_do_not_coerce_run_on_the_executor(
    client: httpx.AsyncClient,
    executor_client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    query: str,
    variables: dict[str, Any],
    message: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger=PLANS_LOGGER)
    # when
    answer = await ask_both(client, executor_client, query, variables)
    # then
    assert logged(caplog) == [DISABLED, ("executor", "variables")]
    assert answer.status == 200
    assert answer.body == {
        **ANSWER_EXTENSIONS,
        "data": None,
        "errors": [
            {
                "message": message,
                "locations": [{"line": 2, "column": query.index("$") - query.index("\n")}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def test_an_argument_error_is_the_executors_on_whichever_path_the_log_names(
    client: httpx.AsyncClient, executor_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=PLANS_LOGGER)
    # when
    answer = await ask_both(client, executor_client, LIST, {"first": 101})
    # then
    executor_run, compiled_run = logged(caplog)
    assert executor_run == DISABLED
    assert compiled_run in {COMPILED, ("executor", "error")}, compiled_run
    assert answer.body == {
        **ANSWER_EXTENSIONS,
        "data": None,
        "errors": [
            {
                "message": "first must be between 0 and 100, got 101.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["sessions"],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


# --------------------------------------------------------------------------------------------
# 4. SQL statements on the compiled path: one per request, whatever the page size
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [5, 50, 100])
async def test_a_list_page_with_its_count_and_relations_is_one_statement(
    client: httpx.AsyncClient,
    executor_client: httpx.AsyncClient,
    statements: list[str],
    executor_statements: list[str],
    page_size: int,
) -> None:
    # when
    answer = await ask_both(client, executor_client, LIST, {"first": page_size})
    # then: the page, its count, users, tasks and procedure counts in one statement, where the
    # executor sends one each
    assert answer.paths == [COMPILED]
    assert len(answer.body["data"]["sessions"]["edges"]) == min(page_size, 48)
    assert len(executor_statements) == 5, executor_statements
    assert len(statements) == 1, statements


async def test_a_detail_with_every_field_is_one_statement(
    client: httpx.AsyncClient,
    executor_client: httpx.AsyncClient,
    statements: list[str],
    executor_statements: list[str],
) -> None:
    # when
    answer = await ask_both(client, executor_client, DETAIL, {"id": "a-01"})
    # then: the executor reads the session, users, tasks, procedure counts, procedures, recordings
    # and summaries one statement each; the compiled plan joins them all into one and counts the
    # procedures it read instead of counting them in SQL
    assert answer.paths == [COMPILED]
    assert answer.body["data"]["session"]["procedureCount"] == 3
    assert len(executor_statements) == 7, executor_statements
    assert len(statements) == 1, statements
    assert "count(" not in statements[0].lower(), statements


async def test_a_fault_of_the_plan_itself_is_logged_and_the_executor_still_answers(
    client: httpx.AsyncClient,
    executor_client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug in the compiler")

    monkeypatch.setattr("sessions_gateway.schema.extensions.compiled.execute", broken)
    caplog.set_level(logging.DEBUG, logger=PLANS_LOGGER)
    # when
    answer = await ask_both(client, executor_client, LIST, {"first": 3})
    # then: the right answer, from the executor, and the fault in the log for operators
    assert logged(caplog) == [DISABLED, ("executor", "fault")]
    assert [edge["node"]["id"] for edge in answer.body["data"]["sessions"]["edges"]] == ["a-04", "a-02", "a-01"]
    assert any(r.exc_info and "a bug in the compiler" in str(r.exc_info[1]) for r in caplog.records)
