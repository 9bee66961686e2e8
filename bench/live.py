"""Live subscriptions under load: a WebSocket client of its own, a writer, and what the worker spends.

    .venv/bin/python bench/live.py [--tenants 100] [--sessions 30] [--connections 2000]
                                   [--subscriptions 10000] [--variants 5] [--duration 30] [--quiet 10]
                                   [--interval-ms 1000] [--postgres-url URL] [--output FILE]

Seeds (or reuses) ``gw_live_<tenants>x<sessions>`` (tenants acme, northwind, globex, tenant-4, ...),
starts ``sessions-gateway serve`` (one worker, as the reader role) and opens ``--connections``
graphql-transport-ws connections (as browsers: answering the server's WebSocket pings, sending none),
each with its own tenant's token in ``connection_init`` (tenants in turn), holding ``--subscriptions``
live ``sessions(first: N)`` subscriptions between them, N one of ``--variants`` page sizes (so a
tenant's subscribers make that many cohorts). Then:

* **Changing**, ``--duration`` seconds: every interval the writer renames the newest session of
  every tenant (``live-<sequence>``), as the pipeline would write it. Each subscriber's messages are
  read for the newest sequence they show: a change counts as delivered when the subscriber shows it
  (or a later one) within two intervals of the write.
* **Quiet**, ``--quiet`` seconds: nothing is written; every message received then is counted.

Reports the worker's CPU and PostgreSQL's (percent of one core) in each phase, the worker's peak
RSS, its rounds per interval and the statements each round sent (the gateway's own count,
``gateway_live_refetch_statements`` of ``/metrics``), PostgreSQL's count of transactions per
interval over the run (``pg_stat_database``: each lone statement, each SET, the writer's; read
``PG_STATS_LAG`` after the fact), the messages received, the deliveries within two intervals and
their latency, and the errors; writes ``bench/LIVE.md`` and exits 1 when a change was missed, an
error came, or a message arrived while nothing changed. The client runs on the same machine as the
gateway and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import procstat
import seeding
from servers import gateway_command, serving
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from sessions_gateway.db.seed import tenant_identity
from sessions_gateway.gateway.auth import issue_token
from sessions_gateway.gateway.config import Settings

BENCH = Path(__file__).resolve().parent
PORT = 8711
DEFAULT_POSTGRES_URL = "postgresql://root@127.0.0.1:5432/test"
MEDIA_BASE_URL = "https://media.example.com"
DOCUMENT = """subscription Live($first: Int!) {
  sessions(first: $first) { edges { node { id name status role startedAt } } }
}"""
MARK = re.compile(rb"live-(\d+)")
OPEN_AT_ONCE = 100  # connections opened concurrently
# A PostgreSQL backend adds its counts to pg_stat_database at most once a second, and an idle one up
# to 10 s later: the database's count is read that long after the statements it should hold.
PG_STATS_LAG = 11.0


def log(message: str) -> None:
    print(f"[live {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


@dataclass(slots=True)
class Subscriber:
    seen: int = -1  # the newest sequence shown
    first_seen: dict[int, float] = field(default_factory=dict)  # sequence -> when it was first shown


@dataclass(slots=True)
class Tally:
    messages: int = 0
    errors: list[str] = field(default_factory=list)
    counting_quiet: bool = False
    quiet_messages: int = 0


async def _hold(
    ws: ClientConnection, subscribers: dict[str, Subscriber], tally: Tally, ready: asyncio.Event, wanted: int
) -> None:
    """Read one connection's messages until it closes: each ``next``'s newest sequence, errors counted."""
    started = 0
    while True:
        try:
            data = await ws.recv(decode=False)  # the frame's bytes: no decoding to text and back
        except ConnectionClosed:
            return
        tally.messages += 1
        if tally.counting_quiet:
            tally.quiet_messages += 1
        if b'"type":"next"' not in data and b'"type": "next"' not in data:
            await _other(ws, data, tally)
            continue
        message = orjson.loads(data)
        if message.get("payload", {}).get("errors"):
            tally.errors.append(orjson.dumps(message["payload"]["errors"])[:300].decode())
        subscriber = subscribers[message["id"]]
        if subscriber.seen < 0:
            started += 1
            if started == wanted:
                ready.set()
        found = [int(m) for m in MARK.findall(data)]
        newest = max(found, default=0)
        if newest > subscriber.seen:
            subscriber.seen = newest
            subscriber.first_seen.setdefault(newest, time.monotonic())
        elif subscriber.seen < 0:
            subscriber.seen = 0


async def _other(ws: ClientConnection, data: bytes, tally: Tally) -> None:
    """A message that is not a result: a ping answered, an error counted."""
    if b'"type":"ping"' in data:
        await ws.send('{"type":"pong"}')
    elif b'"type":"error"' in data or b'"type": "error"' in data:
        tally.errors.append(data[:300].decode(errors="replace"))


async def _open(
    url: str, token: str, count: int, first_of: list[int], tally: Tally
) -> tuple[ClientConnection, dict[str, Subscriber], asyncio.Task[None], asyncio.Event]:
    # As a dashboard's browser: it answers the server's WebSocket pings (every 20 s) and sends none
    # of its own (a browser cannot; graphql-ws sends none unless told to).
    ws = await connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_size=2**24,
        open_timeout=60,
        ping_interval=None,
    )
    await ws.send(orjson.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}).decode())
    ack = orjson.loads(await asyncio.wait_for(ws.recv(), 60))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"connection_init refused: {ack}")
    subscribers: dict[str, Subscriber] = {}
    ready = asyncio.Event()
    for index in range(count):
        sid = secrets.token_hex(6)
        subscribers[sid] = Subscriber()
        variables = {"first": first_of[index % len(first_of)]}
        payload = {"query": DOCUMENT, "variables": variables, "operationName": "Live"}
        await ws.send(orjson.dumps({"id": sid, "type": "subscribe", "payload": payload}).decode())
    reader = asyncio.create_task(_hold(ws, subscribers, tally, ready, count))
    return ws, subscribers, reader, ready


async def _statements(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int(
                await conn.scalar(
                    text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")
                )
            )
    finally:
        await engine.dispose()


async def _rounds(port: int) -> tuple[float, float]:
    """The gateway's own count of its live rounds and of the statements they sent (``/metrics``)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        text_ = (await http.get("/metrics")).text
    found = {"count": 0.0, "sum": 0.0}
    for line in text_.splitlines():
        for part in found:
            if line.startswith(f"gateway_live_refetch_statements_{part} "):
                found[part] = float(line.rsplit(" ", 1)[1])
    return found["count"], found["sum"]


