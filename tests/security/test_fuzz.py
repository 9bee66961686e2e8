"""Fuzzing with schemathesis in GraphQL mode: whatever query a client sends, the error contract holds.

Schemathesis reads the schema the running app publishes (introspection, over HTTP with a real
token) and generates queries from it: valid ones (positive) and ones that break the schema's
argument types (negative). Valid queries also draw, now and then, string and integer arguments
from a dictionary of values known to trouble SQL gateways (NUL, LIKE wildcards, quotes, the other
tenant's ids, values just past a limit) and real ids; half the queries page forward from the
start, so that many reach rows instead of being refused for their paging arguments. Each query
goes through the same ASGI app, client and JWT as every other HTTP test, on every backend, through
compiled plans and through the executor, as tenant ``alpha``.

No response may be a 5xx; every error carries one of the contract's codes and never
``INTERNAL_SERVER_ERROR`` (a generated query is the client's doing, not a server fault); no
message shows SQL or a traceback; no answer holds an id of the other tenant. The apps' audit
covers these requests too: every statement they sent is tenant-scoped.

Bounded and reproducible: ``derandomize`` fixes the examples, ``max_examples`` their number and
``deadline`` the time one may take (a few milliseconds each, usually).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from graphql import REMOVE, ArgumentNode, DocumentNode, Visitor, get_introspection_query, visit
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from sessions_gateway.gateway.errors import ErrorCode
from tests.dataset import ALPHA, BETA, DATA
from tests.helpers import token_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx
    from schemathesis.generation.case import Case
    from schemathesis.specs.graphql.schemas import GraphQLSchema

EXAMPLES = 150  # per test, mode and backend: about 2 s each when all is well
CONTRACT_CODES = {str(code) for code in ErrorCode}
# The other tenant's ids (sessions, users, tasks, procedures): none may be in an answer to alpha.
FOREIGN_IDS = {row["id"] for _, rows in DATA.tables() for row in rows if row.get("tenant_id") == BETA and "id" in row}
# Text only the server could have put in a message: its SQL, its driver, its stack.
LEAK_MARKERS = ("SELECT ", "FROM sessions", "WHERE ", "[SQL:", "sqlalchemy", "asyncpg", "aiosqlite", "Traceback")

# Values schemathesis puts in place of generated String/ID and Int arguments of valid queries, now and then.
TRICKY_STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "%",
    "_",
    "\\",
    "%_\\",
    "'",
    "' OR '1'='1",
    "'; DROP TABLE sessions; --",
    "a-01",  # alpha's own session, user and task ids
    "a-ann",
    "b-01",  # beta's: asked for by alpha, they must bring nothing of beta's
    "b-ann",
    "jobber",
    "JOBBER",
    "Проверка",
    "\u202e\U0001f527",
    "x" * 201,  # past the search limit
    "x" * 256,  # past the id limit
]
TRICKY_INTS = [0, 1, -1, 100, 101, 2**31 - 1, -(2**31)]
# Real ids, so that session(id:) and filter.userId find rows now and then: alpha's, and beta's for alpha to ask for.
SESSION_IDS = sorted(s["id"] for s in DATA.sessions)
USER_IDS = sorted(u["id"] for u in DATA.users)
CONFIG = {
    "dictionaries": {
        "strings": {"values": TRICKY_STRINGS},
        "ints": {"values": TRICKY_INTS},
        "sessions": {"values": SESSION_IDS},
        "users": {"values": USER_IDS},
    },
    "parameters": {
        "Query.session.id": {"dictionary": "sessions", "probability": 0.5},
        "Query.*.filter.userId": {"dictionary": "users", "probability": 0.5},
    },
    "generation": {
        "dictionaries": {
            "string": {"dictionary": "strings", "probability": 0.3},
            "integer": {"dictionary": "ints", "probability": 0.3},
        }
    },
}


class ForwardFromTheStart(Visitor):
    """Leaves out ``last``, ``before`` and ``after``, the arguments a generated list query rarely gets right."""

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> object:
        return REMOVE if node.name.value in {"last", "before", "after"} else None


def sometimes_forward(_context: object, document: DocumentNode) -> st.SearchStrategy[DocumentNode]:
    """The generated query as it is, or paging forward from the start (which reaches rows far more often).

    Left alone, most generated ``sessions`` queries pass both ``first`` and ``last`` or a made-up
    cursor and are refused before they read a row: in 300 examples, not one answer held a session.
    """
    return st.sampled_from([document, visit(document, ForwardFromTheStart())])


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(ALPHA)}"}


@pytest.fixture(scope="session")
async def fuzz_schema(client: httpx.AsyncClient) -> GraphQLSchema:
    """The schema as the running app publishes it, loaded into schemathesis."""
    response = await client.post("/graphql", json={"query": get_introspection_query()}, headers=bearer())
    assert response.status_code == 200, response.text
    # An explicit config: a schemathesis.toml found on the way cannot change what is generated.
    schema = schemathesis.graphql.from_dict(response.json(), config=SchemathesisConfig.from_dict(CONFIG))
    schema.hook("flatmap_body")(sometimes_forward)  # this schema's hook, not a global one
    return schema


def query_of(case: Case[Any]) -> str:
    """The GraphQL document schemathesis generated (a case's body is the query text in GraphQL mode)."""
    assert isinstance(case.body, str), case.body
    return case.body


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON value, at any depth."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def contract_violations(query: str, response: httpx.Response) -> list[str]:
    """What is wrong with ``response`` to the generated ``query``; empty when it keeps the contract."""
    problems = []
    if response.status_code >= 500:
        problems.append(f"status {response.status_code}")
    try:
        body: Any = response.json()
    except ValueError:
        return [*problems, "the body is not JSON"]
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        return [*problems, "the body is not a GraphQL response"]
    foreign = FOREIGN_IDS.intersection(strings_in(body.get("data")))
    if foreign:
        problems.append(f"the answer holds tenant {BETA}'s ids {sorted(foreign)}")
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        message = str(error.get("message"))
        if code not in CONTRACT_CODES:
            problems.append(f"code {code!r} is not one of the contract's, for {message!r}")
        elif code == ErrorCode.INTERNAL_SERVER_ERROR:
            problems.append(f"INTERNAL_SERVER_ERROR for a generated query, at {error.get('path')}")
        # A validation message may quote the query; the server's own SQL and stack it may not show.
        leaked = [marker for marker in LEAK_MARKERS if marker in message and marker not in query]
        if leaked:
            problems.append(f"the message shows {leaked}: {message!r}")
    return problems


async def fuzz_once(http: httpx.AsyncClient, schema: GraphQLSchema, mode: GenerationMode, data: st.DataObject) -> None:
    """One generated query, sent as schemathesis serialises it, with a valid token; its answer checked."""
    case = data.draw(schema.as_strategy(generation_mode=mode), label="case")
    request = case.as_transport_kwargs(headers=bearer())
    response = await http.request(request["method"], "/graphql", headers=request["headers"], json=request["json"])
    query = query_of(case)
    problems = contract_violations(query, response)
    assert not problems, f"{problems}\nquery:\n{query}\nresponse: {response.status_code} {response.text}"


MODES = pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
BOUNDED = settings(
    max_examples=EXAMPLES,
    # Generous for one request of a few milliseconds: an example slower than this fails the test.
    deadline=timedelta(seconds=2),
    derandomize=True,
    # Shrinking finds the smallest failing query; the explain phase only adds slow line tracing.
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)


@MODES
@BOUNDED
@given(data=st.data())
async def test_generated_queries_keep_the_error_contract(
    client: httpx.AsyncClient, fuzz_schema: GraphQLSchema, mode: GenerationMode, data: st.DataObject
) -> None:
    """Through compiled plans, as served by default."""
    await fuzz_once(client, fuzz_schema, mode, data)


@MODES
@BOUNDED
@given(data=st.data())
async def test_generated_queries_keep_the_error_contract_in_the_executor(
    executor_client: httpx.AsyncClient, fuzz_schema: GraphQLSchema, mode: GenerationMode, data: st.DataObject
) -> None:
    """Through Strawberry's executor alone (compiled plans off)."""
    await fuzz_once(executor_client, fuzz_schema, mode, data)
