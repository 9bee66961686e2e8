"""Compiled plans: a validated query answered straight from rows, without Strawberry's executor.

A plan is compiled once per document text and operation name (a bounded LRU). It holds the
operation's field tree, collected with graphql-core's own field collection (aliases, fragments,
inline fragments, ``@skip``/``@include``), once per combination of the variables those
directives read. Running it coerces the variables, calls the same root resolvers as the executor,
fetches each selected relation of the sessions in one batch through the request's loaders, and
writes the ``data`` dict with the same derived-value functions the Strawberry types use.

What it does not cover raises ``Unsupported`` and the caller runs the executor instead:
introspection, other operation types, variables that do not coerce, and any error but two (the
executor then reports it exactly as it always does). The two: a database failure, reported on
the root field that failed and never retried; and the report's own errors (a total beyond
GraphQL's Int, one part's arguments, a timeline of too many buckets), reported exactly as the
executor does, rather than computing the report twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLInt,
    GraphQLObjectType,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    get_named_type,
    visit,
)
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_fields, collect_subfields
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.language import Visitor

from sessions_gateway.db.filters import ListOrder
from sessions_gateway.db.relations import Relation
from sessions_gateway.gateway.errors import BadUserInput, is_database_failure
from sessions_gateway.resolvers import report as report_reads
from sessions_gateway.resolvers import sessions as session_reads
from sessions_gateway.schema import arguments, writers
from sessions_gateway.schema.inputs import to_filter
from sessions_gateway.schema.lru import Lru
from sessions_gateway.schema.report import report_parts, score_deciles
from sessions_gateway.schema.rules import DerivedRule
from sessions_gateway.schema.writers import Related

if TYPE_CHECKING:
    from collections.abc import Awaitable, Hashable, Iterable, Mapping

    import strawberry
    from graphql import DirectiveNode, DocumentNode, GraphQLField, GraphQLSchema
    from graphql.execution.values import VariableValues

    from sessions_gateway.db.filters import SessionCriteria
    from sessions_gateway.db.queries import GroupTotals, ReportTotals
    from sessions_gateway.gateway.context import Context
    from sessions_gateway.resolvers.sessions import Page

MAX_PLANS = 256
MAX_SHAPES_PER_PLAN = 8

_int = GraphQLInt.serialize


class FieldError(Exception):
    """A field below a root failed as the executor would report it: ``error`` at ``field``.

    ``nulls_parent``: the field is non-null, so its parent (a non-null root here) becomes null.
    """

    def __init__(self, error: Exception, field: Selected, *, nulls_parent: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.field = field
        self.nulls_parent = nulls_parent


class Unsupported(Exception):
    """The plan cannot answer this request exactly; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Selected:
    """One response key: the field it names, its AST nodes, and the fields selected under it."""

    key: str
    name: str
    nodes: tuple[FieldNode, ...]
    children: tuple[Selected, ...] = ()
    # For the object types written per row (edges, sessions and what hangs off them).
    writer: Callable[[Any, Related], dict[str, Any]] | None = field(default=None, compare=False)

    def child_names(self) -> set[str]:
        return {child.name for child in self.children}


# --- compiling ------------------------------------------------------------------------------


