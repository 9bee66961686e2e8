"""The pure rules for derived values: names, durations, what a recording row shows."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from sessions_gateway.gateway.context import MediaSettings
from sessions_gateway.resolvers.derived import display_name, duration_seconds, whole_seconds
from sessions_gateway.resolvers.media import RecordingAvailability, RecordingView, media_url, recording_view

START = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 12, 0, 0, 500_000, tzinfo=UTC)
MEDIA = MediaSettings(base_url="https://media.example.com/")
COMPLETED = "completed"


def row(**fields: Any) -> Any:
    values = {"state": "ready", "storage_key": None, "legacy_url": None, "legacy_expires_at": None}
    return SimpleNamespace(**(values | fields))


@pytest.mark.parametrize(
    ("name", "title", "expected"),
    [
        ("Boiler annual service", "Task title", "Boiler annual service"),
        ("", "Task title", "Task title"),
        (None, "Task title", "Task title"),
        ("", "", "Session 2026-11-24 09:30"),
        (None, None, "Session 2026-11-24 09:30"),
        ("", None, "Session 2026-11-24 09:30"),
    ],
)
def test_display_name(name: str | None, title: str | None, expected: str) -> None:
    assert display_name(name, title, START) == expected


def test_display_name_uses_utc() -> None:
    started = datetime(2026, 11, 24, 1, 5, 59, tzinfo=timezone(timedelta(hours=3)))
    assert display_name(None, None, started) == "Session 2026-11-23 22:05"


@pytest.mark.parametrize(
    ("end", "start", "expected"),
    [
        (START + timedelta(seconds=1800, microseconds=900_000), START, 1800),
        (START + timedelta(microseconds=999_999), START, 0),
        (START, START, 0),
        (START + timedelta(days=2, seconds=5), START, 172_805),
        (START - timedelta(seconds=1, microseconds=500_000), START, -1),  # toward zero, not down
    ],
)
def test_whole_seconds(end: datetime, start: datetime, expected: int) -> None:
    assert whole_seconds(end, start) == expected


@pytest.mark.parametrize(
    ("recorded", "status", "completed_at", "expected"),
    [
        (3500, "completed", START + timedelta(hours=1), 3500),  # recorded wins
        (0, "completed", START + timedelta(hours=1), 0),  # a recorded zero is a duration
        (None, "completed", START + timedelta(seconds=1800, microseconds=900_000), 1800),
        (None, "failed", START + timedelta(minutes=10), 600),
        (None, "failed", None, None),
        (None, "completed", None, None),
        (120, "in_progress", None, 120),  # recorded wins while in progress too
        (None, "in_progress", None, 95_400),  # elapsed until NOW, truncated
    ],
)
def test_duration_seconds(
    recorded: int | None, status: str, completed_at: datetime | None, expected: int | None
) -> None:
    got = duration_seconds(recorded=recorded, status=status, started_at=START, completed_at=completed_at, now=NOW)
    assert got == expected


def test_in_progress_started_in_the_future_is_zero() -> None:
    got = duration_seconds(
        recorded=None, status="in_progress", started_at=NOW + timedelta(minutes=5), completed_at=None, now=NOW
    )
    assert got == 0


def test_no_recording_row_is_not_captured() -> None:
    assert recording_view(None, MEDIA, NOW, COMPLETED) == RecordingView(RecordingAvailability.NOT_CAPTURED)


def test_uploading_hides_anything_else() -> None:
    view = recording_view(
        row(state="uploading", storage_key="rec/x.mp4", legacy_url="https://l/x"), MEDIA, NOW, COMPLETED
    )
    assert view == RecordingView(RecordingAvailability.UPLOADING)


@pytest.mark.parametrize(
    ("base_url", "key", "url"),
    [
        ("https://media.example.com/", "rec/a-07 take 2.mp4", "https://media.example.com/rec/a-07%20take%202.mp4"),
        ("https://media.example.com", "rec/a.mp4", "https://media.example.com/rec/a.mp4"),
        ("https://media.example.com/base/", "/rec/a.mp4", "https://media.example.com/base/rec/a.mp4"),
        ("https://media.example.com/", "rec/ü#?&.mp4", "https://media.example.com/rec/%C3%BC%23%3F%26.mp4"),
    ],
)
def test_storage_key_against_base_url(base_url: str, key: str, url: str) -> None:
    view = recording_view(row(storage_key=key), MediaSettings(base_url=base_url), NOW, COMPLETED)
    assert view == RecordingView(RecordingAvailability.AVAILABLE, url, None)


def test_storage_key_wins_over_legacy_url() -> None:
    view = recording_view(
        row(storage_key="rec/a.mp4", legacy_url="https://legacy.example.com/a", legacy_expires_at=START),
        MEDIA,
        NOW,
        COMPLETED,
    )
    assert view == RecordingView(RecordingAvailability.AVAILABLE, "https://media.example.com/rec/a.mp4", None)


def test_legacy_url_before_expiry() -> None:
    expires = NOW + timedelta(seconds=1)
    view = recording_view(
        row(legacy_url="https://legacy.example.com/a", legacy_expires_at=expires), MEDIA, NOW, COMPLETED
    )
    assert view == RecordingView(RecordingAvailability.AVAILABLE, "https://legacy.example.com/a", expires)


def test_legacy_url_without_expiry() -> None:
    view = recording_view(row(legacy_url="https://legacy.example.com/a"), MEDIA, NOW, COMPLETED)
    assert view == RecordingView(RecordingAvailability.AVAILABLE, "https://legacy.example.com/a", None)


@pytest.mark.parametrize("expires", [NOW, NOW - timedelta(days=300)])
def test_legacy_url_expired(expires: datetime) -> None:
    view = recording_view(
        row(legacy_url="https://legacy.example.com/a", legacy_expires_at=expires), MEDIA, NOW, COMPLETED
    )
    assert view == RecordingView(RecordingAvailability.EXPIRED, None, expires)


@pytest.mark.parametrize("fields", [{}, {"storage_key": "", "legacy_url": ""}])
def test_ready_row_with_nothing_to_play(fields: dict[str, Any]) -> None:
    assert recording_view(row(**fields), MEDIA, NOW, COMPLETED) == RecordingView(RecordingAvailability.NOT_CAPTURED)


def test_signed_storage_url() -> None:
    media = MediaSettings(base_url="https://media.example.com/", signing_key=b"k3y", ttl=timedelta(minutes=10))
    view = recording_view(row(storage_key="rec/a b.mp4"), media, NOW, COMPLETED)
    # NOW is 12:00:00.5; plus ten minutes, whole seconds: 12:10:00.
    expires_at = datetime(2026, 11, 25, 12, 10, tzinfo=UTC)
    expires = int(expires_at.timestamp())
    signature = hmac.new(b"k3y", f"rec/a b.mp4:{expires}".encode(), hashlib.sha256).hexdigest()
    assert view == RecordingView(
        RecordingAvailability.AVAILABLE,
        f"https://media.example.com/rec/a%20b.mp4?expires={expires}&signature={signature}",
        expires_at,
    )
    assert expires == 1_795_608_600


def test_signed_url_keeps_a_query_in_the_base() -> None:
    media = MediaSettings(base_url=None, signing_key=b"k3y", ttl=timedelta(seconds=30))
    view = recording_view(row(storage_key="https://store.example.com/a.mp4?v=2"), media, NOW, COMPLETED)
    assert view.url is not None
    assert view.url.startswith("https://store.example.com/a.mp4?v=2&expires=")
    assert view.expires_at == datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC)


# --- A session without a committed recording: UPLOADING while in progress, else NOT_CAPTURED ---

NOTHING_COMMITTED = [None, row(), row(storage_key="", legacy_url="")]


@pytest.mark.parametrize("recording", NOTHING_COMMITTED)
def test_in_progress_session_without_a_committed_recording_is_uploading(recording: Any) -> None:
    assert recording_view(recording, MEDIA, NOW, "in_progress") == RecordingView(RecordingAvailability.UPLOADING)


@pytest.mark.parametrize("status", ["completed", "failed"])
@pytest.mark.parametrize("recording", NOTHING_COMMITTED)
def test_ended_session_without_a_committed_recording_is_not_captured(recording: Any, status: str) -> None:
    assert recording_view(recording, MEDIA, NOW, status) == RecordingView(RecordingAvailability.NOT_CAPTURED)


def test_in_progress_session_with_a_committed_recording_shows_it() -> None:
    view = recording_view(row(storage_key="rec/a.mp4"), MEDIA, NOW, "in_progress")
    assert view == RecordingView(RecordingAvailability.AVAILABLE, "https://media.example.com/rec/a.mp4", None)
    expired = recording_view(row(legacy_url="https://l/a", legacy_expires_at=START), MEDIA, NOW, "in_progress")
    assert expired == RecordingView(RecordingAvailability.EXPIRED, None, START)


# --- Media references (thumbnails, procedure clips): keys resolved and signed, URLs as they are ---


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.com/t/a.jpg?v=1",
        "http://cdn.example.com/t/a.jpg",
        "HTTPS://cdn.example.com/t/a.jpg",
        "s3+https://bucket/t/a.jpg",
        "data:image/png;base64,AAAA",
    ],
)
def test_an_absolute_media_url_passes_through_unchanged(url: str) -> None:
    signing = MediaSettings(base_url="https://media.example.com/", signing_key=b"k3y")
    assert media_url(url, signing, NOW) == url
    assert media_url(url, MediaSettings(), NOW) == url


def test_a_missing_media_reference_stays_null() -> None:
    assert media_url(None, MEDIA, NOW) is None


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("thumbs/a b.jpg", "https://media.example.com/thumbs/a%20b.jpg"),
        ("/thumbs/a.jpg", "https://media.example.com/thumbs/a.jpg"),
        ("thumbs/a:b.jpg", "https://media.example.com/thumbs/a%3Ab.jpg"),  # a colon after a slash: still a key
    ],
)
def test_a_media_key_is_resolved_against_the_base_url(key: str, url: str) -> None:
    assert media_url(key, MEDIA, NOW) == url


def test_a_media_key_is_signed_as_a_recording_key_is() -> None:
    media = MediaSettings(base_url="https://media.example.com/", signing_key=b"k3y", ttl=timedelta(minutes=10))
    key = "thumbs/a b.jpg"
    recording = recording_view(row(storage_key=key), media, NOW, COMPLETED)
    assert media_url(key, media, NOW) == recording.url
    expires = 1_795_608_600  # NOW plus ten minutes, in whole seconds
    signature = hmac.new(b"k3y", f"{key}:{expires}".encode(), hashlib.sha256).hexdigest()
    assert recording.url == f"https://media.example.com/thumbs/a%20b.jpg?expires={expires}&signature={signature}"


def test_a_media_key_without_a_base_url_is_returned_bare() -> None:
    assert media_url("thumbs/a.jpg", MediaSettings(), NOW) == "thumbs/a.jpg"
