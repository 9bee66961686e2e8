"""Users' email addresses and callers' tokens never reach a response or a log line.

Every request below runs with every logger at DEBUG, SQLAlchemy's statement and row logging
included: whatever the gateway reads or reports, its text is searched for each email address of
the dataset and for each token sent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from tests.dataset import ALPHA, BETA, DATA
from tests.helpers import token_for

if TYPE_CHECKING:
    import httpx

EMAILS = [u["email"] for u in DATA.users]
EVERY_USER_FIELD = "{ id displayName }"

REQUESTS: list[tuple[str, dict[str, object]]] = [
    (f"{{ sessions(first: 100) {{ edges {{ node {{ id user {EVERY_USER_FIELD} }} }} }} }}", {}),
    (f'{{ session(id: "a-01") {{ id user {EVERY_USER_FIELD} linkedTask {{ title }} }} }}', {}),
    ("{ sessionsReport { totalCount byStatus { status count } } }", {}),
    ('{ __type(name: "User") { fields { name } } }', {}),
    ('{ sessions(filter: { search: "ann" }) { edges { node { user { displayName } } } } }', {}),
    # errors: a bad cursor, a field that does not exist, a malformed id
    ('{ sessions(after: "nope") { edges { cursor } } }', {}),
    ("{ sessions { edges { node { user { email } } } } }", {}),
    ('{ session(id: "a b") { id } }', {}),
]


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "gateway", "strawberry", "uvicorn"):
        caplog.set_level(logging.DEBUG, logger=name)  # each put back after the test
    return caplog


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


def test_the_dataset_has_emails_to_leak() -> None:
    assert len(EMAILS) >= 4
    assert all("@" in e for e in EMAILS)


@pytest.mark.parametrize(("query", "variables"), REQUESTS)
async def test_no_email_or_token_in_any_response_or_log(
    client: httpx.AsyncClient, logged: pytest.LogCaptureFixture, query: str, variables: dict[str, object]
) -> None:
    token = token_for(ALPHA)
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    seen = response.text + str(response.headers) + log_text(logged)
    assert logged.records, "nothing was logged: is logging at DEBUG reaching the capture?"
    for email in EMAILS:
        assert email not in seen
    assert token not in seen
    assert token.split(".")[2] not in seen  # nor its signature alone


@pytest.mark.parametrize(
    "token",
    [
        token_for(ALPHA, secret="another-secret-that-is-long-enough-for-hs256"),
        token_for(BETA, ttl=-3600),
        token_for(None),
        "not.a.jwt",
    ],
    ids=["wrong-signature", "expired", "no-tenant", "garbage"],
)
async def test_a_refused_token_is_not_echoed_or_logged(
    client: httpx.AsyncClient, logged: pytest.LogCaptureFixture, token: str
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ sessions { totalCount } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert token not in response.text + str(response.headers) + log_text(logged)
