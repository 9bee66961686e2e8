"""Writers of the objects of a compiled plan, generated from the field rules once per selection.

A writer turns one source (an edge, a session row, a related row) into the response dict of the
fields a client selected under it: a single dict display that calls each selected field's rule
(``schema/rules.py``, declared beside its Strawberry type) and writes its value as GraphQL
serializes it, compiled when the plan's shape is collected and reused by every request.

The code is made from the rules' kinds and the fields' GraphQL types alone. From the request
come the response keys only, which are GraphQL names (checked again here) written as string
literals.
"""

from __future__ import annotations

import dis
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import strawberry
from graphql import GraphQLFloat, GraphQLInt
from strawberry.types.base import StrawberryList, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

from sessions_gateway.db.relations import Relation
from sessions_gateway.schema.connection import PageInfo, SessionEdge
from sessions_gateway.schema.enums import ROLE_NAMES, STATUS_NAMES
from sessions_gateway.schema.report import (
    RoleCount,
    ScoreDecile,
    SessionsReport,
    StatusCount,
    TaskSourceCount,
    TimelineBucket,
    UserCount,
)
from sessions_gateway.schema.rules import DerivedRule, NestedRule, Related, Rule, SourceRule, fields_of
from sessions_gateway.schema.scalars import serialize_datetime
from sessions_gateway.schema.session import LinkedTask, Procedure, Recording, Session, Summary, User

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "ONCE",
    "ROLE_NAMES",
    "STATUS_NAMES",
    "WRITTEN",
    "Related",
    "generate",
    "getters",
    "relation_keys",
    "relations_for",
]

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
MAX_WRITERS = 1024

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _int(value: Any) -> Any:
    """GraphQL's Int serialization, with a Python int within 32 bits (almost every value) passed as it is."""
    if type(value) is int and _INT_MIN <= value <= _INT_MAX:
        return value
    return GraphQLInt.serialize(value)


_float = GraphQLFloat.serialize
# How a leaf's value is written, by its GraphQL type: as it is (ID, String, Boolean), by a
# function (Int, Float, DateTime), or by a lookup (an enum member -> its GraphQL name).
_SERIALIZE: dict[Any, Callable[[Any], Any] | None] = {
    strawberry.ID: None,
    str: None,
    bool: None,
    int: _int,
    float: _float,
    datetime: serialize_datetime,
}


class EnumNames(dict[Any, str]):
    """An enum's GraphQL names by its members' values: a member is written as ``names[member._value_]``."""