async def _newest_ids(url: str, tenants: list[str]) -> dict[str, str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT DISTINCT ON (tenant_id) tenant_id, id FROM sessions WHERE tenant_id = ANY(:t) "
                    "AND deleted_at IS NULL ORDER BY tenant_id, started_at DESC, id DESC"
                ),
                {"t": tenants},
            )
            return {tenant: str(session_id) for tenant, session_id in rows}
    finally:
        await engine.dispose()


async def _write_every(url: str, newest: dict[str, str], interval: float, seconds: float) -> dict[int, float]:
    """Rename each tenant's newest session every ``interval``, for ``seconds``: when each sequence was written."""
    engine = create_async_engine(url)
    written: dict[int, float] = {}
    sequence = int(time.time())  # unique across runs on the same database
    try:
        loop = asyncio.get_running_loop()
        ends = loop.time() + seconds
        while loop.time() < ends:
            started = loop.time()
            sequence += 1
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE sessions SET name = :name WHERE tenant_id = :tenant AND id = :id"),
                    [{"name": f"live-{sequence:09d}", "tenant": t, "id": i} for t, i in newest.items()],
                )
            written[sequence] = time.monotonic()
            await asyncio.sleep(max(0.0, interval - (loop.time() - started)))
    finally:
        await engine.dispose()
    return written


def _deliveries(subscribers: list[Subscriber], written: dict[int, float], within: float) -> dict[int, list[float]]:
    """Each write's latencies to the subscribers it reached within ``within`` (showing that sequence or a later one)."""
    last = max(written)
    reached: dict[int, list[float]] = {sequence: [] for sequence in written if sequence != last}
    for subscriber in subscribers:
        shown = sorted(subscriber.first_seen.items())
        for sequence, latencies in reached.items():  # the final write may still be on its way when the phase ends
            when = next((t for s, t in shown if s >= sequence), None)
            if when is not None and when - written[sequence] <= within:
                latencies.append(when - written[sequence])
    return reached


