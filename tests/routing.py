"""Would a statement route to one shard? The rule Citus's router planner applies, checked on PostgreSQL's parse tree.

With the tables distributed by ``tenant_id`` and co-located (``db/citus.sql``), Citus sends a statement
to a single shard when every distributed table it reads, in every (sub)query, is restricted to one
value of ``tenant_id``, the same value for all of them. ``routed_tenant`` checks a statement for
exactly that, on the tree PostgreSQL's own parser builds (pglast), and answers the one tenant it reads.

A table counts as restricted in its scope (one ``SELECT``, subqueries apart) when a conjunct
``<its name or alias>.tenant_id = $n`` filters its rows: a top-level ``AND`` term of the ``WHERE``, or
of a join's ``ON`` that filters that side (both sides of an inner join, the nullable side of an outer
join: ``ON`` never removes a row of the preserved side). Also when such a conjunct equates its
``tenant_id`` with that of a table restricted in the same scope. Nothing else counts: not an ``OR``,
not a ``NOT``, not a reference to an outer query's table from inside a subquery.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, BoolExprType, JoinType, SetOperation
from pglast.visitors import Visitor

from sessions_gateway.db.engine import READ_TABLES

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from pglast.visitors import Ancestor

DISTRIBUTED = frozenset(READ_TABLES)  # distributed by tenant_id, co-located
REFERENCE = frozenset({"tenants"})  # copied to every node: reading it routes anywhere
DISTRIBUTION_COLUMN = "tenant_id"
# A parameter compared with tenant_id as it is, or cast to a text type (asyncpg binds `$1::VARCHAR`).
TEXT_TYPES = frozenset({"text", "varchar", "bpchar"})


class NotRoutable(AssertionError):
    """The statement may read more than one tenant's shard; the message says which table, and why."""


@dataclass(frozen=True, slots=True)
class _Table:
    name: str  # as the scope refers to it: the alias, else the table's name
    relation: str
    location: int


@dataclass(frozen=True, slots=True)
class _Conjunct:
    expression: ast.Node
    filters: frozenset[str]  # names of the scope's tables whose rows it removes


class _Selects(Visitor):
    """Every ``SELECT`` of a statement: the statement itself, its subqueries and CTEs, at any depth."""

    def __init__(self) -> None:
        self.found: list[ast.SelectStmt] = []

    def visit_SelectStmt(self, _ancestors: Ancestor, node: ast.SelectStmt) -> None:  # noqa: N802  (pglast's name)
        self.found.append(node)


@dataclass(frozen=True, slots=True)
class Shape:
    """What routing needs of a statement's text, whatever its parameters' values."""

    tables: frozenset[str]  # the tables it reads
    pins: frozenset[int]  # n of each $n that pins a distributed table's tenant_id
    problems: tuple[str, ...]  # why a table may be read beyond one shard


@cache
def shape(sql: str) -> Shape:
    """``sql``'s tables and tenant pins, parsed once per text (a request's statements repeat)."""
    statements = parse_sql(sql)
    if len(statements) != 1 or not isinstance(statements[0].stmt, ast.SelectStmt):
        return Shape(frozenset(), frozenset(), ("not one SELECT statement",))
    selects = _Selects()
    selects(statements[0])
    ctes = {cte.ctename or "" for select in selects.found for cte in _ctes(select)}
    problems = [f"a CTE named {name} hides the table" for name in sorted(ctes & (DISTRIBUTED | REFERENCE))]
    tables: list[_Table] = []
    pins: set[int] = set()
    for select in selects.found:
        problems += _check_scope(select, ctes, tables, pins)
    return Shape(frozenset(t.relation for t in tables), frozenset(pins), tuple(problems))


def routed_tenant(sql: str, parameters: Sequence[Any] = ()) -> Any:
    """The one ``tenant_id`` value that pins every distributed table ``sql`` reads; None if it reads none.

    ``parameters`` are the values bound to ``$1``, ``$2``, ... Raises ``NotRoutable`` when a table is not
    pinned, or when the pins bind different values.
    """
    found = shape(sql)
    problems = list(found.problems)
    tenants = set()
    for number in sorted(found.pins):
        if not 0 < number <= len(parameters):
            problems.append(f"${number} pins tenant_id but no value is bound to it")
        else:
            tenants.add(parameters[number - 1])
    if len(tenants) > 1:
        problems.append(f"tenant_id is pinned to several values: {sorted(map(repr, tenants))}")
    if problems:
        raise NotRoutable("\n".join([*problems, sql]))
    return next(iter(tenants), None)


def _ctes(select: ast.SelectStmt) -> Iterator[ast.CommonTableExpr]:
    if select.withClause is not None:
        yield from select.withClause.ctes or ()


