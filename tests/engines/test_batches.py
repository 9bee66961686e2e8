"""A batch of many requests' statements reads, for each request, exactly what its statement reads alone.

Look-alike tenants (case, spaces, quotes, commas, braces, backslashes: what an array literal must
quote) share one batch behind row-level security, which then admits all of them: a table read
the batch statement did not pin to each request's own tenant would show another's rows. The
oracle is each request's own statement, run alone as a request runs it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sessions_gateway.db import queries
from sessions_gateway.db.batch import BATCH_SIZE, batch_statement, policies_admit_sets, run_batch
from sessions_gateway.db.engine import make_engine
from sessions_gateway.db.filters import ListOrder, SessionCriteria
from sessions_gateway.db.reader import Template, TenantReader, fetch_alone, tenant_script
from sessions_gateway.db.relations import Relation
from sessions_gateway.db.tables import sessions
from tests import factories as f
from tests.conftest import (
    as_role,
    create_postgres_database,
    create_reader_role,
    drop_postgres_database,
    drop_role,
    load,
)
from tests.dataset import Dataset
from tests.routing import routed_tenant

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.skipif(
    not os.environ.get("GATEWAY_TEST_POSTGRES_URL"), reason="batches are PostgreSQL's (GATEWAY_TEST_POSTGRES_URL)"
)

TENANTS = ["acme", "Acme", "acme ", 'ac"me', "ac,me", "{acme}", "ac\\me", "acme,Acme", "NULL", "é-acme"]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def dataset() -> Dataset:
    """Each look-alike tenant with sessions of every status and role, some with procedures and a summary."""
    d = Dataset(tenants=[f.tenant(t) for t in TENANTS], users=[], sessions=[])
    for n, tenant in enumerate(TENANTS):
        d.users.append(f.user(f"u{n}", tenant, f"User {n}"))
        for k in range(6):
            sid = f"s{n}-{k}"
            status = ("completed", "in_progress", "failed")[k % 3]
            d.sessions.append(
                f.session(
                    sid,
                    tenant,
                    f"u{n}",
                    status=status,
                    role=("trainer", "trainee")[k % 2],
                    name=f"{tenant} {k}",
                    started_at=T0 + timedelta(hours=k, minutes=n),
                    completed_at=T0 + timedelta(hours=k, minutes=n + 30) if status == "completed" else None,
                )
            )
            if k % 2 == 0:
                d.procedures.extend(f.procedure(f"p{n}-{k}-{i}", tenant, sid, i) for i in range(1, 3))
                d.session_summaries.append(f.summary(sid, tenant, score=50 + k))
    return d


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    """The gateway's engine over ``dataset()``: a role that may only SELECT, behind row-level security."""
    owner = await create_postgres_database()
    role = None
    try:
        await load(owner, dataset())
        role = await create_reader_role(owner)
        reader = make_engine(as_role(owner, role))
        try:
            yield reader
        finally:
            await reader.dispose()
    finally:
        await drop_postgres_database(owner)
        if role is not None:
            await drop_role(role)


class Captured:
    """A reader that keeps the one statement a page asks for, and reads nothing."""

    def __init__(self) -> None:
        self.template: Template | None = None
        self.values: Mapping[str, Any] = {}

    async def rows(self, template: Template, values: Mapping[str, Any], *, named: bool = True) -> list[Any]:
        self.template, self.values = template, values
        return []


async def statement_of(window: queries.Window, relations: frozenset[Relation], *, total: bool) -> tuple[Template, Any]:
    """The template a page of ``window`` reads, and its values (as ``BatchedReader`` routes them)."""
    captured = Captured()
    await queries.page_joined(captured, window, relations=relations, total=total)  # type: ignore[arg-type]
    assert captured.template is not None
    template, values = captured.template, dict(captured.values)
    batch = template.batch
    if batch is not None:
        template, values = batch[0], {**values, **batch[1]}
    return template, values


