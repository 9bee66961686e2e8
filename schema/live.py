"""Live results: what a subscription is, as the schema sees it, whoever finds its changes.

A live subscription's result is the result its document would have as a query: the same
selection on the Query's field of the same name, with the same variables, read the same way
(``query_form``). Whoever feeds a connection (``LiveFeed``: the gateway's polling) runs that
query for each cohort of subscribers and hands each subscriber the whole result (``LiveEvent``)
when it changed; ``LiveExecutor`` sends it as the event's result, unexecuted again, so every
subscriber of a cohort gets the one result its one read made.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from graphql import DocumentNode, ExecutionResult, OperationDefinitionNode, OperationType, parse, print_ast
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from sessions_gateway.schema.lru import Lru

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from graphql import GraphQLError


@dataclass(frozen=True, slots=True)
class LiveRequest:
    """One subscription as its client sent it: the document, the chosen operation, the variables (JSON).

    ``opened``: what the feed opened for it, closed by the transport when the operation ends,
    however it ends (``aclose`` of each; closing twice does nothing).
    """

    query: str
    operation_name: str | None
    variables: dict[str, Any] | None
    opened: list[Any] = field(default_factory=list, compare=False)


# The subscription the current operation's task runs (set by the transport, read by the root fields).
live_request: ContextVar[LiveRequest | None] = ContextVar("live_request", default=None)


@dataclass(frozen=True, slots=True, eq=False)
class LiveEvent:
    """One whole result of a live subscription: ``data`` and ``errors`` as the query answered them."""

    data: dict[str, Any] | None
    errors: list[GraphQLError] | None = None
    # The "next" message's payload as JSON text, when it holds no errors: written once per result,
    # sent as it is to each of its subscribers (``gateway/live.py``).
    encoded: str | None = None


class LiveFeed(Protocol):
    """Where a connection's subscriptions get their results from."""

    def watch(self, connection: LiveConnection, request: LiveRequest) -> AsyncIterator[LiveEvent]:
        """The results of ``request`` for the connection's tenant: the current one first, then each change.

        Refuses (``TooManySubscriptions``) a subscription over a limit, before it starts.
        """
        ...


@dataclass(slots=True)
class LiveConnection:
    """A WebSocket connection's context: its tenant, fixed when ``connection_init`` is accepted.

    ``connection_params`` is ``connection_init``'s payload (set by Strawberry's protocol handler).
    ``active`` counts the connection's live subscriptions (a limit per connection).
    """

    feed: LiveFeed
    max_subscriptions: int
    connection_params: dict[str, Any] = field(default_factory=dict)
    tenant_id: str | None = None
    expires_at: float | None = None
    active: int = 0


class LiveExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, but a ``LiveEvent`` root value is the result itself: it was read whole."""

    def execute_operation(self, serially: bool | None = None) -> Any:  # noqa: FBT001  (graphql-core's signature)
        event = self.root_value
        if isinstance(event, LiveEvent):
            return ExecutionResult(event.data, event.errors)
        return super().execute_operation(serially)


_QUERY_FORMS: Lru[tuple[str, str | None], str] = Lru(256)


def query_form(query: str, operation_name: str | None) -> str:
    """``query``'s subscription ``operation_name`` written as a query (only it, and the fragments).

    The Subscription's fields are the Query's of the same names, with a subset of their
    arguments, so the query asks the Query exactly what the subscription asks. The text is
    printed from the parsed document: two spellings of one document make one query.
    """
    key = (query, operation_name)
    known = _QUERY_FORMS.get(key)
    if known is not None:
        return known
    document = parse(query)
    definitions = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else None
            if operation_name is not None and name != operation_name:
                continue
            if definition.operation is OperationType.SUBSCRIPTION:
                definition = as_query(definition)  # noqa: PLW2901
        definitions.append(definition)
    text = print_ast(DocumentNode(definitions=tuple(definitions)))
    _QUERY_FORMS.put(key, text)
    return text


_OPERATIONS: Lru[str, str | None] = Lru(256)


def operation_of(query: str) -> str | None:
    """The name of ``query``'s first operation (a query form holds one): what a request that names none runs."""
    if (found := _OPERATIONS.get(query)) is not None or query in _OPERATIONS:
        return found
    operations = [d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode)]
    name = operations[0].name.value if operations and operations[0].name else None
    _OPERATIONS.put(query, name)
    return name


def as_query(definition: OperationDefinitionNode) -> OperationDefinitionNode:
    """``definition`` as a query."""
    return OperationDefinitionNode(
        operation=OperationType.QUERY,
        name=definition.name,
        variable_definitions=definition.variable_definitions,
        directives=definition.directives,
        selection_set=definition.selection_set,
    )
