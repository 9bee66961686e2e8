"""The fenced code blocks of the README and of the pages under docs/, as the tests that run them read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# A fence may be indented (a block inside a list item); its body is read back without that indentation.
FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<language>\w*)\n(?P<body>.*?)^(?P=indent)```$", re.DOTALL | re.MULTILINE)


def pages() -> list[Path]:
    """The README, then every page of docs/ by name: the files whose blocks the tests run."""
    return [README, *sorted(DOCS.glob("*.md"))]


@dataclass(frozen=True)
class Block:
    language: str  # "" for a block of program output
    code: str
    line: int  # where its fence opens, 1-based
    page: Path  # the file that holds it

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.language or 'output'}-line-{self.line}"


def page_blocks(page: Path) -> list[Block]:
    """Every fenced block of one page, in order."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        indent = len(match["indent"])
        code = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        found.append(Block(match["language"], code, text.count("\n", 0, match.start()) + 1, page))
    return found


def blocks(language: str | None = None) -> list[Block]:
    """Every fenced block of the README and docs/, page by page, or those of one language."""
    return [block for page in pages() for block in page_blocks(page) if language is None or block.language == language]


def text_of(*names: str) -> str:
    """The text of these pages (``"README.md"``, ``"docs/operations.md"``), one after the other."""
    return "\n".join((ROOT / name).read_text(encoding="utf-8") for name in names)


def block_after(marker: str, nth: int = 0) -> Block:
    """The first (or ``nth``) block that opens after the one line, of all the pages, holding ``marker``."""
    [(page, at)] = [
        (page, number)
        for page in pages()
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if marker in line
    ]
    return [block for block in page_blocks(page) if block.line > at][nth]
