"""Assembles the schema with its limits and error handling."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from gateway.config import Limits
from gateway.errors import ErrorCodes
from schema.extensions import CachedParser
from schema.query import Query
from schema.scalars import DateTime

if TYPE_CHECKING:
    from graphql import GraphQLError
    from strawberry.types import ExecutionContext


class GatewaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Logging happens in ``ErrorCodes``: only failures of the server, never clients' mistakes."""


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    limits = limits or Limits()
    # Factories: strawberry builds fresh extensions for each request.
    extensions: list[Any] = [
        # First in, last out: gives codes after every other extension has reported.
        ErrorCodes,
        partial(QueryDepthLimiter, max_depth=limits.max_depth),
        partial(MaxAliasesLimiter, max_alias_count=limits.max_aliases),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(CachedParser, maxsize=256),  # the cache itself is shared across requests
    ]
    return GatewaySchema(
        query=Query,
        extensions=extensions,
        config=StrawberryConfig(scalar_map={datetime: DateTime}),
    )


schema = build_schema()
