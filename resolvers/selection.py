"""What a client selected under a field, through fragments and inline fragments alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strawberry.types.nodes import SelectedField

if TYPE_CHECKING:
    from collections.abc import Iterable

    from strawberry.types.nodes import Selection

    from sessions_gateway.gateway.context import Info


def _names(selections: Iterable[Selection]) -> set[str]:
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:  # a fragment spread or an inline fragment: look inside
            names |= _names(selection.selections)
    return names


def selected_subfields(info: Info) -> set[str]:
    """Names of the fields selected under the field being resolved.

    ``@skip``/``@include`` are not evaluated: a field they drop is merely computed for nothing.
    """
    return _names(s for field in info.selected_fields for s in field.selections)
