"""Each field's rule, stated once beside its GraphQL type: what it reads and the function deriving its value.

A type written from a source (a row, an edge, the report's totals) declares its fields through a
``Rules`` of that source, in the class body, each once::

    user_rules = Rules[UserRow]()

    @strawberry.type
    class User:
        row: strawberry.Private[UserRow]  # the source
        id: strawberry.ID = user_rules.id_field(lambda u: u.id)
        display_name: str = user_rules.field(lambda u: u.display_name)

``field`` derives a value from the source alone (``id_field``: an ID); ``derived`` from the source
and the request's ``Related`` (the related rows it ``reads``, the clock, the media settings);
``one``, ``optional`` and ``many`` are object fields, whose function gives the nested type's
source (or sources). mypy checks each function against the source's type and the field's
annotation.

Each returns the Strawberry field, whose resolver is the rule's own method: Strawberry's executor
loads what the rule reads through the request's loaders (one batch per relation across the rows)
and calls the rule's function; the compiled plans' writers (``schema/writers.py``) call the same
function on rows whose relations were fetched beforehand; the statements read exactly the
relations ``reads`` names (``writers.relations_for``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, cast

import strawberry
from strawberry.types.private import is_private
from strawberry.utils.str_converters import to_camel_case

from sessions_gateway.db.relations import Relation
from sessions_gateway.gateway.context import Info

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from datetime import datetime

    from aiodataloader import DataLoader

    from sessions_gateway.gateway.context import MediaSettings
    from sessions_gateway.loaders import Loaders

S = TypeVar("S")
V = TypeVar("V")
X = TypeVar("X")
X_co = TypeVar("X_co", covariant=True)
Kind = Literal["one", "optional", "list"]


@dataclass(slots=True)
class Related:
    """What a request's rules read besides the source: related rows by key, the clock, media.

    Each relation's rows are the attribute named by its ``Relation`` value. ``clock_read``: a rule
    read ``now`` (what it wrote may change with time alone: a live result is then written again
    each round, ``gateway/live.py``).
    """

    clock: datetime
    media: MediaSettings
    users: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    procedures: dict[str, list[Any]] = field(default_factory=dict)
    recordings: dict[str, Any] = field(default_factory=dict)
    summaries: dict[str, Any] = field(default_factory=dict)
    clock_read: bool = False

    @property
    def now(self) -> datetime:
        self.clock_read = True
        return self.clock


# Each relation's loader: the executor loads a row's relations through these, one batch per relation.
LOADER_OF: dict[Relation, Callable[[Loaders], DataLoader[str, Any]]] = {
    Relation.USER: lambda loaders: loaders.users,
    Relation.TASK: lambda loaders: loaders.tasks,
    Relation.PROCEDURE_COUNT: lambda loaders: loaders.procedure_counts,
    Relation.PROCEDURES: lambda loaders: loaders.procedures,
    Relation.RECORDING: lambda loaders: loaders.recordings,
    Relation.SUMMARY: lambda loaders: loaders.summaries,
}


class Written(Protocol[X_co]):
    """A Strawberry type written from a source: its ``row``."""

    @property
    def row(self) -> X_co: ...


@dataclass(frozen=True, slots=True, eq=False)
class SourceRule:
    """A field whose value is a function of the source alone."""

    get: Callable[[Any], Any]

    def resolve(self, root: Any) -> Any:
        """The Strawberry resolver."""
        return self.get(root.row)


@dataclass(frozen=True, slots=True, eq=False)
class DerivedRule:
    """A field derived from the source and the request's ``Related``.

    ``reads``: the relations it reads, in ``Relation`` order; ``when``: the sources whose value
    reads them (the rest are derived without them); ``keys``: each relation's key in a source.
    """

    derive: Callable[[Any, Related], Any]
    reads: tuple[Relation, ...]
    when: Callable[[Any], bool] | None
    keys: Mapping[Relation, Callable[[Any], str | None]]

    def needs(self, source: Any) -> bool:
        """Whether ``source``'s value reads the relations."""
        return self.when is None or self.when(source)

    def resolve(self, root: Any, info: Info) -> Any:
        """The Strawberry resolver of a rule that reads no relation."""
        ctx = info.context
        return self.derive(root.row, Related(clock=ctx.now, media=ctx.media))

    async def resolve_loaded(self, root: Any, info: Info) -> Any:
        """The Strawberry resolver of a rule that reads relations: each through its loader."""
        return self.derive(root.row, await self.related(root.row, info))

    async def related(self, source: Any, info: Info) -> Related:
        ctx = info.context
        related = Related(clock=ctx.now, media=ctx.media)
        if self.needs(source):
            for relation in self.reads:
                key = self.keys[relation](source)
                if key is not None:
                    rows: dict[str, Any] = getattr(related, relation.value)
                    rows[key] = await LOADER_OF[relation](ctx.loaders).load(key)
        return related