class SelectedField(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def children(self) -> Sequence[SelectedField]: ...


@dataclass(frozen=True, slots=True)
class Field:
    """A field of a written type: its rule, how its value is written, its object type if any."""

    rule: Rule
    nullable: bool
    serialize: Callable[[Any], Any] | dict[Any, str] | None = None
    type_name: str | None = None  # an object field's type, written by that type's writer


def _graphql_type_name(type_: Any) -> str:
    return str(type_.__strawberry_definition__.name)


def _field(owner: str, name: str, rule: Rule, type_: Any) -> Field:
    nullable = isinstance(type_, StrawberryOptional)
    if nullable:
        type_ = type_.of_type
    if isinstance(rule, NestedRule):
        listed = isinstance(type_, StrawberryList)
        if listed:
            type_ = type_.of_type
        if type_ is not rule.type_ or listed != (rule.kind == "list") or nullable != (rule.kind == "optional"):
            raise TypeError(f"{owner}.{name}: its rule writes {rule.kind} {rule.type_.__name__}, not {type_}")
        return Field(rule, nullable, type_name=_graphql_type_name(type_))
    if isinstance(type_, StrawberryEnumDefinition):
        return Field(rule, nullable, EnumNames({value.value: value.name for value in type_.values}))
    if type_ not in _SERIALIZE:
        raise TypeError(f"{owner}.{name}: no writer for {type_}")
    return Field(rule, nullable, _SERIALIZE[type_])


def _fields(type_: type[Any], *, every: bool) -> dict[str, Field]:
    """The fields of a Strawberry type that have a rule, by GraphQL name (``every``: all must have one)."""
    owner = _graphql_type_name(type_)
    fields: dict[str, Field] = {}
    for each in fields_of(type_):
        if each.rule is not None:
            fields[each.name] = _field(owner, each.name, each.rule, each.type_)
        elif every:
            raise TypeError(f"{owner}.{each.name} has no rule: declare it with the type's Rules")
    return fields


# The object types written per row (edges, sessions and what hangs off them, the report's entries),
# by GraphQL name: each of their fields is written from its rule.
WRITTEN: dict[str, dict[str, Field]] = {
    _graphql_type_name(type_): _fields(type_, every=True)
    for type_ in (
        SessionEdge,
        Session,
        User,
        LinkedTask,
        Procedure,
        Summary,
        Recording,
        TimelineBucket,
        UserCount,
        TaskSourceCount,
        ScoreDecile,
    )
}


Signature = tuple[tuple[str, str, "Signature"], ...]
"""A selection as (response key, field name, the selection under it) triples: what a writer depends on."""


def signature(selected: Sequence[SelectedField]) -> Signature:
    return tuple((sel.key, sel.name, signature(sel.children)) for sel in selected)


def generate(type_name: str, selected: Sequence[SelectedField]) -> Callable[[Any, Related], dict[str, Any]]:
    """The writer of ``type_name`` for the fields ``selected`` under it, in selection order."""
    return _generate(type_name, signature(selected))


@lru_cache(maxsize=MAX_WRITERS)
def _generate(type_name: str, selected: Signature) -> Callable[[Any, Related], dict[str, Any]]:
    """Writers are shared by every plan that selects the same fields (and bounded in number)."""
    fields = WRITTEN[type_name]
    namespace: dict[str, Any] = {}
    entries = []
    for index, (key, name, children) in enumerate(selected):
        if not _NAME.fullmatch(key):
            raise ValueError(f"not a GraphQL name: {key!r}")
        if name == "__typename":
            entries.append(f"{key!r}: {type_name!r}")
            continue
        entries.append(f"{key!r}: {_value(fields[name], index, children, namespace)}")
    source = "def write(s, x):\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(source, f"<writer of {type_name}>", "exec"), namespace)  # noqa: S102  (see the module docstring)
    return namespace["write"]  # type: ignore[no-any-return]


def attribute_of(get: Callable[[Any], Any]) -> str | None:
    """The attribute ``get`` reads, when it is exactly ``lambda s: s.<attribute>``: a writer reads it inline."""
    code = getattr(get, "__code__", None)
    if code is None or code.co_argcount != 1 or getattr(get, "__defaults__", None) or getattr(get, "__closure__", None):
        return None
    steps = [(i.opname, i.argval) for i in dis.get_instructions(code) if i.opname not in {"RESUME", "CACHE", "NOP"}]
    if [op for op, _ in steps] != ["LOAD_FAST", "LOAD_ATTR", "RETURN_VALUE"] or steps[0][1] != code.co_varnames[0]:
        return None
    attribute = steps[1][1]
    return attribute if isinstance(attribute, str) and _NAME.fullmatch(attribute) else None


def _value(field: Field, index: int, children: Signature, namespace: dict[str, Any]) -> str:
    """The expression of one field's value: its rule's call, written as GraphQL writes it."""
    rule = field.rule
    if isinstance(rule, SourceRule) and (attribute := attribute_of(rule.get)) is not None:
        call = f"s.{attribute}"  # the rule's own reading, without the call
    elif isinstance(rule, SourceRule):
        namespace[f"_r{index}"] = rule.get
        call = f"_r{index}(s)"
    else:
        namespace[f"_r{index}"] = rule.derive
        call = f"_r{index}(s, x)"
    if field.type_name is not None:  # an object: its own writer writes it
        namespace[f"_w{index}"] = _generate(field.type_name, children)
        if isinstance(rule, NestedRule) and rule.kind == "list":
            return f"[_w{index}(_e, x) for _e in {call}]"
        written = f"_w{index}({{}}, x)"
    elif field.serialize is None:
        return call
    else:
        written = _leaf(field.serialize, index, namespace)
    if field.nullable:
        return f"(None if (_v{index} := {call}) is None else {written.format(f'_v{index}')})"
    return written.format(call)


def _leaf(serialize: Callable[[Any], Any] | dict[Any, str], index: int, namespace: dict[str, Any]) -> str:
    """How a leaf's value (``{}``) is written as GraphQL serializes it."""
    namespace[f"_c{index}"] = serialize
    v = f"_v{index}"
    if isinstance(serialize, EnumNames):  # by the member's value: an Enum hashes in Python
        return f"_c{index}[{{}}._value_]"
    if isinstance(serialize, dict):
        return f"_c{index}[{{}}]"
    if serialize is _int:  # an int within 32 bits (almost every value) is written as it is
        namespace["_INT_MIN"], namespace["_INT_MAX"] = _INT_MIN, _INT_MAX
        return f"({v} if type({v} := {{}}) is int and _INT_MIN <= {v} <= _INT_MAX else _c{index}({v}))"
    if serialize is serialize_datetime:
        # A UTC date-time goes to the response as it is: orjson writes it as isoformat() does.
        namespace["_UTC"] = UTC
        return f"({v} if ({v} := {{}}).tzinfo is _UTC else _c{index}({v}))"
    return f"_c{index}({{}})"


def getters(type_name: str) -> dict[str, Callable[[Any], Any]]:
    """The leaves of an object written once per request, by GraphQL name: each a function of the source."""
    return {name: _getter(field) for name, field in ONCE[type_name].items() if isinstance(field.rule, SourceRule)}


def _getter(field: Field) -> Callable[[Any], Any]:
    assert isinstance(field.rule, SourceRule)  # noqa: S101  (``getters`` takes these alone)
    get, serialize = field.rule.get, field.serialize
    if serialize is None:
        return get
    if isinstance(serialize, EnumNames):
        names = serialize
        return lambda source: None if (value := get(source)) is None else names[value._value_]
    write = serialize.__getitem__ if isinstance(serialize, dict) else serialize
    return lambda source: None if (value := get(source)) is None else write(value)


# The objects written once per request (the page info, the report and its status and role
# counts): compiled plans write their leaves with ``getters``.
ONCE: dict[str, dict[str, Field]] = {
    _graphql_type_name(type_): _fields(type_, every=type_ is not SessionsReport)
    for type_ in (PageInfo, StatusCount, RoleCount, SessionsReport)
}


def relations_for(type_name: str, field_names: Iterable[str]) -> frozenset[Relation]:
    """The relations the fields ``field_names`` of ``type_name`` read (other names are ignored)."""
    fields = WRITTEN[type_name]
    return frozenset(
        relation
        for name in field_names
        if (field := fields.get(name)) is not None and isinstance(field.rule, DerivedRule)
        for relation in field.rule.reads
    )


def relation_keys(type_name: str, field_names: Iterable[str], sources: Iterable[Any]) -> dict[Relation, list[str]]:
    """For each relation the fields read, the keys of its rows those ``sources`` need: unique, in source order."""
    fields = WRITTEN[type_name]
    rules = [
        field.rule
        for name in dict.fromkeys(field_names)
        if (field := fields.get(name)) is not None and isinstance(field.rule, DerivedRule) and field.rule.reads
    ]
    keys: dict[Relation, dict[str, None]] = {relation: {} for rule in rules for relation in rule.reads}
    for source in sources:
        for rule in rules:
            if rule.needs(source):
                for relation in rule.reads:
                    key = rule.keys[relation](source)
                    if key is not None:
                        keys[relation][key] = None
    return {relation: list(found) for relation, found in keys.items()}
