"""``schema.graphql`` is exactly what the code exports, and it keeps the public contract."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema, find_breaking_changes

from sessions_gateway.schema.build import schema
from tests.conftest import shared_contract

ROOT = Path(__file__).resolve().parents[2]
# A copy of the public contract travels with the tests, checked against the shared original
# (``shared_contract``: skipped by a checkout on its own, required in CI).
VENDORED = Path(__file__).resolve().parents[1] / "contract" / "api.graphql"


def exported() -> str:
    return schema.as_str() + "\n"


def test_schema_graphql_is_the_exported_schema() -> None:
    assert (ROOT / "schema.graphql").read_text() == exported(), (
        "schema.graphql is stale: run `sessions-gateway export-schema > schema.graphql`"
    )


def test_the_schema_breaks_nothing_in_the_contract() -> None:
    assert find_breaking_changes(build_schema(VENDORED.read_text()), build_schema(exported())) == []


def test_the_contract_copy_is_the_shared_contract() -> None:
    assert VENDORED.read_text() == shared_contract("api.graphql").read_text()


def test_the_gateway_has_no_mutations_and_its_subscriptions_are_live_queries() -> None:
    """Each Subscription field is the Query's field of the same name, type and arguments (a subset of them)."""
    built = build_schema(exported())
    assert built.mutation_type is None
    assert built.subscription_type is not None
    query_fields = built.query_type.fields if built.query_type is not None else {}
    assert sorted(built.subscription_type.fields) == ["session", "sessions"]
    for name, live in built.subscription_type.fields.items():
        asked = query_fields[name]
        assert str(live.type) == str(asked.type)
        for argument, definition in live.args.items():
            assert str(definition.type) == str(asked.args[argument].type)
            assert definition.default_value == asked.args[argument].default_value