class _DirectiveVariables(Visitor):
    """Names of the variables that ``@skip``/``@include`` read: the field tree depends on them."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: DirectiveNode, *_args: object) -> None:
        if node.name.value in {"skip", "include"}:
            self.names.update(a.value.name.value for a in node.arguments or () if isinstance(a.value, VariableNode))


@dataclass(slots=True)
class Plan:
    """One operation of one document, compiled: its field trees by directive-variable values."""

    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]
    directive_variables: tuple[str, ...]
    shapes: dict[tuple[Hashable, ...], tuple[Selected, ...]] = field(default_factory=dict)

    @classmethod
    def compile(cls, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan:
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None:
            operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
        if len(operations) != 1:
            raise Unsupported("operation")
        operation = operations[0]
        if operation.operation is not OperationType.QUERY:
            raise Unsupported("operation")
        fragments: dict[str, FragmentDetails] = {}
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                if definition.variable_definitions:
                    raise Unsupported("fragment-variables")
                fragments[definition.name.value] = FragmentDetails(definition)
        finder = _DirectiveVariables()
        visit(document, finder)
        return cls(schema, document, operation, fragments, tuple(sorted(finder.names)))

    def coerce(self, variables: dict[str, Any] | None) -> VariableValues:
        coerced = get_variable_values(self.schema, self.operation.variable_definitions or (), variables or {}, 50)
        if isinstance(coerced, list):
            raise Unsupported("variables")
        return coerced

    def shape(self, variables: VariableValues) -> tuple[Selected, ...]:
        key = tuple(_hashable(variables.coerced.get(name)) for name in self.directive_variables)
        shape = self.shapes.get(key)
        if shape is None:
            shape = self._collect_root(variables)
            if len(self.shapes) < MAX_SHAPES_PER_PLAN:
                self.shapes[key] = shape
        return shape

    @property
    def query_type(self) -> GraphQLObjectType:
        query_type = self.schema.query_type
        if query_type is None:
            raise Unsupported("schema")
        return query_type

    def _collect_root(self, variables: VariableValues) -> tuple[Selected, ...]:
        query_type = self.query_type
        grouped = collect_fields(self.schema, self.fragments, variables, query_type, self.operation).grouped_field_set
        return self._selected(query_type, grouped, variables)

    def _selected(
        self, parent: GraphQLObjectType, grouped: dict[str, list[FieldDetails]], variables: VariableValues
    ) -> tuple[Selected, ...]:
        out = []
        for key, details in grouped.items():
            name = details[0].node.name.value
            nodes = tuple(d.node for d in details)
            if name == "__typename":
                out.append(Selected(key, name, nodes))
                continue
            definition = parent.fields.get(name)
            if definition is None:  # __schema, __type: introspection is the executor's
                raise Unsupported("introspection")
            named = get_named_type(definition.type)
            children: tuple[Selected, ...] = ()
            if isinstance(named, GraphQLObjectType):
                sub = collect_subfields(self.schema, self.fragments, variables, self.operation, named, details)
                children = self._selected(named, sub.grouped_field_set, variables)
            writer = writers.generate(named.name, children) if named.name in writers.WRITTEN else None
            out.append(Selected(key, name, nodes, children, writer))
        return tuple(out)


def _hashable(value: Any) -> Hashable:
    return value if isinstance(value, (bool, type(None))) else repr(value)


class PlanCache:
    """A bounded LRU of plans by (document text, operation name), shared by every request."""

    def __init__(self, maxsize: int = MAX_PLANS) -> None:
        self._plans: Lru[tuple[str, str | None], Plan | Unsupported] = Lru(maxsize)

    def peek(self, query: str, operation_name: str | None) -> Plan | None:
        """The plan compiled for ``query``'s ``operation_name``, if one is kept (and compiled)."""
        plan = self._plans.get((query, operation_name))
        return plan if isinstance(plan, Plan) else None

    def get(self, schema: GraphQLSchema, query: str, document: DocumentNode, operation_name: str | None) -> Plan:
        key = (query, operation_name)
        plan = self._plans.get(key)
        if plan is None:
            try:
                plan = Plan.compile(schema, document, operation_name)
            except Unsupported as exc:
                plan = exc
            self._plans.put(key, plan)
        if isinstance(plan, Unsupported):
            raise plan
        return plan


class KnownOperations:
    """Operations a compiled plan has answered, by (document text, operation name): their document and resolved name.

    A document is noted once Strawberry's view has run it through the limits and validation and
    a plan answered it: the same text and operation name are then answered again by the plan
    straight (``gateway/view.py``). Bounded; the oldest goes first.
    """

    def __init__(self, plans: PlanCache, maxsize: int) -> None:
        self.plans = plans
        self.maxsize = maxsize
        self._known: dict[tuple[str, str | None], tuple[DocumentNode, str | None]] = {}

    def __len__(self) -> int:
        return len(self._known)

    def note(self, query: str, operation_name: str | None, resolved_name: str | None) -> None:
        key = (query, operation_name)
        if key in self._known:
            return
        # The plan is kept under the name Strawberry resolved (the one operation's, when none was sent).
        plan = self.plans.peek(query, resolved_name)
        if plan is None:
            return
        if len(self._known) >= self.maxsize:
            self._known.pop(next(iter(self._known)))
        self._known[key] = (plan.document, resolved_name)

    def get(self, query: str, operation_name: str | None) -> tuple[DocumentNode, str | None] | None:
        return self._known.get((query, operation_name))


# --- running --------------------------------------------------------------------------------


