"""GraphiQL served by the gateway itself: its page and the few files the page loads, nothing from a CDN.

The files are the builds that ``graphiql/package-lock.json`` pins, installed into ``graphiql/node_modules``
by ``npm ci`` (``make install`` runs it): React, GraphiQL, its explorer plugin and Chart.js, each package's
own UMD build (no bundler), plus ``graphiql/boot.js``, which starts GraphiQL, and ``graphiql/analysts.js``
with its stylesheet, this page's own plugins (the report's charts, next page). GraphiQL opens with
the docs' examples as tabs (``graphiql_tabs.py``). A built wheel
carries them inside the package (``sessions_gateway/gateway/graphiql_files``, laid out as under ``graphiql/``:
see ``setup.py``), and an installed gateway serves them from there; a source tree serves ``graphiql/``. The page asks
for them by relative URL (so it works behind a path prefix too), and its Content-Security-Policy lets
the browser load and call nothing but this server. Without those files the page says how to install them;
the API answers either way.
"""

from __future__ import annotations

import html
import json
import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.staticfiles import NotModifiedResponse

from sessions_gateway.gateway.graphiql_tabs import PAGES_DIR, tab_configs

if TYPE_CHECKING:
    from starlette.requests import Request

    from sessions_gateway.gateway.config import Settings

logger = logging.getLogger("gateway.graphiql")

# graphiql/ beside the gateway package: package.json, package-lock.json, boot.js and, once installed, node_modules.
SOURCE_ROOT = Path(__file__).resolve().parents[1] / "graphiql"


def _root() -> Path:
    """Where GraphiQL's files are: inside the installed package when a wheel put them there, else the source tree."""
    packaged = resources.files("sessions_gateway.gateway") / "graphiql_files"
    return packaged if isinstance(packaged, Path) and packaged.is_dir() else SOURCE_ROOT


ROOT = _root()


def pages_root() -> Path:
    """Where the pages with the example tabs' texts are: beside GraphiQL's files in a wheel, else the project."""
    packaged = ROOT / PAGES_DIR
    return packaged if packaged.is_dir() else SOURCE_ROOT.parent


# Everything the page loads, by the name it asks for, and the file under ROOT that answers it: an
# allow-list, so nothing else in node_modules is ever served.
ASSETS: dict[str, tuple[str, str]] = {
    "graphiql.min.css": ("node_modules/graphiql/graphiql.min.css", "text/css"),
    "react.production.min.js": ("node_modules/react/umd/react.production.min.js", "text/javascript"),
    "react-dom.production.min.js": ("node_modules/react-dom/umd/react-dom.production.min.js", "text/javascript"),
    "graphiql.min.js": ("node_modules/graphiql/graphiql.min.js", "text/javascript"),
    "plugin-explorer.css": ("node_modules/@graphiql/plugin-explorer/dist/style.css", "text/css"),
    "plugin-explorer.umd.js": ("node_modules/@graphiql/plugin-explorer/dist/index.umd.js", "text/javascript"),
    "chart.umd.min.js": ("node_modules/chart.js/dist/chart.umd.min.js", "text/javascript"),
    "analysts.css": ("analysts.css", "text/css"),
    "analysts.js": ("analysts.js", "text/javascript"),
    "boot.js": ("boot.js", "text/javascript"),
}
ASSETS_URL = "graphiql/assets"  # relative to the page at /graphql: /graphiql/assets/<name>

# The browser may load scripts, styles and fonts from this server only, and send requests to it only.
# GraphiQL sets inline styles (hence 'unsafe-inline' for styles, never for scripts); its fonts are data: URLs.
# connect-src 'self' also lets a subscription's WebSocket reach this server (ws: or wss: on its host and port).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # The demo's page holds a token: no cache keeps it, and no link followed from it names the page.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

HINT = """\
# Your tenant's sessions, a page at a time (the other tabs: a session,
# a report, a weekly timeline; the Charts panel on the left draws reports).
#
# Every request needs a bearer token: paste
#   {"Authorization": "Bearer <your token>"}
# into the Headers tab below, then press Ctrl-Enter.

"""
DEMO_HINT = """\
# Demo: the demo tenant's sessions, a page at a time (the other tabs: a
# session, a report, a weekly timeline; the Charts panel on the left draws reports).
#
# The Headers tab below holds the demo's token:
# press Ctrl-Enter (or the run button) to run this.

"""


