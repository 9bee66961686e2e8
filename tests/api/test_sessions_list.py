"""The ``sessions`` list: filters, orders, bad filter input, erased sessions and tenant isolation.

Expected ids come from ``tests/oracle.py``; a few cases also spell the ids out by hand, which
checks the oracle itself. Pagination and cursors are in ``test_pagination.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests import oracle
from tests.dataset import DATA
from tests.helpers import gql, gql_error

if TYPE_CHECKING:
    import httpx

ORDERS = ["STARTED_AT_DESC", "STARTED_AT_ASC", "COMPLETED_AT_DESC", "DURATION_DESC"]

LIST = """
query List($filter: SessionFilter, $orderBy: SessionOrder! = STARTED_AT_DESC, $first: Int, $after: String,
           $last: Int, $before: String) {
  sessions(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id name status role startedAt completedAt user { id } linkedTask { source } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

# Sessions started from this instant on are alpha's hand-made ones (a-01 .. a-10).
HAND_MADE = "2026-11-01T00:00:00+00:00"
T0 = "2026-11-20T09:30:00+00:00"  # started_at of a-01 and a-02 (and of a-06, erased, plus one day)


async def list_sessions(
    client: httpx.AsyncClient,
    flt: dict[str, Any] | None = None,
    order: str = "STARTED_AT_DESC",
    *,
    tenant: str = "alpha",
    **page: Any,
) -> dict[str, Any]:
    variables: dict[str, Any] = {"filter": flt, "orderBy": order, "first": 100} | page
    data = await gql(client, LIST, variables, tenant=tenant)
    connection: dict[str, Any] = data["sessions"]
    return connection


def ids_of(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------

SINGLE_FIELD_FILTERS: list[dict[str, Any]] = [
    {"status": "COMPLETED"},
    {"status": "IN_PROGRESS"},
    {"status": "FAILED"},
    {"role": "TRAINER"},
    {"role": "TRAINEE"},
    # Boundaries equal to a row's started_at: a-01/a-02 (T0) and a-03 (with a fraction of a second).
    {"startedAfter": T0},
    {"startedBefore": T0},
    {"startedAfter": "2026-11-19T14:05:30.250000+00:00"},
    {"startedBefore": "2026-11-19T14:05:30.250000+00:00"},
    {"startedAfter": "2026-10-01T16:00:00+00:00"},  # three generated sessions start then (one erased)
    {"startedBefore": "2026-10-01T16:00:00+00:00"},
    {"userId": "a-ann"},
    {"userId": "a-bob"},
    {"userId": "a-zoe"},
    {"taskSource": "jobber"},
    {"taskSource": "JOBBER"},
    {"taskSource": "ServiceM8"},
    {"search": "boiler"},
    {"search": "BOILER SERVICE"},
    {"search": "проверка"},
    {"search": "ПРОВЕРКА"},
    {"search": "Session 2026-11-19 14:05"},
    {"search": "session 2026-10-01"},
    {"search": "drill 1"},
    {"search": "%"},
    {"search": "_"},
    {"search": "\\"},
    {"search": "% off_sale \\ t"},
]


@pytest.mark.parametrize("flt", SINGLE_FIELD_FILTERS, ids=repr)
async def test_each_filter_field_alone_matches_the_oracle(client: httpx.AsyncClient, flt: dict[str, Any]) -> None:
    # given
    expected = oracle.ordered_ids("alpha", flt)
    assert expected, "every single-field case is chosen to match something"
    assert len(expected) < len(oracle.ordered_ids("alpha")), "and to leave something out"

    # when
    connection = await list_sessions(client, flt)

    # then
    assert ids_of(connection) == expected
    assert connection["totalCount"] == len(expected)


COMBINED_FILTERS: list[dict[str, Any]] = [
    {"status": "COMPLETED", "role": "TRAINER"},
    {"userId": "a-bob", "status": "FAILED"},
    {"taskSource": "jobber", "search": "DRILL"},
    {"startedAfter": "2026-10-01T14:00:00+00:00", "startedBefore": "2026-10-01T20:00:00+00:00", "role": "TRAINEE"},
    {"startedAfter": HAND_MADE, "userId": "a-zoe", "status": "IN_PROGRESS", "search": "ПРОВЕРКА"},
    {"search": "drill", "status": "COMPLETED", "role": "TRAINEE", "userId": "a-zoe"},
]


@pytest.mark.parametrize("flt", COMBINED_FILTERS, ids=repr)
async def test_combined_filter_fields_all_apply(client: httpx.AsyncClient, flt: dict[str, Any]) -> None:
    # given
    expected = oracle.ordered_ids("alpha", flt)
    assert expected
    narrowest_single = min(len(oracle.ordered_ids("alpha", {k: v})) for k, v in flt.items())
    assert len(expected) < narrowest_single, "the combination narrows more than any one field"

    # when
    connection = await list_sessions(client, flt)

    # then
    assert ids_of(connection) == expected
    assert connection["totalCount"] == len(expected)


HAND_WRITTEN: list[tuple[dict[str, Any], list[str]]] = [
    ({"startedAfter": HAND_MADE}, ["a-04", "a-02", "a-01", "a-03", "a-05", "a-07", "a-08", "a-09", "a-10"]),
    # startedAfter is inclusive: a-01 and a-02 start exactly at T0 (a-06 is later but erased).
    ({"startedAfter": T0}, ["a-04", "a-02", "a-01"]),
    # The same instant written with another offset.
    ({"startedAfter": "2026-11-20T10:30:00+01:00"}, ["a-04", "a-02", "a-01"]),
    # startedBefore is exclusive: a-01 and a-02 are left out.
    ({"startedAfter": HAND_MADE, "startedBefore": T0}, ["a-03", "a-05", "a-07", "a-08", "a-09", "a-10"]),
    # a-03 starts at 14:05:30.25: a bound one microsecond later excludes it, the exact one keeps it.
    ({"startedAfter": "2026-11-19T14:05:30.250000+00:00"}, ["a-04", "a-02", "a-01", "a-03"]),
    ({"startedAfter": "2026-11-19T14:05:30.250001+00:00"}, ["a-04", "a-02", "a-01"]),
    ({"startedAfter": "2026-11-19T14:05:30+00:00", "startedBefore": "2026-11-19T14:05:30.250001+00:00"}, ["a-03"]),
    ({"startedAfter": HAND_MADE, "status": "FAILED"}, ["a-03", "a-07"]),
    ({"startedAfter": HAND_MADE, "status": "IN_PROGRESS"}, ["a-04"]),
    ({"startedAfter": HAND_MADE, "role": "TRAINER"}, ["a-01", "a-05"]),
    ({"startedAfter": HAND_MADE, "userId": "a-zoe"}, ["a-04", "a-09"]),
    # a-08's task is a jobber task with an empty title; the source still matches.
    ({"startedAfter": HAND_MADE, "taskSource": "JOBBER"}, ["a-01", "a-08", "a-10"]),
    ({"taskSource": "servicem8"}, ["a-02"]),
    # "Проверка котла" is a-02's linked task title shown as its name; a-04 is named "Проверка вентиляции".
    ({"search": "проверка"}, ["a-04", "a-02"]),
    ({"search": "КОТЛА"}, ["a-02"]),
    # The automatic name of a-03, which has neither name nor task.
    ({"search": "Session 2026-11-19 14:05"}, ["a-03"]),
    # a-08 has an empty name and a task with an empty title: the automatic name again.
    ({"search": "session 2026-11-18 07:45"}, ["a-08"]),
    # %, _ and \ are plain characters: only a-05 ("50% off_sale \ test") holds them.
    ({"search": "%"}, ["a-05"]),
    ({"search": "_"}, ["a-05"]),
    ({"search": "\\"}, ["a-05"]),
    ({"search": "0%"}, ["a-05"]),
    ({"search": "f_s"}, ["a-05"]),
    ({"search": "e \\ t"}, ["a-05"]),
]


@pytest.mark.parametrize(("flt", "expected"), HAND_WRITTEN, ids=repr)
async def test_filters_against_hand_written_ids(
    client: httpx.AsyncClient, flt: dict[str, Any], expected: list[str]
) -> None:
    # given: the oracle agrees with the ids written out by hand
    assert oracle.ordered_ids("alpha", flt) == expected

    # when
    connection = await list_sessions(client, flt)

    # then
    assert ids_of(connection) == expected
    assert connection["totalCount"] == len(expected)


async def test_search_is_case_insensitive_for_latin_and_cyrillic_alike(client: httpx.AsyncClient) -> None:
    # given
    spellings = ["проверка", "ПРОВЕРКА", "ПрОвЕрКа"]

    # when
    results = [ids_of(await list_sessions(client, {"search": s})) for s in spellings]

    # then
    assert results == [["a-04", "a-02"]] * 3
    names = {
        edge["node"]["id"]: edge["node"]["name"]
        for edge in (await list_sessions(client, {"search": "проверка"}))["edges"]
    }
    assert names == {"a-04": "Проверка вентиляции", "a-02": "Проверка котла"}


async def test_search_finds_a_generated_automatic_name(client: httpx.AsyncClient) -> None:
    # given: a-g14 (no name, no task) is named after its start, 2026-10-01 16:00
    flt = {"search": "Session 2026-10-01 16:00"}

    # when
    connection = await list_sessions(client, flt)

    # then
    assert ids_of(connection) == ["a-g14"] == oracle.ordered_ids("alpha", flt)
    assert connection["edges"][0]["node"]["name"] == "Session 2026-10-01 16:00"


@pytest.mark.parametrize("search", ["%", "_", "\\"])
async def test_like_wildcards_are_plain_characters(client: httpx.AsyncClient, search: str) -> None:
    # given: a LIKE pattern would let "%" and "_" match every name and "\" escape
    # when
    connection = await list_sessions(client, {"search": search})

    # then
    assert ids_of(connection) == ["a-05"]
    assert connection["totalCount"] == 1
    assert connection["edges"][0]["node"]["name"] == "50% off_sale \\ test"


FILTERS_MATCHING_NOTHING: list[dict[str, Any]] = [
    {"search": "no session has this name"},
    {"search": "%%"},
    {"userId": "a-nobody"},
    {"taskSource": "servicetitan"},
    {"startedAfter": "2030-01-01T00:00:00+00:00"},
    {"startedBefore": "2026-10-01T12:00:00+00:00"},  # the earliest start: exclusive
    {"startedAfter": T0, "startedBefore": T0},
    {"status": "IN_PROGRESS", "role": "TRAINER"},
]


@pytest.mark.parametrize("flt", FILTERS_MATCHING_NOTHING, ids=repr)
async def test_filter_matching_nothing_gives_an_empty_connection(
    client: httpx.AsyncClient, flt: dict[str, Any]
) -> None:
    # given
    assert oracle.ordered_ids("alpha", flt) == []

    # when
    connection = await list_sessions(client, flt)

    # then
    assert connection["edges"] == []
    assert connection["totalCount"] == 0
    assert connection["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }


@pytest.mark.parametrize(
    "flt",
    [
        None,
        {},
        {
            "status": None,
            "role": None,
            "startedAfter": None,
            "startedBefore": None,
            "userId": None,
            "taskSource": None,
            "search": None,
        },
        {"search": ""},
    ],
    ids=["no filter", "empty filter", "every field null", "empty search"],
)
async def test_absent_or_null_filter_fields_do_not_filter(
    client: httpx.AsyncClient, flt: dict[str, Any] | None
) -> None:
    # given
    everything = oracle.ordered_ids("alpha")

    # when
    connection = await list_sessions(client, flt)

    # then
    assert ids_of(connection) == everything
    assert connection["totalCount"] == len(everything) == 48


async def test_filtered_nodes_carry_the_filtered_values(client: httpx.AsyncClient) -> None:
    # given
    flt = {"status": "COMPLETED", "role": "TRAINEE", "userId": "a-bob", "taskSource": "jobber"}

    # when
    connection = await list_sessions(client, flt)

    # then
    nodes = [edge["node"] for edge in connection["edges"]]
    assert [n["id"] for n in nodes] == oracle.ordered_ids("alpha", flt) == ["a-08", "a-10"]
    for node in nodes:
        assert (node["status"], node["role"], node["user"]["id"], node["linkedTask"]["source"]) == (
            "COMPLETED",
            "TRAINEE",
            "a-bob",
            "jobber",
        )


async def test_filter_given_inline_matches_the_same_filter_given_as_a_variable(client: httpx.AsyncClient) -> None:
    # given
    query = """{ sessions(first: 100, filter: {startedAfter: "2026-11-20T09:30:00+00:00", taskSource: "JOBBER",
                 search: "BOILER"}) { totalCount edges { node { id } } } }"""

    # when
    data = await gql(client, query)

    # then
    assert [e["node"]["id"] for e in data["sessions"]["edges"]] == ["a-01"]
    assert data["sessions"]["totalCount"] == 1


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
async def test_every_order_matches_the_oracle(client: httpx.AsyncClient, order: str) -> None:
    # given
    expected = oracle.ordered_ids("alpha", None, order)

    # when
    connection = await list_sessions(client, None, order)

    # then
    assert ids_of(connection) == expected
    assert connection["totalCount"] == len(expected)


HAND_MADE_ORDERS = {
    "STARTED_AT_DESC": ["a-04", "a-02", "a-01", "a-03", "a-05", "a-07", "a-08", "a-09", "a-10"],
    "STARTED_AT_ASC": ["a-10", "a-09", "a-08", "a-07", "a-05", "a-03", "a-01", "a-02", "a-04"],
    # No completedAt (a-04 in progress, a-03 failed): last, by id descending.
    "COMPLETED_AT_DESC": ["a-01", "a-02", "a-05", "a-07", "a-08", "a-09", "a-10", "a-04", "a-03"],
    # 3500 (recorded, not 3600), 2700, 1800 (1800.9 truncated), 1200, 841, 600, 0 (recorded zero),
    # then no recorded duration (a-04 in progress, a-03 failed without end), by id descending.
    "DURATION_DESC": ["a-01", "a-10", "a-02", "a-09", "a-08", "a-07", "a-05", "a-04", "a-03"],
}


@pytest.mark.parametrize(("order", "expected"), HAND_MADE_ORDERS.items())
async def test_orders_of_the_hand_made_sessions_written_out(
    client: httpx.AsyncClient, order: str, expected: list[str]
) -> None:
    # given
    flt = {"startedAfter": HAND_MADE}
    assert oracle.ordered_ids("alpha", flt, order) == expected

    # when
    connection = await list_sessions(client, flt, order)

    # then
    assert ids_of(connection) == expected


async def test_default_order_is_started_at_desc(client: httpx.AsyncClient) -> None:
    # given
    query = "{ sessions(first: 100) { edges { node { id } } } }"

    # when
    data = await gql(client, query)

    # then
    got = [e["node"]["id"] for e in data["sessions"]["edges"]]
    assert got == oracle.ordered_ids("alpha", None, "STARTED_AT_DESC")
    assert got != oracle.ordered_ids("alpha", None, "STARTED_AT_ASC")


@pytest.mark.parametrize(
    ("order", "flt", "expected"),
    [
        # a-g00, a-g01 and a-g02 start at the same instant.
        ("STARTED_AT_DESC", {"startedBefore": "2026-10-01T13:00:00+00:00"}, ["a-g02", "a-g01", "a-g00"]),
        ("STARTED_AT_ASC", {"startedBefore": "2026-10-01T13:00:00+00:00"}, ["a-g00", "a-g01", "a-g02"]),
        # a-g36 and a-g37 both complete at 2026-10-02 00:00; a-g38 has no completedAt.
        (
            "COMPLETED_AT_DESC",
            {"startedAfter": "2026-10-02T00:00:00+00:00", "startedBefore": HAND_MADE},
            ["a-g39", "a-g37", "a-g36", "a-g38"],
        ),
        # Three at 1200 s, four at 300 s (a-g06 recorded while in progress), six at 0 s (recorded or
        # from equal timestamps), then a-g15: completed without an end or a recorded duration.
        (
            "DURATION_DESC",
            {"userId": "a-ann", "taskSource": "jobber", "startedBefore": HAND_MADE},
            [
                "a-g33",
                "a-g21",
                "a-g09",
                "a-g36",
                "a-g30",
                "a-g12",
                "a-g06",
                "a-g39",
                "a-g27",
                "a-g24",
                "a-g18",
                "a-g03",
                "a-g00",
                "a-g15",
            ],
        ),
    ],
)
async def test_ties_are_broken_by_id_in_the_direction_of_the_order(
    client: httpx.AsyncClient, order: str, flt: dict[str, Any], expected: list[str]
) -> None:
    # given
    assert oracle.ordered_ids("alpha", flt, order) == expected

    # when
    connection = await list_sessions(client, flt, order)

    # then
    assert ids_of(connection) == expected


async def test_completed_at_desc_puts_sessions_without_completed_at_last(client: httpx.AsyncClient) -> None:
    # given
    expected_without = [s["id"] for s in DATA.live_sessions("alpha") if s["completed_at"] is None]

    # when
    connection = await list_sessions(client, None, "COMPLETED_AT_DESC")

    # then
    nodes = [edge["node"] for edge in connection["edges"]]
    with_end = [n for n in nodes if n["completedAt"] is not None]
    assert nodes[: len(with_end)] == with_end, "every session with completedAt comes first"
    ends = [n["completedAt"] for n in with_end]
    assert ends == sorted(ends, reverse=True)
    assert [n["id"] for n in nodes[len(with_end) :]] == sorted(expected_without, reverse=True)


async def test_duration_desc_puts_sessions_without_recorded_duration_last(client: httpx.AsyncClient) -> None:
    # given: in progress without a recorded duration (a-04, a-g02, ...) or ended without an end
    without = sorted(
        (s["id"] for s in DATA.live_sessions("alpha") if oracle.recorded_duration(s) is None), reverse=True
    )
    assert {"a-03", "a-04", "a-g02"} <= set(without)
    assert "a-g06" not in without, "in progress but with a recorded duration: sorted by it"

    # when
    connection = await list_sessions(client, None, "DURATION_DESC")

    # then
    got = ids_of(connection)
    assert got[-len(without) :] == without
    assert got.index("a-05") < got.index(without[0]), "a recorded zero is a duration"


# --------------------------------------------------------------------------------------------
# Bad filter input
# --------------------------------------------------------------------------------------------

BAD_DATES = ["not-a-date", "2026-11-20T09:30:00", "2026-13-01T00:00:00+00:00", "2026-11-20", ""]


@pytest.mark.parametrize("field", ["startedAfter", "startedBefore"])
@pytest.mark.parametrize("value", BAD_DATES)
async def test_malformed_date_inline_is_bad_user_input(client: httpx.AsyncClient, field: str, value: str) -> None:
    # given
    query = f'{{ sessions(filter: {{{field}: "{value}"}}) {{ totalCount edges {{ node {{ id }} }} }} }}'

    # when
    code, body = await gql_error(client, query)

    # then
    assert code == "BAD_USER_INPUT"
    assert body.get("data") is None


@pytest.mark.parametrize("field", ["startedAfter", "startedBefore"])
@pytest.mark.parametrize("value", [*BAD_DATES, 1763631000, True])
async def test_malformed_date_variable_is_bad_user_input(client: httpx.AsyncClient, field: str, value: Any) -> None:
    # given
    variables = {"filter": {field: value}, "orderBy": "STARTED_AT_DESC", "first": 10}

    # when
    code, body = await gql_error(client, LIST, variables)

    # then
    assert code == "BAD_USER_INPUT"
    assert body.get("data") is None


@pytest.mark.parametrize("value", ["", "a ann", " a-ann", "a-ann\n", "a\tann", "a\x00ann", "x" * 256])
async def test_malformed_user_id_is_bad_user_input(client: httpx.AsyncClient, value: str) -> None:
    # given
    variables = {"filter": {"userId": value}, "orderBy": "STARTED_AT_DESC", "first": 10}

    # when
    code, body = await gql_error(client, LIST, variables)

    # then
    assert code == "BAD_USER_INPUT"
    assert body.get("data") is None


@pytest.mark.parametrize("entry", ["sessionsReport", "sessions"])
async def test_an_overlong_search_is_bad_user_input(client: httpx.AsyncClient, entry: str) -> None:
    # given: 200 characters are allowed, 201 are not
    fields = "totalCount" if entry == "sessionsReport" else "totalCount edges { node { id } }"
    query = f"query ($s: String) {{ {entry}(filter: {{search: $s}}) {{ {fields} }} }}"
    assert (await gql(client, query, {"s": "z" * 200}))[entry]["totalCount"] == 0

    # when
    code, body = await gql_error(client, query, {"s": "z" * 201})

    # then
    assert code == "BAD_USER_INPUT"
    assert "search" in body["errors"][0]["message"]
    assert body.get("data") is None


@pytest.mark.parametrize("entry", ["sessionsReport", "sessions"])
@pytest.mark.parametrize(("field", "shown"), [("search", "filter.search"), ("taskSource", "filter.taskSource")])
async def test_a_nul_in_a_text_filter_is_bad_user_input_on_every_backend(
    client: httpx.AsyncClient, entry: str, field: str, shown: str
) -> None:
    # given: a value no stored text can hold (PostgreSQL refuses it outright)
    fields = "totalCount" if entry == "sessionsReport" else "totalCount edges { node { id } }"
    query = f"query ($s: String) {{ {entry}(filter: {{{field}: $s}}) {{ {fields} }} }}"

    # when
    code, body = await gql_error(client, query, {"s": "boiler\u0000"})

    # then
    assert code == "BAD_USER_INPUT"
    assert body["errors"][0]["message"] == f"{shown}: must not contain the NUL character."
    assert body.get("data") is None


async def test_an_overlong_task_source_is_bad_user_input(client: httpx.AsyncClient) -> None:
    query = "query ($s: String) { sessions(filter: {taskSource: $s}) { totalCount } }"
    assert (await gql(client, query, {"s": "j" * 255}))["sessions"]["totalCount"] == 0
    code, body = await gql_error(client, query, {"s": "j" * 256})
    assert code == "BAD_USER_INPUT"
    assert "filter.taskSource" in body["errors"][0]["message"]


async def test_malformed_user_id_inline_is_bad_user_input(client: httpx.AsyncClient) -> None:
    # given
    query = '{ sessions(filter: {userId: "a ann"}) { totalCount edges { node { id } } } }'

    # when
    code, body = await gql_error(client, query)

    # then
    assert code == "BAD_USER_INPUT"
    assert body.get("data") is None


@pytest.mark.parametrize(
    "flt",
    [{"status": "DONE"}, {"role": "trainer"}, {"unknownField": 1}, {"search": 5}],
    ids=["unknown status", "lower-case role", "unknown field", "number as search"],
)
async def test_filter_values_outside_the_schema_are_bad_user_input(
    client: httpx.AsyncClient, flt: dict[str, Any]
) -> None:
    # given
    variables = {"filter": flt, "orderBy": "STARTED_AT_DESC"}

    # when
    code, body = await gql_error(client, LIST, variables)

    # then
    assert code == "BAD_USER_INPUT"
    assert body.get("data") is None


async def test_server_answers_normally_after_bad_filter_input(client: httpx.AsyncClient) -> None:
    # given
    await gql_error(client, LIST, {"filter": {"startedAfter": "garbage"}})
    await gql_error(client, LIST, {"filter": {"userId": ""}})

    # when
    connection = await list_sessions(client, {"startedAfter": T0})

    # then
    assert ids_of(connection) == ["a-04", "a-02", "a-01"]


# --------------------------------------------------------------------------------------------
# Erased sessions
# --------------------------------------------------------------------------------------------

ERASED = [s["id"] for s in DATA.sessions if s["deleted_at"] is not None]


@pytest.mark.parametrize("order", ORDERS)
async def test_erased_sessions_are_in_no_page_and_no_count(client: httpx.AsyncClient, order: str) -> None:
    # given
    assert {"a-06", "a-g13"} <= set(ERASED)
    seen: list[str] = []
    after: str | None = None

    # when
    while True:
        connection = await list_sessions(client, None, order, first=7, after=after)
        assert connection["totalCount"] == 48
        seen += ids_of(connection)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]

    one_page = await list_sessions(client, None, order, first=100)

    # then
    assert seen
    assert not set(ERASED) & set(seen)
    assert not set(ERASED) & set(ids_of(one_page))
    assert one_page["totalCount"] == len(ids_of(one_page)) == 48


@pytest.mark.parametrize(
    "flt",
    [
        {"search": "Erased session"},
        {"search": "Drill 13"},
        {"startedAfter": "2026-11-21T09:30:00+00:00", "startedBefore": "2026-11-22T00:00:00+00:00"},
        {"userId": "a-ann", "startedAfter": "2026-11-20T10:00:00+00:00"},
        {
            "startedAfter": "2026-10-01T16:00:00+00:00",
            "startedBefore": "2026-10-01T17:00:00+00:00",
            "userId": "a-bob",
        },  # a-g13 alone
    ],
    ids=repr,
)
async def test_filters_aimed_at_an_erased_session_find_nothing(client: httpx.AsyncClient, flt: dict[str, Any]) -> None:
    # given: without the erasure each filter would match a-06 or a-g13
    assert any(oracle.matches(DATA.session(i), flt) for i in ("a-06", "a-g13"))

    # when
    connection = await list_sessions(client, flt)

    # then
    assert connection["edges"] == []
    assert connection["totalCount"] == 0


# --------------------------------------------------------------------------------------------
# Tenant isolation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
async def test_beta_sees_only_its_own_sessions(client: httpx.AsyncClient, order: str) -> None:
    # given
    expected = oracle.ordered_ids("beta", None, order)

    # when
    connection = await list_sessions(client, None, order, tenant="beta")

    # then
    got = ids_of(connection)
    assert got == expected
    assert all(i.startswith("b-") for i in got)
    assert connection["totalCount"] == len(expected) == 16


@pytest.mark.parametrize(
    "flt",
    [
        {"userId": "a-ann"},
        {"userId": "a-zoe"},
        {"search": "проверка"},
        {"search": "%"},
        {"taskSource": "servicem8"},
        {"search": "Erased session"},
    ],
    ids=repr,
)
async def test_beta_filtered_by_alpha_only_values_gets_nothing(client: httpx.AsyncClient, flt: dict[str, Any]) -> None:
    # given: each of these matches alpha sessions
    assert any(oracle.matches(s, flt) for s in DATA.sessions if s["tenant_id"] == "alpha")

    # when
    connection = await list_sessions(client, flt, tenant="beta")

    # then
    assert connection["edges"] == []
    assert connection["totalCount"] == 0


async def test_alpha_filtered_by_a_beta_user_gets_nothing(client: httpx.AsyncClient) -> None:
    # given
    flt = {"userId": "b-ann"}

    # when
    connection = await list_sessions(client, flt)

    # then
    assert connection["edges"] == []
    assert connection["totalCount"] == 0


@pytest.mark.parametrize(
    "flt",
    [{"taskSource": "jobber"}, {"search": "boiler"}, {"userId": "b-bob"}, {"status": "COMPLETED"}],
    ids=repr,
)
async def test_beta_filters_stay_within_beta(client: httpx.AsyncClient, flt: dict[str, Any]) -> None:
    # given: alpha has look-alike rows for each of these
    expected = oracle.ordered_ids("beta", flt)
    assert expected

    # when
    connection = await list_sessions(client, flt, tenant="beta")

    # then
    assert ids_of(connection) == expected
    assert all(i.startswith("b-") for i in expected)
    assert connection["totalCount"] == len(expected)


async def test_tenant_without_sessions_gets_an_empty_list(client: httpx.AsyncClient) -> None:
    # given: a token for a tenant with no rows at all
    # when
    connection = await list_sessions(client, None, tenant="gamma")

    # then
    assert connection["edges"] == []
    assert connection["totalCount"] == 0
