"""The query limits, checked before the document is validated: each in work linear in it.

``refusals`` measures a parsed document, however its fragments nest (``schema/fragments.py``):

* its fields, with every fragment spread written out (``GATEWAY_MAX_FIELDS``); a document over it
  is refused on that alone;
* each operation's depth: fields nested below its root fields, introspection's not counted
  (``GATEWAY_MAX_DEPTH``);
* its aliases, each counted wherever its fragment is spread (``GATEWAY_MAX_ALIASES``);
* each operation's estimated cost (``schema/cost.py``, ``GATEWAY_MAX_COST``).

Depth and aliases are measured, and worded, as strawberry's ``QueryDepthLimiter`` and
``MaxAliasesLimiter`` do. A document refused here is never validated: no rule, the standard ones
included, walks it. ``gateway/errors.py`` codes the messages ``QUERY_TOO_COMPLEX``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphql import FieldNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode

from sessions_gateway.schema.cost import operation_costs
from sessions_gateway.schema.fragments import fragment_definitions, fragment_summaries, operations, unspread_fragments

if TYPE_CHECKING:
    from collections.abc import Mapping

    from graphql import DocumentNode, SelectionSetNode


@dataclass(frozen=True, slots=True)
class Limits:
    """Query limits enforced before any database read (``QUERY_TOO_COMPLEX``)."""

    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 2000
    # Fields once every fragment spread is written out, checked before validation (schema/limits.py).
    max_fields: int = 500
    # Objects a query may make the gateway write, estimated before any read (schema/cost.py).
    max_cost: int = 10_000
    # A JSON body larger than this is refused unread (a 2,000-token query with variables fits easily).
    max_body_bytes: int = 65_536


def refusals(document: DocumentNode, limits: Limits) -> list[GraphQLError]:
    """Why ``document`` is over the limits; none when it is within them."""
    fields = expanded_fields(document)
    if fields > limits.max_fields:
        message = f"The query has {fields} fields once its fragments are expanded; the maximum is {limits.max_fields}."
        return [GraphQLError(message)]
    errors = []
    depths = fragment_summaries(document, _depth)
    for operation in operations(document):
        if _depth(operation.selection_set, depths) > limits.max_depth:
            name = operation.name.value if operation.name else "anonymous"
            errors.append(GraphQLError(f"'{name}' exceeds maximum operation depth of {limits.max_depth}", operation))
    aliases = fragment_summaries(document, _aliases)
    total = sum(_aliases(operation.selection_set, aliases) for operation in operations(document))
    if total > limits.max_aliases:
        errors.append(GraphQLError(f"{total} aliases found. Allowed: {limits.max_aliases}"))
    for operation, cost in operation_costs(document):
        if cost > limits.max_cost:
            message = f"Query cost {cost} exceeds the maximum of {limits.max_cost}: ask for fewer rows or fields."
            errors.append(GraphQLError(message, operation))
    return errors


def expanded_fields(document: DocumentNode) -> int:
    """The fields of ``document`` with every spread replaced by its fragment's fields.

    Its operations', and those of any fragment no operation spreads (validation would walk it too).
    """
    fragments = fragment_summaries(document, _fields)
    unspread = unspread_fragments(document)
    definitions = fragment_definitions(document)
    return sum(_fields(operation.selection_set, fragments) for operation in operations(document)) + sum(
        _fields(definitions[name].selection_set, fragments) for name in unspread
    )


def _fields(selection_set: SelectionSetNode, fragments: Mapping[str, int]) -> int:
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            total += fragments.get(selection.name.value, 0)
        else:
            total += isinstance(selection, FieldNode)
            if selection.selection_set is not None:  # type: ignore[attr-defined]
                total += _fields(selection.selection_set, fragments)  # type: ignore[attr-defined]
    return total


def _depth(selection_set: SelectionSetNode, fragments: Mapping[str, int]) -> int:
    """Fields nested below the selection set's own; introspection fields count for nothing."""
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            depth = fragments.get(selection.name.value, 0)
        elif isinstance(selection, InlineFragmentNode):
            depth = _depth(selection.selection_set, fragments)
        elif selection.name.value.startswith("__") or selection.selection_set is None:  # type: ignore[attr-defined]
            depth = 0
        else:
            depth = 1 + _depth(selection.selection_set, fragments)  # type: ignore[attr-defined]
        deepest = max(deepest, depth)
    return deepest


def _aliases(selection_set: SelectionSetNode, fragments: Mapping[str, int]) -> int:
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            total += fragments.get(selection.name.value, 0)
            continue
        if isinstance(selection, FieldNode) and selection.alias is not None:
            total += 1
        if selection.selection_set is not None:  # type: ignore[attr-defined]
            total += _aliases(selection.selection_set, fragments)  # type: ignore[attr-defined]
    return total
