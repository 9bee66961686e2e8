"""An app served by a real uvicorn on a free port of 127.0.0.1, for tests that need real sockets."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def served(application: Any, **config: Any) -> AsyncIterator[int]:
    """``application`` served by uvicorn (its lifespan too, unless ``config`` says otherwise): the port.

    ``config``: more of ``uvicorn.Config``'s options (``http=``, ``lifespan="off"``, ...).
    """
    options: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "log_level": "warning", **config}
    server = uvicorn.Server(uvicorn.Config(application, **options))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()
                pytest.fail("uvicorn stopped before it served")
            await asyncio.sleep(0.02)
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await serving
