"""GraphiQL's page and files, served by the gateway itself: no CDN, and no token but the demo's.

What a real browser makes of them is ``tests/ops/test_graphiql_browser.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.datastructures import Secret

from sessions_gateway.gateway import graphiql, graphiql_tabs
from sessions_gateway.gateway.app import create_app
from tests.dataset import DATA
from tests.helpers import token_for
from tests.readme import blocks

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from sessions_gateway.gateway.config import Settings

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PAGE_URL = "http://testserver/graphql"


class PageParts(HTMLParser):
    """The URLs a page makes the browser load, and the text of its ``#graphiql-config`` element."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.config_text = ""
        self._in_config = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [url for name in ("src", "href") if (url := found.get(name)) is not None]
        self._in_config = tag == "script" and found.get("id") == "graphiql-config"

    def handle_endtag(self, tag: str) -> None:
        self._in_config = False

    def handle_data(self, data: str) -> None:
        if self._in_config:
            self.config_text += data

    @property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = json.loads(self.config_text)
        return config


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with LifespanManager(app), httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def page(http: httpx.AsyncClient) -> tuple[httpx.Response, PageParts]:
    response = await http.get("/graphql", headers=BROWSER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response, PageParts(response.text)


def completed_trainee_sessions(tenant_id: str) -> int:
    """The sessions the README's list query counts: completed, by trainees."""
    return sum(1 for s in DATA.live_sessions(tenant_id) if s["status"] == "completed" and s["role"] == "trainee")


async def test_the_page_loads_nothing_but_this_servers_own_files(client: httpx.AsyncClient) -> None:
    response, parts = await page(client)
    assert sorted(parts.urls) == sorted(["data:,", *(f"graphiql/assets/{name}" for name in graphiql.ASSETS)])
    assert "://" not in response.text  # no absolute URL anywhere: no CDN, no other host
    # and the browser is told to load and call nothing else either
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"


async def test_every_file_the_page_names_is_served_from_the_installed_packages(client: httpx.AsyncClient) -> None:
    _, parts = await page(client)
    for url in parts.urls:
        if url.startswith("data:"):
            continue
        response = await client.get(str(httpx.URL(PAGE_URL).join(url)))
        assert response.status_code == 200, url
        relative, media_type = graphiql.ASSETS[url.rsplit("/", 1)[1]]
        assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
        assert response.content == (graphiql.ROOT / relative).read_bytes()


def test_the_installed_packages_are_the_pinned_and_locked_versions() -> None:
    pinned = json.loads((graphiql.ROOT / "package.json").read_text())["dependencies"]
    locked = json.loads((graphiql.ROOT / "package-lock.json").read_text())["packages"]
    assert {"graphiql", "react", "react-dom"} <= set(pinned)
    for package, version in pinned.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{package} is not pinned to one version: {version}"
        assert locked[f"node_modules/{package}"]["version"] == version
        installed = json.loads((graphiql.ROOT / "node_modules" / package / "package.json").read_text())
        assert installed["version"] == version, f"{package}: run make install (npm ci in graphiql/)"


async def test_a_browsers_copy_of_a_file_is_revalidated_not_sent_again(client: httpx.AsyncClient) -> None:
    first = await client.get("/graphiql/assets/graphiql.min.css")
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-cache"
    again = await client.get("/graphiql/assets/graphiql.min.css", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize(
    "name",
    ["package.json", "package-lock.json", "react.development.js", "..%2Fpackage.json", "node_modules%2Fgraphql"],
)
async def test_nothing_but_the_pages_files_is_served(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/graphiql/assets/{name}")
    assert response.status_code == 404


async def test_outside_demo_mode_the_page_holds_no_token_and_its_query_runs(client: httpx.AsyncClient) -> None:
    response, parts = await page(client)
    config = parts.config
    assert config["headers"] is None
    assert "Bearer ey" not in response.text
    first = config["tabs"][0]["query"]
    assert "Headers tab" in first  # it says where the analyst's token goes
    # with a token in the Headers tab, the query the page opens with answers
    answer = await client.post(
        "/graphql", json={"query": first}, headers={"Authorization": f"Bearer {token_for('alpha')}"}
    )
    body = answer.json()
    assert "errors" not in body, body
    expected = completed_trainee_sessions("alpha")
    assert body["data"]["sessions"]["totalCount"] == expected
    assert len(body["data"]["sessions"]["edges"]) == min(20, expected)


def example(operation: str) -> str:
    """The docs' example that declares ``operation``, as the docs show it and tests/docs/test_readme.py runs it."""
    [code] = [
        block.code for block in blocks("graphql") if re.search(rf"^query {operation}\b", block.code, re.MULTILINE)
    ]
    return code


async def test_the_tabs_are_the_docs_examples_read_from_the_docs(client: httpx.AsyncClient) -> None:
    _, parts = await page(client)
    tabs = parts.config["tabs"]
    # the list (after the hint on the token), a session, a report with every part, a weekly timeline
    assert [(tab["query"].rsplit("\n\n", 1)[-1] if i == 0 else tab["query"]) for i, tab in enumerate(tabs)] == [
        example("SessionsList"),
        example("SessionDetail"),
        example("SessionsReport"),
        example("WeeklyTimeline"),
    ]
    # how the page fills their variables: the tenant's newest session, the browser's time zone
    assert [tab["variables"] for tab in tabs] == [None, "tenant-session", None, "browser-time-zone"]
    # every part of a report is in the report tab
    report = re.search(r"sessionsReport \{(.*)\n  \}", tabs[2]["query"], re.DOTALL)
    assert report is not None
    selected = set(re.findall(r"\b(\w+)\b", report[1]))
    parts_of_report = {"totalCount", "byStatus", "byRole", "averageScore", "totalDurationHours", "procedureCount"}
    parts_of_report |= {"timeline", "byUser", "byTaskSource", "scoreDeciles"}
    assert parts_of_report <= selected


async def test_a_docs_example_edited_is_the_tab_the_page_opens_with(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the docs' pages, the report example changed (one text: no copy of it anywhere else)
    for name in graphiql_tabs.EXAMPLE_PAGES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((graphiql.SOURCE_ROOT.parent / name).read_text())
    analysts = tmp_path / "docs" / "analysts.md"
    analysts.write_text(analysts.read_text().replace("byUser(first: 20)", "byUser(first: 3)"))
    monkeypatch.setattr(graphiql, "pages_root", lambda: tmp_path)
    async with served(settings) as http:
        _, parts = await page(http)
    assert "byUser(first: 3)" in parts.config["tabs"][2]["query"]
    # and a page without the example is refused at once, naming it
    analysts.write_text(analysts.read_text().replace("query SessionsReport", "query SomethingElse"))
    with pytest.raises(graphiql_tabs.MissingExampleError, match="SessionsReport is in 0 graphql blocks"):
        graphiql_tabs.examples(tmp_path)


async def test_in_demo_mode_the_page_opens_with_the_token_in_the_headers_tab(settings: Settings) -> None:
    token = token_for("alpha")
    async with served(dataclasses.replace(settings, graphiql_token=Secret(token))) as http:
        response, parts = await page(http)
        headers = json.loads(parts.config["headers"])
        answer = await http.post("/graphql", json={"query": parts.config["tabs"][0]["query"]}, headers=headers)
    assert headers == {"Authorization": f"Bearer {token}"}
    assert response.headers["cache-control"] == "no-store"  # the token stays in no cache
    body = answer.json()
    assert "errors" not in body, body
    assert body["data"]["sessions"]["totalCount"] == completed_trainee_sessions("alpha")


async def test_without_its_files_the_page_says_what_to_install_and_the_api_still_answers(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a checkout where npm ci never ran
    monkeypatch.setattr(graphiql, "ROOT", tmp_path)
    async with served(settings) as http:
        # when
        response = await http.get("/graphql", headers=BROWSER)
        asset = await http.get("/graphiql/assets/graphiql.min.js")
        answer = await http.post(
            "/graphql",
            json={"query": "{ sessions(first: 1) { totalCount } }"},
            headers={"Authorization": f"Bearer {token_for('alpha')}"},
        )
    # then
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "GraphiQL is not installed" in response.text
    assert "<code>make install</code>" in response.text
    assert "<code>graphiql/node_modules/graphiql/graphiql.min.js</code>" in response.text
    assert asset.status_code == 404
    assert "make install" in asset.text
    assert answer.json()["data"] == {"sessions": {"totalCount": len(DATA.live_sessions("alpha"))}}


async def test_with_graphiql_switched_off_its_files_are_not_served(settings: Settings) -> None:
    async with served(dataclasses.replace(settings, graphiql=False)) as http:
        response = await http.get("/graphiql/assets/graphiql.min.js")
    assert response.status_code == 404
