"""The move to Citus: ``db/tenant_keys.sql`` run on PostgreSQL, ``db/citus.sql`` parsed.

The keys migration runs on a database made from the storage contract's own ``storage.sql`` and
filled with the test dataset, behind the gateway's functions, indexes and row-level security as
``init-db`` leaves them. The gateway then answers what it answers on the suite's unmigrated
database, on both execution paths, and keeps apart two tenants whose rows share every id, which
only the migrated keys allow. The Citus calls cannot run on stock PostgreSQL: PostgreSQL's parser
(pglast) reads them, and the test checks what they distribute, by which column, and with what.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from pglast import ast, parse_sql
from pglast.enums import TransactionStmtKind
from sqlalchemy.engine import make_url

from sessions_gateway.db.engine import READ_TABLES, make_engine
from sessions_gateway.db.tables import metadata
from tests import factories as f
from tests.conftest import (
    POSTGRES_URL,
    STORAGE_SQL,
    as_role,
    audited,
    create_postgres_database,
    create_reader_role,
    drop_postgres_database,
    drop_role,
    http_client,
    insert,
    load,
    run_script,
    shared_contract,
)
from tests.dataset import ALPHA, BETA, DATA, DELTA, Dataset
from tests.helpers import SESSION_NODE, WHOLE_REPORT, post
from tests.readme import block_after

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from sessions_gateway.gateway.config import Settings

ROOT = Path(__file__).resolve().parents[2]
TENANT_KEYS = ROOT / "db" / "tenant_keys.sql"
CITUS = ROOT / "db" / "citus.sql"
# A copy of the storage contract travels with the tests; where the shared original sits beside the
# checkout, the copy is checked against it.
STORAGE = STORAGE_SQL

EPSILON = "epsilon"  # on the migrated database: alpha's rows again, every id the same
NOW = datetime(2026, 11, 24, 9, 41, 7, tzinfo=UTC)  # a-04 has been in progress since 08:00

needs_postgresql = pytest.mark.skipif(POSTGRES_URL is None, reason="runs the migration: set GATEWAY_TEST_POSTGRES_URL")
on_postgresql = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

# What the migration leaves, as PostgreSQL prints each constraint: every key and every foreign key
# between the tenant's tables leads with tenant_id (Citus's rule for distributed tables).
MIGRATED_KEYS = {
    ("tenants", "PRIMARY KEY (id)"),
    ("users", "PRIMARY KEY (tenant_id, id)"),
    ("users", "FOREIGN KEY (tenant_id) REFERENCES tenants(id)"),
    ("tasks", "PRIMARY KEY (tenant_id, id)"),
    ("tasks", "FOREIGN KEY (tenant_id) REFERENCES tenants(id)"),
    ("sessions", "PRIMARY KEY (tenant_id, id)"),
    ("sessions", "FOREIGN KEY (tenant_id) REFERENCES tenants(id)"),
    ("sessions", "FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)"),
    ("sessions", "FOREIGN KEY (tenant_id, task_id) REFERENCES tasks(tenant_id, id)"),
    ("recordings", "PRIMARY KEY (tenant_id, session_id)"),
    ("recordings", "FOREIGN KEY (tenant_id) REFERENCES tenants(id)"),
    ("recordings", "FOREIGN KEY (tenant_id, session_id) REFERENCES sessions(tenant_id, id)"),
    ("procedures", "PRIMARY KEY (tenant_id, id)"),
    ("procedures", 'UNIQUE (tenant_id, session_id, "position")'),
    ("procedures", "FOREIGN KEY (tenant_id) REFERENCES tenants(id)"),
    ("procedures", "FOREIGN KEY (tenant_id, session_id) REFERENCES sessions(tenant_id, id)"),
    ("session_summaries", "PRIMARY KEY (tenant_id, session_id)"),
    ("session_summaries", "FOREIGN KEY (tenant_id) REFERENCES tenants(id)"),
    ("session_summaries", "FOREIGN KEY (tenant_id, session_id) REFERENCES sessions(tenant_id, id)"),
}
KEYS = """
SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint
WHERE connamespace = current_schema()::regnamespace AND contype IN ('p', 'u', 'f')
"""


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def keys_of(url: str) -> set[tuple[str, str]]:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        return {(table, definition) for table, definition in await conn.fetch(KEYS)}
    finally:
        await conn.close()


def copy_of_alpha(tenant_id: str) -> Dataset:
    """Alpha's rows under ``tenant_id``, with the same ids."""

    def of_alpha(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [row | {"tenant_id": tenant_id} for row in rows if row["tenant_id"] == ALPHA]

    return Dataset(
        tenants=[f.tenant(tenant_id)],
        **{name: of_alpha(rows) for name, rows in DATA.tables() if name != "tenants"},
    )


def citus_call(statement: ast.Node) -> tuple[str, list[str], dict[str, str]]:
    """A ``SELECT f('a', 'b', c => 'd')`` statement as ``('f', ['a', 'b'], {'c': 'd'})``."""
    assert isinstance(statement, ast.SelectStmt), statement
    assert statement.fromClause is None
    (target,) = statement.targetList or ()
    assert isinstance(target, ast.ResTarget)
    call = target.val
    assert isinstance(call, ast.FuncCall), call
    positional, named = [], {}
    for argument in call.args or ():
        if isinstance(argument, ast.NamedArgExpr):
            named[str(argument.name)] = string(argument.arg)
        else:
            positional.append(string(argument))
    return ".".join(n.sval for n in call.funcname or ()), positional, named


def string(node: ast.Node | None) -> str:
    """The value of a string literal."""
    assert isinstance(node, ast.A_Const), node
    assert isinstance(node.val, ast.String), node
    return str(node.val.sval)


# --------------------------------------------------------------------------------------------
# The Citus calls: parsed, never run
# --------------------------------------------------------------------------------------------


# What db/citus.sql sets for its own transaction before the calls (docs/operations.md, "Beyond one database: Citus").
CITUS_SETTINGS = {
    # with the coordinator in Citus's metadata, tables referencing the reference table would
    # otherwise become Citus local tables, which cannot then reference distributed ones
    "citus.enable_local_reference_table_foreign_keys": "off",
    # Citus accepts the calls in one transaction block only over one connection per node
    "citus.multi_shard_modify_mode": "sequential",
}


def test_the_citus_calls_run_in_one_transaction_that_applies_whole_or_not_at_all() -> None:
    extension, begin, *middle, commit = parse_sql(CITUS.read_text(encoding="utf-8"))
    assert isinstance(extension.stmt, ast.CreateExtensionStmt)
    assert isinstance(begin.stmt, ast.TransactionStmt)
    assert begin.stmt.kind == TransactionStmtKind.TRANS_STMT_BEGIN
    assert isinstance(commit.stmt, ast.TransactionStmt)
    assert commit.stmt.kind == TransactionStmtKind.TRANS_STMT_COMMIT
    settings = [raw.stmt for raw in middle if isinstance(raw.stmt, ast.VariableSetStmt)]
    # first thing in the transaction, and for the transaction only
    assert [raw.stmt for raw in middle[: len(settings)]] == settings
    assert all(setting.is_local for setting in settings)
    assert {str(s.name): string(s.args[0]) for s in settings if s.args} == CITUS_SETTINGS
    assert all(isinstance(raw.stmt, ast.SelectStmt) for raw in middle[len(settings) :])


def test_the_citus_calls_distribute_every_contract_table_by_tenant_id_in_one_colocation_group() -> None:
    extension, *rest = parse_sql(CITUS.read_text(encoding="utf-8"))
    assert isinstance(extension.stmt, ast.CreateExtensionStmt)
    assert extension.stmt.extname == "citus"
    rest = [raw for raw in rest if isinstance(raw.stmt, ast.SelectStmt)]  # the calls, in the transaction
    calls = [citus_call(raw.stmt) for raw in rest if raw.stmt is not None]
    assert len(calls) == len(rest)
    # tenants on every node; the tables the gateway reads distributed by tenant_id
    reference = [args for name, args, _ in calls if name == "create_reference_table"]
    distributed = {args[0]: (args[1:], named) for name, args, named in calls if name == "create_distributed_table"}
    assert reference == [["tenants"]]
    assert len(reference) + len(distributed) == len(calls)
    assert set(distributed) == set(READ_TABLES)
    assert {"tenants", *distributed} == set(metadata.tables)
    assert {tuple(columns) for columns, _ in distributed.values()} == {("tenant_id",)}
    assert all("tenant_id" in metadata.tables[table].c for table in distributed)
    # one co-location group: the first table distributed, and every other one co-located with it
    anchor = next(iter(distributed))
    colocation = {table: named for table, (_, named) in distributed.items()}
    assert colocation == {table: {"colocate_with": anchor} if table != anchor else {} for table in distributed}
    # each after the tables its foreign keys reference (Citus refuses a key to a local table)
    made: list[str] = []
    for _, args, _ in calls:
        table = metadata.tables[args[0]]
        assert {key.column.table.name for key in table.foreign_keys} <= set(made), table.name
        made.append(table.name)


def test_the_readme_shows_the_citus_calls_of_db_citus_sql() -> None:
    # the operators' page, in its section on Citus
    block = block_after("## Beyond one database: Citus")
    assert block.page == ROOT / "docs" / "operations.md"
    assert block.language == "sql"
    assert parse_sql(block.code) == parse_sql(CITUS.read_text(encoding="utf-8"))


def test_the_storage_contract_copy_is_current() -> None:
    assert STORAGE.read_text(encoding="utf-8") == shared_contract("storage.sql").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# The keys migration: run on PostgreSQL
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def migrated() -> AsyncIterator[str]:
    """A database made from storage.sql, initialised and filled as the suite's, then migrated; its owner's URL.

    After the migration it also holds tenant ``epsilon``: a copy of alpha's rows with the same ids.
    """
    url = await create_postgres_database()
    try:
        await run_script(url, STORAGE.read_text(encoding="utf-8"))
        await load(url)  # init-db (the gateway's functions, indexes and policies) and the dataset
        await run_script(url, TENANT_KEYS.read_text(encoding="utf-8"))
        await insert(url, copy_of_alpha(EPSILON))
        yield url
    finally:
        await drop_postgres_database(url)


@needs_postgresql
async def test_the_migration_leads_every_key_with_tenant_id(migrated: str) -> None:
    keys = await keys_of(migrated)
    assert keys == MIGRATED_KEYS
    # Citus's rule, spelled out: on a distributed table, every key and every foreign key but those to
    # the reference table has tenant_id among its columns (first, here), on both sides
    for table, definition in keys:
        if table in READ_TABLES and "REFERENCES tenants(" not in definition:
            assert all(cols.startswith("tenant_id,") for cols in re.findall(r"\(([^)]*)\)", definition)), definition


@needs_postgresql
async def test_the_migration_refuses_a_row_that_points_at_another_tenants_row_and_changes_nothing() -> None:
    url = await create_postgres_database()
    try:
        # given: the contract's tables, and a session of beta run by a user of alpha (the ids allow it)
        await run_script(url, STORAGE.read_text(encoding="utf-8"))
        await insert(
            url,
            Dataset(
                tenants=[f.tenant(ALPHA), f.tenant(BETA)],
                users=[f.user("u-1", ALPHA, "Una")],
                sessions=[f.session("s-1", BETA, "u-1")],
            ),
        )
        before = await keys_of(url)
        # when
        with pytest.raises(asyncpg.ForeignKeyViolationError, match="sessions_tenant_id_user_id_fkey"):
            await run_script(url, TENANT_KEYS.read_text(encoding="utf-8"))
        # then: the contract's keys, as they were
        assert await keys_of(url) == before
        assert ("sessions", "FOREIGN KEY (user_id) REFERENCES users(id)") in before
    finally:
        await drop_postgres_database(url)


LIST = (
    """
query List($filter: SessionFilter) {
  sessions(filter: $filter, first: 100) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    edges { node { ...Node } }
  }
}
"""
    + SESSION_NODE
)
DETAIL = '{ session(id: "a-01") { id name user { displayName } procedures { name } summary { score } } }'
OPERATIONS = [
    (LIST, None),
    (LIST, {"search": "boiler", "taskSource": "jobber"}),
    (DETAIL, None),
    (WHOLE_REPORT, None),
    (WHOLE_REPORT, {"status": "COMPLETED", "taskSource": "JOBBER"}),
]


@pytest.fixture
async def migrated_clients(migrated: str, settings: Settings) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Clients of the gateway on the migrated database (as a reader role), compiled plans on and off."""
    role = await create_reader_role(migrated)
    try:
        on_migrated = dataclasses.replace(settings, database_url=as_role(migrated, role))
        async with (
            audited(on_migrated) as compiled,
            audited(dataclasses.replace(on_migrated, compiled_plans=False)) as executor,
            http_client(compiled) as compiled_client,
            http_client(executor) as executor_client,
        ):
            yield [compiled_client, executor_client]
    finally:
        owner = make_engine(migrated, read_only=False)
        async with owner.begin() as conn:
            await conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
        await owner.dispose()
        await drop_role(role)


@needs_postgresql
@on_postgresql
async def test_the_gateway_answers_the_same_on_the_migrated_keys_and_keeps_tenants_with_the_same_ids_apart(
    client: httpx.AsyncClient, migrated_clients: list[httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sessions_gateway.gateway.context.clock", lambda: NOW)
    for query, flt in OPERATIONS:
        variables = {"filter": flt} if flt is not None else None
        for tenant in (ALPHA, BETA, DELTA):
            # when: the same request on the suite's database and, on both paths, on the migrated one
            before = await post(client, query, variables, tenant=tenant)
            assert before.status_code == 200
            assert "errors" not in before.json(), before.json()
            after = [await post(c, query, variables, tenant=tenant) for c in migrated_clients]
            # then: the same bytes
            assert [a.content for a in after] == [before.content] * 2, (query, flt, tenant)
            if tenant == ALPHA:
                # and epsilon, alpha's rows again under the same ids, reads alpha's answer: not alpha's rows too
                copies = [await post(c, query, variables, tenant=EPSILON) for c in migrated_clients]
                assert [c.content for c in copies] == [before.content] * 2, (query, flt)
