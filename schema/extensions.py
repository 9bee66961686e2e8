"""Schema extensions of the gateway's own."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from graphql import ExecutionResult, GraphQLError, validate
from strawberry.extensions import ParserCache, SchemaExtension

from sessions_gateway.schema import compiled
from sessions_gateway.schema.limits import refusals
from sessions_gateway.schema.lru import Lru

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from graphql import ASTValidationRule, DocumentNode, GraphQLSchema

    from sessions_gateway.schema.compiled import PlanCache
    from sessions_gateway.schema.limits import Limits

plans_log = logging.getLogger("gateway.plans")


class CachedParser(ParserCache):
    """Strawberry's shared parse cache, minus its one flaw: a document that does not parse.

    ``ParserCache`` raises the syntax error from its hook, outside Strawberry's handling of parse
    errors, so the error would skip every later extension (and lose its ``extensions.code``). Here
    the document is left unparsed instead; Strawberry parses it again itself, inside that handling.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        except GraphQLError:
            context.graphql_document = None
        yield


class CachedValidation(SchemaExtension):
    """Validation, cached by document text and rule set (the rule classes are built once per schema).

    A document's validity depends only on its text, the schema and the rules, so a repeated query
    skips the validator. Entries are shared across requests, bounded like the parse cache.

    First, whatever the cache holds, the query limits (``schema/limits.py``, linear in the
    document): a document over one is refused unvalidated, so no rule ever walks it.
    """

    def __init__(self, cache: ValidationResults, *, limits: Limits) -> None:
        self.cache = cache
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is not None:
            context.pre_execution_errors = self.cache.validate(
                context.schema._schema,
                context.query,
                context.graphql_document,
                tuple(context.validation_rules),
                self.limits,
            )
        yield


class ValidationResults:
    """The limits' refusals, else the errors ``validate`` found (none, mostly), by document text and rule set.

    A bounded LRU: a repeated document costs a look-up, its limits and rules not walked again.
    """

    def __init__(self, maxsize: int = 256) -> None:
        self._errors: Lru[tuple[str, tuple[type[ASTValidationRule], ...]], list[GraphQLError]] = Lru(maxsize)

    def validate(
        self,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
        limits: Limits,
    ) -> list[GraphQLError]:
        key = (query, rules)
        errors = self._errors.get(key)
        if errors is None:
            errors = refusals(document, limits) or validate(schema, document, rules)
            self._errors.put(key, errors)
        return errors


def log_path(operation_name: str | None, reason: str | None) -> None:
    """Say which path answered an operation: ``reason`` why not a compiled plan, or ``None`` if one did."""
    if plans_log.isEnabledFor(logging.DEBUG):
        path = "executor" if reason else "compiled"
        plans_log.debug(
            "operation %s ran on the %s path%s",
            operation_name or "(anonymous)",
            path,
            f" ({reason})" if reason else "",
            extra={"execution_path": path, "fallback_reason": reason},
        )


class CompiledPlans(SchemaExtension):
    """Answers the operation from a compiled plan, so Strawberry skips its executor.

    Runs after parsing, validation and the limits. When the plan cannot answer exactly
    (``Unsupported``), nothing is set and Strawberry's executor runs as usual. Each operation
    logs which path ran (logger ``gateway.plans``, fields ``execution_path``, ``fallback_reason``).
    """

    def __init__(self, plans: PlanCache | None) -> None:
        self.plans = plans

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        reason: str | None = "disabled"
        if self.plans is not None and context.query is not None and context.graphql_document is not None:
            try:
                data, errors = await compiled.execute(
                    self.plans,
                    context.schema,
                    query=context.query,
                    document=context.graphql_document,
                    operation_name=context.operation_name,
                    variables=context.variables,
                    ctx=context.context,
                )
            except compiled.Unsupported as exc:
                reason = exc.reason
            except Exception:  # noqa: BLE001  (a fault of the plan itself: the executor still answers)
                plans_log.exception("compiled plan failed; running the executor")
                reason = "fault"
            else:
                context.result = ExecutionResult(data=data, errors=errors or None)
                context.context.answered_by_plan = True
                reason = None
        log_path(context.operation_name, reason)
        yield
