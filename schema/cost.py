"""A cost limit: the work a query could make the gateway and its database do, estimated before any read.

Two kinds of work are priced:

* **Objects written.** Each field costs what it can return: one object, or as many as its list may
  hold. A sessions page holds ``first``/``last`` rows (25 when neither is given; the most allowed,
  100, when a variable sets it, since validation does not see variables); a session's procedures
  are counted at ``PROCEDURES_PER_SESSION``; a report's timeline at its most buckets, its breakdowns
  at their ``first`` (the most allowed when a variable sets it). What is under a list costs once
  per item.
* **Scans of the tenant's sessions**, ``SCAN_COST`` each (as many objects as five full pages): a
  statement that reads every session matching the filter, however few rows it returns. A
  ``sessions`` connection's ``totalCount`` is one (a count). In a ``sessionsReport``, the scalar
  parts (``totalCount``, ``byStatus``, ``byRole``, ``totalDurationSeconds``/``Hours``) share one
  statement, one scan, which ``averageScore`` and ``procedureCount`` join once more each (summaries,
  procedures: a second pass over the matching sessions apiece); ``scoreDeciles`` is a statement of
  its own, as is each ``timeline``, ``byUser`` and ``byTaskSource`` (one per alias: each runs
  apart; none for a breakdown of ``first: 0``, which reads nothing).

Fields a selection asks for twice under one name are merged by GraphQL and run once: a scan is
counted once per name at its level. Objects are counted as often as they are written (aliases,
fragments), an upper bound. Each fragment is estimated once (``schema/fragments.py``), so the
estimate is linear in the document; ``schema/limits.py`` checks it before validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, IntValueNode

from sessions_gateway.resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from sessions_gateway.resolvers.report import DEFAULT_BREAKDOWN_SIZE, MAX_BREAKDOWN_SIZE, MAX_TIMELINE_BUCKETS
from sessions_gateway.schema.fragments import fragment_summaries, operations

if TYPE_CHECKING:
    from collections.abc import Mapping

    from graphql import DocumentNode, OperationDefinitionNode, SelectionSetNode

PROCEDURES_PER_SESSION = 20
# A statement that reads every matching session of the tenant: the price of five full pages, so
# that about twenty fit under the default GATEWAY_MAX_COST (thirty aliased counts do not).
SCAN_COST = 500
# Lists of a fixed or bounded length: one entry per enum value, per decile, per bucket at most.
_FIXED_LISTS = {"byStatus": 3, "byRole": 2, "scoreDeciles": 10, "timeline": MAX_TIMELINE_BUCKETS}
# Lists as long as their ``first`` argument: its default and its maximum.
_SIZED_LISTS = {
    "sessions": (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    "byUser": (DEFAULT_BREAKDOWN_SIZE, MAX_BREAKDOWN_SIZE),
    "byTaskSource": (DEFAULT_BREAKDOWN_SIZE, MAX_BREAKDOWN_SIZE),
}
# The passes over the matching sessions each part of a report makes (``db.queries.report``): the
# scalar parts share one statement, to which two of them add a join of their own.
_REPORT_PASSES = {
    "totalCount": {"totals"},
    "byStatus": {"totals"},
    "byRole": {"totals"},
    "totalDurationSeconds": {"totals"},
    "totalDurationHours": {"totals"},
    "averageScore": {"totals", "summaries"},
    "procedureCount": {"totals", "procedures"},
    "scoreDeciles": {"deciles"},
}
# Report parts that are a statement each, per response name.
_BREAKDOWNS = {"timeline", "byUser", "byTaskSource"}
_SCANNING = {*_REPORT_PASSES, *_BREAKDOWNS}


@dataclass(frozen=True, slots=True)
class Estimate:
    """The cost of a selection set, before the field that holds it prices its scans."""

    objects: int = 0  # objects it writes, outside of any page's rows
    per_row: int = 0  # objects it writes per row of the enclosing page (under ``edges``)
    scans: int = 0  # scans already priced, below its fields
    # Fields at this level that may scan, as (field, response name): priced by the field above,
    # which knows what they are (``totalCount`` of a connection, or a report's part).
    scanning: frozenset[tuple[str, str]] = frozenset()

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(
            self.objects + other.objects,
            self.per_row + other.per_row,
            self.scans + other.scans,
            self.scanning | other.scanning,
        )

    def written(self, rows: int) -> int:
        """Objects written, under a page of ``rows``."""
        return self.objects + rows * self.per_row

    def total(self, rows: int) -> int:
        return self.written(rows) + SCAN_COST * self.scans


def operation_estimates(document: DocumentNode) -> list[tuple[OperationDefinitionNode, Estimate]]:
    """Each operation of ``document`` with its estimate."""
    fragments = fragment_summaries(document, _estimate)
    return [(o, _estimate(o.selection_set, fragments)) for o in operations(document)]


def operation_costs(document: DocumentNode) -> list[tuple[OperationDefinitionNode, int]]:
    """Each operation of ``document`` with its estimated cost."""
    return [(o, estimate.total(DEFAULT_PAGE_SIZE)) for o, estimate in operation_estimates(document)]


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


def _scans(field: str, scanning: frozenset[tuple[str, str]]) -> int:
    """The scans that the scanning fields directly under ``field`` make."""
    if field == "sessions":
        return len({name for part, name in scanning if part == "totalCount"})
    if field == "sessionsReport":
        passes: set[str] = set()
        for part, name in scanning:
            passes |= {f"{part}:{name}"} if part in _BREAKDOWNS else _REPORT_PASSES[part]
        return len(passes)
    return 0


def _estimate(selection_set: SelectionSetNode, fragments: Mapping[str, Estimate]) -> Estimate:
    estimate = Estimate()
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            estimate += fragments.get(selection.name.value, Estimate())
        elif isinstance(selection, InlineFragmentNode):
            estimate += _estimate(selection.selection_set, fragments)
        elif isinstance(selection, FieldNode):
            estimate += _field(selection, fragments)
    return estimate


def _field(field: FieldNode, fragments: Mapping[str, Estimate]) -> Estimate:
    name = field.name.value
    scanning: frozenset[tuple[str, str]] = frozenset()
    if name in _SCANNING and not (name in {"byUser", "byTaskSource"} and _size(field) == 0):
        scanning = frozenset({(name, field.alias.value if field.alias else name)})
    if field.selection_set is None:
        return Estimate(scanning=scanning)
    sub = _estimate(field.selection_set, fragments)
    scans = sub.scans + _scans(name, sub.scanning)
    if name == "sessions":
        return Estimate(objects=1 + sub.written(_size(field)), scans=scans)
    if name == "edges":
        # One edge per row of the page; nothing under an edge scans or pages (an upper bound if it did).
        return Estimate(per_row=1 + sub.written(MAX_PAGE_SIZE), scans=MAX_PAGE_SIZE * scans)
    if name in {"byUser", "byTaskSource"}:
        items = _size(field)
    else:
        items = PROCEDURES_PER_SESSION if name == "procedures" else _FIXED_LISTS.get(name, 1)
    return Estimate(items * (1 + sub.objects), items * sub.per_row, items * scans, scanning)
