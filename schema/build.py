"""Assembles the schema with its limits and error handling."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.types.graphql import OperationType

from sessions_gateway.gateway.errors import ErrorCodes, code_in_place
from sessions_gateway.schema.compiled import PlanCache
from sessions_gateway.schema.extensions import CachedParser, CachedValidation, CompiledPlans, ValidationResults
from sessions_gateway.schema.limits import Limits
from sessions_gateway.schema.live import LiveExecutor
from sessions_gateway.schema.query import Query
from sessions_gateway.schema.scalars import DateTime
from sessions_gateway.schema.subscription import Subscription

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from graphql import ASTValidationRule, GraphQLError
    from strawberry.extensions import SchemaExtension
    from strawberry.schema.schema import StreamResult
    from strawberry.types import ExecutionContext, ExecutionResult


CACHE_SIZE = 256  # parsed documents, validation results and compiled plans, each


class GatewaySchema(strawberry.Schema):
    # The compiled plans, shared by every request (``None``: the executor answers everything).
    plans: PlanCache | None = None

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Code the errors here too: an exception escaping an extension hook skips ``ErrorCodes``.

        Logging happens in ``with_code``: only failures of the server, never clients' mistakes.
        """
        code_in_place(errors)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Once, for one result: never a subscription (Strawberry would run one over HTTP once)."""
        allowed = set(allowed_operation_types or (OperationType.QUERY, OperationType.MUTATION))
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> StreamResult:
        """Over WebSocket, subscriptions only: queries go over HTTP, within a request's budget."""
        return await super().stream(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types=(OperationType.SUBSCRIPTION,),
        )


def build_schema(
    limits: Limits | None = None,
    *,
    compiled_plans: bool = True,
    introspection: bool = True,
    tracing: Callable[[], SchemaExtension] | None = None,
    observers: Sequence[Callable[[], SchemaExtension]] = (),
) -> strawberry.Schema:
    """The gateway's schema; ``tracing`` is the factory of a span-making extension (``gateway/tracing.py``).

    ``observers``: factories of extensions the app adds to watch each operation, run after validation and
    before execution (``gateway/observability.py``'s ``OperationNames``).
    """
    limits = limits or Limits()
    # Rules added to the standard ones; the validation cache is keyed by them. The query limits
    # are no rules: CachedValidation checks them first (schema/limits.py).
    rules: list[type[ASTValidationRule]] = []
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    validations = ValidationResults(maxsize=CACHE_SIZE)
    plans = PlanCache(maxsize=CACHE_SIZE) if compiled_plans else None
    # Factories: strawberry builds fresh extensions for each request; the caches are shared.
    extensions: list[Any] = [
        # First in, last out: gives codes after every other extension has reported.
        ErrorCodes,
        partial(AddValidationRules, rules),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(CachedParser, maxsize=CACHE_SIZE),
        partial(CachedValidation, validations, limits=limits),
        *observers,
        partial(CompiledPlans, plans),
    ]
    if tracing is not None:
        # Inside ErrorCodes, around the rest: the operation's span covers parsing, validation and execution.
        extensions.insert(1, tracing)
    built = GatewaySchema(
        query=Query,
        subscription=Subscription,
        extensions=extensions,
        # A live event's result was read whole, as its query: sent as it is (schema/live.py).
        execution_context_class=LiveExecutor,
        config=StrawberryConfig(scalar_map={datetime: DateTime}),
    )
    built.plans = plans
    return built


schema = build_schema()
