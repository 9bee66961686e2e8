"""A built package carries GraphiQL's files: the ones ``gateway/graphiql.py`` serves, nothing else.

They come from ``graphiql/node_modules``, which ``npm ci`` fills from the pinned ``graphiql/package-lock.json``
(``make install`` runs it). The source distribution carries them under ``graphiql/`` as in the repository; the
wheel carries them inside the package, in ``sessions_gateway/gateway/graphiql_files/``, where the installed
gateway finds them. Each npm package's licence and ``package.json`` go with its files (a package that ships no
licence file, such as ``@graphiql/plugin-explorer``, states its licence in its ``package.json``). A build without
them (``npm ci`` never ran, or installed other versions than the lock's) stops, saying so. The wheel also carries
the docs' pages that GraphiQL's example tabs are read from (``EXAMPLE_PAGES`` in ``gateway/graphiql_tabs.py``),
under ``graphiql_files/pages/``. Everything else is in ``pyproject.toml``.
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


def _constant(root: Path, module: str, name: str) -> object:
    """A literal constant of one of the gateway's modules, read without importing it."""
    tree = ast.parse((root / "gateway" / module).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name:
            return ast.literal_eval(value)
    raise FileError(f"gateway/{module} defines no {name}")


def _served(root: Path) -> list[str]:
    """The files the page loads, under graphiql/: ``ASSETS`` in ``gateway/graphiql.py``."""
    assets: dict[str, tuple[str, str]] = _constant(root, "graphiql.py", "ASSETS")  # type: ignore[assignment]
    return [relative for relative, _ in assets.values()]


def _package(relative: str) -> Path:
    """The npm package a file under node_modules/ belongs to: node_modules/name or node_modules/@scope/name."""
    parts = Path(relative).parts
    return Path(*parts[:3]) if parts[1].startswith("@") else Path(*parts[:2])


def _licences(root: Path, package: Path) -> list[str]:
    """A package's licence files, then those of the packages installed inside it, which its build bundles.

    A package without one must name its licence in its package.json (carried too): ``@graphiql/plugin-explorer``
    does, and its build bundles ``graphiql-explorer``, whose LICENSE is carried.
    """
    folder = root / SOURCE / package
    found = [name for name in ("LICENSE", "LICENSE.md") if (folder / name).is_file()]
    manifest = folder / "package.json"
    if not found and manifest.is_file() and not json.loads(manifest.read_text(encoding="utf-8")).get("license"):
        raise FileError(f"{SOURCE}/{package} has no licence file and names no licence")
    nested = [*folder.glob("node_modules/*/LICENSE*"), *folder.glob("node_modules/@*/*/LICENSE*")]
    return found + sorted(path.relative_to(folder).as_posix() for path in nested)


def example_pages(root: Path = HERE) -> list[str]:
    """The docs' pages GraphiQL's example tabs are read from, under the project's root."""
    pages: tuple[str, ...] = _constant(root, "graphiql_tabs.py", "EXAMPLE_PAGES")  # type: ignore[assignment]
    missing = [page for page in pages if not (root / page).is_file()]
    if missing:
        raise FileError(f"the pages of GraphiQL's example tabs are missing: {', '.join(missing)}")
    return list(pages)


def graphiql_files(root: Path = HERE) -> list[str]:
    """What a build carries, under graphiql/: the served files, the pins, and each npm package's licence.

    Raises ``FileError`` when one is missing, or when an npm package is not the version the lock pins.
    """
    served = _served(root)
    packages = sorted({_package(relative) for relative in served if relative.startswith("node_modules/")})
    files = ["package.json", "package-lock.json", *served]
    files += [str(package / "package.json") for package in packages]
    files += [str(package / name) for package in packages for name in _licences(root, package)]
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


def _copy(source: Path, files: list[str], target: Path) -> None:
    for relative in files:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target / relative)


class BuildPyWithGraphiQL(build_py):
    """Copies GraphiQL's files into the built package (not for an editable install: it serves graphiql/)."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            _copy(HERE / SOURCE, graphiql_files(), Path(self.build_lib) / PACKAGED)
            pages_dir = str(_constant(HERE, "graphiql_tabs.py", "PAGES_DIR"))
            _copy(HERE, example_pages(), Path(self.build_lib) / PACKAGED / pages_dir)


class SdistWithGraphiQL(sdist):
    """Puts GraphiQL's files in the source distribution, under graphiql/, so a wheel built from it has them."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        _copy(HERE / SOURCE, graphiql_files(), Path(base_dir) / SOURCE)
        # the pages the sdist does not hold already (its README is linked in: never copied onto itself)
        _copy(HERE, [page for page in example_pages() if not (Path(base_dir) / page).exists()], Path(base_dir))


if __name__ == "__main__":
    setup(cmdclass={"build_py": BuildPyWithGraphiQL, "sdist": SdistWithGraphiQL})
