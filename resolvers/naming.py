"""Pure rules for derived values, written once; ``db/filters.py`` holds their SQL twins."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any
from urllib.parse import quote, urlencode

from gateway.context import MediaSettings

_MICROS = 1_000_000


def whole_seconds(end: datetime, start: datetime) -> int:
    """``end - start`` in whole seconds, truncated toward zero."""
    micros = (end - start) // timedelta(microseconds=1)
    seconds = abs(micros) // _MICROS
    return seconds if micros >= 0 else -seconds


def display_name(name: str | None, task_title: str | None, started_at: datetime) -> str:
    """The session's name; else its linked task's title; else 'Session YYYY-MM-DD HH:MM' (UTC)."""
    if name:
        return name
    if task_title:
        return task_title
    return f"Session {started_at.astimezone(UTC):%Y-%m-%d %H:%M}"


def duration_seconds(
    *,
    recorded: int | None,
    status: str,
    started_at: datetime,
    completed_at: datetime | None,
    now: datetime,
) -> int | None:
    """Recorded duration; else end - start; else, while in progress, time elapsed until ``now``."""
    if recorded is not None:
        return recorded
    if completed_at is not None:
        return whole_seconds(completed_at, started_at)
    if status == "in_progress":
        return max(0, whole_seconds(now, started_at))
    return None


class RecordingStatus(Enum):
    AVAILABLE = "available"
    UPLOADING = "uploading"
    EXPIRED = "expired"
    NOT_CAPTURED = "not_captured"


@dataclass(frozen=True, slots=True)
class RecordingView:
    status: RecordingStatus
    url: str | None = None
    expires_at: datetime | None = None


def _storage_url(key: str, media: MediaSettings, now: datetime) -> RecordingView:
    base = media.base_url
    url = key if base is None else base.rstrip("/") + "/" + quote(key.lstrip("/"))
    if media.signing_key is None:
        return RecordingView(RecordingStatus.AVAILABLE, url)
    # Whole seconds, so the signature and expiresAt agree with what the client sees.
    expires_at = (now + media.ttl).replace(microsecond=0)
    expires = int(expires_at.timestamp())
    signature = hmac.new(media.signing_key, f"{key}:{expires}".encode(), hashlib.sha256).hexdigest()
    sep = "&" if "?" in url else "?"
    return RecordingView(
        RecordingStatus.AVAILABLE,
        f"{url}{sep}{urlencode({'expires': expires, 'signature': signature})}",
        expires_at,
    )


# RFC 3986's scheme: a value that starts with one (``https:``, ``data:``) is a URL, else a storage key.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def media_url(value: str | None, media: MediaSettings, now: datetime) -> str | None:
    """A stored media reference (a thumbnail, a procedure's clip) as the client opens it.

    An absolute URL (it has a scheme) passes through unchanged; an object key is resolved
    against the media base URL and signed, as a recording's storage key is.
    """
    if value is None or _SCHEME.match(value):
        return value
    return _storage_url(value, media, now).url


def recording_view(row: Any | None, media: MediaSettings, now: datetime, session_status: str) -> RecordingView:
    """What the client sees of a session's recording row (``None``: there is none).

    A ready recording in current storage wins over a legacy URL; a legacy URL works until its
    ``legacy_expires_at`` (``EXPIRED`` after it, with that time kept in ``expiresAt``). Without a
    committed recording (no row, or a ready row with neither a storage key nor a legacy URL), a
    session in progress (``session_status``, a storage value) is ``UPLOADING``: its recording is
    still to come. A completed or failed one is ``NOT_CAPTURED``.
    """
    view = _recording_view(row, media, now)
    if view.status is RecordingStatus.NOT_CAPTURED and session_status == "in_progress":
        return RecordingView(RecordingStatus.UPLOADING)
    return view


def _recording_view(row: Any | None, media: MediaSettings, now: datetime) -> RecordingView:
    if row is None:
        return RecordingView(RecordingStatus.NOT_CAPTURED)
    if row.state == "uploading":
        return RecordingView(RecordingStatus.UPLOADING)
    if row.storage_key:
        return _storage_url(row.storage_key, media, now)
    if row.legacy_url:
        expires_at = row.legacy_expires_at
        if expires_at is not None and expires_at <= now:
            return RecordingView(RecordingStatus.EXPIRED, None, expires_at)
        return RecordingView(RecordingStatus.AVAILABLE, row.legacy_url, expires_at)
    return RecordingView(RecordingStatus.NOT_CAPTURED)
