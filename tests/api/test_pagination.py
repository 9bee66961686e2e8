"""Paging through ``sessions``: first/after, last/before, page sizes, pageInfo and cursors."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pytest

from tests import oracle
from tests.dataset import DATA
from tests.helpers import gql, gql_error

if TYPE_CHECKING:
    import httpx

ORDERS = ["STARTED_AT_DESC", "STARTED_AT_ASC", "COMPLETED_AT_DESC", "DURATION_DESC"]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
ALL_ALPHA = 48  # live sessions of tenant alpha

PAGE = """
query Page($filter: SessionFilter, $orderBy: SessionOrder! = STARTED_AT_DESC, $first: Int, $after: String,
           $last: Int, $before: String) {
  sessions(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def variables(flt: dict[str, Any] | None, order: str, **page: Any) -> dict[str, Any]:
    return {"filter": flt, "orderBy": order} | page


async def page_of(
    client: httpx.AsyncClient,
    flt: dict[str, Any] | None = None,
    order: str = "STARTED_AT_DESC",
    *,
    tenant: str = "alpha",
    **page: Any,
) -> dict[str, Any]:
    data = await gql(client, PAGE, variables(flt, order, **page), tenant=tenant)
    connection: dict[str, Any] = data["sessions"]
    return connection


def ids_of(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def cursors_of(connection: dict[str, Any]) -> list[str]:
    return [edge["cursor"] for edge in connection["edges"]]


def assert_bounds(connection: dict[str, Any]) -> None:
    """The page's startCursor and endCursor are its first and last edge's (null when it has none)."""
    cursors = cursors_of(connection)
    info = connection["pageInfo"]
    assert info["startCursor"] == (cursors[0] if cursors else None)
    assert info["endCursor"] == (cursors[-1] if cursors else None)


async def all_cursors(client: httpx.AsyncClient, flt: dict[str, Any] | None, order: str) -> list[str]:
    return cursors_of(await page_of(client, flt, order, first=100))


async def assert_still_answering(client: httpx.AsyncClient) -> None:
    connection = await page_of(client, None, "STARTED_AT_DESC", first=3)
    assert ids_of(connection) == oracle.ordered_ids("alpha")[:3]


# --------------------------------------------------------------------------------------------
# Walking every page
# --------------------------------------------------------------------------------------------

WALK_FILTERS: list[dict[str, Any] | None] = [
    None,
    {"status": "COMPLETED"},  # holds sessions without completedAt too
    {"search": "drill", "role": "TRAINEE"},
]
WALKS = [
    pytest.param(order, flt, size, id=f"{order}-{flt}-{size}")
    for order in ORDERS
    for flt in WALK_FILTERS
    for size in (1, 7, 100)
    if not (flt is None and size == 1)  # 48 one-row pages add nothing the filtered walks do not show
]


@pytest.mark.parametrize(("order", "flt", "size"), WALKS)
async def test_walking_forward_visits_every_session_once_in_order(
    client: httpx.AsyncClient, order: str, flt: dict[str, Any] | None, size: int
) -> None:
    # given
    expected = oracle.ordered_ids("alpha", flt, order)
    assert len(expected) > 7
    one_page_cursors = await all_cursors(client, flt, order)
    seen: list[str] = []
    seen_cursors: list[str] = []
    after: str | None = None

    # when / then: page after page
    for _ in range(len(expected) + 1):
        connection = await page_of(client, flt, order, first=size, after=after)
        got = ids_of(connection)
        info = connection["pageInfo"]
        assert got == expected[len(seen) : len(seen) + size]
        assert connection["totalCount"] == len(expected)
        assert info["hasNextPage"] == (len(seen) + len(got) < len(expected))
        assert info["hasPreviousPage"] == (after is not None)
        assert_bounds(connection)
        seen += got
        seen_cursors += cursors_of(connection)
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]

    # then
    assert seen == expected
    assert len(set(seen)) == len(seen)
    assert seen_cursors == one_page_cursors, "a position has the same cursor whatever the page size"


@pytest.mark.parametrize(("order", "flt", "size"), WALKS)
async def test_walking_backward_from_the_end_visits_every_session_once_in_order(
    client: httpx.AsyncClient, order: str, flt: dict[str, Any] | None, size: int
) -> None:
    # given
    expected = oracle.ordered_ids("alpha", flt, order)
    seen: list[str] = []  # the tail of ``expected`` seen so far
    before: str | None = None

    # when / then: page before page, starting with the last one
    for _ in range(len(expected) + 1):
        connection = await page_of(client, flt, order, last=size, before=before)
        got = ids_of(connection)
        info = connection["pageInfo"]
        end = len(expected) - len(seen)
        assert got == expected[max(0, end - size) : end]
        assert connection["totalCount"] == len(expected)
        assert info["hasPreviousPage"] == (end - len(got) > 0)
        assert info["hasNextPage"] == (before is not None)
        assert_bounds(connection)
        seen = got + seen
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]

    # then
    assert seen == expected
    assert len(set(seen)) == len(seen)


@pytest.mark.parametrize("order", ORDERS)
async def test_forward_and_backward_meet_at_every_cursor(client: httpx.AsyncClient, order: str) -> None:
    # given
    expected = oracle.ordered_ids("alpha", None, order)
    cursors = await all_cursors(client, None, order)
    assert len(cursors) == len(expected)

    # when / then: for each position, what lies after and before it, from that position's cursor
    for i in range(0, len(cursors), 5):
        after = await page_of(client, None, order, first=100, after=cursors[i])
        before = await page_of(client, None, order, last=100, before=cursors[i])
        assert ids_of(after) == expected[i + 1 :]
        assert ids_of(before) == expected[:i]


async def first_without_completed_at(client: httpx.AsyncClient) -> tuple[list[str], list[str], int]:
    """COMPLETED_AT_DESC ids and cursors, and the index of the first session without completedAt."""
    expected = oracle.ordered_ids("alpha", None, "COMPLETED_AT_DESC")
    index = next(i for i, sid in enumerate(expected) if DATA.session(sid)["completed_at"] is None)
    return expected, await all_cursors(client, None, "COMPLETED_AT_DESC"), index


async def test_completed_at_desc_pages_forward_from_a_session_without_completed_at(
    client: httpx.AsyncClient,
) -> None:
    # given
    expected, cursors, index = await first_without_completed_at(client)

    # when
    connection = await page_of(client, None, "COMPLETED_AT_DESC", first=100, after=cursors[index])

    # then
    assert ids_of(connection) == expected[index + 1 :]
    assert len(expected[index + 1 :]) > 1


async def test_completed_at_desc_pages_backward_from_a_session_without_completed_at(
    client: httpx.AsyncClient,
) -> None:
    # given
    expected, cursors, index = await first_without_completed_at(client)

    # when
    connection = await page_of(client, None, "COMPLETED_AT_DESC", last=100, before=cursors[index + 1])

    # then
    assert ids_of(connection) == expected[: index + 1]


# --------------------------------------------------------------------------------------------
# Page sizes and argument combinations
# --------------------------------------------------------------------------------------------


async def test_default_page_size_is_25_when_first_and_last_are_absent(client: httpx.AsyncClient) -> None:
    # given
    query = "{ sessions { totalCount edges { node { id } } pageInfo { hasNextPage hasPreviousPage } } }"

    # when
    data = await gql(client, query)

    # then
    connection = data["sessions"]
    assert ids_of(connection) == oracle.ordered_ids("alpha")[:25]
    assert connection["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
    assert connection["totalCount"] == ALL_ALPHA


async def test_null_first_and_last_also_give_25(client: httpx.AsyncClient) -> None:
    # given / when
    connection = await page_of(client, None, "STARTED_AT_ASC", first=None, last=None)

    # then
    assert ids_of(connection) == oracle.ordered_ids("alpha", None, "STARTED_AT_ASC")[:25]


async def test_after_alone_gives_the_next_25(client: httpx.AsyncClient) -> None:
    # given
    expected = oracle.ordered_ids("alpha")
    cursors = await all_cursors(client, None, "STARTED_AT_DESC")

    # when
    connection = await page_of(client, after=cursors[2])

    # then
    assert ids_of(connection) == expected[3:28]
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["pageInfo"]["hasPreviousPage"] is True


@pytest.mark.parametrize(
    ("index", "expected_slice", "has_previous"),
    [(30, slice(5, 30), True), (10, slice(0, 10), False), (0, slice(0, 0), False)],
)
async def test_before_alone_pages_backward_25(
    client: httpx.AsyncClient, *, index: int, expected_slice: slice, has_previous: bool
) -> None:
    # given
    expected = oracle.ordered_ids("alpha")
    cursors = await all_cursors(client, None, "STARTED_AT_DESC")

    # when
    connection = await page_of(client, before=cursors[index])

    # then
    assert ids_of(connection) == expected[expected_slice]
    assert connection["pageInfo"]["hasPreviousPage"] is has_previous
    assert connection["pageInfo"]["hasNextPage"] is True
    assert_bounds(connection)


async def test_last_alone_gives_the_final_sessions(client: httpx.AsyncClient) -> None:
    # given
    expected = oracle.ordered_ids("alpha")

    # when
    connection = await page_of(client, last=4)

    # then
    assert ids_of(connection) == expected[-4:] == ["a-g03", "a-g02", "a-g01", "a-g00"]
    assert connection["pageInfo"]["hasPreviousPage"] is True
    assert connection["pageInfo"]["hasNextPage"] is False


async def test_first_zero_gives_no_edges(client: httpx.AsyncClient) -> None:
    # given / when
    connection = await page_of(client, first=0)

    # then
    assert connection["edges"] == []
    assert connection["totalCount"] == ALL_ALPHA
    assert connection["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }


async def test_first_zero_after_the_last_session_has_no_next_page(client: httpx.AsyncClient) -> None:
    # given
    cursors = await all_cursors(client, None, "STARTED_AT_DESC")

    # when
    connection = await page_of(client, first=0, after=cursors[-1])

    # then
    assert connection["edges"] == []
    assert connection["pageInfo"]["hasNextPage"] is False
    assert connection["pageInfo"]["hasPreviousPage"] is True


async def test_last_zero_gives_no_edges(client: httpx.AsyncClient) -> None:
    # given / when
    connection = await page_of(client, last=0)

    # then
    assert connection["edges"] == []
    assert connection["pageInfo"]["hasPreviousPage"] is True
    assert connection["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("argument", ["first", "last"])
async def test_100_is_allowed(client: httpx.AsyncClient, argument: str) -> None:
    # given
    expected = oracle.ordered_ids("alpha")

    # when
    data = await gql(client, PAGE, variables(None, "STARTED_AT_DESC", **{argument: 100}))
    connection = data["sessions"]

    # then
    assert ids_of(connection) == expected
    assert len(expected) == ALL_ALPHA
    assert connection["pageInfo"]["hasNextPage"] is False
    assert connection["pageInfo"]["hasPreviousPage"] is False


async def test_first_between_after_and_before(client: httpx.AsyncClient) -> None:
    # given
    expected = oracle.ordered_ids("alpha", None, "DURATION_DESC")
    cursors = await all_cursors(client, None, "DURATION_DESC")

    # when
    window = await page_of(client, None, "DURATION_DESC", first=100, after=cursors[5], before=cursors[15])
    head = await page_of(client, None, "DURATION_DESC", first=3, after=cursors[5], before=cursors[15])

    # then
    assert ids_of(window) == expected[6:15]
    assert ids_of(head) == expected[6:9]
    assert head["pageInfo"]["hasNextPage"] is True
    assert head["pageInfo"]["hasPreviousPage"] is True


async def test_last_between_after_and_before(client: httpx.AsyncClient) -> None:
    # given
    expected = oracle.ordered_ids("alpha", None, "COMPLETED_AT_DESC")
    cursors = await all_cursors(client, None, "COMPLETED_AT_DESC")

    # when
    tail = await page_of(client, None, "COMPLETED_AT_DESC", last=3, after=cursors[5], before=cursors[15])

    # then
    assert ids_of(tail) == expected[12:15]
    assert tail["pageInfo"]["hasPreviousPage"] is True
    assert tail["pageInfo"]["hasNextPage"] is True


async def test_last_with_after_only(client: httpx.AsyncClient) -> None:
    # given
    expected = oracle.ordered_ids("alpha", None, "STARTED_AT_ASC")
    cursors = await all_cursors(client, None, "STARTED_AT_ASC")

    # when
    near = await page_of(client, None, "STARTED_AT_ASC", last=3, after=cursors[40])
    all_after = await page_of(client, None, "STARTED_AT_ASC", last=10, after=cursors[40])

    # then
    assert ids_of(near) == expected[45:48]
    assert near["pageInfo"]["hasPreviousPage"] is True
    assert near["pageInfo"]["hasNextPage"] is False
    assert ids_of(all_after) == expected[41:48]
    assert all_after["pageInfo"]["hasPreviousPage"] is False


async def test_first_with_before_only(client: httpx.AsyncClient) -> None:
    # given
    expected = oracle.ordered_ids("alpha")
    cursors = await all_cursors(client, None, "STARTED_AT_DESC")

    # when
    connection = await page_of(client, first=3, before=cursors[10])

    # then
    assert ids_of(connection) == expected[0:3]
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["pageInfo"]["hasPreviousPage"] is False


BAD_PAGE_ARGUMENTS: list[dict[str, Any]] = [
    {"first": 101},
    {"first": 1000},
    {"first": -1},
    {"last": 101},
    {"last": -1},
    {"first": 1, "last": 1},
    {"first": 0, "last": 0},
    {"first": 10, "last": 10},
]


@pytest.mark.parametrize("page", BAD_PAGE_ARGUMENTS, ids=repr)
async def test_page_arguments_out_of_range_are_bad_user_input(client: httpx.AsyncClient, page: dict[str, Any]) -> None:
    # given
    variables_ = variables(None, "STARTED_AT_DESC", **page)

    # when
    code, body = await gql_error(client, PAGE, variables_)

    # then
    assert code == "BAD_USER_INPUT"
    assert body.get("data") is None
    await assert_still_answering(client)


@pytest.mark.parametrize("arguments", ["first: 101", "first: -1", "last: 101", "last: -5", "first: 2, last: 2"])
async def test_page_arguments_out_of_range_inline_are_bad_user_input(client: httpx.AsyncClient, arguments: str) -> None:
    # given
    query = f"{{ sessions({arguments}) {{ totalCount edges {{ node {{ id }} }} }} }}"

    # when
    code, body = await gql_error(client, query)

    # then
    assert code == "BAD_USER_INPUT"
    assert body.get("data") is None


@pytest.mark.parametrize("value", [2**31, "ten", 2.5])
async def test_page_size_that_is_not_an_int_is_bad_user_input(client: httpx.AsyncClient, value: Any) -> None:
    # given
    variables_ = variables(None, "STARTED_AT_DESC", first=value)

    # when
    code, body = await gql_error(client, PAGE, variables_)

    # then
    assert code == "BAD_USER_INPUT"
    assert body.get("data") is None


# --------------------------------------------------------------------------------------------
# Cursors
# --------------------------------------------------------------------------------------------


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def change_character(cursor: str, index: int) -> str:
    """``cursor`` with the character at ``index`` replaced so that the bytes it stands for change."""
    payload, mac = cursor.split(".")
    for replacement in ALPHABET + ".":
        if replacement == cursor[index]:
            continue
        changed = cursor[:index] + replacement + cursor[index + 1 :]
        parts = changed.split(".")
        if len(parts) != 2 or (_unb64(parts[0]), _unb64(parts[1])) != (_unb64(payload), _unb64(mac)):
            return changed
    raise AssertionError("no replacement changes the cursor")  # pragma: no cover


async def a_cursor(
    client: httpx.AsyncClient,
    flt: dict[str, Any] | None = None,
    order: str = "STARTED_AT_DESC",
    *,
    tenant: str = "alpha",
    index: int = 5,
) -> str:
    cursors = cursors_of(await page_of(client, flt, order, tenant=tenant, first=index + 1))
    return cursors[index]


async def assert_refused(
    client: httpx.AsyncClient,
    cursor: str,
    flt: dict[str, Any] | None = None,
    order: str = "STARTED_AT_DESC",
    *,
    tenant: str = "alpha",
) -> None:
    """The cursor is refused as ``after`` and as ``before``, with no data; the server answers on."""
    for page in ({"first": 5, "after": cursor}, {"last": 5, "before": cursor}, {"before": cursor}):
        code, body = await gql_error(client, PAGE, variables(flt, order, **page), tenant=tenant)
        assert code == "BAD_USER_INPUT", body
        assert body.get("data") is None
        message = body["errors"][0]["message"]
        assert "a-" not in message
        assert "b-" not in message
    await assert_still_answering(client)


async def test_a_cursor_is_accepted_where_it_was_issued(client: httpx.AsyncClient) -> None:
    # given: the positive control for every refusal below
    flt = {"status": "COMPLETED"}
    cursor = await a_cursor(client, flt, "DURATION_DESC")
    expected = oracle.ordered_ids("alpha", flt, "DURATION_DESC")

    # when
    connection = await page_of(client, flt, "DURATION_DESC", first=2, after=cursor)

    # then
    assert ids_of(connection) == expected[6:8]


async def test_a_cursor_is_opaque_base64url(client: httpx.AsyncClient) -> None:
    # given
    cursor = await a_cursor(client)

    # when
    session_id = oracle.ordered_ids("alpha")[5]

    # then: no plain ids or dates for clients to edit
    assert session_id not in cursor
    assert set(cursor) <= set(ALPHABET + ".")


GARBAGE = [
    "garbage",
    "",
    ".",
    "..",
    "a.b",
    "!!!!.!!!!",
    "курсор",
    "null",
    "x" * 600,
    _b64(b'["2026-11-20T09:30:00+00:00","a-01"]'),  # a position without a signature
    _b64(b'["2026-11-20T09:30:00+00:00","a-01"]') + "." + _b64(bytes(16)),  # a zero signature
    _b64(b'["2026-11-20T09:30:00+00:00","b-01"]') + "." + _b64(b"0123456789abcdef"),
    _b64(b"not json") + "." + _b64(bytes(16)),
    _b64(b"[1, 2, 3]") + "." + _b64(bytes(16)),
]


@pytest.mark.parametrize("cursor", GARBAGE, ids=lambda c: repr(c[:40]))
async def test_garbage_cursor_is_bad_user_input(client: httpx.AsyncClient, cursor: str) -> None:
    # given / when / then
    await assert_refused(client, cursor)


@pytest.mark.parametrize("where", ["first", "payload middle", "payload end", "separator", "mac first", "mac middle"])
async def test_a_cursor_with_one_character_changed_is_bad_user_input(client: httpx.AsyncClient, where: str) -> None:
    # given
    cursor = await a_cursor(client)
    dot = cursor.index(".")
    index = {
        "first": 0,
        "payload middle": dot // 2,
        "payload end": dot - 1,
        "separator": dot,
        "mac first": dot + 1,
        "mac middle": (dot + len(cursor)) // 2,
    }[where]

    # when
    tampered = change_character(cursor, index)

    # then
    assert tampered != cursor
    await assert_refused(client, tampered)


async def test_a_cursor_with_its_last_character_changed_is_bad_user_input(client: httpx.AsyncClient) -> None:
    # given: the signature is 16 bytes, so its last base64 character carries 2 bits of it and 4 bits of
    # padding; changing only the padding bits still gives a different cursor string
    cursor = await a_cursor(client)
    last = ALPHABET.index(cursor[-1])
    tampered = cursor[:-1] + ALPHABET[last ^ 1]

    # when / then
    assert tampered != cursor
    await assert_refused(client, tampered)


@pytest.mark.parametrize(
    ("issued_for", "used_with"),
    [
        ("STARTED_AT_ASC", "STARTED_AT_DESC"),
        ("STARTED_AT_DESC", "STARTED_AT_ASC"),
        ("COMPLETED_AT_DESC", "STARTED_AT_DESC"),
        ("STARTED_AT_DESC", "COMPLETED_AT_DESC"),
        ("DURATION_DESC", "COMPLETED_AT_DESC"),
        ("STARTED_AT_ASC", "DURATION_DESC"),
    ],
)
async def test_a_cursor_issued_for_another_order_is_bad_user_input(
    client: httpx.AsyncClient, issued_for: str, used_with: str
) -> None:
    # given
    cursor = await a_cursor(client, None, issued_for)

    # when / then
    await assert_refused(client, cursor, None, used_with)


@pytest.mark.parametrize(
    ("issued_for", "used_with"),
    [
        ({"status": "COMPLETED"}, None),
        (None, {"status": "COMPLETED"}),
        ({"status": "COMPLETED"}, {"status": "FAILED"}),
        ({"userId": "a-ann"}, {"userId": "a-bob"}),
        ({"startedAfter": "2026-10-01T00:00:00+00:00"}, {"startedAfter": "2026-10-01T00:00:01+00:00"}),
        ({"search": "drill"}, {"search": "drill 1"}),
        ({"search": "drill"}, {"search": "drill", "role": "TRAINEE"}),
        ({"taskSource": "jobber"}, None),
    ],
    ids=repr,
)
async def test_a_cursor_issued_for_another_filter_is_bad_user_input(
    client: httpx.AsyncClient, issued_for: dict[str, Any] | None, used_with: dict[str, Any] | None
) -> None:
    # given
    cursor = await a_cursor(client, issued_for, index=2)

    # when / then
    await assert_refused(client, cursor, used_with)


@pytest.mark.parametrize(("issued_to", "used_by"), [("beta", "alpha"), ("alpha", "beta"), ("alpha", "gamma")])
async def test_a_cursor_issued_to_another_tenant_is_bad_user_input(
    client: httpx.AsyncClient, issued_to: str, used_by: str
) -> None:
    # given
    cursor = await a_cursor(client, tenant=issued_to)

    # when / then
    await assert_refused(client, cursor, tenant=used_by)


async def test_a_foreign_cursor_leaks_nothing_of_the_other_tenant(client: httpx.AsyncClient) -> None:
    # given: a beta cursor at b-01, which shares its start with alpha's a-01 and a-02
    beta = await page_of(client, tenant="beta", first=2)
    assert ids_of(beta) == ["b-02", "b-01"]
    cursor = beta["pageInfo"]["endCursor"]

    # when
    code, body = await gql_error(client, PAGE, variables(None, "STARTED_AT_DESC", first=5, after=cursor))

    # then
    assert code == "BAD_USER_INPUT"
    assert body.get("data") is None
    assert "b-01" not in str(body)
    assert "Boiler" not in str(body)
    await assert_still_answering(client)
