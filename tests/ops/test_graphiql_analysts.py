"""GraphiQL for analysts, in a real browser: the example tabs, the explorer, the report's charts, next page.

Debian's headless Chromium, driven by Playwright, against ``sessions-gateway demo`` (its database, its token
in the Headers tab), as in ``test_graphiql_browser.py``, whose ``chromium`` fixture says when this runs. What
the page shows is compared with what the gateway answers the same query over HTTP; the charts are read back
from their Chart.js instances (what each draws: one element per entry of the part). Every request the page
makes goes to the gateway, and nothing is written to the console as an error. The charts' screenshot is saved
to ``tests/artifacts/`` (ignored by git).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.api.test_graphiql import example
from tests.ops.test_demo import running_demo
from tests.ops.test_graphiql_browser import (  # noqa: F401  (chromium: a fixture)
    HEADERS_EDITOR,
    QUERY_EDITOR,
    RESPONSE,
    SCREENSHOT,
    TIMEOUT_MS,
    chromium,
    editor_text,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import ConsoleMessage, Page, Request

DEMO_SESSIONS = 300  # per tenant: several pages of the list, a year of weeks
TIME_ZONE = "Europe/Paris"  # the browser's: its local midnights are the evening before in UTC
TABS = ["SessionsList", "SessionDetail", "SessionsReport", "WeeklyTimeline"]
# the Variables tab's editor (the first of the two under the query, shown or not)
VARIABLES_EDITOR = ".graphiql-editor-tool > .graphiql-editor:first-child .CodeMirror"
CHARTS = "button[aria-label='Show Charts']"
NEXT_PAGE = "button[aria-label^='Next page']"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``sessions-gateway demo``, once for the module: its base URL and the token it printed."""
    with running_demo(tmp_path_factory.mktemp("demo"), DEMO_SESSIONS) as (base, token, _log):
        yield base, token


class Browser:
    """A page of GraphiQL in Chromium, with every request it made and every error it wrote."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.requests: list[Request] = []
        self.problems: list[str] = []

    def tab(self, title: str) -> None:
        self.page.click(f".graphiql-tab:nth-child({TABS.index(title) + 1}) button.graphiql-tab-button")
        # GraphiQL reads the operation's name from the editor's text 100 ms after it changes: then it runs
        self.page.wait_for_function(
            "([selector, title]) => document.querySelector(selector).CodeMirror.operationName === title",
            arg=[QUERY_EDITOR, title],
        )

    def run(self) -> dict[str, Any]:
        """Runs the active tab (the run button): the result it shows."""
        return self.run_by(".graphiql-execute-button")

    def run_by(self, selector: str) -> dict[str, Any]:
        before = editor_text(self.page, RESPONSE)
        queries = len(self.queries())
        self.page.click(selector)
        self.page.wait_for_function(
            "([selector, before]) => {"
            " const shown = document.querySelector(selector).CodeMirror.getValue();"
            " return shown.trim() !== '' && shown !== before; }",
            arg=[RESPONSE, before],
        )
        assert len(self.queries()) == queries + 1
        result: dict[str, Any] = json.loads(editor_text(self.page, RESPONSE))
        result.pop("extensions", None)  # the request's id
        return result

    def queries(self) -> list[dict[str, Any]]:
        """The queries the page POSTed (GraphiQL's introspection aside), in order."""
        bodies: list[dict[str, Any]] = [r.post_data_json or {} for r in self.requests if r.method == "POST"]
        return [body for body in bodies if body.get("operationName") != "IntrospectionQuery"]

    def ask(self, body: dict[str, Any]) -> dict[str, Any]:
        """What the gateway answers ``body`` over HTTP, with the Headers tab's headers."""
        headers = json.loads(editor_text(self.page, HEADERS_EDITOR))
        answer = httpx.post(f"{self.base}/graphql", json=body, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        assert "errors" not in result, result
        result.pop("extensions", None)  # the request's id
        return result

    def chart(self, part: str) -> dict[str, Any]:
        """What the chart of ``part`` draws: its type, labels, and each dataset's values and element count."""
        drawn: dict[str, Any] = self.page.eval_on_selector(
            f".analysts-charts canvas[data-part='{part}']",
            """canvas => {
                const chart = Chart.getChart(canvas);
                return {
                    type: chart.config.type,
                    labels: chart.data.labels,
                    datasets: chart.data.datasets.map((dataset, index) => ({
                        label: dataset.label,
                        data: dataset.data,
                        drawn: chart.getDatasetMeta(index).data.length,
                        visible: chart.isDatasetVisible(index),
                    })),
                };
            }""",
        )
        return drawn

    def stayed_on_the_gateway_without_errors(self) -> None:
        server = urlsplit(self.base).netloc
        assert [r.url for r in self.requests if urlsplit(r.url).netloc != server] == []
        assert self.problems == []


@pytest.fixture
def browser(chromium: Path, demo: tuple[str, str]) -> Iterator[Browser]:  # noqa: F811  (the fixture)
    base, _token = demo
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium))
        try:
            context = launched.new_context(
                viewport={"width": 1600, "height": 1000}, timezone_id=TIME_ZONE, accept_downloads=True
            )
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            opened = Browser(page, base)

            def record(request: Request) -> None:  # Playwright wants a function, not a bound built-in
                opened.requests.append(request)

            context.on("request", record)

            def console(message: ConsoleMessage) -> None:
                if message.type == "error":  # a load or a call the page's CSP refuses is one too
                    opened.problems.append(message.text)

            page.on("console", console)
            page.on("pageerror", lambda error: opened.problems.append(str(error)))
            page.goto(f"{base}/graphql")
            page.wait_for_selector(QUERY_EDITOR)
            yield opened
        finally:
            launched.close()


