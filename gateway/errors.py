"""Error codes of the service contract, and the extension that puts one on every error.

Every error a client sees carries ``extensions.code``:

* ``GatewayError`` subclasses raised by resolvers carry their own code and a safe message;
* errors of the request itself (parse, validation, variable coercion: they have no ``path``)
  are ``BAD_USER_INPUT``, except the limits' refusals, which are ``QUERY_TOO_COMPLEX``;
* database failures are ``SERVICE_UNAVAILABLE``;
* anything else is ``INTERNAL_SERVER_ERROR`` with a fixed message: the original (which may hold
  SQL or data) goes to the server log only.
"""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import InvalidOperationTypeError

if TYPE_CHECKING:
    from collections.abc import Iterator

logger = logging.getLogger("gateway.errors")


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    # A live subscription over a limit: per connection, or per tenant in one worker.
    TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
    # The reason a WebSocket is closed with (1013) when its worker holds as many as it may.
    TOO_MANY_CONNECTIONS = "TOO_MANY_CONNECTIONS"


INTERNAL_MESSAGE = "Internal server error."
UNAVAILABLE_MESSAGE = "The database is unavailable or timed out; try again shortly."
BUSY_MESSAGE = "The gateway is busy: no database connection came free in time; try again shortly."


class GatewayError(Exception):
    """An error whose message is safe to show, with its contract code."""

    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR


class BadUserInput(GatewayError):
    code = ErrorCode.BAD_USER_INPUT


class Unauthenticated(GatewayError):
    code = ErrorCode.UNAUTHENTICATED


class TooManySubscriptions(GatewayError):
    code = ErrorCode.TOO_MANY_SUBSCRIPTIONS


# The messages of the gateway's limits (schema/limits.py, schema/cost.py: depth and aliases as
# strawberry's QueryDepthLimiter and MaxAliasesLimiter word them), of graphql-core's token limit
# (MaxTokensLimiter), its introspection depth limit and its guard against fragments nested too
# deeply to validate: they carry no code of their own.
_TOO_COMPLEX = re.compile(
    r"exceeds maximum operation depth of \d+$"
    r"|^\d+ aliases found\. Allowed: \d+$"
    r"|Document contains more than \d+ tokens\."
    r"|^Query cost \d+ exceeds the maximum of \d+"
    r"|^The query has \d+ fields once its fragments are expanded; the maximum is \d+\.$"
    r"|^Maximum introspection depth exceeded$"
    r"|^Validation aborted\.$"
)


# SQLSTATE classes of a database that is away, overloaded or must be asked again: 08 connection
# exception; 53 insufficient resources; 57 operator intervention (a statement timeout, a shutdown);
# 40 transaction rollback (a read a standby cancelled to replay, a deadlock).
_UNAVAILABLE_SQLSTATE_CLASSES = {"08", "40", "53", "57"}


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the driver error SQLAlchemy wrapped, and what caused each, in turn."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "orig", None) or current.__cause__


def is_database_failure(exc: BaseException) -> bool:
    for cause in _causes(exc):
        if isinstance(cause, (OperationalError, InterfaceError, PoolTimeoutError, OSError, TimeoutError)):
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES:
            return True
    return False


def _gateway_error(original: Exception | None) -> Exception | None:
    """``original``, or the ``GatewayError`` it amounts to."""
    if isinstance(original, InvalidOperationTypeError):
        # A query or mutation sent over WebSocket, where the schema streams subscriptions only.
        return BadUserInput("Only subscriptions run over WebSocket: send queries over HTTP.")
    return original


def classify(error: GraphQLError) -> tuple[ErrorCode, str]:
    """The contract code of ``error`` and the message the client may see."""
    original = _gateway_error(error.original_error)
    if isinstance(original, GatewayError):
        return original.code, str(original)
    if error.path is None:
        if original is not None and not isinstance(original, GraphQLError) and not (error.nodes or error.positions):
            # Raised by the server's own machinery outside any field and any place in the document
            # (an extension hook): not the request's fault, and not for the client to read.
            return ErrorCode.INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE
        # Raised while parsing, validating or coercing variables: the request is at fault.
        if _TOO_COMPLEX.search(error.message):
            return ErrorCode.QUERY_TOO_COMPLEX, error.message
        return ErrorCode.BAD_USER_INPUT, error.message
    if original is not None and is_database_failure(original):
        busy = any(isinstance(cause, PoolTimeoutError) for cause in _causes(original))
        return ErrorCode.SERVICE_UNAVAILABLE, BUSY_MESSAGE if busy else UNAVAILABLE_MESSAGE
    return ErrorCode.INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE


def with_code(error: GraphQLError) -> GraphQLError:
    """``error`` with its contract code and the message a client may see (once: a coded error is kept)."""
    if (error.extensions or {}).get("code") in _CODES:
        return error
    code, message = classify(error)
    if code in {ErrorCode.INTERNAL_SERVER_ERROR, ErrorCode.SERVICE_UNAVAILABLE}:
        logger.error("%s at %s", code, error.path, exc_info=error.original_error or error)
    return _rewritten(error, message, original_error=None, extensions={**(error.extensions or {}), "code": str(code)})


def _rewritten(
    error: GraphQLError, message: str, *, original_error: Exception | None, extensions: dict[str, Any] | None
) -> GraphQLError:
    """``error`` at the same place in the document and the result, saying ``message``."""
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original_error,
        extensions=extensions,
    )


_CODES = {str(code) for code in ErrorCode}


def code_in_place(errors: list[GraphQLError]) -> None:
    """Code ``errors`` where they are: for errors that reach the response past ``ErrorCodes``."""
    errors[:] = [with_code(e) for e in errors]


# graphql-core's suggestions (``graphql.pyutils.did_you_mean``), wherever in the message: the names
# it suggests never hold a "?".
_SUGGESTION = re.compile(r" Did you mean [^?]*\?")


def without_suggestion(error: GraphQLError) -> GraphQLError:
    """``error`` without graphql-core's "Did you mean ...?", which names what the schema holds."""
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return _rewritten(error, message, original_error=error.original_error, extensions=error.extensions)


class ErrorCodes(SchemaExtension):
    """Gives every error its contract code and masks those whose text is not for clients.

    When the schema refuses introspection, errors do not describe it either: graphql-core's
    suggestions ("Did you mean 'first' or 'last'?") are dropped from their messages.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            errors = [with_code(e) for e in result.errors]
            if NoSchemaIntrospectionCustomRule in self.execution_context.validation_rules:
                errors = [without_suggestion(e) for e in errors]
            result.errors = errors
