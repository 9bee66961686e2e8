"""``session(id:)`` over HTTP: every field of hand-made sessions against literal expectations."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import logging
import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.datastructures import Secret

from sessions_gateway.gateway.app import create_app
from sessions_gateway.gateway.config import Settings
from sessions_gateway.gateway.context import MediaSettings
from tests import factories as f
from tests.conftest import (
    ANSWER_EXTENSIONS,
    audited,
    create_postgres_database,
    drop_postgres_database,
    http_client,
    load,
)
from tests.dataset import Dataset
from tests.helpers import SECRET, Between, gql, gql_error, post, token_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SESSION_FIELDS = """
    id name status role thumbnailUrl durationSeconds startedAt completedAt seatId
    user { id displayName }
    procedureCount
    procedures { id position name description videoUrl }
    recording { status url expiresAt }
    summary { score prose trainerNotes }
    linkedTask { id title source externalRef status url }
"""
DETAIL = f"query ($id: ID!) {{ session(id: $id) {{ {SESSION_FIELDS} }} }}"

A04_STARTED = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def elapsed(start: datetime, now: datetime) -> int:
    return (now - start) // timedelta(seconds=1)


ANN = {"id": "a-ann", "displayName": "Ann Archer"}
BOB = {"id": "a-bob", "displayName": "Bob Baker"}
ZOE = {"id": "a-zoe", "displayName": "Зоя Петрова"}
JOBBER_TASK = {
    "id": "a-task-jobber",
    "title": "Boiler service at 12 Elm St",
    "source": "jobber",
    "externalRef": "J-1001",
    "status": "scheduled",
    "url": "https://jobber.example.com/jobs/a-task-jobber",
}
NOT_CAPTURED = {"status": "NOT_CAPTURED", "url": None, "expiresAt": None}

# Literal answers, written from the dataset and the contract by hand.
EXPECTED: dict[str, dict[str, Any]] = {
    # Everything set; the recorded duration (3500) wins over the timestamps (3600).
    "a-01": {
        "id": "a-01",
        "name": "Boiler annual service",
        "status": "COMPLETED",
        "role": "TRAINER",
        "thumbnailUrl": "https://media.example.com/thumbs/a-01.jpg",
        "durationSeconds": 3500,
        "startedAt": "2026-11-20T09:30:00+00:00",
        "completedAt": "2026-11-20T10:30:00+00:00",
        "seatId": "seat-01",
        "user": ANN,
        "procedureCount": 3,
        "procedures": [
            {
                "id": "a-01-p1",
                "position": 1,
                "name": "Isolate the power supply",
                "description": "Lock off the breaker.",
                "videoUrl": "https://media.example.com/c/1.mp4",
            },
            {
                "id": "a-01-p2",
                "position": 2,
                "name": "Drain the system",
                "description": "Vent from the top floor down.",
                "videoUrl": None,
            },
            {
                "id": "a-01-p3",
                "position": 3,
                "name": "Refill and pressurise",
                "description": None,
                "videoUrl": "https://media.example.com/c/3.mp4",
            },
        ],
        "recording": {"status": "AVAILABLE", "url": "https://media.example.com/rec/a-01.mp4", "expiresAt": None},
        "summary": {
            "score": 87,
            "prose": "Clean isolation and a tidy finish.",
            "trainerNotes": "Ready to solo.",
        },
        "linkedTask": JOBBER_TASK,
    },
    # Empty name: the task's title. 1800.9 s between the timestamps: 1800. All-null summary row: null.
    # Legacy URL that expires in the future: AVAILABLE with expiresAt.
    "a-02": {
        "id": "a-02",
        "name": "Проверка котла",
        "status": "COMPLETED",
        "role": "TRAINEE",
        "thumbnailUrl": "https://media.example.com/thumbs/a-02.jpg",
        "durationSeconds": 1800,
        "startedAt": "2026-11-20T09:30:00+00:00",
        "completedAt": "2026-11-20T10:00:00.900000+00:00",
        "seatId": None,
        "user": BOB,
        "procedureCount": 1,
        "procedures": [
            {"id": "a-02-p1", "position": 1, "name": "Check gas pressure", "description": None, "videoUrl": None}
        ],
        "recording": {
            "status": "AVAILABLE",
            "url": "https://legacy.example.com/r/a-02?sig=abc",
            "expiresAt": "2099-01-01T00:00:00+00:00",
        },
        "summary": None,
        "linkedTask": {
            "id": "a-task-sm8",
            "title": "Проверка котла",
            "source": "servicem8",
            "externalRef": "SM8-77",
            "status": "completed",
            "url": None,
        },
    },
    # No name, no task: automatic name. Failed without an end: no duration. Microseconds kept.
    # Legacy URL past its expiry: EXPIRED. Summary with a score only.
    "a-03": {
        "id": "a-03",
        "name": "Session 2026-11-19 14:05",
        "status": "FAILED",
        "role": "TRAINEE",
        "thumbnailUrl": None,
        "durationSeconds": None,
        "startedAt": "2026-11-19T14:05:30.250000+00:00",
        "completedAt": None,
        "seatId": None,
        "user": BOB,
        "procedureCount": 0,
        "procedures": [],
        "recording": {"status": "EXPIRED", "url": None, "expiresAt": "2026-01-01T00:00:00+00:00"},
        "summary": {"score": 40, "prose": None, "trainerNotes": None},
        "linkedTask": None,
    },
    # In progress: durationSeconds is filled in per request (see detail_expectation); uploading.
    "a-04": {
        "id": "a-04",
        "name": "Проверка вентиляции",
        "status": "IN_PROGRESS",
        "role": "TRAINEE",
        "thumbnailUrl": "https://media.example.com/thumbs/a-04.jpg",
        "durationSeconds": None,
        "startedAt": "2026-11-24T08:00:00+00:00",
        "completedAt": None,
        "seatId": None,
        "user": ZOE,
        "procedureCount": 0,
        "procedures": [],
        "recording": {"status": "UPLOADING", "url": None, "expiresAt": None},
        "summary": None,
        "linkedTask": None,
    },
    # A recorded duration of 0 stays 0; no recording row; no summary row.
    "a-05": {
        "id": "a-05",
        "name": "50% off_sale \\ test",
        "status": "COMPLETED",
        "role": "TRAINER",
        "thumbnailUrl": "https://media.example.com/thumbs/a-05.jpg",
        "durationSeconds": 0,
        "startedAt": "2026-11-19T09:30:00+00:00",
        "completedAt": "2026-11-19T09:30:00+00:00",
        "seatId": None,
        "user": ANN,
        "procedureCount": 0,
        "procedures": [],
        "recording": NOT_CAPTURED,
        "summary": None,
        "linkedTask": None,
    },
    # Failed with an end: completed - started. A storage key (quoted) wins over a legacy URL.
    "a-07": {
        "id": "a-07",
        "name": "Gas safety check",
        "status": "FAILED",
        "role": "TRAINEE",
        "thumbnailUrl": "https://media.example.com/thumbs/a-07.jpg",
        "durationSeconds": 600,
        "startedAt": "2026-11-18T09:30:00+00:00",
        "completedAt": "2026-11-18T09:40:00+00:00",
        "seatId": None,
        "user": BOB,
        "procedureCount": 2,
        "procedures": [
            {"id": "a-07-p1", "position": 1, "name": "Inspect the flue", "description": None, "videoUrl": None},
            {
                "id": "a-07-p2",
                "position": 2,
                "name": "Run a combustion analysis",
                "description": None,
                "videoUrl": None,
            },
        ],
        "recording": {
            "status": "AVAILABLE",
            "url": "https://media.example.com/rec/a-07%20take%202.mp4",
            "expiresAt": None,
        },
        "summary": {"score": None, "prose": "Stopped at the flue check.", "trainerNotes": None},
        "linkedTask": None,
    },
    # Empty name and a task whose title is empty: the automatic name; the task is still linked.
    "a-08": {
        "id": "a-08",
        "name": "Session 2026-11-18 07:45",
        "status": "COMPLETED",
        "role": "TRAINEE",
        "thumbnailUrl": "https://media.example.com/thumbs/a-08.jpg",
        "durationSeconds": 841,
        "startedAt": "2026-11-18T07:45:59+00:00",
        "completedAt": "2026-11-18T08:00:00+00:00",
        "seatId": None,
        "user": BOB,
        "procedureCount": 0,
        "procedures": [],
        "recording": NOT_CAPTURED,
        "summary": None,
        "linkedTask": {
            "id": "a-task-blank",
            "title": "",
            "source": "jobber",
            "externalRef": "J-1002",
            "status": "scheduled",
            "url": "https://jobber.example.com/jobs/a-task-blank",
        },
    },
    # A ready recording row with nothing to play: NOT_CAPTURED.
    "a-09": {
        "id": "a-09",
        "name": "Nothing to play",
        "status": "COMPLETED",
        "role": "TRAINEE",
        "thumbnailUrl": "https://media.example.com/thumbs/a-09.jpg",
        "durationSeconds": 1200,
        "startedAt": "2026-11-17T09:30:00+00:00",
        "completedAt": "2026-11-17T09:50:00+00:00",
        "seatId": None,
        "user": ZOE,
        "procedureCount": 0,
        "procedures": [],
        "recording": NOT_CAPTURED,
        "summary": None,
        "linkedTask": None,
    },
    # Legacy URL without an expiry: AVAILABLE, expiresAt null. Shares a-01's task.
    "a-10": {
        "id": "a-10",
        "name": "Boiler service follow-up",
        "status": "COMPLETED",
        "role": "TRAINEE",
        "thumbnailUrl": "https://media.example.com/thumbs/a-10.jpg",
        "durationSeconds": 2700,
        "startedAt": "2026-11-16T09:30:00+00:00",
        "completedAt": "2026-11-16T10:15:00+00:00",
        "seatId": None,
        "user": BOB,
        "procedureCount": 0,
        "procedures": [],
        "recording": {"status": "AVAILABLE", "url": "https://legacy.example.com/r/a-10", "expiresAt": None},
        "summary": None,
        "linkedTask": JOBBER_TASK,
    },
}

BETA_EXPECTED: dict[str, dict[str, Any]] = {
    "b-01": {
        "id": "b-01",
        "name": "Boiler annual service",
        "status": "COMPLETED",
        "role": "TRAINER",
        "thumbnailUrl": "https://media.example.com/thumbs/b-01.jpg",
        "durationSeconds": 3500,
        "startedAt": "2026-11-20T09:30:00+00:00",
        "completedAt": "2026-11-20T10:30:00+00:00",
        "seatId": None,
        "user": {"id": "b-ann", "displayName": "Ann Archer"},
        "procedureCount": 1,
        "procedures": [
            {"id": "b-01-p1", "position": 1, "name": "Isolate the power supply", "description": None, "videoUrl": None}
        ],
        "recording": {"status": "AVAILABLE", "url": "https://media.example.com/rec/b-01.mp4", "expiresAt": None},
        "summary": {"score": 10, "prose": None, "trainerNotes": None},
        "linkedTask": {
            "id": "b-task-jobber",
            "title": "Boiler service at 12 Elm St",
            "source": "jobber",
            "externalRef": "J-1001",
            "status": "scheduled",
            "url": "https://jobber.example.com/jobs/b-task-jobber",
        },
    },
    # Empty name: beta's own task title.
    "b-02": {
        "id": "b-02",
        "name": "Boiler service at 12 Elm St",
        "status": "COMPLETED",
        "role": "TRAINEE",
        "thumbnailUrl": "https://media.example.com/thumbs/b-02.jpg",
        "durationSeconds": 1800,
        "startedAt": "2026-11-20T09:30:00+00:00",
        "completedAt": "2026-11-20T10:00:00+00:00",
        "seatId": None,
        "user": {"id": "b-bob", "displayName": "Bob Baker"},
        "procedureCount": 0,
        "procedures": [],
        "recording": NOT_CAPTURED,
        "summary": None,
        "linkedTask": {
            "id": "b-task-jobber",
            "title": "Boiler service at 12 Elm St",
            "source": "jobber",
            "externalRef": "J-1001",
            "status": "scheduled",
            "url": "https://jobber.example.com/jobs/b-task-jobber",
        },
    },
}


def detail_expectation(session_id: str, before: datetime, after: datetime) -> dict[str, Any]:
    """The literal expectation; a-04's elapsed time lies between the clock before and after the request."""
    expected = dict(EXPECTED[session_id])
    if session_id == "a-04":
        expected["durationSeconds"] = Between(elapsed(A04_STARTED, before), elapsed(A04_STARTED, after))
    return expected


