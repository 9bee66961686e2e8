"""Compiled plans convert a field's arguments by a converter made once, equal to Strawberry's conversion.

``schema/arguments.py`` takes Strawberry's decisions (optional, list, leaf, input type) once per
field; these tests hold its answers to ``convert_arguments``'s for every argument of the schema,
and pin that a request known to a plan no longer works out argument types (no annotation is
resolved, no Strawberry conversion runs) however many filter fields it sends.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import strawberry
from graphql import OperationDefinitionNode, parse
from graphql.execution.values import get_argument_values, get_variable_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.types.arguments import convert_arguments

from sessions_gateway.schema import arguments
from sessions_gateway.schema.build import schema as strawberry_schema
from tests.helpers import gql

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

    import httpx
    from graphql import GraphQLField

SCHEMA = strawberry_schema
GRAPHQL = SCHEMA._schema

FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(list(GRAPHQL.get_type("SessionStatus").values)) | st.none(),  # type: ignore[union-attr]
        "role": st.sampled_from(list(GRAPHQL.get_type("SessionRole").values)) | st.none(),  # type: ignore[union-attr]
        "startedAfter": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat) | st.none(),
        "startedBefore": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat) | st.none(),
        "userId": st.uuids().map(str) | st.none(),
        "taskSource": st.text(max_size=8) | st.none(),
        "search": st.text(max_size=8) | st.none(),
    },
)

# Every field of the schema that takes arguments, with a document that sends each of them.
DOCUMENTS = {
    "sessions": (
        "Query",
        (
            "query Q($filter: SessionFilter, $first: Int, $after: String, $last: Int, $before: String,"
            " $orderBy: SessionOrder) { sessions(filter: $filter, first: $first, after: $after, last: $last,"
            " before: $before, orderBy: $orderBy) { totalCount } }"
        ),
    ),
    "session": ("Query", "query Q($id: ID!) { session(id: $id) { id } }"),
    "sessionsReport": ("Query", "query Q($filter: SessionFilter) { sessionsReport(filter: $filter) { totalCount } }"),
    "timeline": (
        "SessionsReport",
        (
            "query Q($bucket: TimelinePeriod!, $timeZone: String!) "
            "{ sessionsReport { timeline(bucket: $bucket, timeZone: $timeZone) { count } } }"
        ),
    ),
    "byUser": ("SessionsReport", "query Q($first: Int!) { sessionsReport { byUser(first: $first) { count } } }"),
    "byTaskSource": (
        "SessionsReport",
        "query Q($first: Int!) { sessionsReport { byTaskSource(first: $first) { count } } }",
    ),
}


def _field_node(document: Any, name: str) -> Any:
    stack = [document.definitions[0].selection_set]
    while stack:
        for selection in stack.pop().selections:
            if selection.name.value == name:
                return selection
            if selection.selection_set is not None:
                stack.append(selection.selection_set)
    raise LookupError(name)


def _both(name: str, variables: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The arguments of field ``name`` sent with ``variables``: Strawberry's conversion, then the converter's."""
    owner, text = DOCUMENTS[name]
    document = parse(text)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(GRAPHQL, operation.variable_definitions or (), variables)
    assert not isinstance(coerced, list), coerced
    definition: GraphQLField = GRAPHQL.get_type(owner).fields[name]  # type: ignore[union-attr]
    raw = get_argument_values(definition, _field_node(document, name), coerced)
    declared = definition.extensions["strawberry-definition"].arguments
    registry = SCHEMA.schema_converter.scalar_registry
    expected = convert_arguments(raw, declared, registry, SCHEMA.config)
    return expected, arguments.converter(declared, registry, SCHEMA.config)(raw)


