"""A serving process leaves what it holds at start out of the garbage collector's passes (``gc.freeze``)."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pytest
from asgi_lifespan import LifespanManager

from sessions_gateway.gateway.app import SERVING_GC_THRESHOLDS, app_from_env, create_app
from tests.helpers import SECRET

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sessions_gateway.gateway.config import Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process collects as it did
    gc.set_threshold(*thresholds)


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
    # then: what it held once started (the schema, the engine, its plans) is frozen, and the
    # collector runs at the serving thresholds (bench/LIVE.md: a live worker's rounds at CPython's
    # set off a half-second full collection every few seconds)
    assert frozen > 10_000
    assert gc.get_threshold() == SERVING_GC_THRESHOLDS != (700, 10, 10)


async def test_an_app_made_for_a_test_or_a_library_leaves_the_heap_alone(unfrozen: None, settings: Settings) -> None:
    thresholds = gc.get_threshold()
    async with LifespanManager(create_app(settings)):
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == thresholds
