"""Settings come from GATEWAY_* variables once, and a gateway that cannot work refuses to start."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sessions_gateway.db.engine import make_engine
from sessions_gateway.gateway.config import DEFAULT_DATABASE_URL, Settings, SettingsError
from sessions_gateway.schema.limits import Limits


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_defaults_and_overrides_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_JWT_SECRET": "s" * 40,
            "GATEWAY_MEDIA_BASE_URL": "https://cdn.example.com/",
            "GATEWAY_MEDIA_SIGNING_KEY": "media-key",
            "GATEWAY_MEDIA_URL_TTL_SECONDS": "120",
            "GATEWAY_MAX_DEPTH": "7",
            "UNRELATED": "x",
        }
    )
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.jwt_algorithms == ["HS256"]
    assert settings.media.base_url == "https://cdn.example.com/"
    assert settings.media.signing_key == b"media-key"
    assert settings.media.ttl == timedelta(seconds=120)
    assert settings.limits == Limits(max_depth=7)
    # secrets stay out of reprs and tracebacks
    assert "s" * 40 not in repr(settings)
    assert "media-key" not in repr(settings)


def test_no_key_means_no_start() -> None:
    with pytest.raises(SettingsError, match="GATEWAY_JWT_SECRET or GATEWAY_JWT_PUBLIC_KEY"):
        Settings.from_env({}).check()


def test_a_secret_and_a_public_key_together_are_refused() -> None:
    key = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with pytest.raises(SettingsError, match="not both"):
        Settings.from_env({"GATEWAY_JWT_SECRET": "x" * 40, "GATEWAY_JWT_PUBLIC_KEY": key})


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
    ],
)
def test_the_public_key_decides_the_one_accepted_algorithm(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, algorithm: str
) -> None:
    settings = Settings.from_env({"GATEWAY_JWT_PUBLIC_KEY": pem(key)}).check()
    assert settings.jwt_algorithms == [algorithm]


@pytest.mark.parametrize(
    "public_key",
    ["not a key", pem(ec.generate_private_key(ec.SECP384R1()))],
)
def test_an_unusable_public_key_is_refused_at_start(public_key: str) -> None:
    with pytest.raises(SettingsError, match="GATEWAY_JWT_PUBLIC_KEY"):
        Settings.from_env({"GATEWAY_JWT_PUBLIC_KEY": public_key}).check()


def test_a_malformed_number_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="GATEWAY_MAX_DEPTH"):
        Settings.from_env({"GATEWAY_JWT_SECRET": "x" * 40, "GATEWAY_MAX_DEPTH": "deep"})


def test_the_cursor_key_is_stable_and_follows_its_secret() -> None:
    a = Settings.from_env({"GATEWAY_JWT_SECRET": "a" * 40})
    assert a.cursor_key == Settings.from_env({"GATEWAY_JWT_SECRET": "a" * 40}).cursor_key
    assert a.cursor_key != Settings.from_env({"GATEWAY_JWT_SECRET": "b" * 40}).cursor_key
    explicit = Settings.from_env({"GATEWAY_JWT_SECRET": "a" * 40, "GATEWAY_CURSOR_SECRET": "c" * 40})
    assert explicit.cursor_key != a.cursor_key


@pytest.mark.parametrize("url", ["mysql+aiomysql://root@127.0.0.1/db", "sqlite:///sync-driver.db", "not a url"])
def test_a_database_url_the_gateway_does_not_speak_is_refused_at_start(url: str) -> None:
    settings = Settings.from_env({"GATEWAY_JWT_SECRET": "x" * 40, "GATEWAY_DATABASE_URL": url})
    with pytest.raises(SettingsError, match="GATEWAY_DATABASE_URL"):
        settings.check()


async def test_the_postgresql_pool_is_a_fixed_set_of_the_configured_size() -> None:
    settings = Settings.from_env({"GATEWAY_JWT_SECRET": "s" * 40, "GATEWAY_DB_POOL_SIZE": "7"})
    assert settings.pool_size == 7
    engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=settings.pool_size)
    try:
        # no overflow connections: none are opened and closed again under load
        assert engine.pool.size() == 7  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_pool_size_that_is_not_a_positive_number_is_refused(value: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"GATEWAY_JWT_SECRET": "s" * 40, "GATEWAY_DB_POOL_SIZE": value})


def test_the_live_settings_are_read_with_their_defaults_and_bounds() -> None:
    defaults = Settings.from_env({"GATEWAY_JWT_SECRET": "s" * 40})
    assert (
        defaults.live_interval_ms,
        defaults.ws_init_timeout_ms,
        defaults.live_max_subscriptions_per_connection,
        defaults.live_max_subscriptions_per_tenant,
        defaults.live_max_connections,
    ) == (1000, 5000, 20, 200, 1000)
    tuned = Settings.from_env(
        {
            "GATEWAY_JWT_SECRET": "s" * 40,
            "GATEWAY_LIVE_INTERVAL_MS": "250",
            "GATEWAY_WS_INIT_TIMEOUT_MS": "3000",
            "GATEWAY_LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION": "5",
            "GATEWAY_LIVE_MAX_SUBSCRIPTIONS_PER_TENANT": "50",
            "GATEWAY_LIVE_MAX_CONNECTIONS": "0",
        }
    )
    assert (tuned.live_interval_ms, tuned.ws_init_timeout_ms, tuned.live_max_connections) == (250, 3000, 0)
    assert (tuned.live_max_subscriptions_per_connection, tuned.live_max_subscriptions_per_tenant) == (5, 50)
    with pytest.raises(SettingsError, match="GATEWAY_LIVE_INTERVAL_MS must be at least 10"):
        Settings.from_env({"GATEWAY_JWT_SECRET": "s" * 40, "GATEWAY_LIVE_INTERVAL_MS": "5"})
    with pytest.raises(SettingsError, match="GATEWAY_LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION must be at least 1"):
        Settings(jwt_secret=None, live_max_subscriptions_per_connection=0).check_live()