def missing_assets() -> list[str]:
    """The files the page needs that are not installed, as paths under the repository."""
    return [f"graphiql/{relative}" for relative, _ in ASSETS.values() if not (ROOT / relative).is_file()]


def _script_json(value: object) -> str:
    """JSON that can sit inside a ``<script>`` element: no ``<``, ``>`` or ``&`` to end it early."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_config(settings: Settings) -> dict[str, object]:
    """What GraphiQL opens with: the example tabs (the first says where a token goes), the demo's token (demo only)."""
    tabs = tab_configs(pages_root())
    if settings.graphiql_token is None:
        tabs[0]["query"] = HINT + str(tabs[0]["query"])
        return {"tabs": tabs, "headers": None}
    tabs[0]["query"] = DEMO_HINT + str(tabs[0]["query"])
    headers = {"Authorization": f"Bearer {settings.graphiql_token}"}
    return {"tabs": tabs, "headers": json.dumps(headers, indent=2)}


PAGE = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>GraphiQL · sessions-gateway</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{assets}/graphiql.min.css">
    <link rel="stylesheet" href="{assets}/plugin-explorer.css">
    <link rel="stylesheet" href="{assets}/analysts.css">
    <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script id="graphiql-config" type="application/json">{config}</script>
    <script src="{assets}/react.production.min.js"></script>
    <script src="{assets}/react-dom.production.min.js"></script>
    <script src="{assets}/graphiql.min.js"></script>
    <script src="{assets}/plugin-explorer.umd.js"></script>
    <script src="{assets}/chart.umd.min.js"></script>
    <script src="{assets}/analysts.js"></script>
    <script src="{assets}/boot.js"></script>
  </body>
</html>
"""

NOT_INSTALLED_PAGE = """\
<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>GraphiQL is not installed · sessions-gateway</title></head>
  <body style="font-family: sans-serif; max-width: 48rem; margin: 2rem auto; line-height: 1.5">
    <h1>GraphiQL is not installed on this server</h1>
    <p>Its files are missing: {missing}.</p>
    <p>Run <code>make install</code> (it runs <code>npm ci</code> in <code>graphiql/</code>, which needs Node.js
    and npm), then restart the gateway.</p>
    <p>The API works without it: <code>POST /graphql</code> with a JSON body <code>{{"query": "..."}}</code> and the
    header <code>Authorization: Bearer &lt;token&gt;</code>.</p>
  </body>
</html>
"""


def graphiql_page(settings: Settings) -> HTMLResponse:
    """GraphiQL's page; a page that says what to install (503) when its files are not there."""
    missing = missing_assets()
    if missing:
        logger.warning("GraphiQL's files are not installed (missing %s): run make install", ", ".join(missing))
        listed = ", ".join(f"<code>{html.escape(path)}</code>" for path in missing)
        return HTMLResponse(NOT_INSTALLED_PAGE.format(missing=listed), status_code=503, headers=PAGE_HEADERS)
    page = PAGE.format(assets=ASSETS_URL, config=_script_json(page_config(settings)))
    return HTMLResponse(page, headers=PAGE_HEADERS)


async def graphiql_asset(request: Request) -> Response:
    """One allow-listed file; 304 when the browser's copy is current (it revalidates on every page load)."""
    name = request.path_params["name"]
    if name not in ASSETS:
        return PlainTextResponse("Not Found", status_code=404)
    relative, media_type = ASSETS[name]
    try:
        stat_result = (ROOT / relative).stat()
    except FileNotFoundError:
        return PlainTextResponse(f"{name} is not installed: run make install", status_code=404)
    response = FileResponse(
        ROOT / relative,
        stat_result=stat_result,
        media_type=media_type,
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and response.headers["etag"] in {tag.strip() for tag in if_none_match.split(",")}:
        return NotModifiedResponse(response.headers)
    return response


def graphiql_routes(settings: Settings) -> list[Route]:
    """The route of GraphiQL's files, when GraphiQL is served at all."""
    if not settings.graphiql:
        return []
    return [Route("/graphiql/assets/{name}", graphiql_asset, methods=["GET", "HEAD"])]
