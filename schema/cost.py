"""A cost limit: how many objects a query could make the gateway write, estimated before any read.

Each field costs what it can return: one object, or as many as its list may hold. A sessions
page holds ``first``/``last`` rows (25 when neither is given; the most allowed, 100, when a
variable sets it, since validation does not see variables); a session's procedures are counted
at ``PROCEDURES_PER_SESSION``; a report's timeline at its most buckets, its breakdowns at their
``first`` (the most allowed when a variable sets it). What is under a list costs once per item. Aliases and fragments
count as often as they are written. The rule runs with validation, so its verdict is cached too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    ValidationRule,
)

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from resolvers.report import DEFAULT_BREAKDOWN_SIZE, MAX_BREAKDOWN_SIZE, MAX_TIMELINE_BUCKETS

if TYPE_CHECKING:
    from graphql import SelectionSetNode, ValidationContext

PROCEDURES_PER_SESSION = 20
# Lists of a fixed or bounded length: one entry per enum value, per decile, per bucket at most.
_FIXED_LISTS = {"byStatus": 3, "byRole": 2, "scoreDeciles": 10, "timeline": MAX_TIMELINE_BUCKETS}
# Lists as long as their ``first`` argument: its default and its maximum.
_SIZED_LISTS = {
    "sessions": (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    "byUser": (DEFAULT_BREAKDOWN_SIZE, MAX_BREAKDOWN_SIZE),
    "byTaskSource": (DEFAULT_BREAKDOWN_SIZE, MAX_BREAKDOWN_SIZE),
}


def cost_limit_rule(max_cost: int) -> type[ValidationRule]:
    """A validation rule refusing operations whose estimated cost is over ``max_cost``."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: object) -> None:
            cost = _selection_cost(self.context, node.selection_set, page=DEFAULT_PAGE_SIZE, seen=frozenset())
            if cost > max_cost:
                message = f"Query cost {cost} exceeds the maximum of {max_cost}: ask for fewer rows or fields."
                self.report_error(GraphQLError(message, node))

    return CostLimit


def _size(field: FieldNode) -> int:
    """Rows a ``sessions`` page or a breakdown may hold, from its literal ``first``/``last``."""
    default, maximum = _SIZED_LISTS[field.name.value]
    for argument in field.arguments or ():
        if argument.name.value in {"first", "last"}:
            value = argument.value
            if isinstance(value, IntValueNode):
                return min(max(int(value.value), 0), maximum)
            return maximum  # a variable: the most it may be
    return default


def _selection_cost(
    context: ValidationContext, selection_set: SelectionSetNode | None, *, page: int, seen: frozenset[str]
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            rows = _size(selection) if name == "sessions" else page
            if name in {"byUser", "byTaskSource"}:
                items = _size(selection)
            else:
                items = {"edges": rows, "procedures": PROCEDURES_PER_SESSION}.get(name, _FIXED_LISTS.get(name, 1))
            if selection.selection_set is not None:
                total += items * (1 + _selection_cost(context, selection.selection_set, page=rows, seen=seen))
        elif isinstance(selection, InlineFragmentNode):
            total += _selection_cost(context, selection.selection_set, page=page, seen=seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            if fragment is not None and name not in seen:  # a cycle is another rule's error
                total += _selection_cost(context, fragment.selection_set, page=page, seen=seen | {name})
    return total
