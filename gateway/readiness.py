"""The tenant-setting canary as the app keeps it: run at start and by ``/readyz``; ``/graphql`` refused while it fails.

``db/engine.py`` ``tenant_setting_canary`` proves that row-level security sees each request's
tenant setting. Its result is kept for ``CANARY_TTL_SECONDS``, so that probes stay cheap; while it
fails (or has not been proven yet, the database away at start) every ``/graphql`` request runs it
again once that time has passed, so the gateway recovers without a restart once the database is
fixed, probes or none. One run at a time: concurrent callers share it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from sessions_gateway.db.engine import CanaryResult, tenant_setting_canary

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("gateway.app")
CANARY_TTL_SECONDS = 5.0
CANARY_TIMEOUT_SECONDS = 2.0


class Canary:
    """The last canary result of one app's engine, and when it was found."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.ttl = CANARY_TTL_SECONDS
        self.result: CanaryResult | None = None  # None: not proven yet
        self._found_at = float("-inf")
        self._lock = asyncio.Lock()

    async def check(self) -> CanaryResult:
        """The result, run again if older than ``ttl`` seconds; raises when the database does not answer."""
        async with self._lock:
            if self.result is None or time.monotonic() - self._found_at >= self.ttl:
                async with asyncio.timeout(CANARY_TIMEOUT_SECONDS):
                    result = await tenant_setting_canary(self.engine)
                if result != self.result:
                    _log(result)
                self.result, self._found_at = result, time.monotonic()
            return self.result

    async def at_start(self) -> None:
        """Run once at start, saying what it found in one line; a database away now is tried again later."""
        try:
            await self.check()
        except Exception:
            logger.warning(
                "tenant-setting canary: could not run at start (the database did not answer); "
                "/readyz and the next request run it again",
                exc_info=True,
            )

    async def refusal(self) -> str | None:
        """Why ``/graphql`` must not serve now (the canary failed, or could not prove anything yet); ``None`` to serve.

        Cheap while the canary holds: nothing is run. Raises, as a statement would, when the
        database does not answer the canary it had to run.
        """
        if self.result is not None and self.result.ready:
            return None
        result = await self.check()
        return None if result.ready else result.reason


def _log(result: CanaryResult) -> None:
    if result.status == "failed":
        logger.error("tenant-setting canary failed: %s; not serving /graphql until it passes", result.reason)
    else:
        logger.info("tenant-setting canary %s", result)