def _unique(values: Iterable[str | None]) -> list[str]:
    return [v for v in dict.fromkeys(values) if v is not None]


def session_relations(names: set[str]) -> frozenset[Relation]:
    """The relations the Session fields ``names`` read (their rules say): what one statement joins for them."""
    return _session_relations(frozenset(names))


@lru_cache(maxsize=MAX_PLANS)
def _session_relations(names: frozenset[str]) -> frozenset[Relation]:
    return writers.relations_for("Session", names)


def _related(ctx: Context, found: Mapping[str, dict[str, Any]]) -> Related:
    """The writers' view of the relations one statement read (by ``Relation.value``)."""
    related = Related(clock=ctx.now, media=ctx.media)
    for attr, rows in found.items():
        setattr(related, attr, rows)
    return related


Getter = Callable[[Any], Any]


def _object(selected: tuple[Selected, ...], typename: str, getters: Mapping[str, Getter]) -> Getter:
    """A writer of an object written once per request (connection, page info, report parts)."""
    pairs = [(sel.key, _constant(typename) if sel.name == "__typename" else getters[sel.name]) for sel in selected]
    return lambda source: {key: get(source) for key, get in pairs}


def _constant(value: str) -> Getter:
    return lambda _source: value


_PAGE_INFO: dict[str, Getter] = writers.getters("PageInfo")

# Each field's argument converter, by the id of its GraphQL field (kept, so the id stays its own).
_CONVERTERS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
_KEPT: list[GraphQLField] = []


def _find(selected: Iterable[Selected], name: str) -> list[Selected]:
    return [s for s in selected if s.name == name]


# --- root fields ----------------------------------------------------------------------------


