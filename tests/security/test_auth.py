"""Bearer-token authentication over HTTP: what is refused (401, GraphQL-shaped), what is accepted.

Covers HS256 tokens against the shared app, and RS256 / ES256 tokens against local apps configured
with a freshly generated public key, including the classic HS256-with-the-public-key confusion.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.datastructures import Secret

from sessions_gateway.gateway.app import create_app
from sessions_gateway.gateway.auth import LEEWAY_SECONDS, Claims, VerifiedTokens
from sessions_gateway.gateway.config import Settings
from tests.dataset import DATA
from tests.helpers import SECRET, token_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

QUERY = "{ sessions(first: 1) { totalCount } }"
OTHER_SECRET = "another-secret-that-is-also-long-enough-for-hs256"


# --- helpers ---------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade_jwt(header: dict[str, Any], payload: dict[str, Any], sign: Any = None) -> str:
    """A compact JWS built without PyJWT; ``sign(signing_input) -> bytes`` or an empty signature."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = b"" if sign is None else sign(signing_input.encode())
    return f"{signing_input}.{b64url(signature)}"


def claims(tenant_id: str = "alpha", ttl: int = 300) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "exp": int(time.time()) + ttl}


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def call(client: httpx.AsyncClient, authorization: str | None) -> httpx.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return await client.post("/graphql", json={"query": QUERY}, headers=headers)


def assert_unauthenticated(response: httpx.Response) -> None:
    """HTTP 401, exactly ``{"errors": [{"message", "extensions": {"code": "UNAUTHENTICATED"}}], "extensions"}``.

    The top-level ``extensions`` hold the request's id, as on every answer.
    """
    assert response.status_code == 401, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("www-authenticate") == "Bearer"
    body = response.json()
    assert set(body) == {"errors", "extensions"}, body
    assert body["extensions"] == {"requestId": response.headers["x-request-id"]}
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert set(error) == {"message", "extensions"}, error
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}


