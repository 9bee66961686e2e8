"""The ``DateTime`` scalar: ISO-8601 with an explicit UTC offset, in and out."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

_EXPECTED = "expected an ISO-8601 date-time with an explicit offset, e.g. 2026-11-24T09:30:00+00:00"


def serialize_datetime(value: datetime) -> str:
    # The driver gives UTC already: no conversion to make then.
    return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat()


def parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"DateTime: {_EXPECTED}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"DateTime: {_EXPECTED}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"DateTime: the offset is missing; {_EXPECTED}")
    return parsed.astimezone(UTC)


DateTime = strawberry.scalar(
    name="DateTime",
    description="ISO-8601 date-time with an explicit UTC offset, e.g. 2026-11-24T09:30:00+00:00.",
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)