@dataclass(slots=True)
class Runner:
    """Runs one plan shape for one request."""

    schema: strawberry.Schema
    query_type: GraphQLObjectType
    ctx: Context
    variables: VariableValues

    def arguments(self, sel: Selected, parent: GraphQLObjectType | None = None) -> dict[str, Any]:
        """``sel``'s arguments as its resolver takes them; ``parent``: the type it is a field of (Query)."""
        definition = (parent or self.query_type).fields[sel.name]
        raw = get_argument_values(definition, sel.nodes[0], self.variables)
        convert = _CONVERTERS.get(id(definition))
        if convert is None:
            strawberry_field = definition.extensions["strawberry-definition"]
            registry = self.schema.schema_converter.scalar_registry
            convert = _CONVERTERS[id(definition)] = arguments.converter(
                strawberry_field.arguments, registry, self.schema.config
            )
            _KEPT.append(definition)  # its id stays its own
        return convert(raw)

    async def root(self, sel: Selected) -> Any:
        if sel.name == "__typename":
            return "Query"
        args = self.arguments(sel)
        if sel.name == "sessions":
            return await self.sessions(sel, args)
        if sel.name == "session":
            return await self.session(sel, args)
        if sel.name == "sessionsReport":
            return await self.report(sel, args)
        raise Unsupported("field")

    async def sessions(self, sel: Selected, args: dict[str, Any]) -> Any:
        ctx = self.ctx
        nodes = [n for e in _find(sel.children, "edges") for n in _find(e.children, "node")]
        wanted = {name for n in nodes for name in n.child_names()}
        # One statement: the page, every relation its rows' fields read, and the count if selected.
        page: Page = await session_reads.list_sessions(
            ctx,
            filter_=to_filter(args["filter_"]),
            order=ListOrder[args["order_by"].name],
            first=args["first"],
            after=args["after"],
            last=args["last"],
            before=args["before"],
            relations=session_relations(wanted),
            total=bool(_find(sel.children, "totalCount")),
        )
        related = _related(ctx, page.related)

        def write_edges(edges_sel: Selected) -> Any:
            write = edges_sel.writer
            if write is None:
                raise Unsupported("field")
            return [write(edge, related) for edge in page.edges]

        out: dict[str, Any] = {}
        for child in sel.children:
            if child.name == "__typename":
                out[child.key] = "SessionConnection"
            elif child.name == "edges":
                out[child.key] = write_edges(child)
            elif child.name == "pageInfo":
                out[child.key] = _object(child.children, "PageInfo", _PAGE_INFO)(page)
            elif child.name == "totalCount":
                out[child.key] = _int(page.total)
            else:
                raise Unsupported("field")
        ctx.clock_read = ctx.clock_read or related.clock_read
        return out

    async def session(self, sel: Selected, args: dict[str, Any]) -> Any:
        joined = await session_reads.get_session_joined(self.ctx, str(args["id"]), session_relations(sel.child_names()))
        if not joined.rows:
            return None
        if sel.writer is None:
            raise Unsupported("field")
        related = _related(self.ctx, joined.related)
        written = sel.writer(joined.rows[0], related)
        self.ctx.clock_read = self.ctx.clock_read or related.clock_read
        return written

    async def report(self, sel: Selected, args: dict[str, Any]) -> Any:
        totals, groups, failed = await self.read_report(sel, to_filter(args["filter_"]))
        related = Related(clock=self.ctx.now, media=self.ctx.media)
        if not failed:
            wanted = [c.key for c in sel.children if c.name == "byUser" and "user" in c.child_names()]
            related.users = await _users_of(self.ctx, [entry for key in wanted for entry in groups[key]])
        out: dict[str, Any] = {}
        for child in sel.children:
            if child.name in _GROUPED and failed:
                continue  # the answer is an error: only a leaf's own may come before those below
            try:
                out[child.key] = _report_field(child, totals, groups, related)
            except BadUserInput as exc:
                # Reported here as the executor reports it, rather than computing the report twice. The
                # executor resolves the report's leaves before the fields that read, so this error wins.
                raise FieldError(exc, child, nulls_parent=True) from exc
        if len(failed) > 1:  # which one the executor reports depends on timing: let it answer
            raise Unsupported("error")
        if failed:
            raise failed[0]
        return out

    async def read_report(
        self, sel: Selected, filter_: SessionCriteria
    ) -> tuple[ReportTotals, dict[str, list[GroupTotals]], list[FieldError]]:
        """The report's totals and its parts with arguments (by response key), their statements all at once.

        Also the errors of those parts, as the executor reports them: their own arguments, or too
        many buckets.
        """
        ctx = self.ctx
        report_type = self.schema._schema.get_type("SessionsReport")
        if not isinstance(report_type, GraphQLObjectType):
            raise Unsupported("schema")
        grouped = [child for child in sel.children if child.name in _GROUPED]
        fetches = [_GROUPED[child.name](ctx, filter_, self.arguments(child, report_type)) for child in grouped]
        parts = report_parts(sel.child_names())
        report, results = await asyncio.gather(
            session_reads.sessions_report(ctx, filter_=filter_, parts=parts),
            asyncio.gather(*fetches, return_exceptions=True),
            return_exceptions=True,
        )
        if isinstance(report, BaseException):
            raise report
        if isinstance(results, BaseException):
            raise results
        groups: dict[str, list[GroupTotals]] = {}
        failed: list[FieldError] = []
        for child, result in zip(grouped, results, strict=True):
            if isinstance(result, BadUserInput):
                failed.append(FieldError(result, child, nulls_parent=True))
            elif isinstance(result, BaseException):
                raise result
            else:
                groups[child.key] = result
        return report, groups, failed


async def _users_of(ctx: Context, entries: Iterable[Any]) -> dict[str, Any]:
    """The users of ``byUser`` entries, by id: one batch."""
    ids = _unique(entry.key for entry in entries)
    if not ids:
        return {}
    return dict(zip(ids, await ctx.loaders.users.batch_load_fn(ids), strict=True))


def _report_field(child: Selected, totals: ReportTotals, groups: Mapping[str, Any], related: Related) -> Any:
    """The value of one field of the report, from its totals and the parts with arguments (``groups``)."""
    if child.name in _COUNTS:
        typename, getters, entries = _COUNTS[child.name]
        write = _object(child.children, typename, getters)
        return [write(entry) for entry in entries(totals, related)]
    if child.name in _REPORT_LEAVES:
        return _REPORT_LEAVES[child.name](totals)
    if child.writer is None:
        raise Unsupported("field")
    if child.name == "scoreDeciles":
        return [child.writer(decile, related) for decile in score_deciles(totals)]
    if child.name in _GROUPED:
        return [child.writer(group, related) for group in groups[child.key]]
    raise Unsupported("field")


def _entries(name: str) -> Callable[[ReportTotals, Related], list[Any]]:
    """The entries of the report's list field ``name``, by its rule (which refuses totals without its part)."""
    rule = writers.ONCE["SessionsReport"][name].rule
    if not isinstance(rule, DerivedRule):
        raise TypeError(f"SessionsReport.{name} is not a list of entries")
    return rule.derive


