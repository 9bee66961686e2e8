"""A built package carries GraphiQL's files: the ones ``gateway/graphiql.py`` serves, nothing else.

They come from ``graphiql/node_modules``, which ``npm ci`` fills from the pinned ``graphiql/package-lock.json``
(``make install`` runs it). The source distribution carries them under ``graphiql/`` as in the repository; the
wheel carries them inside the package, in ``sessions_gateway/gateway/graphiql_files/``, where the installed
gateway finds them. Each npm package's licence and ``package.json`` go with its files. A build without them
(``npm ci`` never ran, or installed other versions than the lock's) stops, saying so. Everything else is in
``pyproject.toml``.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.errors import FileError

HERE = Path(__file__).resolve().parent
SOURCE = "graphiql"  # under the project's root
PACKAGED = Path("sessions_gateway", "gateway", "graphiql_files")  # under the installed packages' root
NOT_INSTALLED = "run `make install` (it runs `npm ci` in graphiql/) before building"


def _served(root: Path) -> list[str]:
    """The files the page loads, under graphiql/: ``ASSETS`` in ``gateway/graphiql.py``, read without importing it."""
    tree = ast.parse((root / "gateway" / "graphiql.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "ASSETS":
            assets: dict[str, tuple[str, str]] = ast.literal_eval(node.value)  # type: ignore[arg-type]
            return [relative for relative, _ in assets.values()]
    raise FileError("gateway/graphiql.py defines no ASSETS")


def graphiql_files(root: Path = HERE) -> list[str]:
    """What a build carries, under graphiql/: the served files, the pins, and each npm package's licence.

    Raises ``FileError`` when one is missing, or when an npm package is not the version the lock pins.
    """
    served = _served(root)
    packages = sorted({Path(*Path(relative).parts[:2]) for relative in served if relative.startswith("node_modules/")})
    files = ["package.json", "package-lock.json", *served]
    files += [str(package / name) for package in packages for name in ("LICENSE", "package.json")]
    missing = [f"{SOURCE}/{relative}" for relative in files if not (root / SOURCE / relative).is_file()]
    if missing:
        raise FileError(f"GraphiQL's files are missing ({', '.join(missing)}): {NOT_INSTALLED}")
    locked = json.loads((root / SOURCE / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    for package in packages:
        installed = json.loads((root / SOURCE / package / "package.json").read_text(encoding="utf-8"))["version"]
        pinned = locked[package.as_posix()]["version"]
        if installed != pinned:
            raise FileError(f"{SOURCE}/{package} is {installed}, the lock pins {pinned}: {NOT_INSTALLED}")
    return files


def _copy(root: Path, files: list[str], target: Path) -> None:
    for relative in files:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / SOURCE / relative, target / relative)


class BuildPyWithGraphiQL(build_py):
    """Copies GraphiQL's files into the built package (not for an editable install: it serves graphiql/)."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            _copy(HERE, graphiql_files(), Path(self.build_lib) / PACKAGED)


class SdistWithGraphiQL(sdist):
    """Puts GraphiQL's files in the source distribution, under graphiql/, so a wheel built from it has them."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        _copy(HERE, graphiql_files(), Path(base_dir) / SOURCE)


if __name__ == "__main__":
    setup(cmdclass={"build_py": BuildPyWithGraphiQL, "sdist": SdistWithGraphiQL})