def _delivered(subscribers: list[Subscriber], written: dict[int, float], within: float) -> tuple[int, int, list[float]]:
    """Changes delivered within ``within``, of all, and their latencies; each write's logged, a line each."""
    reached = _deliveries(subscribers, written, within)
    for sequence, each in sorted(reached.items()):  # when one round fell behind: which
        log(f"write {sequence}: {len(each)} of {len(subscribers)} within 2 intervals; latency ms min "
            f"{1000 * min(each, default=0):.0f} p50 {1000 * statistics.median(each or [0]):.0f} "
            f"max {1000 * max(each, default=0):.0f}")  # fmt: skip
    latencies = [latency for each in reached.values() for latency in each]
    return len(latencies), len(reached) * len(subscribers), latencies


@dataclass(frozen=True, slots=True)
class Moment:
    """CPU used so far by the worker, every PostgreSQL process and this client (``procstat.sample``), and when."""

    sample: procstat.Sample
    wall: float

    @classmethod
    def now(cls, worker: int) -> Moment:
        return cls(procstat.sample(worker), time.monotonic())

    def percent_since(self, before: Moment) -> dict[str, float]:
        """What the worker, PostgreSQL and this client used since ``before``, in percent of a core."""
        used, seconds = procstat.usage(before.sample, self.sample), self.wall - before.wall
        spent = {"worker": used.server, "postgres": used.postgres, "client": used.load_generator}
        return {who: round(100 * ms / 1000 / seconds, 1) for who, ms in spent.items()}