# byStatus and byRole: their entries' type, its leaves, and the entries by the field's rule.
_COUNTS: dict[str, tuple[str, dict[str, Getter], Callable[[ReportTotals, Related], list[Any]]]] = {
    "byStatus": ("StatusCount", writers.getters("StatusCount"), _entries("byStatus")),
    "byRole": ("RoleCount", writers.getters("RoleCount"), _entries("byRole")),
}

# The report's fields with arguments, each one statement of its own: what reads it, given the
# request, the report's filter and the field's arguments (checked by the callee before it reads).
_GROUPED: dict[str, Callable[[Context, SessionCriteria, dict[str, Any]], Awaitable[list[GroupTotals]]]] = {
    "timeline": lambda ctx, f, a: report_reads.timeline(
        ctx, filter_=f, period=str(a["bucket"].value), time_zone=a["time_zone"]
    ),
    "byUser": lambda ctx, f, a: report_reads.by_user(ctx, filter_=f, first=a["first"]),
    "byTaskSource": lambda ctx, f, a: report_reads.by_task_source(ctx, filter_=f, first=a["first"]),
}

_REPORT_LEAVES: dict[str, Getter] = {"__typename": lambda _t: "SessionsReport", **writers.getters("SessionsReport")}


# Root fields answered from one statement (``session_relations``): alone, they need no transaction.
ONE_STATEMENT_ROOTS = frozenset({"sessions", "session"})

# Root fields whose type is non-null: an error there nulls the whole of ``data``.
_NON_NULL_ROOTS = {"sessions", "sessionsReport", "__typename"}


def _null_root(data: dict[str, Any] | None, root: Selected) -> dict[str, Any] | None:
    """``data`` once ``root`` failed: null there, or null altogether when the root is non-null."""
    if root.name in _NON_NULL_ROOTS or data is None:
        return None
    data[root.key] = None
    return data


async def _roots(runner: Runner, shape: tuple[Selected, ...]) -> list[Any]:
    """Each root's value or exception (as ``gather`` reports them), the roots run concurrently."""
    if len(shape) == 1:  # a task of its own would only cost time
        try:
            return [await runner.root(shape[0])]
        except Exception as exc:  # noqa: BLE001  (reported, not raised, as gather would)
            return [exc]
    return await asyncio.gather(*(runner.root(sel) for sel in shape), return_exceptions=True)


async def execute(
    plans: PlanCache,
    schema: strawberry.Schema,
    *,
    query: str,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    ctx: Context,
    roots: frozenset[str] | None = None,
) -> tuple[dict[str, Any] | None, list[GraphQLError]]:
    """``data`` and ``errors`` of the operation; raises ``Unsupported`` before any read it cannot do.

    ``roots``: the root fields this call may answer (``Unsupported`` for a shape with another).
    """
    plan = plans.get(schema._schema, query, document, operation_name)
    coerced = plan.coerce(variables)
    shape = plan.shape(coerced)
    if roots is not None and not all(sel.name in roots for sel in shape):
        raise Unsupported("roots")
    if len(shape) == 1 and shape[0].name in ONE_STATEMENT_ROOTS:
        ctx.db.one_statement()  # no transaction to open, none to end: one round trip
    runner = Runner(schema, plan.query_type, ctx, coerced)
    results = await _roots(runner, shape)
    data: dict[str, Any] | None = {}
    errors: list[GraphQLError] = []
    for sel, result in zip(shape, results, strict=True):
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            if isinstance(result, Unsupported):
                raise result
            if isinstance(result, FieldError) and result.nulls_parent:
                failed = result.field
                path: list[str | int] = [sel.key, failed.key]
                error = result.error
                errors.append(GraphQLError(str(error), list(failed.nodes), path=path, original_error=error))
                data = _null_root(data, sel)
                continue
            if not is_database_failure(result):
                raise Unsupported("error") from result
            # The database failed: the whole root field fails (the executor's answer differs only
            # in which nested path names the failure). Never retried on the other path.
            errors.append(GraphQLError(str(result), nodes=list(sel.nodes), path=[sel.key], original_error=result))
            data = _null_root(data, sel)
        elif data is not None:
            data[sel.key] = result
    return data, errors