def test_every_field_with_arguments_is_covered() -> None:
    with_arguments = {
        name
        for type_name in ("Query", "SessionsReport")
        for name, field in GRAPHQL.get_type(type_name).fields.items()  # type: ignore[union-attr]
        if field.args
    }
    assert with_arguments == set(DOCUMENTS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    filter_=FILTERS | st.none(),
    first=st.integers(0, 500) | st.none(),
    last=st.integers(0, 500) | st.none(),
    after=st.text(max_size=6) | st.none(),
    before=st.text(max_size=6) | st.none(),
    order=st.sampled_from(list(GRAPHQL.get_type("SessionOrder").values)) | st.none(),  # type: ignore[union-attr]
    omitted=st.sets(st.sampled_from(["filter", "first", "after", "last", "before", "orderBy"])),
)
def test_the_list_arguments_convert_as_strawberry_converts_them(
    filter_: dict[str, Any] | None,
    first: int | None,
    last: int | None,
    after: str | None,
    before: str | None,
    order: str | None,
    omitted: set[str],
) -> None:
    variables = {"filter": filter_, "first": first, "after": after, "last": last, "before": before, "orderBy": order}
    # orderBy is non-null with a default: sent as a value, or not at all
    sent = {k: v for k, v in variables.items() if k not in omitted and not (k == "orderBy" and v is None)}
    expected, got = _both("sessions", sent)
    assert got == expected
    assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


@settings(max_examples=60, deadline=None)
@given(filter_=FILTERS | st.none(), omitted=st.booleans())
def test_the_report_filter_converts_as_strawberry_converts_it(filter_: dict[str, Any] | None, omitted: bool) -> None:  # noqa: FBT001
    expected, got = _both("sessionsReport", {} if omitted else {"filter": filter_})
    assert got == expected


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("session", {"id": "0194a1b2-0000-7000-8000-000000000001"}),
        ("session", {"id": 12}),
        ("timeline", {"bucket": "WEEK", "timeZone": "Europe/Paris"}),
        ("timeline", {"bucket": "DAY", "timeZone": "UTC"}),
        ("byUser", {"first": 3}),
        ("byTaskSource", {"first": 0}),
    ],
)
def test_the_other_arguments_convert_as_strawberry_converts_them(name: str, variables: dict[str, Any]) -> None:
    expected, got = _both(name, variables)
    assert got == expected
    assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


@strawberry.input
class Window:
    size: int = 1


@strawberry.type
class WindowQuery:
    @strawberry.field
    def pick(self, window: Window | None = None) -> int:
        return 0 if window is None else window.size


def test_an_input_type_that_builds_itself_is_left_to_strawberry(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []

    def from_input(type_: type[Window], value: Any, _ctx: Any) -> Window:
        built.append(value)
        return type_(size=9)

    monkeypatch.setattr(Window.__strawberry_definition__, "from_input", from_input)  # type: ignore[attr-defined]
    schema = strawberry.Schema(WindowQuery)
    declared = schema._schema.query_type.fields["pick"].extensions["strawberry-definition"].arguments  # type: ignore[union-attr]
    convert = arguments.converter(declared, schema.schema_converter.scalar_registry, schema.config)
    assert convert({"window": {"size": 2}}) == {"window": Window(size=9)}
    assert built == [{"size": 2}]


@contextlib.contextmanager
def strawberry_conversions() -> Iterator[list[str]]:
    """The calls into Strawberry's argument conversion and annotation resolution while the block runs."""
    seen: list[str] = []
    watched = {"convert_argument", "convert_arguments", "resolve", "resolve_type"}

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_code.co_name in watched and "/strawberry/" in frame.f_code.co_filename:
            seen.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(None)


LIST = """query List($first: Int!, $filter: SessionFilter) {
  sessions(first: $first, filter: $filter) { edges { node { id name status } } }
}"""


async def test_a_known_filtered_list_works_out_no_argument_type(client: httpx.AsyncClient) -> None:
    newest = datetime.now(UTC)
    variables = {
        "first": 5,
        "filter": {
            "status": "COMPLETED",
            "role": "TRAINEE",
            "startedAfter": (newest - timedelta(days=3000)).isoformat(),
            "startedBefore": newest.isoformat(),
        },
    }
    first = await gql(client, LIST, variables)  # the plan is made, and the operation known
    with strawberry_conversions() as seen:
        again = await gql(client, LIST, variables)
    assert again == first
    assert first["sessions"]["edges"], "the filter matches rows of the test data"
    assert seen == []