def _freeze_client_heap() -> None:
    """The client's subscribers, left out of its own collector's passes.

    A full collection over 10,000 of them paused the client for a quarter second, and the
    deliveries it timed with it.
    """
    gc.collect()
    gc.freeze()


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    tenants = {tenant_identity(i)[0]: args.sessions for i in range(args.tenants)}
    database = await seeding.ensure_database(args.postgres_url, f"gw_live_{args.tenants}x{args.sessions}", tenants)
    log(f"{'seeded' if database.seeded_now else 'reusing'} gw_live_{args.tenants}x{args.sessions}")
    secret = secrets.token_urlsafe(32)
    interval = args.interval_ms / 1000
    per_connection = -(-args.subscriptions // args.connections)
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": database.reader_url,
        "GATEWAY_JWT_SECRET": secret,
        "GATEWAY_MEDIA_BASE_URL": MEDIA_BASE_URL,
        "GATEWAY_GRAPHIQL": "false",
        "GATEWAY_LIVE_INTERVAL_MS": str(args.interval_ms),
        "GATEWAY_LIVE_MAX_CONNECTIONS": str(args.connections + 10),
        "GATEWAY_LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION": str(per_connection),
        "GATEWAY_LIVE_MAX_SUBSCRIPTIONS_PER_TENANT": str(args.subscriptions),
        "GATEWAY_LOG_LEVEL": "warning",
    }
    settings = Settings.from_env(env)
    names = list(tenants)
    tokens = {t: str(issue_token(settings, tenant_id=t, subject="live-bench", ttl_seconds=3600)) for t in names}
    first_of = [20 - i for i in range(args.variants)]
    newest = await _newest_ids(database.url, names)
    work = Path(tempfile.mkdtemp(prefix="gw-live-"))
    tally = Tally()
    with serving(
        gateway_command(port=PORT, workers=1), env, port=PORT, log=work / "gateway.log", ready_path="/readyz"
    ) as server:
        worker = (procstat.workers(server.pid) or [server.pid])[0]
        url = f"ws://127.0.0.1:{PORT}/graphql"
        opened: list[tuple[ClientConnection, dict[str, Subscriber], asyncio.Task[None], asyncio.Event]] = []
        counts = [args.subscriptions // args.connections + (i < args.subscriptions % args.connections)
                  for i in range(args.connections)]  # fmt: skip
        started = time.monotonic()
        for batch in range(0, args.connections, OPEN_AT_ONCE):
            opened += await asyncio.gather(
                *(
                    _open(url, tokens[names[i % len(names)]], counts[i], first_of, tally)
                    for i in range(batch, min(batch + OPEN_AT_ONCE, args.connections))
                    if counts[i] > 0
                )
            )
        await asyncio.wait_for(asyncio.gather(*(ready.wait() for *_, ready in opened)), 120)
        took = time.monotonic() - started
        log(f"{len(opened)} connections, {args.subscriptions} subscriptions, first results in {took:.1f} s")
        await asyncio.sleep(2 * interval)  # settled
        subscribers = [s for _, subs, _, _ in opened for s in subs.values()]
        _freeze_client_heap()

        await asyncio.sleep(PG_STATS_LAG)  # the first reads' statements counted by now
        sql0, at0 = await _statements(database.url), Moment.now(worker)
        rounds0 = await _rounds(PORT)
        written = await _write_every(database.url, newest, interval, args.duration)
        await asyncio.sleep(2 * interval)  # the last changes on their way
        at1 = Moment.now(worker)
        rounds1 = await _rounds(PORT)
        delivered, total, latencies = _delivered(subscribers, written, 2 * interval)
        changing_messages = tally.messages

        tally.counting_quiet = True
        at2 = Moment.now(worker)
        rounds2 = await _rounds(PORT)
        await asyncio.sleep(args.quiet)
        at3 = Moment.now(worker)
        rounds3 = await _rounds(PORT)
        await asyncio.sleep(PG_STATS_LAG)  # every statement of the run counted by PostgreSQL
        sql3, wall_sql3 = await _statements(database.url), time.monotonic()
        rss = round(procstat.vm_hwm_kib(worker) / 1024)

        for ws, _, reader, _ in opened:
            reader.cancel()
            with contextlib.suppress(Exception):
                await ws.close()
    changing_rounds, quiet_rounds = rounds1[0] - rounds0[0], rounds3[0] - rounds2[0]
    changing, quiet = at1.percent_since(at0), at3.percent_since(at2)
    return {
        "tenants": args.tenants,
        "connections": len(opened),
        "subscriptions": len(subscribers),
        "cohorts": args.tenants * args.variants,
        "interval_ms": args.interval_ms,
        "changes written": len(written),
        "delivered within 2 intervals": f"{delivered:,} of {total:,} ({100 * delivered / max(total, 1):.2f}%)",
        "latency p50 / p99 ms": (
            f"{1000 * statistics.median(latencies):.0f} / {1000 * statistics.quantiles(latencies, n=100)[98]:.0f}"
            if len(latencies) > 1
            else "-"
        ),
        "messages while changing": changing_messages,
        "worker CPU while changing, % of a core": changing["worker"],
        # this client (one process: reading every message, writing every change): were it busy all
        # along, the latencies would be its own
        "client CPU while changing, % of a core": changing["client"],
        # every PostgreSQL process: the batches' backends, the writer's, the server's own
        "PostgreSQL CPU while changing, % of a core": changing["postgres"],
        "rounds per interval while changing": round(changing_rounds / ((at1.wall - at0.wall) / interval), 2),
        "statements per round while changing (the gateway's count)": round(
            (rounds1[1] - rounds0[1]) / max(changing_rounds, 1), 2
        ),
        "messages while quiet": tally.quiet_messages,
        "worker CPU while quiet, % of a core": quiet["worker"],
        "PostgreSQL CPU while quiet, % of a core": quiet["postgres"],
        "statements per round while quiet (the gateway's count)": round(
            (rounds3[1] - rounds2[1]) / max(quiet_rounds, 1), 2
        ),
        # PostgreSQL's own count (transactions: each lone statement or SET is one), writer included
        "PostgreSQL transactions per interval, whole run after the first results": round(
            (sql3 - sql0) / ((wall_sql3 - at0.wall) / interval), 1
        ),
        "peak RSS MiB": rss,
        "errors": len(tally.errors),
        "first errors": tally.errors[:3],
        "missed": total - delivered,
    }


def write(figures: dict[str, Any], args: argparse.Namespace) -> None:
    lines = [
        "# Live subscriptions under load",
        "",
        f"Generated by `bench/live.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; one gateway worker as the reader",
        "role, the WebSocket client and the writer on the same machine (what is measured: the module's docstring).",
        "",
        "| figure | value |",
        "|---|--:|",
        *(f"| {name} | {value} |" for name, value in figures.items() if name not in {"first errors", "missed"}),
        "",
    ]
    if figures["first errors"]:
        lines += ["First errors:", "", *(f"- `{e}`" for e in figures["first errors"]), ""]
    args.output.write_text("\n".join(lines))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=30, help="sessions per tenant")
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument(
        "--variants", type=int, default=5, help="page sizes: each tenant's subscribers make this many cohorts"
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of changes")
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds with nothing changing")
    parser.add_argument("--interval-ms", type=int, default=1000)
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--output", type=Path, default=BENCH / "LIVE.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    figures = asyncio.run(measure(args))
    for name, value in figures.items():
        log(f"{name}: {value}")
    write(figures, args)
    if figures["missed"] or figures["errors"] or figures["messages while quiet"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