@pytest.mark.parametrize("session_id", sorted(EXPECTED))
async def test_session_detail_every_field(client: httpx.AsyncClient, session_id: str) -> None:
    before = datetime.now(UTC)
    data = await gql(client, DETAIL, {"id": session_id})
    after = datetime.now(UTC)
    assert data == {"session": detail_expectation(session_id, before, after)}


async def test_in_progress_duration_is_elapsed_since_start(client: httpx.AsyncClient) -> None:
    before = datetime.now(UTC)
    data = await gql(client, '{ session(id: "a-04") { durationSeconds } }')
    after = datetime.now(UTC)
    duration = data["session"]["durationSeconds"]
    # The dataset's clock is in the past: a day and more has elapsed since a-04 started.
    assert duration > 86_400
    assert elapsed(A04_STARTED, before) <= duration <= elapsed(A04_STARTED, after)


async def test_many_sessions_in_one_request(client: httpx.AsyncClient) -> None:
    """Batched loaders give every session its own relations."""
    ids = sorted(EXPECTED)
    fields = " ".join(f'{sid.replace("-", "_")}: session(id: "{sid}") {{ {SESSION_FIELDS} }}' for sid in ids)
    query = "{ " + fields + " }"
    before = datetime.now(UTC)
    data = await gql(client, query)
    after = datetime.now(UTC)
    assert data == {sid.replace("-", "_"): detail_expectation(sid, before, after) for sid in ids}


