"""GraphiQL in a real browser: Debian's headless Chromium, driven by Playwright, against ``demo``.

The page must load from the gateway alone (every request the browser makes goes to it), open with the
demo's token in its Headers tab, and run a query typed into its editor, showing the seeded database's
answer. It also runs a subscription, served with a short live interval: its result changes on screen
when the test writes a row as the pipeline does. The tests save screenshots to ``tests/artifacts/``
(ignored by git).

CI sets ``GATEWAY_TEST_BROWSER=1`` and installs Debian's ``chromium``: there, a missing browser fails the
test. Elsewhere it is skipped, saying why. ``GATEWAY_TEST_CHROMIUM`` names another Chromium binary.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import async_playwright
from playwright.sync_api import sync_playwright
from starlette.datastructures import Secret

from tests.api.test_live import as_query
from tests.helpers import token_for
from tests.live import T0, live_gateway, writer
from tests.ops.test_cli import live_sessions
from tests.ops.test_demo import running_demo

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.async_api import ConsoleMessage as AsyncConsoleMessage
    from playwright.async_api import Page as AsyncPage
    from playwright.async_api import WebSocket as AsyncWebSocket
    from playwright.sync_api import ConsoleMessage, Page, Request, WebSocket

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "tests" / "artifacts" / "graphiql.png"
CHROMIUM = Path(os.environ.get("GATEWAY_TEST_CHROMIUM", "/usr/bin/chromium"))
BROWSER_REQUIRED = os.environ.get("GATEWAY_TEST_BROWSER") == "1"
DEMO_SESSIONS = 40  # per tenant: seeding stays quick
TIMEOUT_MS = 15_000

QUERY = "{ sessions(first: 3, orderBy: STARTED_AT_DESC) { totalCount edges { node { id name } } } }"
LIVE = "subscription { sessions(first: 3) { edges { node { id name status } } } }"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESPONSE = ".graphiql-response .CodeMirror"


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; checked before the demo starts."""
    if CHROMIUM.is_file():
        return CHROMIUM
    reason = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if BROWSER_REQUIRED:
        pytest.fail(f"GATEWAY_TEST_BROWSER=1 but {reason}")
    pytest.skip(f"{reason}; CI installs it and sets GATEWAY_TEST_BROWSER=1")


def editor_text(page: Page, selector: str) -> str:
    """The whole text of a GraphiQL editor (CodeMirror draws only the lines in view)."""
    text: str = page.eval_on_selector(selector, "element => element.CodeMirror.getValue()")
    return text


def type_and_run(page: Page, query: str) -> tuple[str, dict[str, Any]]:
    """Type ``query`` over the editor's text, lay it out, run it: the text run, and the result shown."""
    page.click(QUERY_EDITOR)
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(query)
    assert editor_text(page, QUERY_EDITOR) == query
    page.click("button[aria-label^='Prettify']")
    typed = editor_text(page, QUERY_EDITOR)
    assert typed != query
    assert " ".join(typed.split()) == query  # the same query, laid out on lines
    # GraphiQL takes an edit in 100 ms (it then saves the query): run it after that, as a person would
    page.wait_for_function("text => localStorage.getItem('graphiql:query') === text", arg=typed)
    before = editor_text(page, RESPONSE)
    page.click(".graphiql-execute-button")
    page.wait_for_function(
        "([selector, before]) => {"
        " const shown = document.querySelector(selector).CodeMirror.getValue();"
        " return shown.trim() !== '' && shown !== before; }",
        arg=[RESPONSE, before],
    )
    result: dict[str, Any] = json.loads(editor_text(page, RESPONSE))
    return typed, result


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """``sessions-gateway demo`` on a free port: its base URL, the token it printed, its database."""
    with running_demo(tmp_path, DEMO_SESSIONS) as (base, token, _log):
        yield base, token, tmp_path / "sessions-demo.db"


