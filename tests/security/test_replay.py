"""The hostile requests of a security review, replayed against ``sessions-gateway demo`` as served.

Each was answered wrongly once (a frozen worker, a minute of full-tenant scans, a plain-text 500,
the first of two operations run, a cacheable answer, a blank tenant let in, a limit coded as the
client's mistake). Here they go over real HTTP to the demo, one after the other, and the demo must
refuse each with its contract code and keep answering its own token's lists.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx
import jwt

from tests.ops.test_demo import SECRET_FILE, running_demo, sessions_of
from tests.security.test_limits import HOSTILE

if TYPE_CHECKING:
    from pathlib import Path

FRAGMENT_BOMBS = [HOSTILE["typename"][0](18), HOSTILE["session-fields"][0](24), HOSTILE["typename"][0](30)]
# The review's report, thirty times under aliases: 61 full-tenant statements in one request.
THIRTY_REPORTS = "{ %s }" % " ".join(  # noqa: UP031  (braces of GraphQL in the template)
    f'r{i}: sessionsReport(filter: {{search: "a"}}) {{ totalCount averageScore procedureCount '
    f"totalDurationHours byStatus {{ count }} scoreDeciles {{ count }} }}"
    for i in range(30)
)
THIRTY_COUNTS = "{ %s }" % " ".join(  # noqa: UP031
    f'c{i}: sessions(first: 0, filter: {{search: "a"}}) {{ totalCount }}' for i in range(30)
)
TWO_OPERATIONS = "query A { sessions(first: 1) { totalCount } } query B { sessionsReport { totalCount } }"
DEEP_INTROSPECTION = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
BAD_BODIES = [b'"x"', b"5", b"null", b"true", b"[1]", b'{"query": "{ __typename }", "operationName": 5}']


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """HTTP status, the one error's code and message; the answer must be GraphQL-shaped."""
    body: dict[str, Any] = response.json()
    assert "data" not in body or body["data"] is None, body
    [error] = body["errors"]
    return response.status_code, error["extensions"]["code"], error["message"]


def test_the_reviews_hostile_requests_are_refused_by_the_demo_which_keeps_serving(tmp_path: Path) -> None:
    with running_demo(tmp_path, 200) as (base, token, _log), httpx.Client(base_url=base, timeout=30) as http:
        headers = {"Authorization": f"Bearer {token}"}
        for query in [*FRAGMENT_BOMBS, THIRTY_REPORTS, THIRTY_COUNTS, DEEP_INTROSPECTION]:
            status, code, _message = error_of(http.post("/graphql", json={"query": query}, headers=headers))
            assert (status, code) == (200, "QUERY_TOO_COMPLEX"), query[:80]
        for body in BAD_BODIES:
            response = http.post("/graphql", content=body, headers={**headers, "Content-Type": "application/json"})
            assert error_of(response)[:2] == (400, "BAD_USER_INPUT"), body
        assert error_of(http.post("/graphql", json={"query": TWO_OPERATIONS}, headers=headers)) == (
            400,
            "BAD_USER_INPUT",
            "Must provide operation name if query contains multiple operations.",
        )
        # an answer over GET is for its token's tenant alone: no HTTP cache keeps or shares it
        got = http.get("/graphql", params={"query": "{ sessions(first: 1) { totalCount } }"}, headers=headers)
        assert got.status_code == 200
        assert got.headers["cache-control"] == "private, no-store"
        assert "Authorization" in [v.strip() for v in got.headers["vary"].split(",")]
        # a blank tenant signed with the demo's own key is no tenant
        key = (tmp_path / SECRET_FILE).read_text().strip()
        blank = jwt.encode({"tenant_id": "   ", "exp": int(time.time()) + 60}, key, algorithm="HS256")
        refused = http.post("/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {blank}"})
        assert error_of(refused)[:2] == (401, "UNAUTHENTICATED")
        # and after all of it the demo still answers its token's list
        answer = sessions_of(base, token)
        assert answer.status_code == 200
        assert answer.json()["data"]["sessions"]["totalCount"] > 0
