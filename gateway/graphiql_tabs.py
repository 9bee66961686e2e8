"""GraphiQL's example tabs: the docs' own GraphQL examples, read from the pages that show them.

The README and ``docs/analysts.md`` show each example in a fenced ``graphql`` block, which
``tests/docs/test_readme.py`` runs; GraphiQL opens with one tab per example named in ``TABS``, its text
read from those blocks by operation name, so the tab, the page and the test hold one text. A source tree
reads the pages where they are; a built wheel carries them inside the package, beside GraphiQL's files
(``graphiql_files/pages/``: see ``setup.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

# The pages whose graphql blocks the tabs come from, relative to the project's root.
EXAMPLE_PAGES = ("README.md", "docs/analysts.md")
PAGES_DIR = "pages"  # under graphiql_files/ in a built wheel


@dataclass(frozen=True)
class Tab:
    """One tab GraphiQL opens with: the operation whose example it holds, and what its variables are."""

    operation: str
    # "tenant-session": the newest session of the Headers tab's tenant, filled in by the page;
    # "browser-time-zone": the browser's IANA zone; None: no variables
    variables: str | None = None


TABS = (
    Tab("SessionsList"),
    Tab("SessionDetail", variables="tenant-session"),
    Tab("SessionsReport"),
    Tab("WeeklyTimeline", variables="browser-time-zone"),
)

# A fenced block, maybe indented (inside a list item), and the name of an operation it opens.
FENCE = re.compile(r"^(?P<indent>[ ]*)```graphql\n(?P<body>.*?)^(?P=indent)```$", re.DOTALL | re.MULTILINE)
OPERATION = re.compile(r"^(?:query|subscription)\s+(\w+)", re.MULTILINE)


class MissingExampleError(LookupError):
    """A tab's operation is in no graphql block of the example pages (or in more than one)."""


def graphql_blocks(text: str) -> list[str]:
    """The fenced ``graphql`` blocks of a Markdown page, each without its fence's indentation."""
    found = []
    for match in FENCE.finditer(text):
        indent = len(match["indent"])
        found.append("".join(line[indent:] for line in match["body"].splitlines(keepends=True)))
    return found


def examples(root: Path) -> dict[str, str]:
    """Each tab's example text, by operation name, from the pages under ``root``."""
    by_name: dict[str, list[str]] = {}
    for page in EXAMPLE_PAGES:
        for block in graphql_blocks((root / page).read_text(encoding="utf-8")):
            for name in OPERATION.findall(block):
                by_name.setdefault(name, []).append(block)
    texts = {}
    for tab in TABS:
        found = by_name.get(tab.operation, [])
        if len(found) != 1:
            msg = f"{tab.operation} is in {len(found)} graphql blocks of {', '.join(EXAMPLE_PAGES)}, not in one"
            raise MissingExampleError(msg)
        texts[tab.operation] = found[0]
    return texts


def tab_configs(root: Path) -> list[dict[str, str | None]]:
    """What the page tells boot.js about each tab: its query, and how to fill its variables."""
    texts = examples(root)
    return [{"query": texts[tab.operation], "variables": tab.variables} for tab in TABS]
