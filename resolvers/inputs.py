"""Checks on identifiers and filter values that arrive from clients."""

from __future__ import annotations

import re

from sessions_gateway.gateway.errors import BadUserInput

MAX_ID_LENGTH = 255
MAX_SEARCH_LENGTH = 200
# Ids are opaque text chosen by the pipeline; what is never an id: empty, very long, or holding
# white space or control characters.
_ID = re.compile(r"[^\s\x00-\x1f\x7f]+")


def check_id(value: str, argument: str) -> str:
    if len(value) > MAX_ID_LENGTH or not _ID.fullmatch(value):
        raise BadUserInput(f"{argument}: malformed id.")
    return value


def check_text(value: str, argument: str, max_length: int) -> str:
    """A free-text filter value: bounded, and free of NUL, which no stored text can hold.

    PostgreSQL refuses a NUL in text outright: refused here, it is the client's error on both
    backends, not the database's.
    """
    if len(value) > max_length:
        raise BadUserInput(f"{argument}: at most {max_length} characters.")
    if "\x00" in value:
        raise BadUserInput(f"{argument}: must not contain the NUL character.")
    return value


def check_search(value: str) -> str:
    return check_text(value, "filter.search", MAX_SEARCH_LENGTH)
