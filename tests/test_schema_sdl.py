"""``schema.graphql`` is exactly what the code exports, and it keeps the public contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes

from schema.build import schema

ROOT = Path(__file__).resolve().parent.parent
# A copy of the public contract travels with the tests; where the shared original sits beside
# the checkout, the schema is checked against it too.
VENDORED = Path(__file__).resolve().parent / "contract" / "api.graphql"
SHARED = ROOT.parent / "shared" / "contract" / "api.graphql"
CONTRACTS = [VENDORED, *([SHARED] if SHARED.is_file() else [])]


def exported() -> str:
    return schema.as_str() + "\n"


def test_schema_graphql_is_the_exported_schema() -> None:
    assert (ROOT / "schema.graphql").read_text() == exported(), (
        "schema.graphql is stale: run `sessions-gateway export-schema > schema.graphql`"
    )


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda p: p.parent.parent.name)
def test_the_schema_breaks_nothing_in_the_contract(contract: Path) -> None:
    assert find_breaking_changes(build_schema(contract.read_text()), build_schema(exported())) == []


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda p: p.parent.parent.name)
def test_the_contract_copy_is_current(contract: Path) -> None:
    assert VENDORED.read_text() == contract.read_text()


def test_the_gateway_has_no_mutations_or_subscriptions() -> None:
    built = build_schema(exported())
    assert built.mutation_type is None
    assert built.subscription_type is None
