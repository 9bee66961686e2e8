"""A session's recording and media as the client sees them: its status, and URLs resolved and signed.

Stored values are a URL or a storage key; a key is resolved against ``MediaSettings.base_url``
and, with a signing key, signed with an HMAC that expires.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from datetime import datetime

    from sessions_gateway.gateway.context import MediaSettings


class RecordingAvailability(Enum):
    AVAILABLE = "available"
    UPLOADING = "uploading"
    EXPIRED = "expired"
    NOT_CAPTURED = "not_captured"


@dataclass(frozen=True, slots=True)
class RecordingView:
    status: RecordingAvailability
    url: str | None = None
    expires_at: datetime | None = None


def _storage_url(key: str, media: MediaSettings, now: datetime) -> RecordingView:
    base = media.base_url
    url = key if base is None else base.rstrip("/") + "/" + quote(key.lstrip("/"))
    if media.signing_key is None:
        return RecordingView(RecordingAvailability.AVAILABLE, url)
    # Whole seconds, so the signature and expiresAt agree with what the client sees.
    expires_at = (now + media.ttl).replace(microsecond=0)
    expires = int(expires_at.timestamp())
    signature = hmac.new(media.signing_key, f"{key}:{expires}".encode(), hashlib.sha256).hexdigest()
    sep = "&" if "?" in url else "?"
    return RecordingView(
        RecordingAvailability.AVAILABLE,
        f"{url}{sep}{urlencode({'expires': expires, 'signature': signature})}",
        expires_at,
    )


# RFC 3986's scheme: a value that starts with one (``https:``, ``data:``) is a URL, else a storage key.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_COMMON_SCHEMES = ("https:", "http:")  # what _SCHEME matches most often, checked first


def media_url(value: str | None, media: MediaSettings, now: datetime) -> str | None:
    """A stored media reference (a thumbnail, a procedure's clip) as the client opens it.

    An absolute URL (it has a scheme) passes through unchanged; an object key is resolved
    against the media base URL and signed, as a recording's storage key is.
    """
    if value is None or value.startswith(_COMMON_SCHEMES) or _SCHEME.match(value):
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
    if view.status is RecordingAvailability.NOT_CAPTURED and session_status == "in_progress":
        return RecordingView(RecordingAvailability.UPLOADING)
    return view


def _recording_view(row: Any | None, media: MediaSettings, now: datetime) -> RecordingView:
    if row is None:
        return RecordingView(RecordingAvailability.NOT_CAPTURED)
    if row.state == "uploading":
        return RecordingView(RecordingAvailability.UPLOADING)
    if row.storage_key:
        return _storage_url(row.storage_key, media, now)
    if row.legacy_url:
        expires_at = row.legacy_expires_at
        if expires_at is not None and expires_at <= now:
            return RecordingView(RecordingAvailability.EXPIRED, None, expires_at)
        return RecordingView(RecordingAvailability.AVAILABLE, row.legacy_url, expires_at)
    return RecordingView(RecordingAvailability.NOT_CAPTURED)