@pytest.mark.parametrize("session_id", sorted(BETA_EXPECTED))
async def test_session_detail_of_tenant_beta(client: httpx.AsyncClient, session_id: str) -> None:
    data = await gql(client, DETAIL, {"id": session_id}, tenant="beta")
    assert data == {"session": BETA_EXPECTED[session_id]}


async def test_erased_foreign_and_missing_sessions_are_indistinguishable(client: httpx.AsyncClient) -> None:
    # The foreign ids exist: their own tenant sees them.
    assert (await gql(client, '{ session(id: "b-01") { id } }', tenant="beta")) == {"session": {"id": "b-01"}}
    assert (await gql(client, '{ session(id: "a-01") { id } }')) == {"session": {"id": "a-01"}}

    cases = [
        ("alpha", "a-06"),  # erased
        ("alpha", "b-01"),  # beta's
        ("alpha", "no-such-session"),
        ("beta", "a-01"),  # alpha's
        ("beta", "a-06"),  # alpha's, erased
        ("beta", "no-such-session"),
    ]
    answers = []
    for tenant, session_id in cases:
        response = await post(client, DETAIL, {"id": session_id}, tenant=tenant)
        answers.append((response.status_code, response.content))
    status_code, content = answers[0]
    assert status_code == 200
    assert httpx.Response(200, content=content).json() == {"data": {"session": None}, **ANSWER_EXTENSIONS}
    assert all(answer == answers[0] for answer in answers), answers


