"""A serving process leaves what it holds at start out of the garbage collector's passes (``gc.freeze``)."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pytest
from asgi_lifespan import LifespanManager

from sessions_gateway.gateway.app import app_from_env, create_app
from tests.helpers import SECRET

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sessions_gateway.gateway.config import Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process collects as it did


async def test_the_served_app_freezes_the_heap_it_starts_with(
    unfrozen: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: serve's app, from the environment
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GATEWAY_JWT_SECRET", SECRET)
    application = app_from_env()
    assert gc.get_freeze_count() == 0
    # when
    async with LifespanManager(application):
        frozen = gc.get_freeze_count()
    # then: what it held once started (the schema, the engine, its plans) is frozen
    assert frozen > 10_000


async def test_an_app_made_for_a_test_or_a_library_leaves_the_heap_alone(unfrozen: None, settings: Settings) -> None:
    async with LifespanManager(create_app(settings)):
        assert gc.get_freeze_count() == 0