@dataclass(frozen=True, slots=True, eq=False)
class NestedRule(DerivedRule):
    """An object field: ``derive`` gives the source of ``type_`` (``kind``: one, optional or a list of them)."""

    type_: type[Any]
    kind: Kind

    def wrap(self, value: Any) -> Any:
        make = self.type_
        if self.kind == "list":
            return [make(row=each) for each in value]
        if self.kind == "optional" and value is None:
            return None
        return make(row=value)

    def resolve(self, root: Any, info: Info) -> Any:
        return self.wrap(DerivedRule.resolve(self, root, info))

    async def resolve_loaded(self, root: Any, info: Info) -> Any:
        return self.wrap(await DerivedRule.resolve_loaded(self, root, info))


Rule = SourceRule | DerivedRule | NestedRule


class Rules(Generic[S]):
    """The rules of one type's fields, over its source ``S``.

    ``keys``: for each relation the type's rules may read, the key of a source's related rows
    (by ``Relation``: a user by id, a session's procedures by the session's id, ...).
    """

    def __init__(self, keys: Mapping[Relation, Callable[[S], str | None]] | None = None) -> None:
        self.keys: Mapping[Relation, Callable[[Any], str | None]] = dict(keys or {})

    def field(self, get: Callable[[S], V], *, description: str | None = None, name: str | None = None) -> V:
        """A field whose value is ``get(source)``."""
        rule = SourceRule(get)
        return cast("V", strawberry.field(resolver=rule.resolve, description=description, name=name))

    def id_field(self, get: Callable[[S], str], *, description: str | None = None) -> strawberry.ID:
        """An ``ID`` field whose value is ``get(source)``: a string, which is what an ID is at run time."""
        return self.field(cast("Callable[[S], strawberry.ID]", get), description=description)

    def derived(
        self,
        derive: Callable[[S, Related], V],
        *,
        reads: Iterable[Relation] = (),
        when: Callable[[S], bool] | None = None,
        description: str | None = None,
    ) -> V:
        """A field whose value is ``derive(source, related)``: ``reads`` names the relations it reads.

        ``when``: the sources whose value reads those relations, when not all do.
        """
        rule = DerivedRule(derive, self._reads(reads), when, self.keys)
        return cast("V", _strawberry_field(rule, description))

    def one(
        self,
        type_: type[Written[X]],
        derive: Callable[[S, Related], X],
        *,
        reads: Iterable[Relation] = (),
        description: str | None = None,
    ) -> Any:
        """An object field: ``derive`` gives the source of its ``type_``."""
        return self._nested(type_, derive, "one", reads, description)

    def optional(
        self,
        type_: type[Written[X]],
        derive: Callable[[S, Related], X | None],
        *,
        reads: Iterable[Relation] = (),
        description: str | None = None,
    ) -> Any:
        """A nullable object field: ``derive`` gives the source of its ``type_``, or ``None``."""
        return self._nested(type_, derive, "optional", reads, description)

    def many(
        self,
        type_: type[Written[X]],
        derive: Callable[[S, Related], Iterable[X]],
        *,
        reads: Iterable[Relation] = (),
        description: str | None = None,
    ) -> Any:
        """A list field: ``derive`` gives the sources of its ``type_``, in order."""
        return self._nested(type_, derive, "list", reads, description)

    def _nested(
        self,
        type_: type[Any],
        derive: Callable[[S, Related], Any],
        kind: Kind,
        reads: Iterable[Relation],
        description: str | None,
    ) -> Any:
        rule = NestedRule(derive, self._reads(reads), None, self.keys, type_, kind)
        return _strawberry_field(rule, description)

    def _reads(self, reads: Iterable[Relation]) -> tuple[Relation, ...]:
        wanted = set(reads)
        unkeyed = wanted - set(self.keys)
        if unkeyed:
            raise ValueError(f"no key for {sorted(r.name for r in unkeyed)} in this type's sources")
        return tuple(relation for relation in Relation if relation in wanted)


def _strawberry_field(rule: DerivedRule, description: str | None) -> Any:
    # A rule that reads relations resolves asynchronously (its loads batch across the rows); the rest do not.
    resolver = rule.resolve_loaded if rule.reads else rule.resolve
    return strawberry.field(resolver=resolver, description=description)


def rule_of(strawberry_field: Any) -> Rule | None:
    """The rule a Strawberry field resolves by, or ``None`` when it is resolved otherwise."""
    resolver = getattr(strawberry_field, "base_resolver", None)
    owner = getattr(getattr(resolver, "wrapped_func", None), "__self__", None)
    return owner if isinstance(owner, (SourceRule, DerivedRule)) else None


@dataclass(frozen=True, slots=True)
class Declared:
    """A GraphQL field of a Strawberry type: its name, its rule (if it has one) and its Strawberry type."""

    name: str
    rule: Rule | None
    type_: Any


def fields_of(type_: type[Any]) -> list[Declared]:
    """Every GraphQL field of a Strawberry type, in order (its private attributes left out)."""
    return [
        Declared(each.graphql_name or to_camel_case(each.python_name), rule_of(each), each.type)
        for each in type_.__strawberry_definition__.fields
        if not is_private(each.type)
    ]


def declared(type_: type[Any]) -> dict[str, Rule]:
    """The rules of a Strawberry type's fields, by GraphQL name, in declaration order."""
    return {each.name: each.rule for each in fields_of(type_) if each.rule is not None}
