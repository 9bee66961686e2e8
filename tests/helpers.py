"""Calling the gateway the way a client does: real HTTP through the ASGI app, real JWTs."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt

SECRET = "test-secret-that-is-long-enough-for-hs256"

# Every field of a session and of what it links to, as a fragment (``...Node``).
SESSION_NODE = """
fragment Node on Session {
  id name status role thumbnailUrl durationSeconds startedAt completedAt seatId procedureCount
  user { id displayName }
  linkedTask { id title source externalRef status url }
  procedures { id position name description videoUrl }
  recording { status url expiresAt }
  summary { score prose trainerNotes }
}
"""
# Every part of the report, under a filter.
WHOLE_REPORT = """
query Report($filter: SessionFilter) {
  sessionsReport(filter: $filter) {
    totalCount byStatus { status count } byRole { role count } averageScore totalDurationHours procedureCount
    timeline(bucket: WEEK, timeZone: "Europe/Paris") { start count completed averageScore }
    byUser { user { id displayName } count completed averageScore }
    byTaskSource { source count completed averageScore }
    scoreDeciles { from to count }
  }
}
"""


class Between:
    """Equal to any int in ``[low, high]``: a value that depends on the request's clock."""

    def __init__(self, low: int, high: int) -> None:
        self.low = low
        self.high = high

    def __eq__(self, other: object) -> bool:
        return type(other) is int and self.low <= other <= self.high

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Between({self.low}, {self.high})"


def token_for(tenant_id: str | None, *, secret: str = SECRET, ttl: int = 300, **claims: Any) -> str:
    payload: dict[str, Any] = {"exp": int(time.time()) + ttl, **claims}
    if tenant_id is not None:
        payload["tenant_id"] = tenant_id
    return jwt.encode(payload, secret, algorithm="HS256")


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    tenant: str | None = "alpha",
    token: str | None = None,
) -> httpx.Response:
    headers = {}
    if token is None and tenant is not None:
        token = token_for(tenant)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, *, tenant: str = "alpha"
) -> dict[str, Any]:
    """The ``data`` of a successful request; fails the test on any error."""
    response = await post(client, query, variables, tenant=tenant)
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def gql_error(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, *, tenant: str = "alpha"
) -> tuple[str, dict[str, Any]]:
    """The ``extensions.code`` of the request's one error, and the whole body."""
    response = await post(client, query, variables, tenant=tenant)
    body = response.json()
    assert "errors" in body, body
    assert len(body["errors"]) == 1, body["errors"]
    code: str = body["errors"][0]["extensions"]["code"]
    return code, body
