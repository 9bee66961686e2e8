"""Schema extensions of the gateway's own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphql import GraphQLError
from strawberry.extensions import ParserCache

if TYPE_CHECKING:
    from collections.abc import Iterator


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