def total_count(response: httpx.Response) -> int:
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    assert "errors" not in body, body
    count: int = body["data"]["sessions"]["totalCount"]
    return count


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client for a fresh app; a crash in the app shows as a 500 response, not an exception."""
    application = create_app(settings)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


# --- HS256 (the shared app) ------------------------------------------------------------------------


async def test_valid_token_answers_for_its_tenant(client: httpx.AsyncClient) -> None:
    alpha = total_count(await call(client, f"Bearer {token_for('alpha')}"))
    beta = total_count(await call(client, f"Bearer {token_for('beta')}"))
    assert alpha == len(DATA.live_sessions("alpha"))
    assert beta == len(DATA.live_sessions("beta"))
    assert alpha != beta


async def test_missing_authorization_header(client: httpx.AsyncClient, statements: list[str]) -> None:
    assert_unauthenticated(await call(client, None))
    assert statements == []


@pytest.mark.parametrize(
    "authorization",
    [
        "Token x",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "",
    ],
)
async def test_malformed_authorization_header(
    client: httpx.AsyncClient, statements: list[str], authorization: str
) -> None:
    assert_unauthenticated(await call(client, authorization))
    assert statements == []


async def test_valid_token_under_another_scheme_is_refused(client: httpx.AsyncClient) -> None:
    assert_unauthenticated(await call(client, f"Token {token_for('alpha')}"))


async def test_expired_token(client: httpx.AsyncClient, statements: list[str]) -> None:
    response = await call(client, f"Bearer {token_for('alpha', ttl=-3600)}")
    assert_unauthenticated(response)
    assert "expired" in response.json()["errors"][0]["message"].lower()
    assert statements == []


async def test_token_signed_with_another_secret(client: httpx.AsyncClient, statements: list[str]) -> None:
    assert_unauthenticated(await call(client, f"Bearer {token_for('alpha', secret=OTHER_SECRET)}"))
    assert statements == []


async def test_token_with_tampered_payload(client: httpx.AsyncClient) -> None:
    header, _payload, signature = token_for("alpha").split(".")
    forged = b64url(json.dumps(claims("beta")).encode())
    assert_unauthenticated(await call(client, f"Bearer {header}.{forged}.{signature}"))


async def test_token_without_tenant_id(client: httpx.AsyncClient, statements: list[str]) -> None:
    assert_unauthenticated(await call(client, f"Bearer {token_for(None)}"))
    assert statements == []


@pytest.mark.parametrize("tenant_id", ["", 123, None, ["alpha"], {"id": "alpha"}])
async def test_token_with_unusable_tenant_id(client: httpx.AsyncClient, tenant_id: object) -> None:
    token = jwt.encode({"tenant_id": tenant_id, "exp": int(time.time()) + 300}, SECRET, algorithm="HS256")
    assert_unauthenticated(await call(client, f"Bearer {token}"))


async def test_token_without_exp(client: httpx.AsyncClient, statements: list[str]) -> None:
    token = jwt.encode({"tenant_id": "alpha"}, SECRET, algorithm="HS256")
    assert_unauthenticated(await call(client, f"Bearer {token}"))
    assert statements == []


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_unsigned_token_alg_none(client: httpx.AsyncClient, statements: list[str], alg: str) -> None:
    token = handmade_jwt({"alg": alg, "typ": "JWT"}, claims())
    assert token.endswith(".")
    assert_unauthenticated(await call(client, f"Bearer {token}"))
    assert statements == []


async def test_handmade_hs256_token_is_accepted(client: httpx.AsyncClient) -> None:
    """The hand-built JWTs used below are well formed: signed with the right secret, one verifies."""

    def sign(data: bytes) -> bytes:
        return hmac.new(SECRET.encode(), data, hashlib.sha256).digest()

    token = handmade_jwt({"alg": "HS256", "typ": "JWT"}, claims(), sign)
    assert total_count(await call(client, f"Bearer {token}")) == len(DATA.live_sessions("alpha"))


async def test_oversized_token(client: httpx.AsyncClient, statements: list[str]) -> None:
    # Correctly signed and unexpired: the size alone is the reason for refusing it.
    token = token_for("alpha", padding="x" * 9000)
    assert len(token) > 8192
    response = await call(client, f"Bearer {token}")
    assert_unauthenticated(response)
    assert statements == []


async def test_large_token_within_limit_is_accepted(client: httpx.AsyncClient) -> None:
    token = token_for("alpha", padding="x" * 5000)
    assert 6000 < len(token) <= 8192
    assert total_count(await call(client, f"Bearer {token}")) == len(DATA.live_sessions("alpha"))


async def test_get_query_needs_a_token_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": QUERY}, headers={"Accept": "text/html"})
    assert_unauthenticated(response)


# --- RS256 / ES256 (apps configured with a public key) ---------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
async def rsa_client(database_url: str, rsa_key: rsa.RSAPrivateKey) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(Settings(database_url=database_url, jwt_public_key=public_pem(rsa_key))) as http:
        yield http


@pytest.fixture(scope="module")
async def ec_client(database_url: str, ec_key: ec.EllipticCurvePrivateKey) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(Settings(database_url=database_url, jwt_public_key=public_pem(ec_key))) as http:
        yield http


async def test_rs256_token_verifies_with_public_key(rsa_client: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey) -> None:
    token = jwt.encode(claims("beta"), rsa_key, algorithm="RS256")
    assert total_count(await call(rsa_client, f"Bearer {token}")) == len(DATA.live_sessions("beta"))


async def test_rs256_token_from_another_key_is_refused(rsa_client: httpx.AsyncClient) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), stranger, algorithm="RS256")
    assert_unauthenticated(await call(rsa_client, f"Bearer {token}"))


async def test_rs256_expired_token_is_refused(rsa_client: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey) -> None:
    token = jwt.encode(claims(ttl=-3600), rsa_key, algorithm="RS256")
    assert_unauthenticated(await call(rsa_client, f"Bearer {token}"))


async def test_hs256_signed_with_public_key_pem_is_refused(
    rsa_client: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    """Key confusion: an attacker HMACs a token with the (public) PEM text; it must not verify."""
    pem = public_pem(rsa_key).encode()

    def sign(data: bytes) -> bytes:
        return hmac.new(pem, data, hashlib.sha256).digest()

    token = handmade_jwt({"alg": "HS256", "typ": "JWT"}, claims(), sign)
    assert_unauthenticated(await call(rsa_client, f"Bearer {token}"))


async def test_hs256_token_with_the_shared_secret_is_refused_by_a_public_key_app(
    rsa_client: httpx.AsyncClient,
) -> None:
    assert_unauthenticated(await call(rsa_client, f"Bearer {token_for('alpha')}"))


async def test_alg_none_is_refused_by_a_public_key_app(rsa_client: httpx.AsyncClient) -> None:
    assert_unauthenticated(await call(rsa_client, f"Bearer {handmade_jwt({'alg': 'none'}, claims())}"))


async def test_es256_token_verifies_with_ec_public_key(
    ec_client: httpx.AsyncClient, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    token = jwt.encode(claims("alpha"), ec_key, algorithm="ES256")
    assert total_count(await call(ec_client, f"Bearer {token}")) == len(DATA.live_sessions("alpha"))


async def test_es256_token_from_another_key_is_refused(ec_client: httpx.AsyncClient) -> None:
    token = jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    assert_unauthenticated(await call(ec_client, f"Bearer {token}"))


async def test_es256_token_sent_to_an_rsa_configured_app_is_refused(rsa_client: httpx.AsyncClient) -> None:
    """The token's header names an allowed algorithm that does not fit the configured key: 401, not 500."""
    token = jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    assert_unauthenticated(await call(rsa_client, f"Bearer {token}"))


