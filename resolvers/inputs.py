"""Checks on identifiers and filter values that arrive from clients."""

from __future__ import annotations

import re

from gateway.errors import BadUserInput

MAX_ID_LENGTH = 255
MAX_SEARCH_LENGTH = 200
# Ids are opaque text chosen by the pipeline; what is never an id: empty, very long, or holding
# white space or control characters.
_ID = re.compile(r"[^\s\x00-\x1f\x7f]+")


def check_id(value: str, argument: str) -> str:
    if len(value) > MAX_ID_LENGTH or not _ID.fullmatch(value):
        raise BadUserInput(f"{argument}: malformed id.")
    return value


def check_search(value: str) -> str:
    if len(value) > MAX_SEARCH_LENGTH:
        raise BadUserInput(f"filter.search: at most {MAX_SEARCH_LENGTH} characters.")
    return value
