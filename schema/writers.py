"""Writers of the per-row objects of a compiled plan, generated once per selection.

A writer turns one source (an edge, a session row, a related row) into the response dict of the
fields a client selected under it: a single dict display with each selected field's value
expression inlined, compiled when the plan's shape is collected and reused by every request.

Only the gateway's own expressions (``SPECS`` below) become code. From the request come the
response keys alone, which are GraphQL names (checked again here) written as string literals.
The derived values call the same functions as the Strawberry types: ``display_name``,
``duration_seconds``, ``recording_view``, ``media_url``, ``serialize_datetime``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Protocol

from graphql import GraphQLFloat, GraphQLInt

from sessions_gateway.resolvers.derived import display_name, duration_seconds
from sessions_gateway.resolvers.media import media_url, recording_view
from sessions_gateway.schema.enums import SessionRole, SessionStatus
from sessions_gateway.schema.scalars import serialize_datetime

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sessions_gateway.gateway.context import MediaSettings

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
MAX_WRITERS = 1024


class SelectedField(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def children(self) -> Sequence[SelectedField]: ...


@dataclass(slots=True)
class Related:
    """What a request's writers read besides the source: related rows by key, the clock, media."""

    now: datetime
    media: MediaSettings
    users: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    procedures: dict[str, list[Any]] = field(default_factory=dict)
    recordings: dict[str, Any] = field(default_factory=dict)
    summaries: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Nested:
    """An object field: ``source`` (an expression over ``s`` and ``x``) written by ``type_name``'s writer."""

    source: str
    type_name: str
    kind: Literal["one", "optional", "list"]


_GROUP: dict[str, str | Nested] = {
    "count": "_int(s.count)",
    "completed": "_int(s.completed)",
    "averageScore": "_ofloat(s.average_score)",
}

# For each object type written per row: each field's value as an expression over the source
# ``s`` and the request's ``Related`` ``x``.
SPECS: dict[str, dict[str, str | Nested]] = {
    "SessionEdge": {
        "cursor": "s.cursor_text()",
        "node": Nested("s.row", "Session", "one"),
    },
    "Session": {
        "id": "s.id",
        "name": "_name(s, x)",
        "status": "_STATUS[s.status]",
        "role": "_ROLE[s.role]",
        "thumbnailUrl": "media_url(s.thumbnail_url, x.media, x.now)",
        "durationSeconds": "_duration(s, x.now)",
        "startedAt": "_dt(s.started_at)",
        "completedAt": "_odt(s.completed_at)",
        "seatId": "s.seat_id",
        "procedureCount": "_int(x.counts[s.id])",
        "user": Nested("_user(s, x)", "User", "one"),
        "procedures": Nested("x.procedures[s.id]", "Procedure", "list"),
        "recording": Nested("recording_view(x.recordings.get(s.id), x.media, x.now, s.status)", "Recording", "one"),
        "summary": Nested("_summary(s, x)", "Summary", "optional"),
        "linkedTask": Nested("(None if s.task_id is None else x.tasks.get(s.task_id))", "LinkedTask", "optional"),
    },
    "User": {"id": "s.id", "displayName": "s.display_name"},
    "LinkedTask": {
        "id": "s.id",
        "title": "s.title",
        "source": "s.source",
        "externalRef": "s.external_ref",
        "status": "s.status",
        "url": "s.url",
    },
    "Procedure": {
        "id": "s.id",
        "position": "_int(s.position)",
        "name": "s.name",
        "description": "s.description",
        "videoUrl": "media_url(s.video_url, x.media, x.now)",
    },
    "Summary": {"score": "_oint(s.score)", "prose": "s.prose", "trainerNotes": "s.trainer_notes"},
    "Recording": {"status": "s.status.name", "url": "s.url", "expiresAt": "_odt(s.expires_at)"},
    # The report's entries: a GroupTotals (keyed by start, user id or task source), a ScoreDecile.
    "TimelineBucket": {"start": "_dt(s.key)", **_GROUP},
    "UserCount": {"user": Nested("_group_user(s, x)", "User", "one"), **_GROUP},
    "TaskSourceCount": {"source": "s.key", **_GROUP},
    "ScoreDecile": {"from": "_int(s.low)", "to": "_int(s.high)", "count": "_int(s.count)"},
}

# Storage value -> GraphQL enum name, in the enums' order (the order byStatus and byRole list them).
STATUS_NAMES = {member.value: member.name for member in SessionStatus}
ROLE_NAMES = {member.value: member.name for member in SessionRole}
_int = GraphQLInt.serialize
_float = GraphQLFloat.serialize


def _oint(value: Any) -> Any:
    return None if value is None else _int(value)


def _ofloat(value: Any) -> Any:
    return None if value is None else _float(value)


def _odt(value: datetime | None) -> str | None:
    return None if value is None else serialize_datetime(value)


def _name(s: Any, x: Related) -> str:
    task = x.tasks.get(s.task_id) if not s.name and s.task_id is not None else None
    return display_name(s.name, None if task is None else task.title, s.started_at)


def _duration(s: Any, now: datetime) -> int | None:
    seconds = duration_seconds(
        recorded=s.duration_seconds,
        status=s.status,
        started_at=s.started_at,
        completed_at=s.completed_at,
        now=now,
    )
    return _oint(seconds)  # type: ignore[no-any-return]


def _user(s: Any, x: Related) -> Any:
    found = x.users.get(s.user_id)
    if found is None:  # a broken foreign key: the executor reports it as it always does
        raise LookupError("session without its user")
    return found


def _group_user(s: Any, x: Related) -> Any:
    """The user of a ``byUser`` entry (its key is the user's id)."""
    found = x.users.get(s.key)
    if found is None:  # a broken foreign key: the executor reports it as it always does
        raise LookupError("sessions without their user")
    return found


def _summary(s: Any, x: Related) -> Any:
    """The summary row, or ``None`` ("Summary not provided") when absent or empty."""
    found = x.summaries.get(s.id)
    if found is None or (found.score is None and found.prose is None and found.trainer_notes is None):
        return None
    return found


_HELPERS: dict[str, Any] = {
    "_STATUS": STATUS_NAMES,
    "_ROLE": ROLE_NAMES,
    "_int": _int,
    "_oint": _oint,
    "_ofloat": _ofloat,
    "_dt": serialize_datetime,
    "_odt": _odt,
    "_name": _name,
    "_duration": _duration,
    "_user": _user,
    "_group_user": _group_user,
    "_summary": _summary,
    "recording_view": recording_view,
    "media_url": media_url,
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
    spec = SPECS[type_name]
    namespace = dict(_HELPERS)
    entries = []
    for index, (key, name, children) in enumerate(selected):
        if not _NAME.fullmatch(key):
            raise ValueError(f"not a GraphQL name: {key!r}")
        if name == "__typename":
            entries.append(f"{key!r}: {type_name!r}")
            continue
        entry = spec[name]
        if isinstance(entry, str):
            entries.append(f"{key!r}: {entry}")
            continue
        writer = f"_w{index}"
        namespace[writer] = _generate(entry.type_name, children)
        if entry.kind == "one":
            value = f"{writer}({entry.source}, x)"
        elif entry.kind == "optional":
            value = f"(None if (_v{index} := {entry.source}) is None else {writer}(_v{index}, x))"
        else:
            value = f"[{writer}(_e, x) for _e in {entry.source}]"
        entries.append(f"{key!r}: {value}")
    source = "def write(s, x):\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(source, f"<writer of {type_name}>", "exec"), namespace)  # noqa: S102  (see the module docstring)
    return namespace["write"]  # type: ignore[no-any-return]
