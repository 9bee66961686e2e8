"""Keyset pagination: page arguments and signed, opaque cursors.

A cursor holds a position only (the row's sort key and id). Its MAC also covers the tenant,
the order and the filter it was issued for, so a cursor from another tenant, ordering or filter
set, or a tampered one, is refused with ``BAD_USER_INPUT``; the tenant always comes from the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from sessions_gateway.db.filters import ListOrder
from sessions_gateway.db.queries import Position
from sessions_gateway.gateway.errors import BadUserInput

if TYPE_CHECKING:
    from sessions_gateway.db.filters import SessionCriteria

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_CURSOR_LENGTH = 512
_MAC_BYTES = 16
INVALID_CURSOR = "Invalid cursor: use a cursor this query returned, with the same filter and orderBy."


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> str:
    """URL-safe base64 without padding (``base64.urlsafe_b64encode``, in two C calls)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Strict: only the canonical form (one string per byte string), so no two cursors are one."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError
    return data


@dataclass(frozen=True, slots=True)
class CursorCodec:
    """Encodes and verifies the cursors of one list query (one tenant, order and filter)."""

    key: bytes
    tenant_id: str
    order: ListOrder
    filter_: SessionCriteria
    # Keyed BLAKE2b (a MAC by design) with the scope already fed in: each cursor adds its payload.
    _scoped: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        scope = orjson.dumps([self.tenant_id, self.order.value, self.filter_.canonical()], option=orjson.OPT_SORT_KEYS)
        mac = hashlib.blake2b(key=self.key, digest_size=_MAC_BYTES, person=b"gw-cursor")
        mac.update(scope + b"\x00")
        object.__setattr__(self, "_scoped", mac)

    def _mac(self, payload: bytes) -> bytes:
        mac = self._scoped.copy()
        mac.update(payload)
        return mac.digest()  # type: ignore[no-any-return]

    def encode(self, position: Position) -> str:
        # orjson writes an aware datetime exactly as isoformat() does.
        payload = orjson.dumps([position.key, position.id])
        mac = self._scoped.copy()
        mac.update(payload)
        return f"{_b64(payload)}.{_b64(mac.digest())}"

    def decode(self, cursor: str) -> Position:
        try:
            if len(cursor) > MAX_CURSOR_LENGTH:
                raise ValueError
            payload_text, _, mac_text = cursor.partition(".")
            payload = _unb64(payload_text)
            if not hmac.compare_digest(_unb64(mac_text), self._mac(payload)):
                raise ValueError
            key, session_id = orjson.loads(payload)
            return Position(self._parse_key(key), _require(session_id, str))
        except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
            raise BadUserInput(INVALID_CURSOR) from exc

    def _parse_key(self, key: Any) -> Any:
        if self.order is ListOrder.DURATION_DESC:
            if isinstance(key, bool):
                raise TypeError
            return _require(key, int)
        parsed = datetime.fromisoformat(_require(key, str))
        if parsed.tzinfo is None:
            raise ValueError
        return parsed


def _require(value: Any, kind: type) -> Any:
    if not isinstance(value, kind):
        raise TypeError
    return value


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What to fetch: ``size`` rows between ``after`` and ``before``, from the end when ``from_end``."""

    size: int
    from_end: bool
    after: Position | None
    before: Position | None


def page_request(
    codec: CursorCodec, *, first: int | None, after: str | None, last: int | None, before: str | None
) -> PageRequest:
    """Check the Relay arguments: ``first``/``last`` within 0..100 (default 25), not both."""
    if first is not None and last is not None:
        raise BadUserInput("Pass either first or last, not both.")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise BadUserInput(f"{name} must be between 0 and {MAX_PAGE_SIZE}, got {value}.")
    # `before` alone pages backward from it, as `last` would.
    from_end = last is not None or (first is None and before is not None and after is None)
    requested = last if from_end else first
    size = DEFAULT_PAGE_SIZE if requested is None else requested
    return PageRequest(
        size=size,
        from_end=from_end,
        after=None if after is None else codec.decode(after),
        before=None if before is None else codec.decode(before),
    )