def test_the_page_opens_with_the_docs_examples_as_tabs_their_variables_filled(browser: Browser) -> None:
    page = browser.page
    titles = page.eval_on_selector_all(".graphiql-tab .graphiql-tab-button", "tabs => tabs.map(t => t.textContent)")
    assert titles == TABS
    texts = {}
    variables = {}
    for title in TABS:
        browser.tab(title)
        if title == "SessionDetail":  # the page asks the gateway for the tenant's newest session
            page.wait_for_function(
                "selector => JSON.parse(document.querySelector(selector).CodeMirror.getValue()).id",
                arg=VARIABLES_EDITOR,
            )
        texts[title] = editor_text(page, QUERY_EDITOR)
        variables[title] = editor_text(page, VARIABLES_EDITOR)
    # the docs' texts, as the docs show them and tests/docs/test_readme.py runs them
    assert texts["SessionsList"].startswith("# Demo:")
    assert texts["SessionsList"].endswith("\n\n" + example("SessionsList"))
    for title in TABS[1:]:
        assert texts[title] == example(title)
    # the detail tab's id is the tenant's newest session; the timeline's zone is the browser's
    newest = browser.ask({"query": "{ sessions(first: 1, orderBy: STARTED_AT_DESC) { edges { node { id } } } }"})
    assert json.loads(variables["SessionDetail"]) == {"id": newest["data"]["sessions"]["edges"][0]["node"]["id"]}
    assert json.loads(variables["WeeklyTimeline"]) == {"timeZone": TIME_ZONE}
    assert variables["SessionsList"] == ""
    assert variables["SessionsReport"] == ""
    # and the detail tab runs: the session it shows is that one
    browser.tab("SessionDetail")
    shown = browser.run()
    asked = browser.ask({"query": texts["SessionDetail"], "variables": json.loads(variables["SessionDetail"])})
    # a session in progress lasts a second longer each second: the two reads may be a second apart
    ran, read = shown["data"]["session"].pop("durationSeconds"), asked["data"]["session"].pop("durationSeconds")
    assert 0 <= read - ran <= 5
    assert shown == asked
    assert shown["data"]["session"]["name"]
    browser.stayed_on_the_gateway_without_errors()


def local_date(start: str, zone: str) -> str:
    return datetime.fromisoformat(start).astimezone(ZoneInfo(zone)).date().isoformat()


