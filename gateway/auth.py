"""Bearer-token authentication: a verified, unexpired JWT that names the caller's tenant."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jwt

from gateway.errors import Unauthenticated

if TYPE_CHECKING:
    from gateway.config import Settings

MAX_TOKEN_BYTES = 8192
LEEWAY_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Claims:
    tenant_id: str
    subject: str | None


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("Missing bearer token: send 'Authorization: Bearer <JWT>'.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Malformed Authorization header: expected 'Bearer <JWT>'.")
    return token.strip()


def authenticate(authorization: str | None, settings: Settings) -> Claims:
    """The claims of a valid token, or ``Unauthenticated`` saying what is wrong (never why a key failed)."""
    token = bearer_token(authorization)
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthenticated("Token too large.")
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
    tenant_id = payload.get("tenant_id")
    if not isinstance(tenant_id, str) or not tenant_id:
        raise Unauthenticated("Token has no tenant_id claim.")
    subject = payload.get("sub")
    return Claims(tenant_id=tenant_id, subject=subject if isinstance(subject, str) else None)


def issue_token(settings: Settings, *, tenant_id: str, subject: str | None = None, ttl_seconds: int = 3600) -> str:
    """A signed HS256 token for ``tenant_id`` (the ``token`` command and the demo)."""
    if settings.jwt_secret is None:
        raise Unauthenticated("GATEWAY_JWT_SECRET is not set: cannot sign a token.")
    now = int(time.time())
    claims: dict[str, object] = {"tenant_id": tenant_id, "iat": now, "exp": now + ttl_seconds}
    if subject is not None:
        claims["sub"] = subject
    return jwt.encode(claims, str(settings.jwt_secret), algorithm="HS256")
