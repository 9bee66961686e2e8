"""GraphQL-shaped JSON error bodies for failures outside GraphQL execution."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from sessions_gateway.gateway.errors import ErrorCode
from sessions_gateway.gateway.observability import current


class ORJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


def error_response(
    status_code: int,
    message: str,
    code: ErrorCode | str,
    headers: dict[str, str] | None = None,
    extensions: dict[str, object] | None = None,
) -> Response:
    """``{"errors": [{"message", "extensions": {"code", **extensions}}]}`` with no ``data``; and the request's id."""
    error_extensions = {"code": str(code), **(extensions or {})}
    body: dict[str, object] = {"errors": [{"message": message, "extensions": error_extensions}]}
    record = current.get()
    if record is not None:
        body["extensions"] = {"requestId": record.request_id}
    return ORJSONResponse(body, status_code=status_code, headers=headers)