def _check_scope(select: ast.SelectStmt, ctes: set[str], found: list[_Table], pins: set[int]) -> list[str]:
    """What keeps ``select``'s own FROM from routing to one shard.

    Adds the scope's tables to ``found``, and the parameters pinning them to ``pins``.
    """
    if select.op != SetOperation.SETOP_NONE:
        return []  # UNION and friends: each arm is a SELECT of its own
    tables: list[_Table] = []
    conjuncts: list[_Conjunct] = []
    for item in select.fromClause or ():
        _from_item(item, ctes, tables, conjuncts)
    names = frozenset(t.name for t in tables)
    conjuncts += [_Conjunct(c, names) for c in _and_terms(select.whereClause)]
    sole = next(iter(names)) if len(select.fromClause or ()) == 1 and len(tables) == 1 else None
    pinned = _pinned(conjuncts, names, sole)
    problems = []
    for table in tables:
        shown = table.relation if table.name == table.relation else f"{table.relation} AS {table.name}"
        if table.relation in REFERENCE:
            continue
        if table.relation not in DISTRIBUTED:
            problems.append(f"{shown} (at {table.location}) is neither distributed nor a reference table")
        elif table.name not in pinned:
            problems.append(f"{shown} (at {table.location}) is not restricted to one tenant_id")
        else:
            pins.update(pinned[table.name])
    found += tables
    return problems


def _pinned(conjuncts: list[_Conjunct], names: frozenset[str], sole: str | None) -> dict[str, set[int]]:
    """The parameters each of the scope's tables (by name) has its ``tenant_id`` pinned to by ``conjuncts``."""
    pinned: dict[str, set[int]] = {}
    links: list[tuple[str, str, frozenset[str]]] = []  # a.tenant_id = b.tenant_id, and whom it filters
    for conjunct in conjuncts:
        sides = _equality(conjunct.expression)
        if sides is None:
            continue
        columns = [_tenant_column(side, names, sole) for side in sides]
        numbers = [_parameter(side) for side in sides]
        for column, number in ((columns[0], numbers[1]), (columns[1], numbers[0])):
            if column is not None and number is not None and column in conjunct.filters:
                pinned.setdefault(column, set()).add(number)
        if columns[0] is not None and columns[1] is not None:
            links += [(columns[0], columns[1], conjunct.filters), (columns[1], columns[0], conjunct.filters)]
    changed = True
    while changed:  # a table joined on tenant_id to a pinned one is pinned to the same parameters
        changed = False
        for name, other, filters in links:
            if name in filters and other in pinned and not pinned[other] <= pinned.get(name, set()):
                pinned.setdefault(name, set()).update(pinned[other])
                changed = True
    return pinned


def _from_item(node: ast.Node, ctes: set[str], tables: list[_Table], conjuncts: list[_Conjunct]) -> frozenset[str]:
    """Adds the tables of one FROM item (joins walked) and its joins' ON conjuncts; the names it brings."""
    if isinstance(node, ast.RangeVar):
        relation = node.relname or ""
        if node.schemaname is None and relation in ctes:
            return frozenset()  # a CTE: its own SELECT is checked as a scope
        name = node.alias.aliasname if node.alias is not None and node.alias.aliasname else relation
        tables.append(_Table(name, relation, node.location or 0))
        return frozenset({name})
    if isinstance(node, ast.JoinExpr):
        assert node.larg is not None
        assert node.rarg is not None
        left = _from_item(node.larg, ctes, tables, conjuncts)
        right = _from_item(node.rarg, ctes, tables, conjuncts)
        # whose rows the ON removes: both sides of an inner join, the nullable side of an outer one
        filters = {JoinType.JOIN_INNER: left | right, JoinType.JOIN_LEFT: right, JoinType.JOIN_RIGHT: left}
        filtered = filters.get(node.jointype, frozenset()) if node.jointype is not None else frozenset()
        conjuncts += [_Conjunct(c, filtered) for c in _and_terms(node.quals)]
        return left | right
    return frozenset()  # a subquery or a function: a scope of its own, or no table


def _and_terms(node: ast.Node | None) -> list[ast.Node]:
    if node is None:
        return []
    if isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.AND_EXPR:
        return [term for arg in node.args or () for term in _and_terms(arg)]
    return [node]


def _equality(node: ast.Node) -> tuple[ast.Node, ast.Node] | None:
    if not isinstance(node, ast.A_Expr) or node.kind != A_Expr_Kind.AEXPR_OP:
        return None
    if [name.sval for name in node.name or ()] != ["="]:
        return None
    if not isinstance(node.lexpr, ast.Node) or not isinstance(node.rexpr, ast.Node):
        return None
    return node.lexpr, node.rexpr


def _tenant_column(node: ast.Node, names: frozenset[str], sole: str | None) -> str | None:
    """The name of the scope's table whose ``tenant_id`` ``node`` is, if it is one."""
    if not isinstance(node, ast.ColumnRef):
        return None
    fields = [getattr(f, "sval", None) for f in node.fields or ()]
    if not fields or fields[-1] != DISTRIBUTION_COLUMN:
        return None
    if len(fields) == 1:
        return sole
    qualifier = fields[-2]
    return qualifier if qualifier in names else None


def _parameter(node: ast.Node) -> int | None:
    """``n`` when ``node`` is ``$n``, as it is or cast to a text type."""
    if isinstance(node, ast.TypeCast) and node.typeName is not None:
        type_name = [getattr(n, "sval", None) for n in node.typeName.names or ()]
        if type_name and type_name[-1] in TEXT_TYPES and node.arg is not None:
            node = node.arg
    return node.number if isinstance(node, ast.ParamRef) else None
