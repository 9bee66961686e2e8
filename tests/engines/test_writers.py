"""Generated row writers: shared between plans, and only GraphQL names ever become code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest
from graphql import GraphQLError

from sessions_gateway.gateway.context import MediaSettings
from sessions_gateway.schema import writers
from sessions_gateway.schema.rules import SourceRule


@dataclass(frozen=True)
class Sel:
    key: str
    name: str
    children: tuple[Sel, ...] = field(default=())


def test_the_same_selection_in_two_plans_shares_one_writer() -> None:
    first = writers.generate("User", (Sel("id", "id"), Sel("who", "displayName")))
    second = writers.generate("User", (Sel("id", "id"), Sel("who", "displayName")))
    other = writers.generate("User", (Sel("who", "displayName"), Sel("id", "id")))
    assert first is second
    assert other is not first


def test_a_writer_writes_the_selected_keys_in_order() -> None:
    write = writers.generate(
        "Session",
        (Sel("__typename", "__typename"), Sel("when", "startedAt"), Sel("who", "user", (Sel("n", "displayName"),))),
    )
    row = SimpleNamespace(user_id="u1", started_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC))
    related = writers.Related(
        clock=datetime(2026, 11, 25, tzinfo=UTC),
        media=MediaSettings(),
        users={"u1": SimpleNamespace(display_name="Ada")},
    )
    written = write(row, related)
    assert list(written) == ["__typename", "when", "who"]
    assert orjson.loads(orjson.dumps(written)) == {
        "__typename": "Session",
        "when": "2026-11-24T09:30:00+00:00",
        "who": {"n": "Ada"},
    }


PARIS = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("started", "completed", "duration", "expected"),
    [
        (datetime(2026, 11, 24, 9, 30, tzinfo=UTC), None, None, ("2026-11-24T09:30:00+00:00", None, None)),
        (
            datetime(2026, 11, 24, 9, 30, 0, 5, tzinfo=UTC),
            datetime(2026, 11, 24, 10, 30, 0, 123456, tzinfo=PARIS),
            2**31 - 1,
            ("2026-11-24T09:30:00.000005+00:00", "2026-11-24T09:30:00.123456+00:00", 2**31 - 1),
        ),
        (datetime(2026, 11, 24, 10, 30, tzinfo=PARIS), None, 0, ("2026-11-24T09:30:00+00:00", None, 0)),
    ],
)
def test_leaves_are_written_as_graphql_serializes_them(
    started: datetime, completed: datetime | None, duration: int | None, expected: tuple[Any, ...]
) -> None:
    """Date-times in UTC and 32-bit ints go to orjson as they are; the rest through the scalar's serializer."""
    write = writers.generate(
        "Session", (Sel("s", "startedAt"), Sel("c", "completedAt"), Sel("d", "durationSeconds"), Sel("id", "id"))
    )
    row = SimpleNamespace(
        id="s1", started_at=started, completed_at=completed, duration_seconds=duration, status="completed"
    )
    related = writers.Related(clock=datetime(2026, 11, 25, tzinfo=UTC), media=MediaSettings())
    written = orjson.loads(orjson.dumps(write(row, related)))
    assert (written["s"], written["c"], written["d"]) == expected
    assert written["id"] == "s1"


def test_an_int_out_of_32_bits_is_refused_as_graphql_refuses_it() -> None:
    write = writers.generate("Session", (Sel("d", "durationSeconds"),))
    row = SimpleNamespace(duration_seconds=2**31, status="completed", started_at=None, completed_at=None)
    with pytest.raises(GraphQLError, match="Int cannot represent non 32-bit signed integer"):
        write(row, writers.Related(clock=datetime(2026, 11, 25, tzinfo=UTC), media=MediaSettings()))


def test_a_rule_reading_one_attribute_is_read_inline_and_others_are_called() -> None:
    assert writers.attribute_of(lambda s: s.started_at) == "started_at"
    assert writers.attribute_of(lambda row: row.id) == "id"
    assert writers.attribute_of(lambda s: s.a.b) is None
    assert writers.attribute_of(lambda s: s.name or "") is None
    assert writers.attribute_of(cast("Any", lambda s, _x: s.id)) is None
    other = SimpleNamespace(id="x")
    assert writers.attribute_of(lambda _s: other.id) is None
    assert writers.attribute_of(str) is None
    # Every plain reading of the schema's rules is inline: each is the rule's own attribute.
    inline = {
        (type_name, name)
        for type_name, fields in writers.WRITTEN.items()
        for name, each in fields.items()
        if isinstance(each.rule, SourceRule) and writers.attribute_of(each.rule.get) is not None
    }
    assert ("Session", "startedAt") in inline
    assert ("LinkedTask", "title") in inline
    assert ("Session", "status") not in inline  # through the enum's members: called


@pytest.mark.parametrize("key", ["x': __import__('os').system('true'), 'y", "a b", "1abc", ""])
def test_a_response_key_that_is_not_a_graphql_name_never_becomes_code(key: str) -> None:
    with pytest.raises(ValueError, match="not a GraphQL name"):
        writers.generate("User", (Sel(key, "id"),))