async def test_rs256_token_sent_to_an_ec_configured_app_is_refused(
    ec_client: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = jwt.encode(claims(), rsa_key, algorithm="RS256")
    assert_unauthenticated(await call(ec_client, f"Bearer {token}"))


@pytest.fixture(scope="module")
async def issuer_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url,
        jwt_secret=Secret(SECRET),
        jwt_issuer="https://auth.example.com/",
        jwt_audience="sessions-gateway",
    )
    async with serving(settings) as http:
        yield http


ISSUED = {"iss": "https://auth.example.com/", "aud": "sessions-gateway"}


@pytest.mark.parametrize(
    "extra",
    [ISSUED, {**ISSUED, "aud": ["dashboard", "sessions-gateway"]}],
    ids=["aud-string", "aud-list"],
)
async def test_a_configured_issuer_and_audience_are_accepted(
    issuer_client: httpx.AsyncClient, extra: dict[str, Any]
) -> None:
    token = jwt.encode({**claims("alpha"), **extra}, SECRET, algorithm="HS256")
    assert total_count(await call(issuer_client, f"Bearer {token}")) == len(DATA.live_sessions("alpha"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({**ISSUED, "iss": "https://elsewhere.example.com/"}, "Token issuer not accepted."),
        ({**ISSUED, "aud": "another-service"}, "Token audience not accepted."),
        ({"aud": "sessions-gateway"}, "Invalid token."),  # no iss at all
        ({"iss": "https://auth.example.com/"}, "Invalid token."),  # no aud at all
    ],
    ids=["wrong-iss", "wrong-aud", "missing-iss", "missing-aud"],
)
async def test_a_token_for_another_issuer_or_audience_is_refused(
    issuer_client: httpx.AsyncClient, extra: dict[str, Any], message: str
) -> None:
    token = jwt.encode({**claims("alpha"), **extra}, SECRET, algorithm="HS256")
    response = await call(issuer_client, f"Bearer {token}")
    assert_unauthenticated(response)
    assert response.json()["errors"][0]["message"] == message


async def test_without_issuer_or_audience_settings_neither_claim_is_required(client: httpx.AsyncClient) -> None:
    token = jwt.encode({**claims("alpha"), "aud": "anything", "iss": "anyone"}, SECRET, algorithm="HS256")
    assert total_count(await call(client, f"Bearer {token}")) == len(DATA.live_sessions("alpha"))


# --- what a claim may hold --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tenant_id",
    [
        "   ",
        " alpha",
        "alpha ",
        "alpha\u0000",  # PostgreSQL's text cannot hold a NUL
        "alpha\n",
        "al\tpha",
        "\u00a0alpha",  # no-break space
        "al\u200bpha",  # zero-width space (a format character)
        "\ud800",  # a lone surrogate: no UTF-8 log line or cursor can hold it
        "alpha\udcff",
        "a" * 256,
    ],
    ids=[
        "blank",
        "leading-space",
        "trailing-space",
        "nul",
        "newline",
        "tab",
        "nbsp",
        "zero-width-space",
        "lone-surrogate",
        "trailing-lone-surrogate",
        "256-chars",
    ],
)
async def test_a_tenant_id_that_is_not_printable_text_is_refused_before_any_read(
    client: httpx.AsyncClient, statements: list[str], tenant_id: str
) -> None:
    response = await call(client, f"Bearer {token_for(tenant_id)}")
    assert_unauthenticated(response)
    assert "tenant_id" in response.json()["errors"][0]["message"]
    assert statements == []


