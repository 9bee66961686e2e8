"""The import contracts of ``make lint`` (``[tool.importlinter]`` in pyproject.toml) catch wrong-way imports.

Each case copies the packages and the configuration aside, adds one import that goes the wrong way, and
runs ``lint-imports`` there: the contract named must be broken. The copy as it is keeps every contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "schema", "resolvers", "loaders", "db")
NAMESPACE = "sessions_gateway"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def contract_names() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}


def copy_tree(target: Path) -> Path:
    """The packages laid out as installed (``sessions_gateway/<folder>``), and the configuration."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / NAMESPACE / package, ignore=shutil.ignore_patterns("__pycache__"))
    # a regular package here, so lint-imports (run in this folder) reads it, not the installed namespace package
    (target / NAMESPACE / "__init__.py").touch()
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    # Wide lines, so a contract's name and its verdict stay on one line.
    env = {**os.environ, "COLUMNS": "1000", "NO_COLOR": "1"}
    return subprocess.run(  # noqa: S603
        [str(LINT_IMPORTS), "--no-cache"], cwd=where, env=env, capture_output=True, text=True, check=False
    )


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = lint_imports(copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    for name in contract_names().values():
        assert f"{name} KEPT" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # the types knowing the app (schema/build.py read gateway.config.Limits)
        ("schema/build.py", "import sessions_gateway.gateway.config", "wiring"),
        ("schema/extensions.py", "from sessions_gateway.gateway import observability", "wiring"),
        # resolvers building Strawberry objects
        ("resolvers/sessions.py", "import sessions_gateway.schema.session", "layers"),
        # the request context reading a setting from a resolver module
        ("gateway/context.py", "import sessions_gateway.resolvers.media", "layers"),
        ("gateway/errors.py", "import sessions_gateway.gateway.app", "wiring"),
        ("loaders/base.py", "import sessions_gateway.gateway.context", "layers"),
        ("db/reader.py", "import sessions_gateway.loaders", "layers"),
        ("db/tables.py", "import strawberry", "no-graphql"),
        ("loaders/base.py", "from graphql import GraphQLError", "no-graphql"),
    ],
)
def test_a_wrong_way_import_breaks_its_contract(tmp_path: Path, module: str, line: str, contract: str) -> None:
    tree = copy_tree(tmp_path)
    with (tree / NAMESPACE / module).open("a", encoding="utf-8") as source:
        source.write(f"\n{line}  # noqa: E402\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract_names()[contract]} BROKEN" in result.stdout, result.stdout


def drawn_layers(text: str) -> list[str] | None:
    """The layer names of the drawing (an indented block, its first words top to bottom) in ``text``."""
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("    "):
            word = line.split()[0] if line.strip() else ""
            if word not in {"", "|", "v"}:
                block.append(word)
        elif block:
            if "gateway.errors" in block:
                return block
            block = []
    return None


def test_the_layout_drawing_is_the_contracts_order() -> None:
    """The README's drawing of the layers (wherever the documentation holds it) is what is checked."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    drawings = [found for page in pages if (found := drawn_layers(page.read_text(encoding="utf-8")))]
    assert drawings == [["gateway", *layers]]