async def alone(
    engine: AsyncEngine, tenant: str, template: Template, values: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    reader = TenantReader(engine, tenant)
    reader.one_statement()
    try:
        return [tuple(row) for row in await reader.rows(template, values, named=False)]
    finally:
        await reader.close()


requests = st.lists(
    st.tuples(
        st.sampled_from(TENANTS),
        st.sampled_from([None, "completed", "in_progress"]),
        st.integers(1, 7),  # page sizes: one batch statement for all of them
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    asked=requests,
    order=st.sampled_from(list(ListOrder)),
    relations=st.sampled_from(
        [
            frozenset(),
            frozenset({Relation.USER, Relation.PROCEDURE_COUNT}),
            frozenset({Relation.PROCEDURES, Relation.SUMMARY}),
        ]
    ),
    total=st.booleans(),
)
async def test_each_request_of_a_batch_reads_exactly_its_own_rows(
    engine: AsyncEngine,
    asked: list[tuple[str, str | None, int]],
    order: ListOrder,
    relations: frozenset[Relation],
    total: bool,  # noqa: FBT001  (hypothesis gives it by name)
) -> None:
    batch: list[tuple[str, Mapping[str, Any]]] = []
    template = None
    for tenant, status, size in asked:
        window = queries.Window(
            tenant_id=tenant,
            filter_=SessionCriteria(status=(status or "failed") if asked[0][1] is not None else None),  # one shape
            order=order,
            after=None,
            before=None,
            limit=size + 1,
            from_end=False,
        )
        template, values = await statement_of(window, relations, total=total)
        batch.append((tenant, values))
    assert template is not None
    found = await run_batch(engine, template, batch)
    width = len(template.columns)
    for (tenant, values), rows in zip(batch, found, strict=True):
        assert [tuple(row)[:width] for row in rows] == await alone(engine, tenant, template, values)
        assert rows or not any(s for s in dataset().sessions if s["tenant_id"] == tenant)


async def test_a_detail_batch_reads_each_tenants_session_and_never_a_look_alikes(engine: AsyncEngine) -> None:
    relations = frozenset({Relation.USER, Relation.PROCEDURES, Relation.SUMMARY})
    captured = Captured()
    await queries.session_joined(captured, tenant_id="acme", session_id="s0-0", relations=relations)  # type: ignore[arg-type]
    template = captured.template
    assert template is not None
    # every tenant asks for acme's first session, and for its own
    batch = [(t, {"tenant_id": t, "session_id": sid}) for t in TENANTS for sid in ("s0-0", f"s{TENANTS.index(t)}-0")]
    found = await run_batch(engine, template, batch)
    for (tenant, values), rows in zip(batch, found, strict=True):
        own = values["session_id"] == f"s{TENANTS.index(tenant)}-0"
        assert bool(rows) is own, (tenant, values)
        assert [tuple(r)[: len(template.columns)] for r in rows] == await alone(engine, tenant, template, values)


async def test_a_batch_of_more_than_a_hundred_is_refused_by_no_one_and_split_by_the_loader(engine: AsyncEngine) -> None:
    # run_batch itself takes any number (the loader splits at BATCH_SIZE): 3 x BATCH_SIZE in one statement
    window = queries.Window(
        tenant_id="acme",
        filter_=SessionCriteria(),
        order=ListOrder.STARTED_AT_DESC,
        after=None,
        before=None,
        limit=3,
        from_end=False,
    )
    template, values = await statement_of(window, frozenset(), total=False)
    batch = [
        (TENANTS[i % len(TENANTS)], {**values, "tenant_id": TENANTS[i % len(TENANTS)]}) for i in range(3 * BATCH_SIZE)
    ]
    found = await run_batch(engine, template, batch)
    assert [len(rows) for rows in found] == [3] * (3 * BATCH_SIZE)
    assert all(
        row[1] == f"u{TENANTS.index(tenant)}" for (tenant, _), rows in zip(batch, found, strict=True) for row in rows
    )


async def test_the_batch_statement_binds_one_array_per_value_and_orders_by_cohort(engine: AsyncEngine) -> None:
    window = queries.Window(
        tenant_id="acme",
        filter_=SessionCriteria(role="trainer"),
        order=ListOrder.DURATION_DESC,
        after=None,
        before=None,
        limit=4,
        from_end=False,
    )
    template, _ = await statement_of(window, frozenset({Relation.PROCEDURES}), total=True)
    statement, names = batch_statement(template)
    sql, _slots = statement.compiled(engine.dialect)
    assert names == ("tenant_id", "role", "page_limit")
    assert "WITH ORDINALITY AS c(tenant_id, role, page_limit, cohort)" in sql
    assert "JOIN LATERAL" in sql
    assert sql.rstrip().endswith("ORDER BY c.cohort, r.sort_key DESC, r.id DESC, r.procedures__position ASC")


async def test_policies_of_this_release_admit_a_set_and_a_set_never_admits_another_tenant(engine: AsyncEngine) -> None:
    assert await policies_admit_sets(engine) is True
    ids = Template(select(sessions.c.tenant_id).distinct())  # no tenant filter: RLS alone
    sql, arguments = ids.arguments(engine.dialect, {})
    seen = await fetch_alone(engine, ("Acme", 'ac"me', "ac,me"), sql, arguments)
    assert sorted(row[0] for row in seen) == ["Acme", 'ac"me', "ac,me"]
    seen = await fetch_alone(engine, "acme,Acme", sql, arguments)
    assert [row[0] for row in seen] == ["acme,Acme"]
    assert tenant_script(("a", "b")).startswith("SET ROLE sessions_gateway_live; SET sessions_gateway.tenant_id = ''")


async def test_a_requests_statement_is_checked_by_the_one_tenant_policy_alone_a_batchs_by_the_live_roles_too(
    engine: AsyncEngine,
) -> None:
    explain = "EXPLAIN SELECT count(*) FROM sessions WHERE tenant_id = 'acme'"
    # a request: the one-tenant policy, checked once (a one-time filter), nothing per row
    request = "\n".join(row[0] for row in await fetch_alone(engine, "acme", explain, []))
    assert "One-Time Filter" in request
    assert "tenant_ids" not in request
    # a batch (and the same connection back to a request: the gateway's own role again)
    batch = "\n".join(row[0] for row in await fetch_alone(engine, ("Acme", "acme"), explain, []))
    assert "tenant_ids" in batch
    again = "\n".join(row[0] for row in await fetch_alone(engine, "acme", explain, []))
    assert "tenant_ids" not in again


@pytest.mark.parametrize(
    "relations",
    [frozenset(), frozenset({Relation.USER, Relation.TASK, Relation.PROCEDURE_COUNT}), frozenset(Relation)],
    ids=["page", "to-one", "every-relation"],
)
async def test_each_cohorts_statement_in_a_batch_routes_to_its_own_tenant_alone(
    engine: AsyncEngine, relations: frozenset[Relation]
) -> None:
    # the shard-routing rule (tests/routing.py), per cohort: the batch's LATERAL body, the cohort's
    # values as parameters, pins every table it reads to the cohort's tenant
    window = queries.Window(
        tenant_id="acme",
        filter_=SessionCriteria(status="completed", search="acme"),
        order=ListOrder.COMPLETED_AT_DESC,
        after=None,
        before=None,
        limit=6,
        from_end=False,
    )
    for total in (False, True):
        template, _ = await statement_of(window, relations, total=total)
        statement, names = batch_statement(template)
        sql, _slots = statement.compiled(engine.dialect)
        body = sql[sql.index("JOIN LATERAL (") + len("JOIN LATERAL (") : sql.rindex(") AS r ON true")]
        constants = max((int(n) for n in re.findall(r"\$(\d+)", body)), default=0)
        parameters: list[Any] = [None] * constants
        for name in names:
            parameters.append(f"the cohort's {name}")
            body = re.sub(rf"\bc\.{name}\b", f"${len(parameters)}", body)
        assert re.search(r"\bc\.\w", body) is None  # every cohort value a parameter now
        assert routed_tenant(body, parameters) == "the cohort's tenant_id"
