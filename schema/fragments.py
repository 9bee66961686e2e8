"""Folds over a document's fragments, each fragment once: work linear in the document.

A fragment may spread another twice, which spreads another twice: thirty such lines ask for a
billion fields, and walking every spread takes as long. A fold never does: each fragment is
summarised once, after the fragments it spreads, and a spread reads its fragment's summary. The
limits (``schema/limits.py``) and the cost estimate (``schema/cost.py``) are such folds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from graphql import FragmentDefinitionNode, FragmentSpreadNode, OperationDefinitionNode

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from graphql import DocumentNode, SelectionSetNode

T = TypeVar("T")


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def fragment_definitions(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def spread_names(selection_set: SelectionSetNode) -> Iterator[str]:
    """The fragments spread anywhere in ``selection_set`` (not in what those fragments hold)."""
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif selection.selection_set is not None:  # type: ignore[attr-defined]
                stack.append(selection.selection_set)  # type: ignore[attr-defined]


def fragment_summaries(
    document: DocumentNode, summarise: Callable[[SelectionSetNode, Mapping[str, T]], T]
) -> dict[str, T]:
    """Each fragment's ``summarise``, computed once, after those of the fragments it spreads.

    ``summarise`` walks one selection set, not into spreads: it reads their summaries from the
    mapping it is given. A spread missing there is of an unknown fragment or closes a cycle, both
    errors that standard rules report. There is no recursion from fragment to fragment, so a long
    chain of them cannot exhaust the stack (within one definition, the parser bounds the nesting).
    """
    fragments = fragment_definitions(document)
    done: dict[str, T] = {}
    for root in fragments:
        if root in done:
            continue
        path = [(root, spread_names(fragments[root].selection_set))]
        on_path = {root}
        while path:
            name, spreads = path[-1]
            for spread in spreads:
                if spread in fragments and spread not in done and spread not in on_path:
                    path.append((spread, spread_names(fragments[spread].selection_set)))
                    on_path.add(spread)
                    break
            else:
                path.pop()
                on_path.discard(name)
                done[name] = summarise(fragments[name].selection_set, done)
    return done


def unspread_fragments(document: DocumentNode) -> set[str]:
    """The fragments that no operation spreads, directly or through other fragments."""
    definitions = fragment_definitions(document)
    reached: set[str] = set()
    pending = [name for operation in operations(document) for name in spread_names(operation.selection_set)]
    while pending:
        name = pending.pop()
        if name not in reached and name in definitions:
            reached.add(name)
            pending.extend(spread_names(definitions[name].selection_set))
    return set(definitions) - reached
