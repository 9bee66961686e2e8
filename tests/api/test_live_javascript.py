"""The client guide's JavaScript subscriber runs as written: Node 20, graphql-ws and ws, against a served gateway.

graphql-ws and ws are the versions ``graphiql/package-lock.json`` pins, installed by ``make install``'s
``npm ci`` beside GraphiQL's files: nothing is downloaded here. The block, written to a folder of its
own, finds them through a ``node_modules`` link, as it would in a project that installed them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest

from tests.api.test_live import as_query
from tests.helpers import token_for
from tests.live import WITHIN, live_gateway, writer
from tests.readme import DOCS, page_blocks

if TYPE_CHECKING:
    from pathlib import Path

NODE_MODULES = DOCS.parent / "graphiql" / "node_modules"
# Node starts in well under a second; the first results wait for it and for the connection.
STARTUP = 10


def live_block() -> str:
    (code,) = [b.code for b in page_blocks(DOCS / "clients.md") if b.language == "js" and "graphql-ws" in b.code]
    return code


def query_of(code: str, name: str) -> str:
    """The document the block subscribes with, as the query a dashboard would send over HTTP."""
    return as_query(code.split(f"const {name} = `", 1)[1].split("`;", 1)[0])


async def test_the_client_guides_javascript_block_follows_the_list_and_a_detail_page(
    backend: str, tmp_path: Path
) -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js is required (make install needs it for GraphiQL's files too)"
    assert (NODE_MODULES / "graphql-ws" / "package.json").is_file(), "run make install (npm ci in graphiql/)"
    code = live_block()
    (tmp_path / "live.mjs").write_text(code, encoding="utf-8")
    (tmp_path / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    received: dict[str, list[Any]] = defaultdict(list)

    async with live_gateway(backend, tmp_path) as gateway, writer(gateway) as db:
        env = {
            **os.environ,
            "GATEWAY_URL": f"{gateway.http_url}/graphql",
            "GATEWAY_TOKEN": token_for("alpha"),
            "SESSION_ID": "a-done",
        }
        client = await asyncio.create_subprocess_exec(
            node, "live.mjs", cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        assert client.stdout is not None
        assert client.stderr is not None

        async def next_events(count: int, within: float) -> None:
            for _ in range(count):
                line = await asyncio.wait_for(client.stdout.readline(), within)  # type: ignore[union-attr]
                if not line:
                    pytest.fail(f"node ended: {(await client.stderr.read()).decode()}")  # type: ignore[union-attr]
                ((screen, result),) = json.loads(line).items()
                received[screen].append(result)

        try:
            # given: the list and the detail page, each as the query answers it
            await next_events(2, STARTUP)
            assert received["list"] == [await gateway.query(query_of(code, "LIST"))]
            assert received["detail"] == [await gateway.query(query_of(code, "DETAIL"), {"id": "a-done"})]
            assert received["detail"][0]["data"]["session"]["recording"] == {"status": "UPLOADING", "url": None}

            # when: the pipeline renames the finished session
            await db.update("sessions", {"id": "a-done"}, name="Renamed by the pipeline")

            # then: both screens get the new state, once each
            await next_events(2, WITHIN)
            assert received["list"][1] == await gateway.query(query_of(code, "LIST"))
            assert received["detail"][1] == await gateway.query(query_of(code, "DETAIL"), {"id": "a-done"})
            assert received["detail"][1]["data"]["session"]["name"] == "Renamed by the pipeline"
            assert "Renamed by the pipeline" in {
                e["node"]["name"] for e in received["list"][1]["data"]["sessions"]["edges"]
            }
        finally:
            client.kill()
            _, errors = await client.communicate()
        assert errors.decode() == ""
