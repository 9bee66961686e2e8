"""A field's arguments as its resolver takes them, by a converter made once per field.

Strawberry's ``convert_arguments`` works the argument types out at every call (resolving
annotations, walking the input type's fields): for a filter of four fields that is most of a
list request's argument handling. A converter here is made of the same decisions, taken once per
field from its Strawberry argument types: optional and leaf values pass as they are (graphql-core
has coerced them: scalars parsed, enums made members), lists are copied, and an input type is
made from its fields by Python name with ``None`` for those without a default, as Strawberry
does. A type it does not cover (lazy types, ``Maybe``, global ids, input types that build
themselves) is left to Strawberry's own ``convert_argument``.
"""

from __future__ import annotations

from dataclasses import MISSING
from typing import TYPE_CHECKING, Any

from strawberry.scalars import is_scalar
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryList, StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.unset import UNSET

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from strawberry.schema.config import StrawberryConfig
    from strawberry.types.arguments import StrawberryArgument


class _Fallback(Exception):
    """A type this module leaves to Strawberry."""


def _same(value: Any) -> Any:
    return value


def _copy(value: Any) -> Any:
    # graphql-core gives the same default list to every request that omits the value: a copy each
    return None if value is None else list(value)


def _converter(type_: Any, registry: Mapping[object, Any], config: StrawberryConfig) -> Callable[[Any], Any]:
    """The conversion of one GraphQL input value of ``type_``; ``_Fallback`` if Strawberry must do it."""
    if type(type_) is StrawberryOptional:  # not ``Maybe``, a subclass with other rules
        return _converter(type_.of_type, registry, config)
    if isinstance(type_, StrawberryList):
        inner = type_.of_type
        if isinstance(inner, StrawberryOptional):
            inner = inner.of_type
        if _is_leaf(inner, registry):
            return _copy
        each = _converter(type_.of_type, registry, config)
        return lambda value: None if value is None else [each(item) for item in value]
    if _is_leaf(type_, registry):
        return _same
    if has_enum_definition(type_):
        return _same  # a member already: Strawberry hands the enum's definition the value as it is
    if has_object_definition(type_):
        return _input(type_, registry, config)
    raise _Fallback


def _is_leaf(type_: Any, registry: Mapping[object, Any]) -> bool:
    from strawberry.relay.types import GlobalID  # noqa: PLC0415  (as Strawberry imports it)

    if type_ is GlobalID:
        raise _Fallback
    return bool(is_scalar(type_, registry)) or isinstance(type_, StrawberryEnumDefinition)


def _input(type_: Any, registry: Mapping[object, Any], config: StrawberryConfig) -> Callable[[Any], Any]:
    definition = type_.__strawberry_definition__
    if definition.from_input is not None or not definition.is_input:
        raise _Fallback
    implicit = {
        field.python_name: None
        for field in definition.fields
        if field.default_value is MISSING and field.default_factory is MISSING
    }
    fields = tuple(
        (
            config.name_converter.from_field(field),
            field.python_name,
            _converter(field.resolve_type(type_definition=definition), registry, config),
        )
        for field in definition.fields
    )

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if value is UNSET:
            return UNSET
        kwargs = dict(implicit)
        for graphql_name, python_name, each in fields:
            if graphql_name in value:
                kwargs[python_name] = each(value[graphql_name])
        return type_(**kwargs)

    return convert


def _guarded(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: UNSET if value is UNSET else convert(value)


def converter(
    arguments: list[StrawberryArgument], registry: Mapping[object, Any], config: StrawberryConfig
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``convert_arguments`` for these ``arguments``, its decisions made now."""
    steps: list[tuple[str, str, Callable[[Any], Any]]] = []
    for argument in arguments:
        name = config.name_converter.from_argument(argument)
        python_name = argument.python_name
        try:
            step = _guarded(_converter(argument.type, registry, config))
        except _Fallback:
            type_ = argument.type

            def step(value: Any, type_: Any = type_, path: tuple[str] = (name,)) -> Any:
                return convert_argument(value, type_, registry, config, path=path)

        steps.append((name, python_name, step))

    def convert(values: dict[str, Any]) -> dict[str, Any]:
        return {python_name: step(values[name]) for name, python_name, step in steps if name in values}

    return convert