def test_the_report_tab_runs_and_the_charts_panel_draws_every_part(browser: Browser) -> None:
    page = browser.page
    page.click(CHARTS)
    assert "Run a query" in page.inner_text(".analysts-charts")
    browser.tab("SessionsReport")
    shown = browser.run()
    report = shown["data"]["sessionsReport"]
    answered = browser.ask({"query": example("SessionsReport")})["data"]["sessionsReport"]
    # in-progress sessions count their elapsed time so far, a few seconds more in the second answer
    assert answered.pop("totalDurationHours") == pytest.approx(report["totalDurationHours"], abs=0.1)
    assert {key: value for key, value in report.items() if key != "totalDurationHours"} == answered
    assert len(report["timeline"]) > 6
    assert sum(decile["count"] for decile in report["scoreDeciles"]) > 0

    # the timeline: one point per bucket and measure, labelled with the bucket's date (the report's UTC)
    timeline = browser.chart("timeline")
    assert timeline["type"] == "line"
    assert timeline["labels"] == [local_date(bucket["start"], "UTC") for bucket in report["timeline"]]
    assert [(d["label"], d["data"], d["drawn"]) for d in timeline["datasets"]] == [
        (measure, [bucket[measure] for bucket in report["timeline"]], len(report["timeline"]))
        for measure in ("count", "completed", "averageScore")
    ]
    # the deciles: a histogram of ten bars, 0-9 to 90-100
    deciles = browser.chart("scoreDeciles")
    assert deciles["type"] == "bar"
    assert deciles["labels"] == [f"{d['from']}\u2013{d['to']}" for d in report["scoreDeciles"]]
    assert [(d["data"], d["drawn"]) for d in deciles["datasets"]] == [
        ([d["count"] for d in report["scoreDeciles"]], 10)
    ]
    # the breakdowns: a bar per status, role and source; byUser ranked, the most sessions first
    for part, key in [("byStatus", "status"), ("byRole", "role")]:
        drawn = browser.chart(part)
        assert drawn["labels"] == [entry[key] for entry in report[part]]
        assert [(d["data"], d["drawn"]) for d in drawn["datasets"]] == [
            ([entry["count"] for entry in report[part]], len(report[part]))
        ]
    sources = browser.chart("byTaskSource")
    assert sources["labels"] == [s["source"] or "(no linked task)" for s in report["byTaskSource"]]
    by_user = browser.chart("byUser")
    assert by_user["labels"] == [entry["user"]["displayName"] for entry in report["byUser"]]
    counts = by_user["datasets"][0]["data"]
    assert counts == [entry["count"] for entry in report["byUser"]]
    assert counts == sorted(counts, reverse=True)
    assert by_user["datasets"][0]["drawn"] == len(report["byUser"])
    # the totals beside them
    totals = page.inner_text(".analysts-totals")
    assert f"totalCount\n{report['totalCount']}" in totals
    browser.stayed_on_the_gateway_without_errors()


def test_the_charts_export_as_png_their_parts_as_csv_and_the_timeline_draws_as_bars(browser: Browser) -> None:
    page = browser.page
    page.click(CHARTS)
    browser.tab("SessionsReport")
    report = browser.run()["data"]["sessionsReport"]
    timeline = browser.chart("timeline")
    assert timeline["type"] == "line"

    # widened, as an analyst would, for the screenshot the docs show
    bar = page.locator(".graphiql-horizontal-drag-bar").first.bounding_box()
    assert bar is not None
    page.mouse.move(bar["x"] + 2, bar["y"] + bar["height"] / 2)
    page.mouse.down()
    page.mouse.move(bar["x"] + 380, bar["y"] + bar["height"] / 2, steps=5)
    page.mouse.up()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOT.with_name("graphiql-charts.png"))

    # the timeline as bars: the same points
    page.select_option("select[aria-label='Timeline chart type']", "bar")
    as_bars = browser.chart("timeline")
    assert as_bars["type"] == "bar"
    assert as_bars["datasets"] == timeline["datasets"]

    # exports: the drawn chart as PNG, the part as CSV
    with page.expect_download() as png_download:
        page.click("button[aria-label='PNG of sessionsReport-scoreDeciles']")
    png = png_download.value
    assert png.suggested_filename == "sessionsReport-scoreDeciles.png"
    image = png.path().read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(image[16:20], "big"), int.from_bytes(image[20:24], "big")
    canvas = page.eval_on_selector("canvas[data-part='scoreDeciles']", "c => [c.width, c.height]")
    assert [width, height] == canvas
    with page.expect_download() as csv_download:
        page.click("button[aria-label='CSV of sessionsReport-byUser']")
    exported = csv_download.value
    assert exported.suggested_filename == "sessionsReport-byUser.csv"
    rows = list(csv.reader(io.StringIO(exported.path().read_text(encoding="utf-8"))))
    assert rows[0] == ["user.displayName", "count", "completed", "averageScore"]
    read = [(name, int(count), int(done), float(score) if score else None) for name, count, done, score in rows[1:]]
    assert read == [
        (entry["user"]["displayName"], entry["count"], entry["completed"], entry["averageScore"])
        for entry in report["byUser"]
    ]
    # a name a spreadsheet would run as a formula is written as text; commas and quotes are quoted
    written = page.evaluate(
        """() => SessionsGatewayAnalysts.toCsv([
            {user: {displayName: '=HYPERLINK("x")'}, count: 1, averageScore: null},
            {user: {displayName: 'Lee, "Ann"'}, count: -2, averageScore: 50.5},
        ])"""
    )
    assert written == ('user.displayName,count,averageScore\r\n"\'=HYPERLINK(""x"")",1,\r\n"Lee, ""Ann""",-2,50.5\r\n')
    browser.stayed_on_the_gateway_without_errors()


