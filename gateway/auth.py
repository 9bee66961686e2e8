"""Bearer-token authentication: a verified, unexpired JWT that names the caller's tenant."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

import jwt

from sessions_gateway.gateway.errors import Unauthenticated

if TYPE_CHECKING:
    from sessions_gateway.gateway.config import Settings

MAX_TOKEN_BYTES = 8192
LEEWAY_SECONDS = 30
MAX_CLAIM_CHARS = 255
CLAIM_TEXT = f"1 to {MAX_CLAIM_CHARS} printable characters without white space at either end"
# RFC 7519's NumericDate claims: a JSON number. PyJWT also takes a numeric string ("9999999999").
TIME_CLAIMS = ("exp", "nbf", "iat")


@dataclass(frozen=True, slots=True)
class Claims:
    tenant_id: str
    subject: str | None
    # The token's ``exp`` (seconds since the epoch): a live connection closes then.
    expires_at: float | None = None


def is_claim_text(value: object) -> TypeGuard[str]:
    """A usable ``tenant_id`` or ``sub``: 1 to 255 printable characters, no white space at either end.

    ``str.isprintable`` refuses control and format characters (NUL, which PostgreSQL's text cannot
    hold, among them), lone surrogates (which no UTF-8 log line or cursor can hold) and every
    white space but the plain space; the plain space may not lead, trail or stand alone.
    """
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_CLAIM_CHARS
        and value.isprintable()
        and value.strip(" ") == value
    )


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("Missing bearer token: send 'Authorization: Bearer <JWT>'.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Malformed Authorization header: expected 'Bearer <JWT>'.")
    return token.strip()


class VerifiedTokens:
    """Tokens verified lately, by their text: a token seen again costs a look-up, not a signature check.

    An entry holds the claims and the window the token is valid in (``nbf`` to ``exp``, with the
    leeway ``jwt.decode`` allows); past it the token is verified again, and refused as PyJWT
    refuses it. Only tokens that passed every check are kept. Bounded: the oldest goes first.
    One per app: its settings fix the key, the algorithms, the issuer and the audience.
    """

    def __init__(self, maxsize: int = 4096) -> None:
        self.maxsize = maxsize
        self._entries: dict[str, tuple[Claims, float, float]] = {}

    def get(self, token: str, now: float) -> Claims | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        claims, not_before, expires = entry
        if not not_before <= now < expires:
            del self._entries[token]
            return None
        return claims

    def put(self, token: str, claims: Claims, payload: dict[str, Any]) -> None:
        if len(self._entries) >= self.maxsize:
            self._entries.pop(next(iter(self._entries)))
        not_before = payload.get("nbf", float("-inf")) - LEEWAY_SECONDS
        self._entries[token] = (claims, not_before, payload["exp"] + LEEWAY_SECONDS)


def authenticate(authorization: str | None, settings: Settings, verified: VerifiedTokens | None = None) -> Claims:
    """The claims of a valid token, or ``Unauthenticated`` saying what is wrong (never why a key failed).

    With ``verified``, a token verified before and still within its validity window is not verified again.
    """
    token = bearer_token(authorization)
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthenticated("Token too large.")
    if verified is not None and (known := verified.get(token, time.time())) is not None:
        return known
    required = ["exp"]
    if settings.jwt_issuer is not None:
        required.append("iss")
    if settings.jwt_audience is not None:
        required.append("aud")
    try:
        payload = jwt.decode(
            token,
            settings.jwt_key,
            # From configuration, never from the token's header.
            algorithms=settings.jwt_algorithms,
            options={"require": required, "verify_aud": settings.jwt_audience is not None},
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("Token expired.") from exc
    except jwt.InvalidIssuerError as exc:
        raise Unauthenticated("Token issuer not accepted.") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthenticated("Token audience not accepted.") from exc
    except jwt.PyJWTError as exc:  # any other refusal, including a key that does not fit the token
        raise Unauthenticated("Invalid token.") from exc
    claims = _claims(payload)
    if verified is not None:
        verified.put(token, claims, payload)
    return claims


def _claims(payload: dict[str, Any]) -> Claims:
    """What a verified token says, once its time claims are numbers and its names are usable text."""
    if any(name in payload and not _is_numeric_date(payload[name]) for name in TIME_CLAIMS):
        raise Unauthenticated("Invalid token: exp, nbf and iat must be numbers.")
    tenant_id = payload.get("tenant_id")
    if tenant_id is None:
        raise Unauthenticated("Token has no tenant_id claim.")
    if not is_claim_text(tenant_id):
        raise Unauthenticated(f"Token's tenant_id is not {CLAIM_TEXT}.")
    subject = payload.get("sub")  # PyJWT refuses a sub that is not a string
    if subject is not None and not is_claim_text(subject):
        raise Unauthenticated(f"Token's sub is not {CLAIM_TEXT}.")
    return Claims(tenant_id=tenant_id, subject=subject, expires_at=float(payload["exp"]))


def _is_numeric_date(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def issue_token(settings: Settings, *, tenant_id: str, subject: str | None = None, ttl_seconds: int = 3600) -> str:
    """A signed HS256 token for ``tenant_id`` (the ``token`` command and the demo)."""
    if settings.jwt_secret is None:
        raise Unauthenticated("GATEWAY_JWT_SECRET is not set: cannot sign a token.")
    now = int(time.time())
    claims: dict[str, object] = {"tenant_id": tenant_id, "iat": now, "exp": now + ttl_seconds}
    if subject is not None:
        claims["sub"] = subject
    return jwt.encode(claims, str(settings.jwt_secret), algorithm="HS256")