@pytest.mark.parametrize("tenant_id", ["a" * 255, "Acme Heating & Cooling", "société-7", "北风"])
async def test_any_printable_tenant_id_of_up_to_255_characters_is_accepted(
    client: httpx.AsyncClient, tenant_id: str
) -> None:
    # no such tenant: an empty list, not an error
    assert total_count(await call(client, f"Bearer {token_for(tenant_id)}")) == 0


@pytest.mark.parametrize(
    "times",
    [
        {"exp": "9999999999"},
        {"exp": str(int(time.time()) + 300)},
        {"iat": "0"},
        {"nbf": "0"},
    ],
    ids=["exp-far", "exp-near", "iat", "nbf"],
)
async def test_a_time_claim_given_as_a_numeric_string_is_refused(
    client: httpx.AsyncClient, statements: list[str], times: dict[str, str]
) -> None:
    # PyJWT itself would take these ("9999999999" as a year-2286 expiry)
    payload = {**claims("alpha"), **times}
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["tenant_id"] == "alpha"
    assert_unauthenticated(await call(client, f"Bearer {token}"))
    assert statements == []


async def test_a_fractional_exp_is_a_number_and_is_accepted(client: httpx.AsyncClient) -> None:
    token = jwt.encode({"tenant_id": "alpha", "exp": time.time() + 300.5}, SECRET, algorithm="HS256")
    assert total_count(await call(client, f"Bearer {token}")) == len(DATA.live_sessions("alpha"))


@pytest.mark.parametrize(
    "sub",
    ["\ud800", "user\u0000", "   ", "x" * 256, 7, ["user-7"]],
    ids=["lone-surrogate", "nul", "blank", "256-chars", "number", "list"],
)
async def test_a_sub_that_is_not_printable_text_is_refused(
    client: httpx.AsyncClient, statements: list[str], sub: object
) -> None:
    response = await call(client, f"Bearer {token_for('alpha', sub=sub)}")
    assert_unauthenticated(response)
    assert statements == []


async def test_a_printable_sub_is_accepted(client: httpx.AsyncClient) -> None:
    token = token_for("alpha", sub="user 7 <trainer@example.com>")
    assert total_count(await call(client, f"Bearer {token}")) == len(DATA.live_sessions("alpha"))


# --- tokens verified once ------------------------------------------------------------------


async def test_a_token_seen_again_is_not_verified_again(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: every signature check counted
    checks: list[str] = []
    real_decode = jwt.decode

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        checks.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    token = jwt.encode({"tenant_id": "alpha", "sub": "twice", "exp": int(time.time()) + 600}, SECRET)
    headers = {"Authorization": f"Bearer {token}"}
    # when: three requests with the same token
    answers = [
        await client.post(
            "/graphql", json={"query": "{ sessions(first: 1) { edges { node { id } } } }"}, headers=headers
        )
        for _ in range(3)
    ]
    # then: each answered; the signature was checked once
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all("errors" not in a.json() for a in answers)
    assert checks == [token]


def test_a_verified_token_is_forgotten_once_it_expires_or_before_it_is_valid() -> None:
    # given: a token verified at t=1000, valid from 1000 to 1100
    tokens = VerifiedTokens()
    claims = Claims(tenant_id="alpha", subject=None)
    tokens.put("t", claims, {"exp": 1100, "nbf": 1000})
    # then: known within the window (with PyJWT's leeway), unknown outside it, and forgotten then
    assert tokens.get("t", 1000 - LEEWAY_SECONDS) is claims
    assert tokens.get("t", 1100 + LEEWAY_SECONDS - 1) is claims
    assert tokens.get("t", 1000 - LEEWAY_SECONDS - 1) is None
    assert tokens.get("t", 1050) is None  # dropped at the look-up outside its window: verified again
    tokens.put("t", claims, {"exp": 1100})
    assert tokens.get("t", 1100 + LEEWAY_SECONDS) is None
    assert tokens.get("t", 1000) is None


def test_verified_tokens_keep_at_most_their_bound() -> None:
    tokens = VerifiedTokens(maxsize=2)
    claims = Claims(tenant_id="alpha", subject=None)
    for name in ("a", "b", "c"):
        tokens.put(name, claims, {"exp": 2000})
    assert [tokens.get(name, 1500) for name in ("a", "b", "c")] == [None, claims, claims]