def test_the_weekly_timeline_tab_is_drawn_in_the_browsers_time_zone(browser: Browser) -> None:
    page = browser.page
    page.click(CHARTS)
    browser.tab("WeeklyTimeline")
    shown = browser.run()
    assert browser.queries()[-1]["variables"] == {"timeZone": TIME_ZONE}
    timeline = shown["data"]["sessionsReport"]["timeline"]
    assert shown == browser.ask({"query": example("WeeklyTimeline"), "variables": {"timeZone": TIME_ZONE}})
    drawn = browser.chart("timeline")
    # each bucket starts on a Monday, at midnight in Paris (Sunday evening in UTC): the label is that Monday
    labels = [local_date(bucket["start"], TIME_ZONE) for bucket in timeline]
    assert all(datetime.fromisoformat(label).weekday() == 0 for label in labels)
    assert all(bucket["start"][:10] != label for bucket, label in zip(timeline, labels, strict=True))  # not UTC's
    assert drawn["labels"] == labels
    assert [d["drawn"] for d in drawn["datasets"]] == [len(timeline)] * 3
    assert drawn["datasets"][0]["data"] == [bucket["count"] for bucket in timeline]
    browser.stayed_on_the_gateway_without_errors()


def test_a_result_with_no_report_part_is_said_to_have_nothing_to_chart(browser: Browser) -> None:
    page = browser.page
    page.click(CHARTS)
    browser.tab("SessionsReport")
    browser.run()
    assert page.locator(".analysts-charts canvas").count() == 6
    browser.tab("SessionsList")
    browser.run()
    assert page.locator(".analysts-charts canvas").count() == 0
    assert "Nothing to chart: the last result holds no report part" in page.inner_text(".analysts-charts")
    browser.stayed_on_the_gateway_without_errors()


def test_next_page_runs_the_list_again_after_its_end_cursor(browser: Browser) -> None:
    page = browser.page
    query = example("SessionsList")
    assert page.locator(NEXT_PAGE).count() == 0  # nothing run yet
    first = browser.run()["data"]["sessions"]
    assert first == browser.ask({"query": query, "variables": {"after": None}})["data"]["sessions"]
    assert first["pageInfo"]["hasNextPage"]
    second = browser.run_by(NEXT_PAGE)["data"]["sessions"]
    # the query run is the tab's, with after set to the first page's end cursor
    ran = browser.queries()[-1]
    assert ran["query"].endswith(query)
    assert ran["variables"] == {"after": first["pageInfo"]["endCursor"]}
    assert json.loads(editor_text(page, VARIABLES_EDITOR)) == ran["variables"]
    # and its rows are the next page's, as the gateway answers it
    expected = browser.ask({"query": query, "variables": ran["variables"]})["data"]["sessions"]
    assert second == expected
    assert len(second["edges"]) == 20
    ids = [edge["node"]["id"] for edge in first["edges"] + second["edges"]]
    assert len(set(ids)) == 40
    # the button belongs to the list's tab: not on another one
    assert page.locator(NEXT_PAGE).count() == 1
    browser.tab("SessionsReport")
    assert page.locator(NEXT_PAGE).count() == 0
    browser.tab("SessionsList")
    assert page.locator(NEXT_PAGE).count() == 1
    browser.stayed_on_the_gateway_without_errors()


def test_the_explorer_adds_a_field_to_the_query(browser: Browser) -> None:
    page = browser.page
    browser.tab("SessionsReport")
    assert "totalDurationSeconds" not in editor_text(page, QUERY_EDITOR)
    page.click("button[aria-label='Show GraphiQL Explorer']")
    page.click(".graphiql-explorer-totalDurationSeconds > span[data-field-name='totalDurationSeconds']")
    page.wait_for_function(
        "selector => document.querySelector(selector).CodeMirror.getValue().includes('totalDurationSeconds')",
        arg=QUERY_EDITOR,
    )
    query = editor_text(page, QUERY_EDITOR)
    shown = browser.run()["data"]["sessionsReport"]
    assert browser.queries()[-1]["query"] == query
    answered = browser.ask({"query": query})["data"]["sessionsReport"]
    # in-progress sessions count their elapsed time so far, a few seconds more in the second answer
    for field, within in [("totalDurationSeconds", 360), ("totalDurationHours", 0.1)]:
        assert answered.pop(field) == pytest.approx(shown.pop(field), abs=within)
    assert shown == answered
    browser.stayed_on_the_gateway_without_errors()
