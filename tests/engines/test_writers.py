"""Generated row writers: shared between plans, and only GraphQL names ever become code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from sessions_gateway.gateway.context import MediaSettings
from sessions_gateway.schema import writers


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
        now=datetime(2026, 11, 25, tzinfo=UTC),
        media=MediaSettings(),
        users={"u1": SimpleNamespace(display_name="Ada")},
    )
    written = write(row, related)
    assert list(written) == ["__typename", "when", "who"]
    assert written == {"__typename": "Session", "when": "2026-11-24T09:30:00+00:00", "who": {"n": "Ada"}}


@pytest.mark.parametrize("key", ["x': __import__('os').system('true'), 'y", "a b", "1abc", ""])
def test_a_response_key_that_is_not_a_graphql_name_never_becomes_code(key: str) -> None:
    with pytest.raises(ValueError, match="not a GraphQL name"):
        writers.generate("User", (Sel(key, "id"),))
