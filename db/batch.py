"""One statement for the lone statements of many requests of one shape: live subscriptions' reads.

A list or a detail is one statement (``Template``): its text fixed by its shape, its values bound
by name. The requests of one shape, whatever their tenants and values, read in one statement
per ``BATCH_SIZE`` of them (``batch_statement``), as Hasura multiplexes its live queries::

    SELECT r.*, c.cohort
    FROM unnest($1::text[], $2::text[], ...) WITH ORDINALITY AS c(tenant_id, status, ..., cohort)
    JOIN LATERAL (<the request's statement, each value read from c>) AS r ON true
    ORDER BY c.cohort, <the statement's own order>

Each request's statement runs as it would alone, its every table read pinned to the request's
own tenant (``c.tenant_id``): the shard-routing rule holds per request. Row-level security, the
second wall, lets the statement see the batch's tenants only: a batch of several tenants reads as
the role ``sessions_gateway_live``, whose policies (``db/live_batches.sql``) admit the tenants of
``sessions_gateway.tenant_ids`` (``tenant_script`` of them, set on the connection's session, and
kept there: the same batch at the next round sends no ``SET``); a batch of one tenant reads as a
request of that tenant does. ``policies_admit_sets`` tells whether that role and its policies are
there (``init-db --grant-select-to``). PostgreSQL only, outside Citus (a join over many tenants is
not one shard's), on the driver pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import ARRAY, column, func, literal_column, select, text, true
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from sessions_gateway.db.engine import CANARY_FUNCTION_PROBE, CANARY_TENANT_PROBE
from sessions_gateway.db.reader import Record, Template, TenantReader, fetch_alone, record_type
from sessions_gateway.db.tables import sessions

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from sqlalchemy import Select
    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.sql import Executable

# Requests per statement (Hasura's default batch of cohorts).
BATCH_SIZE = 100
COHORT = "cohort"  # the batch statement's last column: the request's place in the batch, from 1
CORRELATION = "c"  # the cohorts' name in the batch statement
NO_TENANT = ""  # no tenant's id: the second tenant of ``policies_admit_sets``'s batch
PAGE_LIMIT = "page_limit"  # a page's size, bound in its batch form (``db/queries.py``)
_BEFORE = object()  # before the first row's session id


def batch_statement(template: Template) -> tuple[Template, tuple[str, ...]]:
    """``template``'s statement for many requests at once, and the names of its values in ``$n`` order.

    Each named value of ``template`` becomes one array parameter (``batch_<name>``) of the
    values of every request in the batch; the anonymous ones stay constants of the text.
    """
    found = _BATCHES.get(template)
    if found is not None:
        return found
    binds: dict[str, BindParameter[Any]] = {}
    for element in visitors.iterate(template.statement):
        if isinstance(element, BindParameter) and not element.unique:
            binds.setdefault(element.key, element)
    names = tuple(binds)
    cohorts = (
        func.unnest(*(_array(name, binds[name]) for name in names))
        .table_valued(*(column(name, binds[name].type) for name in names), with_ordinality=COHORT)
        .render_derived(name=CORRELATION)
    )

    def each_from_cohort(element: Any) -> Any:
        # By name (the lateral reads the cohort's row): a column object would add the cohorts to
        # every subquery's FROM, which does not know it is correlated.
        if isinstance(element, BindParameter) and not element.unique and element.key in binds:
            return literal_column(f"{CORRELATION}.{element.key}", element.type)
        return None

    replaced: Select[Any] = visitors.replacement_traverse(template.statement, {}, each_from_cohort)  # type: ignore[call-overload]
    inner = replaced.subquery().lateral("r")
    ordering = [inner.c[name].desc() if descending else inner.c[name].asc() for name, descending in template.order]
    statement = (
        select(*(inner.c[name] for name in template.columns), cohorts.c[COHORT])
        .select_from(cohorts.join(inner, true()))
        .order_by(cohorts.c[COHORT], *ordering)
    )
    found = (Template(statement), names)
    if len(_BATCHES) >= MAX_BATCH_STATEMENTS:
        _BATCHES.pop(next(iter(_BATCHES)))  # the oldest
    _BATCHES[template] = found
    return found


def _array(name: str, bind: BindParameter[Any]) -> BindParameter[Any]:
    """The array of every request's value of ``bind`` (each item bound as ``bind``'s type binds it)."""
    return BindParameter(f"batch_{name}", type_=ARRAY(bind.type))


# Batch statements by the template they batch (as many as ``db/queries.py`` keeps templates).
MAX_BATCH_STATEMENTS = 1024
_BATCHES: dict[Template, tuple[Template, tuple[str, ...]]] = {}


async def run_batch(
    engine: AsyncEngine, template: Template, requests: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[list[Record]]:
    """Each request's rows of ``template`` (a tenant, and the values it binds), read in one statement.

    The rows are the driver's records, in the request's order, each with a cohort last: read by
    position, as a lone statement's (``TenantReader.rows(named=False)``). Pages of one tenant and
    one set of values but their size (``PAGE_LIMIT``) are read once, the largest, and each gets its
    first sessions: a keyset page of N is the first N of a longer one, in the same order.
    """
    statement, names = batch_statement(template)
    shared, of = _shared_pages(requests) if PAGE_LIMIT in names else (list(requests), None)
    values = {f"batch_{name}": [request[name] for _, request in shared] for name in names}
    sql, arguments = statement.arguments(engine.dialect, values)
    tenants = tuple(sorted({tenant for tenant, _ in shared}))
    found = await fetch_alone(engine, tenants[0] if len(tenants) == 1 else tenants, sql, arguments)
    out: list[list[Record]] = [[] for _ in shared]
    at = len(template.columns)
    for row in found:
        out[row[at] - 1].append(row)
    if of is None:
        return out
    id_at = template.columns.index("id")
    return [
        _first_sessions(out[index], request[PAGE_LIMIT], id_at)
        for index, (_, request) in zip(of, requests, strict=True)
    ]


def _shared_pages(
    requests: Sequence[tuple[str, Mapping[str, Any]]],
) -> tuple[list[tuple[str, Mapping[str, Any]]], list[int] | None]:
    """The requests to read (a tenant's pages of the same values once, the largest), and where each asked is."""
    at: dict[Any, int] = {}
    shared: list[tuple[str, Mapping[str, Any]]] = []
    of: list[int] = []
    try:
        for tenant, values in requests:
            key = (tenant, tuple(sorted((name, value) for name, value in values.items() if name != PAGE_LIMIT)))
            index = at.get(key)
            if index is None:
                at[key] = index = len(shared)
                shared.append((tenant, values))
            elif values[PAGE_LIMIT] > shared[index][1][PAGE_LIMIT]:
                shared[index] = (tenant, values)
            of.append(index)
    except TypeError:  # a value that does not hash: each read as asked
        return list(requests), None
    return shared, of


def _first_sessions(rows: list[Record], limit: int, id_at: int) -> list[Record]:
    """The rows of the first ``limit`` sessions of ``rows`` (a session's procedures are rows of their own)."""
    taken: list[Record] = []
    seen = 0
    last: Any = _BEFORE
    for row in rows:
        session_id = row[id_at]
        if session_id != last:
            last = session_id
            seen += session_id is not None  # None: the one row of an empty page, its count alone
            if seen > limit:
                break
        taken.append(row)
    return taken


# How a batched reader reads its statement: given its tenant, the template and the values it binds.
Route: TypeAlias = "Callable[[str, Template, Mapping[str, Any]], Awaitable[list[Record]]]"


class BatchedReader(TenantReader):
    """A request's reader whose one statement joins a batch (``route``, given the tenant, the template, the values).

    Only a request that reads one statement alone (``one_statement``) is routed, and only its
    statement of a fixed text (a ``Template``); anything else reads as ``TenantReader`` does.
    ``routed``: the statement and values it routed; ``found``: the rows they read.
    """

    __slots__ = ("_route", "found", "routed")

    def __init__(self, engine: AsyncEngine, tenant_id: str, route: Route) -> None:
        super().__init__(engine, tenant_id)
        self._route = route
        self.routed: tuple[Template, Mapping[str, Any]] | None = None
        self.found: list[Record] | None = None

    async def rows(
        self, statement: Executable | Template, parameters: Mapping[str, Any] | None = None, *, named: bool = True
    ) -> list[Record]:
        if not (self._alone and isinstance(statement, Template)):
            return await super().rows(statement, parameters, named=named)
        self._alone = False
        values = parameters or {}
        batch = statement.batch
        if batch is not None:  # the form of it that batches with more of its shape
            statement, values = batch[0], {**values, **batch[1]}
        self.routed = (statement, values)
        found = await self._route(self.tenant_id, statement, values)
        self.found = found
        if named:
            make = record_type(statement.columns)
            return [tuple.__new__(make, tuple(row)[: len(statement.columns)]) for row in found]
        return found


async def policies_admit_sets(engine: AsyncEngine) -> bool | None:
    """Whether a batch of several tenants may read each of them; ``None``: nothing to prove it with.

    Reads, as a batch reads (``tenant_script`` of two tenants: the canary's and one that is no
    tenant's, as ``sessions_gateway_live``), one live session of the tenant ``gw_canary_tenant()``
    names (``db/canary.sql``). False when the gateway's role may not become that role, or its
    policies are missing (no row). ``None`` without the canary's function or a live session (as
    the canary skips).
    """
    async with engine.connect() as conn:
        probe = (await conn.execute(text(CANARY_FUNCTION_PROBE))).one()
        if not (probe.present and probe.callable):
            return None
        tenant_id = await conn.scalar(text(CANARY_TENANT_PROBE))
    if tenant_id is None:
        return None
    statement = Template(
        select(sessions.c.id).where(sessions.c.tenant_id == tenant_id, sessions.c.deleted_at.is_(None)).limit(1)
    )
    sql, arguments = statement.arguments(engine.dialect, {})
    try:
        rows = await fetch_alone(engine, tuple(sorted((tenant_id, NO_TENANT))), sql, arguments)
    except DBAPIError:  # no such role, or not a member of it: batches of one tenant
        return False
    return bool(rows)
