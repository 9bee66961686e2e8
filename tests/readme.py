"""The README's fenced code blocks, as the tests that run them read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
# A fence may be indented (a block inside a list item); its body is read back without that indentation.
FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<language>\w*)\n(?P<body>.*?)^(?P=indent)```$", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Block:
    language: str  # "" for a block of program output
    code: str
    line: int  # where its fence opens, 1-based

    @property
    def name(self) -> str:
        return f"{self.language or 'output'}-line-{self.line}"


def blocks(language: str | None = None) -> list[Block]:
    """Every fenced block of the README in order, or those of one language."""
    text = README.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        indent = len(match["indent"])
        code = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        found.append(Block(match["language"], code, text.count("\n", 0, match.start()) + 1))
    return [block for block in found if language is None or block.language == language]


def block_after(marker: str, nth: int = 0) -> Block:
    """The first (or ``nth``) block that opens after the one README line holding ``marker``."""
    lines = README.read_text(encoding="utf-8").splitlines()
    [at] = [number for number, line in enumerate(lines, 1) if marker in line]
    return [block for block in blocks() if block.line > at][nth]