@pytest.mark.parametrize("session_id", ["", " ", "a 01", "a-01 ", "a-01\n", "a\t01", "x" * 300])
async def test_malformed_id_is_bad_user_input(client: httpx.AsyncClient, session_id: str) -> None:
    code, body = await gql_error(client, DETAIL, {"id": session_id})
    assert code == "BAD_USER_INPUT"
    assert body["data"] == {"session": None}


async def test_email_never_in_a_response(client: httpx.AsyncClient) -> None:
    texts = [
        (await post(client, DETAIL, {"id": "a-01"})).text,
        (await post(client, DETAIL, {"id": "b-01"}, tenant="beta")).text,
        (await post(client, "{ sessions(first: 100) { edges { node { user { id displayName } } } } }")).text,
    ]
    # Every user of alpha ran some listed session; ann's stored email is ann@alpha.example.com.
    assert all(name in texts[2] for name in ("Ann Archer", "Bob Baker", "Зоя Петрова"))
    for text in texts:
        assert "@" not in text
    # Asking for it is a validation error that does not echo any address either.
    response = await post(client, '{ session(id: "a-01") { user { id email } } }')
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "@" not in response.text


# --- Signed recording URLs: an app of its own whose media settings sign storage keys ---

SIGNING_KEY = b"test-media-signing-key"
TTL = timedelta(minutes=10)
SIGNED_BASE = "https://cdn.example.com/media/"