def tenant_session_ids(path: Path, tenant_id: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id FROM sessions WHERE tenant_id = ?", (tenant_id,)).fetchall()
    conn.close()
    return {str(row[0]) for row in rows}


def test_graphiql_loads_from_the_gateway_alone_and_runs_a_typed_query(
    chromium: Path, demo: tuple[str, str, Path]
) -> None:
    base, token, database = demo
    check_graphiql_in_chromium(chromium, base, token, database)


def check_graphiql_in_chromium(chromium: Path, base: str, token: str, database: Path) -> None:
    """GraphiQL at ``base`` loads from the gateway alone, holds ``token`` and runs a typed query on ``database``.

    And a subscription, whose first result arrives over a WebSocket to ``base``, authenticated with ``token``.
    """
    requests: list[Request] = []
    sockets: list[str] = []
    sent: list[str] = []
    problems: list[str] = []

    def record(request: Request) -> None:  # Playwright wants a function, not a bound built-in
        requests.append(request)

    def socket(ws: WebSocket) -> None:
        sockets.append(ws.url)
        ws.on("framesent", lambda payload: sent.append(str(payload)))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":  # a refused load (the page's CSP) is one too
            problems.append(message.text)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium))
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            context.on("request", record)
            page = context.new_page()
            page.on("console", console)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("websocket", socket)

            # GraphiQL opens with the sessions query and the demo's token in its Headers tab
            page.goto(f"{base}/graphql")
            page.wait_for_selector(QUERY_EDITOR)
            assert "sessions(" in editor_text(page, QUERY_EDITOR)
            assert json.loads(editor_text(page, HEADERS_EDITOR)) == {"Authorization": f"Bearer {token}"}

            # an analyst types a query of their own and runs it
            typed, result = type_and_run(page, QUERY)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=SCREENSHOT)

            # and a subscription: its first result, over a WebSocket
            _, live = type_and_run(page, LIVE)
        finally:
            browser.close()

    # the result shown is the demo database's
    assert "errors" not in result, result
    sessions = result["data"]["sessions"]
    assert sessions["totalCount"] == live_sessions(database, "acme")
    assert len(sessions["edges"]) == 3
    assert {edge["node"]["id"] for edge in sessions["edges"]} <= tenant_session_ids(database, "acme")
    # every request went to the gateway: the page, its files, the schema and the query
    server = urlsplit(base).netloc
    assert [r.url for r in requests if urlsplit(r.url).netloc != server] == []
    assert {urlsplit(r.url).path for r in requests if r.method == "GET"} >= {
        "/graphql",
        "/graphiql/assets/graphiql.min.js",
        "/graphiql/assets/boot.js",
    }
    ran = [r for r in requests if r.method == "POST" and (r.post_data_json or {}).get("query") == typed]
    assert len(ran) == 1, [r.post_data for r in requests]
    assert ran[0].headers["authorization"] == f"Bearer {token}"
    # the subscription: one WebSocket to the gateway's /graphql, the token in connection_init's payload
    answer = httpx.post(f"{base}/graphql", json={"query": as_query(LIVE)}, headers=ran[0].headers, timeout=10)
    assert live == {"data": answer.json()["data"]}
    assert sockets == [f"ws://{server}/graphql"]
    assert json.loads(sent[0]) == {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    assert problems == []


async def shown(page: AsyncPage, predicate: str) -> dict[str, Any]:
    """The result GraphiQL shows, once ``predicate`` (a JavaScript function of it) holds."""
    await page.wait_for_function(
        f"""selector => {{
            const shown = document.querySelector(selector).CodeMirror.getValue().trim();
            try {{ return shown !== '' && ({predicate})(JSON.parse(shown)); }} catch {{ return false; }}
        }}""",
        arg=RESPONSE,
    )
    result: dict[str, Any] = json.loads(await page.eval_on_selector(RESPONSE, "e => e.CodeMirror.getValue()"))
    return result


async def test_graphiql_runs_a_subscription_whose_result_follows_the_pipelines_writes(
    chromium: Path, backend: str, tmp_path: Path
) -> None:
    token = token_for("alpha")
    frames: list[str] = []
    sockets: list[str] = []
    requests: list[str] = []
    problems: list[str] = []

    def socket(ws: AsyncWebSocket) -> None:
        sockets.append(ws.url)
        ws.on("framesent", lambda payload: frames.append(str(payload)))

    def console(message: AsyncConsoleMessage) -> None:
        if message.type == "error":  # a connection the page's CSP refuses is one too
            problems.append(message.text)

    async with (
        live_gateway(backend, tmp_path, graphiql_token=Secret(token)) as gateway,
        writer(gateway) as db,
        async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch(executable_path=str(chromium))
        try:
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            context.on("request", lambda request: requests.append(request.url))
            page = await context.new_page()
            page.on("console", console)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("websocket", socket)
            await page.goto(f"{gateway.http_url}/graphql")
            await page.wait_for_selector(QUERY_EDITOR)

            # an analyst types the live list and runs it: the first page shows, as the query answers it
            await page.click(QUERY_EDITOR)
            await page.keyboard.press("Control+A")
            await page.keyboard.press("Delete")
            await page.keyboard.type(LIVE)
            await page.wait_for_function("text => localStorage.getItem('graphiql:query') === text", arg=LIVE)
            await page.click(".graphiql-execute-button")
            first = await shown(page, "r => r.data.sessions.edges.length === 2")
            assert first == await gateway.query(as_query(LIVE))
            assert [e["node"]["status"] for e in first["data"]["sessions"]["edges"]] == ["IN_PROGRESS", "COMPLETED"]

            # the pipeline completes the running session: the page shows the new state, unasked
            await db.update(
                "sessions",
                {"id": "a-run"},
                status="completed",
                completed_at=T0 + timedelta(minutes=30),
                name="Done now",
            )
            second = await shown(page, "r => r.data.sessions.edges[0].node.status === 'COMPLETED'")
            assert second == await gateway.query(as_query(LIVE))
            assert second["data"]["sessions"]["edges"][0]["node"] == {
                "id": "a-run",
                "name": "Done now",
                "status": "COMPLETED",
            }
            SCREENSHOT.parent.mkdir(exist_ok=True)
            await page.screenshot(path=SCREENSHOT.with_name("graphiql-live.png"))
        finally:
            await browser.close()

    # one WebSocket, to the page's own origin, authenticated with the token of the Headers tab
    assert sockets == [f"ws://127.0.0.1:{gateway.port}/graphql"]
    assert json.loads(frames[0]) == {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    assert json.loads(frames[1])["type"] == "subscribe"
    assert [url for url in requests if urlsplit(url).netloc != urlsplit(gateway.http_url).netloc] == []
    assert problems == []
