"""The query limits: a hostile document is refused in work linear in its size, before validation.

Each fragment below spreads the one before twice: ``n`` lines ask for 2**n fields. Walking every
spread (as strawberry's depth and alias limiters and the former cost rule did) takes as long: 2**18
took a second, 2**24 over two minutes. Work is measured here by counting the calls made into the code
that checks a document (the gateway's limits, strawberry's limiters, graphql-core's validator and
rules), never by the clock.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import graphql.validation
import pytest
import strawberry.extensions
from graphql import parse

from sessions_gateway import schema
from sessions_gateway.gateway.config import Settings
from sessions_gateway.schema.limits import Limits, expanded_fields, refusals
from tests.helpers import gql, gql_error, post

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType

    import httpx

LIMITS_CODE = tuple(str(Path(schema.__file__).parent / name) for name in ("limits.py", "fragments.py", "cost.py"))
VALIDATION_CODE = str(Path(graphql.validation.__file__).parent)
# The limiters the gateway used before: they walked every spread.
STRAWBERRY_LIMITERS = tuple(
    str(Path(strawberry.extensions.__file__).parent / name) for name in ("query_depth_limiter.py", "max_aliases.py")
)


class WorkBudgetExceeded(Exception):
    """Stops a walk that has done far more work than a linear one would: the test fails, it does not hang."""


@contextlib.contextmanager
def calls_into(budget: int = 1_000_000) -> Iterator[dict[str, int]]:
    """Counts the calls into the code that checks documents, by part, while the block runs."""
    counts = {"limits": 0, "validation": 0, "strawberry": 0}

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call":
            return
        path = frame.f_code.co_filename
        if path.startswith(LIMITS_CODE):
            counts["limits"] += 1
        elif path.startswith(VALIDATION_CODE):
            counts["validation"] += 1
        elif path in STRAWBERRY_LIMITERS:
            counts["strawberry"] += 1
        else:
            return
        if sum(counts.values()) > budget:
            raise WorkBudgetExceeded(counts)

    sys.setprofile(profile)
    try:
        yield counts
    finally:
        sys.setprofile(None)


def doubling(n: int, *, head: str, on: str, leaf: str, spreads: Callable[[str], str] = lambda s: f"{s} {s}") -> str:
    """``head`` spreads ``M{n}``; each ``M{i}`` spreads ``M{i-1}`` twice (``spreads``), ``M0`` holds ``leaf``."""
    fragments = [f"fragment M0 on {on} {{ {leaf} }}"]
    fragments += [f"fragment M{i} on {on} {{ {spreads(f'...M{i - 1}')} }}" for i in range(1, n + 1)]
    return " ".join([head.replace("SPREAD", f"...M{n}"), *fragments])


# name: (document of n, fields once expanded)
HOSTILE: dict[str, tuple[Callable[[int], str], Callable[[int], int]]] = {
    "typename": (lambda n: doubling(n, head="{ SPREAD }", on="Query", leaf="__typename"), lambda n: 2**n),
    "session-fields": (
        lambda n: doubling(n, head="{ sessions { edges { node { SPREAD } } } }", on="Session", leaf="id name"),
        lambda n: 3 + 2 * 2**n,
    ),
    "aliases": (lambda n: doubling(n, head="{ SPREAD }", on="Query", leaf="a: __typename"), lambda n: 2**n),
    "inline-fragments": (
        lambda n: doubling(
            n,
            head="{ SPREAD }",
            on="Query",
            leaf="__typename",
            spreads=lambda s: f"... on Query {{ {s} }} ... {{ {s} }}",
        ),
        lambda n: 2**n,
    ),
    "report-parts": (
        lambda n: doubling(
            n, head="{ sessionsReport { SPREAD } }", on="SessionsReport", leaf="totalCount byUser { user { id } }"
        ),
        lambda n: 1 + 4 * 2**n,
    ),
}
SIZES = [16, 20, 24, 30]


def linear_bound(query: str) -> int:
    """Generous work for a walk linear in the document: a few calls per token."""
    return 5 * len(query.split())


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("variant", sorted(HOSTILE))
async def test_a_document_of_exponential_spreads_is_refused_unvalidated_in_linear_work(
    client: httpx.AsyncClient, statements: list[str], variant: str, n: int
) -> None:
    # given
    document, fields = HOSTILE[variant]
    query = document(n)
    # when
    with calls_into(budget=10 * linear_bound(query)) as work:
        code, body = await gql_error(client, query)
    # then: refused on its size, with no rule run and nothing read
    assert code == "QUERY_TOO_COMPLEX"
    assert body["data"] is None
    assert body["errors"][0]["message"] == (
        f"The query has {fields(n)} fields once its fragments are expanded; the maximum is 500."
    )
    assert work["validation"] == 0, work
    assert work["strawberry"] == 0, work
    assert 0 < work["limits"] <= linear_bound(query), work
    assert statements == []


@pytest.mark.parametrize("variant", sorted(HOSTILE))
def test_every_limit_is_linear_in_the_document_even_past_the_field_cap(variant: str) -> None:
    # given: 2**30 spreads, and no cap on fields, so that depth, aliases and cost all measure it
    query = HOSTILE[variant][0](30)
    document = parse(query)
    # when
    with calls_into(budget=10 * linear_bound(query)) as work:
        errors = [e.message for e in refusals(document, Limits(max_fields=2**62))]
    # then
    assert work["limits"] <= linear_bound(query), work
    if variant == "aliases":
        assert errors == [f"{2**30} aliases found. Allowed: 30"]
    elif variant == "report-parts":
        assert len(errors) == 1
        assert errors[0].startswith("Query cost ")
    else:
        assert errors == []


def test_work_grows_with_the_document_not_with_its_expansion() -> None:
    work = []
    for n in (15, 30):
        document = parse(HOSTILE["report-parts"][0](n))
        with calls_into() as counts:
            refusals(document, Limits(max_fields=2**62))
        work.append(counts["limits"])
    # twice the fragments, about twice the calls (2**15 times the fields)
    assert work[1] <= 2.2 * work[0], work


def test_renamed_fragments_do_not_make_a_document_cheaper_to_refuse() -> None:
    # The validation cache is keyed by the text: renaming a fragment misses it. The limits need no cache.
    for suffix in ("a", "b", "c"):
        query = HOSTILE["typename"][0](24).replace("M", f"M{suffix}")
        with calls_into(budget=10 * linear_bound(query)) as work:
            assert refusals(parse(query), Limits())
        assert work["limits"] <= linear_bound(query)


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("{ sessions { totalCount } }", 2),
        ("{ a: sessions { totalCount } b: sessions { ...C } } fragment C on SessionConnection { totalCount }", 4),
        # a fragment counts where it is spread, each time
        ('{ session(id: "x") { ...S ...S } } fragment S on Session { id user { id } }', 1 + 2 * 3),
        # and on its own when no operation spreads it: validation would walk it still
        ("{ __typename } fragment U on Query { __typename ...V } fragment V on Query { __typename }", 1 + 2 + 1),
        # a cycle is another rule's error; it is not walked round
        ("{ ...A } fragment A on Query { __typename ...B } fragment B on Query { __typename ...A }", 2),
    ],
)
def test_fields_are_counted_with_every_spread_written_out(query: str, fields: int) -> None:
    assert expanded_fields(parse(query)) == fields
    assert refusals(parse(query), Limits(max_fields=fields)) == []
    [error] = refusals(parse(query), Limits(max_fields=fields - 1))
    assert error.message == (
        f"The query has {fields} fields once its fragments are expanded; the maximum is {fields - 1}."
    )


def test_the_field_cap_is_a_setting() -> None:
    settings = Settings.from_env({"GATEWAY_JWT_SECRET": "x" * 32, "GATEWAY_MAX_FIELDS": "42"})
    assert settings.limits.max_fields == 42
    assert Settings.from_env({"GATEWAY_JWT_SECRET": "x" * 32}).limits.max_fields == 500


async def test_a_long_chain_of_fragments_is_counted_without_recursion(
    client: httpx.AsyncClient, statements: list[str]
) -> None:
    # 230 fragments, each spreading the next: graphql-core refuses to validate fragments nested
    # this deep ("Validation aborted."), which is a limit too
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(230))
    query = f"{{ ...F0 }} {chain} fragment F230 on Query {{ __typename }}"
    assert expanded_fields(parse(query)) == 1
    code, body = await gql_error(client, query)
    assert (code, body["errors"][0]["message"]) == ("QUERY_TOO_COMPLEX", "Validation aborted.")
    assert statements == []


async def test_too_deep_an_introspection_is_too_complex(client: httpx.AsyncClient, statements: list[str]) -> None:
    query = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    code, body = await gql_error(client, query)
    assert (code, body["errors"][0]["message"]) == ("QUERY_TOO_COMPLEX", "Maximum introspection depth exceeded")
    assert statements == []


async def test_a_legitimate_query_with_fragments_runs(client: httpx.AsyncClient) -> None:
    query = """
      { sessions(first: 2) { ...Page } recent: sessions(first: 1) { ...Page } }
      fragment Page on SessionConnection { totalCount edges { node { ...Row } } }
      fragment Row on Session { id name user { id displayName } procedures { id } }
    """
    data = await gql(client, query)
    assert len(data["sessions"]["edges"]) == 2
    assert data["recent"]["edges"][0] == data["sessions"]["edges"][0]


async def test_the_server_keeps_answering_after_hostile_documents(client: httpx.AsyncClient) -> None:
    for variant in sorted(HOSTILE):
        response = await post(client, HOSTILE[variant][0](30))
        assert response.status_code == 200
    assert (await gql(client, "{ sessions(first: 1) { edges { node { id } } } }"))["sessions"]["edges"]


async def test_a_repeated_document_is_measured_and_validated_once(client: httpx.AsyncClient) -> None:
    # given: a document this app has not seen
    query = "query Once { sessions(first: 3, orderBy: DURATION_DESC) { edges { node { id name role } } } }"
    with calls_into() as first:
        answer = await gql(client, query)
    # when: it comes again
    with calls_into() as again:
        assert await gql(client, query) == answer
    # then: the limits' verdict and validation's came from the cache
    assert first["limits"] > 0, first
    assert first["validation"] > 0, first
    assert again == {"limits": 0, "validation": 0, "strawberry": 0}, again