@pytest.fixture(scope="module")
async def signed_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url,
        jwt_secret=Secret(SECRET),
        media=MediaSettings(base_url=SIGNED_BASE, signing_key=SIGNING_KEY, ttl=TTL),
    )
    application = create_app(settings)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def check_signed(recording: dict[str, Any], key: str, path: str, before: datetime, after: datetime) -> None:
    assert recording["status"] == "AVAILABLE"
    parts = urlsplit(recording["url"])
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "cdn.example.com", path)
    query = parse_qs(parts.query, strict_parsing=True)
    assert sorted(query) == ["expires", "signature"]
    [expires_text] = query["expires"]
    [signature] = query["signature"]
    expires = int(expires_text)
    assert math.floor((before + TTL).timestamp()) <= expires <= math.floor((after + TTL).timestamp())
    expected = hmac.new(SIGNING_KEY, f"{key}:{expires}".encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert recording["expiresAt"] == datetime.fromtimestamp(expires, UTC).isoformat()
    assert recording["expiresAt"].endswith("+00:00")


async def test_signed_recording_urls(signed_client: httpx.AsyncClient) -> None:
    query = """{
      a01: session(id: "a-01") { recording { status url expiresAt } }
      a07: session(id: "a-07") { recording { status url expiresAt } }
      a02: session(id: "a-02") { recording { status url expiresAt } }
      a03: session(id: "a-03") { recording { status url expiresAt } }
      a04: session(id: "a-04") { recording { status url expiresAt } }
      a09: session(id: "a-09") { recording { status url expiresAt } }
    }"""
    before = datetime.now(UTC)
    response = await post(signed_client, query, token=token_for("alpha"))
    after = datetime.now(UTC)
    body = response.json()
    assert response.status_code == 200
    assert "errors" not in body, body
    data = body["data"]
    check_signed(data["a01"]["recording"], "rec/a-01.mp4", "/media/rec/a-01.mp4", before, after)
    check_signed(data["a07"]["recording"], "rec/a-07 take 2.mp4", "/media/rec/a-07%20take%202.mp4", before, after)
    # Legacy URLs are pre-signed by their issuer: passed through unchanged; other states unaffected.
    assert data["a02"]["recording"] == EXPECTED["a-02"]["recording"]
    assert data["a03"]["recording"] == EXPECTED["a-03"]["recording"]
    assert data["a04"]["recording"] == EXPECTED["a-04"]["recording"]
    assert data["a09"]["recording"] == EXPECTED["a-09"]["recording"]


# --- What a session shows of media it has not finished or stores as keys: both paths, both backends ---

MEDIA_NOW = datetime(2026, 11, 24, 9, 41, 7, tzinfo=UTC)
MEDIA_TTL = timedelta(minutes=5)
MEDIA_EXPIRES = int((MEDIA_NOW + MEDIA_TTL).timestamp())
UPLOADING = {"status": "UPLOADING", "url": None, "expiresAt": None}
BARE_KEYS_WARNING = (
    "GATEWAY_MEDIA_BASE_URL is not set: recordings, thumbnails and procedure videos stored as object keys "
    "are returned as bare keys, which a client cannot open"
)
MEDIA_SESSIONS = """
{
  sessions(first: 10, orderBy: STARTED_AT_ASC) {
    edges { node { id thumbnailUrl procedures { videoUrl } recording { status url expiresAt } } }
  }
}
"""
MEDIA_DETAIL = """
query ($id: ID!) { session(id: $id) { id thumbnailUrl procedures { videoUrl } recording { status url expiresAt } } }
"""


def media_dataset() -> Dataset:
    t = "media"
    at = [MEDIA_NOW - timedelta(hours=h) for h in (5, 4, 3, 2)]
    return Dataset(
        tenants=[f.tenant(t)],
        users=[f.user("m-u", t, "Mia")],
        sessions=[
            # ended without a recording row: NOT_CAPTURED; their thumbnails are URLs and keys
            f.session("m-done", t, "m-u", started_at=at[0], completed_at=at[1], thumbnail_url="thumbs/m done.jpg"),
            f.session(
                "m-failed", t, "m-u", status="failed", started_at=at[1], thumbnail_url="data:image/png;base64,AA"
            ),
            # in progress, no recording row yet: UPLOADING
            f.session(
                "m-running", t, "m-u", status="in_progress", started_at=at[2], thumbnail_url="/thumbs/m-running.jpg"
            ),
            # in progress with a ready row that holds nothing to play: UPLOADING as well
            f.session("m-empty-row", t, "m-u", status="in_progress", started_at=at[3], thumbnail_url=None),
        ],
        recordings=[f.recording("m-empty-row", t)],
        procedures=[
            f.procedure("m-p1", t, "m-done", 1, video_url="clips/step 1.mp4"),
            f.procedure("m-p2", t, "m-done", 2, video_url="https://clips.example.org/2.mp4?x=1"),
            f.procedure("m-p3", t, "m-done", 3, video_url=None),
        ],
    )


def signed(key: str) -> str:
    """A key's URL as the signed-media app gives it at MEDIA_NOW, computed here from the rules."""
    signature = hmac.new(SIGNING_KEY, f"{key}:{MEDIA_EXPIRES}".encode(), hashlib.sha256).hexdigest()
    path = key.lstrip("/").replace(" ", "%20")
    return f"https://cdn.example.com/media/{path}?expires={MEDIA_EXPIRES}&signature={signature}"


MEDIA_EXPECTED = [
    {
        "id": "m-done",
        "thumbnailUrl": signed("thumbs/m done.jpg"),
        "procedures": [
            {"videoUrl": signed("clips/step 1.mp4")},
            {"videoUrl": "https://clips.example.org/2.mp4?x=1"},
            {"videoUrl": None},
        ],
        "recording": NOT_CAPTURED,
    },
    {"id": "m-failed", "thumbnailUrl": "data:image/png;base64,AA", "procedures": [], "recording": NOT_CAPTURED},
    {"id": "m-running", "thumbnailUrl": signed("/thumbs/m-running.jpg"), "procedures": [], "recording": UPLOADING},
    {"id": "m-empty-row", "thumbnailUrl": None, "procedures": [], "recording": UPLOADING},
]


@pytest.fixture(scope="module")
async def media_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:

    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('media') / 'media.db'}"
        await load(url, media_dataset())
        yield url
        return
    url = await create_postgres_database()
    try:
        await load(url, media_dataset())
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture(scope="module")
async def media_clients(media_url: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Clients of the signed-media app on the media dataset: compiled plans on, then the executor alone."""
    settings = Settings(
        database_url=media_url,
        jwt_secret=Secret(SECRET),
        media=MediaSettings(base_url=SIGNED_BASE, signing_key=SIGNING_KEY, ttl=MEDIA_TTL),
    )
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for compiled in (True, False):
            application = await stack.enter_async_context(
                audited(dataclasses.replace(settings, compiled_plans=compiled))
            )
            clients.append(await stack.enter_async_context(http_client(application)))
        yield clients


async def test_recording_status_and_media_urls_in_the_list_on_both_paths(
    media_clients: list[httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sessions_gateway.gateway.context.clock", lambda: MEDIA_NOW)
    for http in media_clients:
        data = await gql(http, MEDIA_SESSIONS, tenant="media")
        assert [edge["node"] for edge in data["sessions"]["edges"]] == MEDIA_EXPECTED


@pytest.mark.parametrize("expected", MEDIA_EXPECTED, ids=lambda e: e["id"])
async def test_recording_status_and_media_urls_in_the_detail_on_both_paths(
    media_clients: list[httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch, expected: dict[str, Any]
) -> None:
    monkeypatch.setattr("sessions_gateway.gateway.context.clock", lambda: MEDIA_NOW)
    for http in media_clients:
        assert await gql(http, MEDIA_DETAIL, {"id": expected["id"]}, tenant="media") == {"session": expected}


async def test_media_keys_without_a_base_url_are_returned_bare_and_the_start_says_so(
    media_url: str, caplog: pytest.LogCaptureFixture
) -> None:

    bare = Settings(database_url=media_url, jwt_secret=Secret(SECRET))
    for settings in (bare, dataclasses.replace(bare, compiled_plans=False)):
        caplog.clear()
        application = create_app(settings)
        async with LifespanManager(application), http_client(application) as http:
            warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            data = await gql(http, MEDIA_DETAIL, {"id": "m-done"}, tenant="media")
        assert [w for w in warned if "GATEWAY_MEDIA_BASE_URL" in w] == [BARE_KEYS_WARNING]
        assert data["session"]["thumbnailUrl"] == "thumbs/m done.jpg"
        assert data["session"]["procedures"][0] == {"videoUrl": "clips/step 1.mp4"}
    # with a base URL, no such warning
    caplog.clear()
    application = create_app(dataclasses.replace(bare, media=MediaSettings(base_url=SIGNED_BASE)))
    async with LifespanManager(application):
        pass
    assert not [r for r in caplog.records if "GATEWAY_MEDIA_BASE_URL" in r.getMessage()]
